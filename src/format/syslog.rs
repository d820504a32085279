//! Syslog messages: RFC 5424 and RFC 3164 headers, the body (the record's
//! JSON, `@cee:` JSON, or the message with STRUCTURED-DATA), the size limit
//! with truncation that keeps the message valid, and the framing.

use chrono::{DateTime, Local, TimeZone, Utc};

use crate::format::json::{Clip, JsonFormat};
use crate::format::number::write_int;
use crate::level::Level;
use crate::record::{Item, Items, Out, RecordRef, Val};

/// The header and body a syslog sink writes, fixed when the sink is made.
#[derive(Clone, Debug)]
pub(crate) struct SyslogSpec {
    pub(crate) rfc3164: bool,
    pub(crate) facility: u8,
    /// Sanitized header fields.
    pub(crate) hostname: String,
    pub(crate) app_name: String,
    pub(crate) procid: String,
    pub(crate) msgid: Option<String>,
    pub(crate) body: Body,
    pub(crate) framing: Framing,
    /// The longest message (header and body, without framing).
    pub(crate) max_len: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    Json,
    JsonCee,
    /// The message, with the fields as STRUCTURED-DATA under this SD-ID.
    Sd(String),
}

/// How messages are delimited in the sink's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// One message per datagram: stored as a 4-byte length and the message;
    /// the transport sends each as one datagram.
    Datagram,
    /// RFC 6587 octet counting: `LEN SP MSG`.
    OctetCounting,
    /// RFC 6587 non-transparent framing: `MSG LF`.
    Lf,
}

/// Severity of each level: trace/debug 7, info 6, warn 4, error 3, fatal 2.
pub(crate) fn severity(level: Level) -> u8 {
    match level {
        Level::Trace | Level::Debug => 7,
        Level::Info => 6,
        Level::Warn => 4,
        Level::Error => 3,
        Level::Fatal => 2,
    }
}

/// `s` with every character `keep` refuses replaced by `_`, cut to `max`
/// characters; `empty` when nothing is left.
fn restricted(s: &str, max: usize, keep: impl Fn(char) -> bool, empty: &str) -> String {
    let out: String = s.chars().map(|c| if keep(c) { c } else { '_' }).take(max).collect();
    if out.is_empty() {
        empty.to_string()
    } else {
        out
    }
}

/// Keeps printable US-ASCII (33–126) and at most `max` bytes; anything else
/// becomes `_`; empty becomes the nil value `-`.
pub(crate) fn header_field(s: &str, max: usize) -> String {
    restricted(s, max, |c| ('!'..='~').contains(&c), "-")
}

/// An RFC 5424 SD-NAME (SD-ID or PARAM-NAME): printable US-ASCII except
/// `=`, space, `]` and `"`, 1 to 32 characters.
pub(crate) fn sd_name(s: &str) -> String {
    restricted(s, 32, |c| ('!'..='~').contains(&c) && !matches!(c, '=' | ']' | '"'), "_")
}

