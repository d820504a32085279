//! The formatters: one per output, behind one interface ([`Formats`]), so
//! the writer hands each record over without knowing what its sinks take.
//!
//! | file | output |
//! |---|---|
//! | `json.rs` | the NDJSON line ([`json::JsonFormat`]), also the JSON body of syslog messages |
//! | `console.rs` | npm debug's console format (`sink::DebugConsole`) |
//! | `pretty.rs` | the pretty format (`sink::Pretty`, public as `logjet::pretty`) |
//! | `syslog.rs` | RFC 5424/3164 messages, framed for their transport (`sink::Syslog`) |
//! | `frame.rs` | the record frames of user sinks (`sink::Records`, `sink::Otlp`): the items as captured |
//! | `site_line.rs` | a call site's NDJSON line straight from the call's fields, for callers that format their own line |
//!
//! and what they share: `json.rs` also holds escaping and numbers (every
//! formatter writes JSON strings and numbers the same way), `ser.rs` the
//! serde `Serializer` (run by callers, for values that borrow) and
//! `unique_keys.rs` the one-value-per-key rule.
//!
//! Every formatter reads the record's items with `record::Items`, bound
//! fields (a child logger's, a span's) included: none parses JSON back.

pub(crate) mod console;
pub(crate) mod escape;
pub(crate) mod frame;
pub(crate) mod json;
pub(crate) mod number;
pub mod pretty;
pub(crate) mod ser;
pub(crate) mod site_line;
#[cfg(unix)]
pub(crate) mod syslog;
pub(crate) mod unique_keys;

use crate::level::Level;
use crate::record::{Out, OutBuf, RecordRef};
use crate::sink::private::Format;
use console::ConsoleFormat;
use json::JsonFormat;
use pretty::PrettyFormat;

/// One sink's formatter.
enum SinkFormat {
    /// The logger's NDJSON line, made once per record and copied.
    Json,
    Console(ConsoleFormat),
    Pretty(Box<PrettyFormat>),
    #[cfg(unix)]
    Syslog(Box<syslog::SyslogFormat>),
    /// Record frames ([`frame`]), decoded on the output thread.
    Records,
}

impl SinkFormat {
    fn new(f: Format) -> SinkFormat {
        match f {
            Format::Json => SinkFormat::Json,
            Format::Console(style) => SinkFormat::Console(ConsoleFormat::new(style)),
            Format::Pretty(style) => SinkFormat::Pretty(Box::new(PrettyFormat::new(style))),
            #[cfg(unix)]
            Format::Syslog(spec) => SinkFormat::Syslog(Box::new(syslog::SyslogFormat::new(*spec))),
            Format::Records => SinkFormat::Records,
        }
    }
}

/// Every sink's formatter of one logger, in the order of its sinks (the
/// writer's batch holds one buffer per sink, in that order), and the NDJSON
/// formatter they share.
pub(crate) struct Formats {
    json: JsonFormat,
    /// Each sink's least level and formatter.
    sinks: Vec<(Level, SinkFormat)>,
    /// One NDJSON line, when it goes to several sinks.
    line: OutBuf,
}

impl Formats {
    pub(crate) fn new(json: JsonFormat, sinks: impl IntoIterator<Item = (Level, Format)>) -> Formats {
        let sinks = sinks.into_iter().map(|(min, f)| (min, SinkFormat::new(f))).collect();
        Formats { json, sinks, line: OutBuf::with_capacity(1024) }
    }

    /// Formats a record (its time already converted) into `bufs` (one per
    /// sink) for every sink that takes its level. Returns the bytes added.
    ///
    /// The common case, one NDJSON sink, writes the line straight into its
    /// buffer; with several NDJSON sinks the line is made once and copied.
    #[inline]
    pub(crate) fn format(&mut self, rec: &RecordRef<'_>, bufs: &mut [OutBuf]) -> usize {
        let level = rec.level;
        if let ([(min, SinkFormat::Json)], [buf]) = (self.sinks.as_slice(), &mut *bufs) {
            if level < *min {
                return 0;
            }
            let before = buf.len();
            self.json.format(rec, buf);
            return buf.len() - before;
        }
        self.format_each(rec, bufs)
    }