/// An RFC 3164 TAG: letters, digits and `_.-/`, at most 32 characters.
pub(crate) fn tag(s: &str) -> String {
    restricted(s, 32, |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'), "logjet")
}

/// Formats records as syslog messages into a sink's buffer.
pub(crate) struct SyslogFormat {
    spec: SyslogSpec,
    /// The message being built (before framing).
    msg: Vec<u8>,
    /// `<PRI>` prefixes by level, and the rest of the header after the time.
    prefix: [Vec<u8>; 6],
    header_tail: Vec<u8>,
    cached_sec: i64,
    cached_time: Vec<u8>,
}

impl SyslogFormat {
    pub(crate) fn new(spec: SyslogSpec) -> SyslogFormat {
        let prefix = Level::ALL.map(|l| {
            let pri = u32::from(spec.facility) * 8 + u32::from(severity(l));
            let mut v = format!("<{pri}>").into_bytes();
            if !spec.rfc3164 {
                v.extend_from_slice(b"1 ");
            }
            v
        });
        let header_tail = if spec.rfc3164 {
            // `HOST TAG[PID]: `
            format!(" {} {}[{}]: ", spec.hostname, spec.app_name, spec.procid).into_bytes()
        } else {
            // ` HOSTNAME APP-NAME PROCID MSGID `
            format!(" {} {} {} {} ", spec.hostname, spec.app_name, spec.procid, spec.msgid.as_deref().unwrap_or("-"))
                .into_bytes()
        };
        SyslogFormat {
            spec,
            msg: Vec::with_capacity(1024),
            prefix,
            header_tail,
            cached_sec: i64::MIN,
            cached_time: Vec::new(),
        }
    }

    /// Appends the record as one framed message.
    pub(crate) fn format<O: Out>(&mut self, json: &mut JsonFormat, rec: &RecordRef<'_>, out: &mut O) {
        self.msg.clear();
        self.header(rec);
        let header_len = self.msg.len();
        self.body(json, rec, None);
        if self.msg.len() > self.spec.max_len {
            self.shrink(json, rec, header_len);
        }
        match self.spec.framing {
            Framing::Datagram => {
                out.extend(&(self.msg.len() as u32).to_le_bytes());
                out.extend(&self.msg);
            }
            Framing::OctetCounting => {
                write_int(out, self.msg.len());
                out.push(b' ');
                out.extend(&self.msg);
            }
            Framing::Lf => {
                out.extend(&self.msg);
                out.push(b'\n');
            }
        }
    }

    /// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID ` or
    /// `<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: `.
    fn header(&mut self, rec: &RecordRef<'_>) {
        let nanos = if rec.time == 0 { crate::clock::system_nanos() } else { rec.time };
        let sec = i64::try_from(nanos / 1_000_000_000).unwrap_or(i64::MAX);
        if sec != self.cached_sec {
            self.cached_sec = sec;
            let utc: DateTime<Utc> = DateTime::from_timestamp(sec, 0).unwrap_or_default();
            self.cached_time = if self.spec.rfc3164 {
                // Local time, day of month padded with a space: `Nov  1 09:05:00`.
                Local.from_utc_datetime(&utc.naive_utc()).format("%b %e %H:%M:%S").to_string().into_bytes()
            } else {
                utc.format("%Y-%m-%dT%H:%M:%S").to_string().into_bytes()
            };
        }
        self.msg.extend_from_slice(&self.prefix[rec.level.index()]);
        self.msg.extend_from_slice(&self.cached_time);
        if !self.spec.rfc3164 {
            let ms = (nanos / 1_000_000 % 1000) as u16;
            self.msg.extend_from_slice(&[
                b'.',
                b'0' + (ms / 100) as u8,
                b'0' + (ms / 10 % 10) as u8,
                b'0' + (ms % 10) as u8,
                b'Z',
            ]);
        }
        self.msg.extend_from_slice(&self.header_tail);
    }

    /// The body after the header (for RFC 5424, STRUCTURED-DATA first).
    fn body(&mut self, json: &mut JsonFormat, rec: &RecordRef<'_>, clip: Option<Clip>) {
        match &self.spec.body {
            Body::Json | Body::JsonCee => {
                if !self.spec.rfc3164 {
                    self.msg.extend_from_slice(b"- ");
                }
                if self.spec.body == Body::JsonCee {
                    self.msg.extend_from_slice(b"@cee:");
                }
                json.format_object(rec, &mut self.msg, clip);
            }
            Body::Sd(sd_id) => {
                let sd_id = sd_id.clone();
                write_sd_body(&mut self.msg, rec, &sd_id, clip);
            }
        }
    }

    /// Rewrites the body shorter and shorter until the message fits,
    /// keeping it valid (whole JSON, whole SD elements) and marked.
    fn shrink(&mut self, json: &mut JsonFormat, rec: &RecordRef<'_>, header_len: usize) {
        let original_len = self.msg.len();
        for (cap, bindings) in [(4096, true), (1024, true), (256, true), (64, true), (16, true), (0, false)] {
            self.msg.truncate(header_len);
            self.body(json, rec, Some(Clip { cap, bindings, original_len }));
            if self.msg.len() <= self.spec.max_len {
                return;
            }
        }
        // Even the skeleton is too long (a tiny limit, or very many fields):
        // the header and a minimal body, cut to the limit.
        self.msg.truncate(header_len);
        if !self.spec.rfc3164 {
            self.msg.extend_from_slice(b"- ");
        }
        self.msg.extend_from_slice(b"[logjet: record of ");
        write_int(&mut self.msg, original_len);
        self.msg.extend_from_slice(b" bytes dropped: over the message size limit]");
        if self.msg.len() > self.spec.max_len {
            let mut end = self.spec.max_len;
            while end > 0 && (self.msg[end] & 0xC0) == 0x80 {
                end -= 1;
            }
            self.msg.truncate(end);
        }
    }
}

/// `[SD-ID k="v" ...] message`: the message and every field, bound fields
/// included, as SD-PARAMs. Values escape `"`, `\` and `]`; control
/// characters are escaped too, so a message stays one line.
fn write_sd_body(out: &mut Vec<u8>, rec: &RecordRef<'_>, sd_id: &str, clip: Option<Clip>) {
    let mut msg: &[u8] = b"";
    let mut params: Vec<(&[u8], ParamVal<'_>)> = Vec::new();
    let mut items = Items::new(rec.bytes());
    while let Some(item) = items.next() {
        match item {
            Item::Msg(m, _) => msg = m,
            Item::Ns(ns) => params.push((b"ns".as_slice(), ParamVal::Text(ns))),
            Item::Field(k, v, _) => params.push((k, ParamVal::Val(v))),
            Item::Bindings(b) if clip.is_none_or(|c| c.bindings) => {
                for bound in items.bound(b) {
                    if let Item::Field(k, v, _) = bound {
                        params.push((k, ParamVal::Val(v)));
                    }
                }
            }
            Item::Bindings(..) => {}
        }
    }
    // Each parameter's name as written; a later one replaces an earlier
    // one with the same name (see `format::unique_keys`): a field replaces a
    // binding, and names that `sd_name` makes equal count as equal.
    let names: Vec<String> = params
        .iter()
        .map(|(k, v)| match v {
            ParamVal::Text(_) => sd_name(&String::from_utf8_lossy(k)),
            // Reserved keys renamed as in JSON (`ns` → `_ns`), so that no
            // field replaces the namespace.
            ParamVal::Val(_) if crate::format::json::is_reserved(k) => {
                sd_name(&format!("_{}", String::from_utf8_lossy(k)))
            }
            ParamVal::Val(_) => sd_name(&String::from_utf8_lossy(k)),
        })
        .collect();
    let cap = clip.map_or(usize::MAX, |c| c.cap);
    out.push(b'[');
    out.extend_from_slice(sd_id.as_bytes());
    for (i, (_, v)) in params.iter().enumerate() {
        if names[i + 1..].contains(&names[i]) {
            continue;
        }
        out.push(b' ');
        out.extend_from_slice(names[i].as_bytes());
        out.extend_from_slice(b"=\"");
        let mut text = Vec::new();
        match v {
            ParamVal::Text(t) => text.extend_from_slice(t),
            ParamVal::Val(Val::Str(s)) => text.extend_from_slice(s),
            ParamVal::Val(Val::Bytes(b)) => text.extend_from_slice(String::from_utf8_lossy(b).as_bytes()),
            // A serde value that is a string: its text, as for a `&str`.
            ParamVal::Val(Val::Json(j)) => match crate::format::escape::unescape_json_string(j) {
                Some(s) => text.extend_from_slice(s.as_bytes()),
                None => text.extend_from_slice(j),
            },
            ParamVal::Val(v) => crate::format::json::write_val(&mut text, *v),
        }
        write_sd_value(out, &text, cap);
        out.push(b'"');
    }
    if let Some(c) = clip {
        out.extend_from_slice(b" logjet_truncated=\"");
        write_int(out, c.original_len);
        out.push(b'"');
    }
    out.push(b']');
    if !msg.is_empty() {
        out.push(b' ');
        write_sd_text(out, msg, cap, false);
    }
}

enum ParamVal<'a> {
    Text(&'a [u8]),
    Val(Val<'a>),
}

/// An SD-PARAM value: `"`, `\` and `]` escaped with a backslash (RFC 5424
/// §6.3.3), control characters written as `\n`, `\uXXXX`…, cut to `cap`
/// bytes with `…`.
fn write_sd_value(out: &mut Vec<u8>, s: &[u8], cap: usize) {
    write_sd_text(out, s, cap, true)
}

fn write_sd_text(out: &mut Vec<u8>, s: &[u8], cap: usize, in_param: bool) {
    let text = String::from_utf8_lossy(s);
    let mut used = 0;
    for c in text.chars() {
        let len = c.len_utf8();
        if used + len > cap {
            out.extend_from_slice("…".as_bytes());
            return;
        }
        used += len;
        match c {
            '"' | '\\' | ']' if in_param => {
                out.push(b'\\');
                out.push(c as u8);
            }
            c if (c as u32) < 0x20 || (0x7F..=0x9F).contains(&(c as u32)) || c == '\u{2028}' || c == '\u{2029}' => {
                let mut b = [0u8; 4];
                crate::format::escape::escape_into(out, c.encode_utf8(&mut b).as_bytes());
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::json::BaseValue;
    use crate::record::Capture;
    use crate::record::ItemWriter as _;
    use crate::time::{TimeFormat, TimeFormatter};

    fn spec(rfc3164: bool, body: Body, framing: Framing, max_len: usize) -> SyslogSpec {
        SyslogSpec {
            rfc3164,
            facility: 16,
            hostname: header_field("web 1", 255),
            app_name: if rfc3164 { tag("billing") } else { header_field("billing", 48) },
            procid: "4242".into(),
            msgid: None,
            body,
            framing,
            max_len,
        }
    }

    fn json() -> JsonFormat {
        JsonFormat::new(&[("pid", BaseValue::Int(4242))], TimeFormatter::new(TimeFormat::EpochMillis))
    }

    fn rec(level: Level) -> Capture {
        let mut c = Capture::new(level, 1_732_200_000_123_000_000);
        crate::logger::Bindings::of(|c| {
            c.u64("request_id", 42);
            c.str("user", "a]\"b");
        })
        .capture(&mut c);
        c.str("path", "/x]\"\\\n");
        c.u64("n", 7);
        c.msg("hello\nworld");
        c
    }

    fn bytes(spec: SyslogSpec, r: &Capture) -> Vec<u8> {
        let mut f = SyslogFormat::new(spec);
        let mut out = Vec::new();
        f.format(&mut json(), &r.as_ref(), &mut out);
        out
    }

    fn one(spec: SyslogSpec, r: &Capture) -> String {
        String::from_utf8(bytes(spec, r)).unwrap()
    }

    #[test]
    fn rfc5424_json_with_octet_counting() {
        let out = one(spec(false, Body::Json, Framing::OctetCounting, 8192), &rec(Level::Warn));
        let (len, msg) = out.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), msg.len());
        assert!(msg.starts_with("<132>1 2024-11-21T14:40:00.123Z web_1 billing 4242 - - {\"level\":40,"), "{msg}");
        let body = msg.split_once(" - - ").unwrap().1;
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["path"], "/x]\"\\\n");
        assert_eq!(v["msg"], "hello\nworld");
    }

    #[test]
    fn structured_data_escapes_quote_backslash_bracket() {
        let out = one(spec(false, Body::Sd("fields@32473".into()), Framing::Lf, 8192), &rec(Level::Error));
        assert!(out.ends_with('\n') && out.matches('\n').count() == 1, "{out:?}");
        assert_eq!(
            out,
            "<131>1 2024-11-21T14:40:00.123Z web_1 billing 4242 - [fields@32473 request_id=\"42\" user=\"a\\]\\\"b\" path=\"/x\\]\\\"\\\\\\n\" n=\"7\"] hello\\nworld\n"
        );
    }

    #[test]
    fn structured_data_names_each_parameter_once() {
        let mut r = rec(Level::Info);
        r.str("user", "field");
        r.str("ns", "mine");
        r.str("a b", "1");
        r.str("a_b", "2");
        r.u64("n", 8);
        let out = one(spec(false, Body::Sd("f@1".into()), Framing::Lf, 8192), &r);
        assert_eq!(
            out,
            "<134>1 2024-11-21T14:40:00.123Z web_1 billing 4242 - [f@1 request_id=\"42\" path=\"/x\\]\\\"\\\\\\n\" user=\"field\" _ns=\"mine\" a_b=\"2\" n=\"8\"] hello\\nworld\n"
        );
        // The JSON body of the same record: one key each, the later value.
        let out = one(spec(false, Body::Json, Framing::Lf, 8192), &r);
        let body = out.split_once(" - - ").unwrap().1;
        assert_eq!(body.matches("\"user\":").count(), 1, "{body}");
        assert_eq!(body.matches("\"n\":").count(), 1, "{body}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!((v["user"].as_str(), v["n"].as_u64(), v["_ns"].as_str()), (Some("field"), Some(8), Some("mine")));
    }

    #[test]
    fn rfc3164_header() {
        let out = bytes(spec(true, Body::JsonCee, Framing::Datagram, 1024), &rec(Level::Info));
        let msg = std::str::from_utf8(&out[4..]).unwrap();
        assert_eq!(u32::from_le_bytes(out[..4].try_into().unwrap()) as usize, msg.len());
        assert!(msg.starts_with("<134>"), "{msg}");
        // `Mmm dd hh:mm:ss` with a space-padded day, in local time.
        let stamp = &msg[5..20];
        assert!(chrono::NaiveTime::parse_from_str(&stamp[7..], "%H:%M:%S").is_ok(), "{stamp}");
        assert!(msg[20..].starts_with(" web_1 billing[4242]: @cee:{\"level\":30,"), "{msg}");
    }

    #[test]
    fn oversized_messages_are_cut_valid_and_marked() {
        let mut r = Capture::new(Level::Info, 1_732_200_000_123_000_000);
        let big = "é".repeat(6000);
        r.str("big", &big);
        r.str("small", "kept");
        r.msg(&big);
        for body in [Body::Json, Body::JsonCee, Body::Sd("x@1".into())] {
            for max in [480usize, 1472, 8192] {
                let out = one(spec(false, body.clone(), Framing::Lf, max), &r);
                let msg = out.trim_end_matches('\n');
                assert!(msg.len() <= max, "{} > {max}", msg.len());
                assert!(std::str::from_utf8(msg.as_bytes()).is_ok());
                if body == Body::Json {
                    let v: serde_json::Value = serde_json::from_str(msg.split_once(" - - ").unwrap().1).unwrap();
                    assert_eq!(v["small"], "kept");
                    assert!(v["logjet_truncated"].as_u64().unwrap() > 12_000);
                    assert!(v["big"].as_str().unwrap().ends_with('…'));
                } else if let Body::Sd(_) = body {
                    assert!(msg.contains("logjet_truncated=\""), "{msg}");
                    assert!(msg.contains("small=\"kept\""), "{msg}");
                }
            }
        }
        // A limit too small for any body keeps a valid, marked message.
        let out = one(spec(false, Body::Json, Framing::Lf, 120), &r);
        assert!(out.trim_end().len() <= 120);
        assert!(out.contains("[logjet: record of"), "{out}");
    }

    #[test]
    fn header_fields_are_sanitized() {
        assert_eq!(header_field("", 10), "-");
        assert_eq!(header_field("a b\tc\u{e9}", 48), "a_b_c_");
        assert_eq!(header_field(&"x".repeat(100), 48).len(), 48);
        assert_eq!(sd_name("a=b c]d\"e"), "a_b_c_d_e");
        assert_eq!(sd_name(&"k".repeat(40)).len(), 32);
        assert_eq!(tag("my app:1"), "my_app_1");
    }
}