    /// [`format`](Formats::format) with several sinks, or another format.
    fn format_each(&mut self, rec: &RecordRef<'_>, bufs: &mut [OutBuf]) -> usize {
        let mut added = 0;
        let mut line_ready = false;
        for ((min, f), buf) in self.sinks.iter_mut().zip(bufs.iter_mut()) {
            if rec.level < *min {
                continue;
            }
            let before = buf.len();
            match f {
                SinkFormat::Json => {
                    if !line_ready {
                        self.line.clear();
                        self.json.format(rec, &mut self.line);
                        line_ready = true;
                    }
                    buf.extend(self.line.as_slice());
                }
                SinkFormat::Console(c) => c.format(rec, buf),
                SinkFormat::Pretty(p) => p.format(rec, buf),
                #[cfg(unix)]
                SinkFormat::Syslog(s) => s.format(&mut self.json, rec, buf),
                SinkFormat::Records => frame::write(rec, buf),
            }
            added += buf.len() - before;
        }
        added
    }

    /// Formats a record with what the redact paths name hidden: with one
    /// NDJSON sink, the line is written and then checked (its keys' bits
    /// against the paths'); otherwise the record is redacted first, once
    /// for every sink. Returns the bytes added.
    #[inline(never)]
    pub(crate) fn format_redacted(
        &mut self,
        redact: &mut crate::redact::RedactState,
        rec: &RecordRef<'_>,
        bufs: &mut [OutBuf],
    ) -> usize {
        if let ([(min, SinkFormat::Json)], [buf]) = (self.sinks.as_slice(), &mut *bufs) {
            if rec.level < *min {
                return 0;
            }
            let before = buf.len();
            let mask = self.json.format(rec, buf);
            redact.check_line(mask, &mut self.json, rec, buf, before);
            return buf.len() - before;
        }
        match redact.apply(rec) {
            Some(hidden) => self.format(&hidden, bufs),
            None => self.format(rec, bufs),
        }
    }

    /// Copies a line a caller formatted (`crate::preformat`: callers
    /// format only when every sink takes NDJSON) to every sink that takes
    /// its level. Returns the bytes added.
    #[inline]
    pub(crate) fn copy_line(&self, rec: &RecordRef<'_>, bufs: &mut [OutBuf]) -> usize {
        let mut added = 0;
        for ((min, f), buf) in self.sinks.iter().zip(bufs.iter_mut()) {
            if rec.level >= *min && matches!(f, SinkFormat::Json) {
                buf.extend(rec.items);
                added += rec.items.len();
            }
        }
        added
    }
}

#[cfg(all(test, unix))]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::record::Capture;
    use crate::record::ItemWriter as _;
    use crate::time::{TimeFormat, TimeFormatter};

    /// A record of a child of a child logger whose bound fields are hard
    /// to write (nested serde values, quotes, newlines, `]`, invalid UTF-8,
    /// numbers at their limits, a key that needs quoting), a call field
    /// repeating a bound key, from a debug handle's namespace.
    fn record() -> Capture {
        #[derive(serde::Serialize)]
        struct Nested {
            list: Vec<i32>,
            text: &'static str,
            inner: Option<Box<Nested>>,
        }
        let (log, _guard) =
            crate::Logger::builder().sink(crate::sink::Writer::new(std::io::sink())).build().expect("a logger");
        let parent = log.child(crate::fields!(svc = "api", dup = 1, shadowed = "parent's"));
        let nested = Nested {
            list: vec![1, -2, 3],
            text: "q\"uote ] and\nnewline",
            inner: Some(Box::new(Nested { list: vec![], text: "", inner: None })),
        };
        let mut fresh = crate::fields!(
            text = "a \"quoted\" ] word\nand a second line\ttab \u{7f}",
            neg = i64::MIN,
            big = u64::MAX,
            huge = u128::MAX,
            ratio = 2.5,
            ok = true,
            shadowed = "child's"
        )
        .with("nested", &nested)
        .with("we ird", &"spaced key");
        fresh.__write(&(crate::dispatch::ValueField(crate::record::Key::runtime("raw"), &b"ok\xff\xfe end"[..]), ()));
        let child = parent.child(fresh);
        let mut rec = child.start(Level::Info, Some("app:db"));
        rec.time = 1_732_200_000_123_000_000;
        rec.str("dup", "the call's");
        rec.u64("n", 7);
        rec.msg("hello");
        rec
    }

    /// The NDJSON line's entries other than level, time, `ns` and `msg`.
    fn ndjson_fields(rec: &RecordRef<'_>) -> Vec<(String, Value)> {
        let mut json = JsonFormat::new(&[], TimeFormatter::new(TimeFormat::EpochMillis));
        let mut out = Vec::new();
        json.format(rec, &mut out);
        let line = std::str::from_utf8(&out).expect("UTF-8");
        assert_eq!(line.matches("\"dup\"").count(), 1, "{line}");
        let Value::Object(map) = serde_json::from_str(line).expect("JSON") else { panic!("an object: {line}") };
        map.into_iter().filter(|(k, _)| !matches!(k.as_str(), "level" | "time" | "ns" | "msg")).collect()
    }

    #[test]
    fn console_shows_a_childs_bound_fields_as_the_ndjson_line_has_them() {
        let rec = record();
        let expect = ndjson_fields(&rec.as_ref());
        let keys: Vec<&str> = expect.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["svc", "text", "neg", "big", "huge", "ratio", "ok", "shadowed", "nested", "we ird", "raw", "dup", "n"],
            "the parent's fields the child does not bind again, the child's, then the call's"
        );
        assert_eq!(expect[7].1, "child's");
        assert_eq!(expect[10].1, "ok\u{fffd}\u{fffd} end");

        let mut console = console::ConsoleFormat::new(console::ConsoleStyle { palette: None, hide_date: true });
        let mut out = Vec::new();
        console.format(&rec.as_ref(), &mut out);
        let text = std::str::from_utf8(&out).expect("UTF-8");
        let mut rest = text.strip_prefix("app:db hello").expect(text).strip_suffix('\n').expect(text).as_bytes();
        // ` key=value`: the key plain or a JSON string, the value JSON.
        let mut got = Vec::new();
        while let Some(r) = rest.strip_prefix(b" ") {
            let (key, r) = if r.first() == Some(&b'"') {
                let mut s = serde_json::Deserializer::from_slice(r).into_iter::<String>();
                let k = s.next().expect("a key").expect("a JSON string");
                (k, &r[s.byte_offset()..])
            } else {
                let eq = r.iter().position(|&b| b == b'=').expect("=");
                (String::from_utf8(r[..eq].to_vec()).expect("UTF-8"), &r[eq..])
            };
            let r = r.strip_prefix(b"=").expect("=");
            let mut s = serde_json::Deserializer::from_slice(r).into_iter::<Value>();
            got.push((key, s.next().expect("a value").expect("JSON")));
            rest = &r[s.byte_offset()..];
        }
        assert!(rest.is_empty(), "{text}");
        assert_eq!(got, expect, "{text}");
    }

    #[test]
    fn syslog_structured_data_shows_a_childs_bound_fields_as_the_ndjson_line_has_them() {
        let rec = record();
        let rec = rec.as_ref();
        let expect = ndjson_fields(&rec);
        let spec = syslog::SyslogSpec {
            rfc3164: false,
            facility: 16,
            hostname: syslog::header_field("web", 255),
            app_name: syslog::header_field("billing", 48),
            procid: "1".into(),
            msgid: None,
            body: syslog::Body::Sd("f@1".into()),
            framing: syslog::Framing::Lf,
            max_len: 64 * 1024,
        };
        let mut f = syslog::SyslogFormat::new(spec);
        let mut json = JsonFormat::new(&[], TimeFormatter::new(TimeFormat::EpochMillis));
        let mut out = Vec::new();
        f.format(&mut json, &rec, &mut out);
        let text = String::from_utf8(out).expect("UTF-8");
        let sd = &text[text.find("[f@1 ").expect(&text) + 5..];
        // `name="value"` params until the unescaped `]`.
        let mut got = Vec::new();
        let mut chars = sd.chars();
        loop {
            let name: String = chars.by_ref().take_while(|&c| c != '=').collect();
            assert_eq!(chars.next(), Some('"'), "{text}");
            let mut value = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some('t') => value.push('\t'),
                        Some('r') => value.push('\r'),
                        Some('u') => {
                            let hex: String = chars.by_ref().take(4).collect();
                            value.push(char::from_u32(u32::from_str_radix(&hex, 16).expect("hex")).expect("a char"));
                        }
                        Some(c) => value.push(c),
                        None => panic!("{text}"),
                    },
                    c => value.push(c),
                }
            }
            got.push((name, value));
            match chars.next() {
                Some(' ') => continue,
                Some(']') => break,
                other => panic!("{other:?} in {text}"),
            }
        }
        assert_eq!(chars.as_str(), " hello\n");
        let ns = got.remove(0);
        assert_eq!(ns, ("ns".to_owned(), "app:db".to_owned()));
        assert_eq!(got.len(), expect.len(), "{text}");
        for ((name, value), (k, v)) in got.iter().zip(&expect) {
            assert_eq!(*name, syslog::sd_name(k), "{text}");
            // A string as its text, anything else as its JSON.
            match v {
                Value::String(s) => assert_eq!(value, s, "{k} in {text}"),
                v => assert_eq!(&serde_json::from_str::<Value>(value).expect(value), v, "{k} in {text}"),
            }
        }
    }
}
