//! JSON text: string escaping, numbers, keys, and the NDJSON line of a record.
//!
//! Every string goes through [`write_str`] or [`write_str_lossy`], which escape
//! what JSON requires (`"`, `\`, U+0000–U+001F) and also DEL, the C1 controls
//! U+0080–U+009F and U+2028/U+2029, so that a line can never be split or
//! made to look like two lines by any tool that reads it.

use crate::record::{Item, Out, Record, Val};
use crate::time::TimeFormatter;

/// What to do with each byte of a UTF-8 string.
/// 0: copy; `b'u'`: `\u00XX`; other ASCII: that two-character escape;
/// `C2`/`E2`: a lead byte that may start a C1 control or U+2028/U+2029.
const C2: u8 = 1;
const E2: u8 = 2;

static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0A] = b'n';
    t[0x0C] = b'f';
    t[0x0D] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[0x7F] = b'u';
    t[0xC2] = C2;
    t[0xE2] = E2;
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes the escaped contents of valid UTF-8 `s`, without quotes.
#[inline]
pub(crate) fn escape_into<O: Out + ?Sized>(out: &mut O, s: &[u8]) {
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let e = ESCAPE[s[i] as usize];
        if e == 0 {
            i += 1;
            continue;
        }
        match e {
            C2 => {
                // U+0080..U+009F are C2 80..C2 9F.
                match s.get(i + 1) {
                    Some(&b) if (0x80..=0x9F).contains(&b) => {
                        out.extend(&s[start..i]);
                        out.extend(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
                        i += 2;
                        start = i;
                    }
                    _ => i += 1,
                }
            }
            E2 => {
                // U+2028 is E2 80 A8, U+2029 is E2 80 A9.
                if s.get(i + 1) == Some(&0x80) && matches!(s.get(i + 2), Some(0xA8) | Some(0xA9)) {
                    out.extend(&s[start..i]);
                    out.extend(if s[i + 2] == 0xA8 { b"\\u2028" } else { b"\\u2029" });
                    i += 3;
                    start = i;
                } else {
                    i += 1;
                }
            }
            b'u' => {
                out.extend(&s[start..i]);
                let b = s[i];
                out.extend(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
                i += 1;
                start = i;
            }
            short => {
                out.extend(&s[start..i]);
                out.extend(&[b'\\', short]);
                i += 1;
                start = i;
            }
        }
    }
    out.extend(&s[start..]);
}

/// Writes valid UTF-8 `s` as a quoted, escaped JSON string.
#[inline]
pub(crate) fn write_str<O: Out + ?Sized>(out: &mut O, s: &[u8]) {
    out.push(b'"');
    escape_into(out, s);
    out.push(b'"');
}

/// Writes bytes that may not be UTF-8 as a JSON string, each invalid
/// sequence replaced by U+FFFD (written as `\ufffd`).
pub(crate) fn write_str_lossy<O: Out + ?Sized>(out: &mut O, s: &[u8]) {
    out.push(b'"');
    for chunk in s.utf8_chunks() {
        escape_into(out, chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            out.extend(b"\\ufffd");
        }
    }
    out.push(b'"');
}

/// Writes a float: finite values as the shortest JSON number that reads
/// back to the same value; NaN and the infinities as the strings `"NaN"`,
/// `"Infinity"` and `"-Infinity"`.
#[inline]
pub(crate) fn write_f64<O: Out + ?Sized>(out: &mut O, v: f64) {
    if v.is_finite() {
        out.extend(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend(non_finite(v.is_nan(), v.is_sign_negative()));
    }
}

/// Like [`write_f64`] for an `f32`, printed with `f32` precision.
#[inline]
pub(crate) fn write_f32<O: Out + ?Sized>(out: &mut O, v: f32) {
    if v.is_finite() {
        out.extend(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend(non_finite(v.is_nan(), v.is_sign_negative()));
    }
}

fn non_finite(nan: bool, negative: bool) -> &'static [u8] {
    if nan {
        b"\"NaN\""
    } else if negative {
        b"\"-Infinity\""
    } else {
        b"\"Infinity\""
    }
}

#[inline]
pub(crate) fn write_int<O: Out + ?Sized, I: itoa::Integer>(out: &mut O, v: I) {
    out.extend(itoa::Buffer::new().format(v).as_bytes());
}

/// The keys logjet writes itself at the top level of a line (`ns` only on
/// records from a [`DebugLogger`](crate::DebugLogger)). A user's top-level
/// key equal to one of them, or to one of them preceded by underscores, is
/// written with one more leading underscore.
pub const RESERVED_KEYS: [&str; 6] = ["level", "time", "pid", "hostname", "msg", "ns"];

/// Whether a user's top-level key must be renamed so that it cannot be
/// confused with a key logjet writes: any key made of underscores followed
/// by a reserved key (`level`, `_level`, `__level`, …, `ns`).
#[inline]
pub(crate) fn is_reserved(key: &[u8]) -> bool {
    let mut k = key;
    while let [b'_', rest @ ..] = k {
        k = rest;
    }
    matches!(k, b"level" | b"time" | b"pid" | b"hostname" | b"msg" | b"ns")
}

/// Writes `,"key":` for a top-level user key, renaming reserved keys by
/// prefixing one more underscore (`level` → `_level`, `_level` → `__level`).
/// The renaming is one-to-one, so no two user keys end up equal and no user
/// key equals a key logjet writes.
#[inline]
pub(crate) fn write_field_key<O: Out + ?Sized>(out: &mut O, key: &[u8]) {
    if is_reserved(key) {
        out.extend(b",\"_");
    } else {
        out.extend(b",\"");
    }
    escape_into(out, key);
    out.extend(b"\":");
}

/// Writes a captured value as JSON.
#[inline]
pub(crate) fn write_val<O: Out + ?Sized>(out: &mut O, v: Val<'_>) {
    match v {
        Val::I64(n) => write_int(out, n),
        Val::U64(n) => write_int(out, n),
        Val::I128(n) => write_int(out, n),
        Val::U128(n) => write_int(out, n),
        Val::F64(f) => write_f64(out, f),
        Val::Bool(true) => out.extend(b"true"),
        Val::Bool(false) => out.extend(b"false"),
        Val::Null => out.extend(b"null"),
        Val::Str(s) => write_str(out, s),
        Val::Bytes(b) => write_str_lossy(out, b),
        Val::Json(j) => out.extend(j),
    }
}

/// Turns captured fields into the JSON fragment `,"k":v,...` that a child
/// logger stores for its bindings. Returns each key with the byte range of
/// its `,"k":v` entry in the fragment.
pub(crate) fn encode_fields(captured: &[u8], out: &mut Vec<u8>) -> Vec<(Box<[u8]>, std::ops::Range<usize>)> {
    let mut entries = Vec::new();
    for item in crate::record::Items::new(captured) {
        match item {
            Item::Field(k, v) => {
                let start = out.len();
                write_field_key(out, k);
                write_val(out, v);
                entries.push((Box::from(k), start..out.len()));
            }
            Item::Bindings(b) => out.extend_from_slice(b),
            Item::Msg(_) | Item::Ns(_) => {}
        }
    }
    entries
}

/// The NDJSON line format: pino's keys in pino's order.
pub(crate) struct JsonFormat {
    /// `{"level":30` for each level.
    level_prefix: [Vec<u8>; 6],
    /// `,"pid":4242,"hostname":"web-1"` (or less, as configured).
    base: Vec<u8>,
    time: TimeFormatter,
}

impl JsonFormat {
    pub(crate) fn new(base: &[(&str, BaseValue<'_>)], time: TimeFormatter) -> JsonFormat {
        let level_prefix = crate::level::Level::ALL.map(|l| {
            let mut v = b"{\"level\":".to_vec();
            write_int(&mut v, l.number());
            v
        });
        let mut b = Vec::new();
        for (k, v) in base {
            b.extend_from_slice(b",\"");
            escape_into(&mut b, k.as_bytes());
            b.extend_from_slice(b"\":");
            match v {
                BaseValue::Int(n) => write_int(&mut b, *n),
                BaseValue::Str(s) => write_str(&mut b, s.as_bytes()),
            }
        }
        JsonFormat { level_prefix, base: b, time }
    }

    /// Appends the record as one line (ending in `\n`).
    #[inline]
    pub(crate) fn format(&mut self, rec: &Record, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.level_prefix[rec.level.index()]);
        self.time.write_json_member(out, rec.time);
        out.extend_from_slice(&self.base);
        let mut msg: Option<&[u8]> = None;
        for item in crate::record::Items::new(rec.bytes()) {
            match item {
                Item::Field(k, v) => {
                    write_field_key(out, k);
                    write_val(out, v);
                }
                Item::Bindings(b) => out.extend_from_slice(b),
                Item::Ns(ns) => {
                    out.extend_from_slice(b",\"ns\":");
                    write_str(out, ns);
                }
                Item::Msg(m) => msg = Some(m),
            }
        }
        if let Some(m) = msg {
            out.extend_from_slice(b",\"msg\":");
            write_str(out, m);
        }
        out.extend_from_slice(b"}\n");
    }
}

/// A value of the base object (`pid`, `hostname`).
pub(crate) enum BaseValue<'a> {
    Int(u64),
    Str(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(input: &str) -> String {
        let mut v = Vec::new();
        write_str(&mut v, input.as_bytes());
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn escapes_what_json_requires_and_line_breakers() {
        assert_eq!(s("plain"), r#""plain""#);
        assert_eq!(s("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(s("l1\nl2\r\t\x08\x0c"), r#""l1\nl2\r\t\b\f""#);
        assert_eq!(s("\x00\x01\x1f\x7f"), r#""\u0000\u0001\u001f\u007f""#);
        assert_eq!(s("a\u{2028}b\u{2029}c"), r#""a\u2028b\u2029c""#);
        assert_eq!(s("nel\u{85}c1\u{9f}"), r#""nel\u0085c1\u009f""#);
        // Neighbours of the special lead bytes stay as they are.
        assert_eq!(s("\u{a0}é€\u{2027}\u{202a}"), "\"\u{a0}é€\u{2027}\u{202a}\"");
        assert_eq!(s("日本語 🎉"), "\"日本語 🎉\"");
    }

    #[test]
    fn every_char_round_trips_through_serde_json() {
        let all: String = (0u32..0x11000).filter_map(char::from_u32).collect();
        let json = s(&all);
        assert!(!json.contains('\n') && !json.contains('\u{2028}') && !json.contains('\u{85}'));
        let back: String = serde_json::from_str(&json).unwrap();
        assert_eq!(back, all);
    }

    #[test]
    fn lossy_replaces_invalid_utf8() {
        let mut v = Vec::new();
        write_str_lossy(&mut v, b"ok\xff\xfe mid \xe2\x80 end\n");
        let text = String::from_utf8(v).unwrap();
        assert_eq!(text, r#""ok\ufffd\ufffd mid \ufffd end\n""#);
        let back: String = serde_json::from_str(&text).unwrap();
        assert_eq!(back, "ok\u{fffd}\u{fffd} mid \u{fffd} end\n");
    }

    #[test]
    fn floats_are_valid_json() {
        let f = |x: f64| {
            let mut v = Vec::new();
            write_f64(&mut v, x);
            String::from_utf8(v).unwrap()
        };
        assert_eq!(f(3.25), "3.25");
        assert_eq!(f(f64::NAN), "\"NaN\"");
        assert_eq!(f(f64::INFINITY), "\"Infinity\"");
        assert_eq!(f(f64::NEG_INFINITY), "\"-Infinity\"");
        for x in [0.0, -0.0, 1e300, -1e-300, f64::MIN_POSITIVE, f64::MAX, 0.1 + 0.2] {
            let back: f64 = serde_json::from_str(&f(x)).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x}");
        }
    }

    #[test]
    fn reserved_keys_are_renamed_one_to_one() {
        let k = |key: &str| {
            let mut v = Vec::new();
            write_field_key(&mut v, key.as_bytes());
            String::from_utf8(v).unwrap()
        };
        assert_eq!(k("level"), r#","_level":"#);
        assert_eq!(k("_level"), r#","__level":"#);
        assert_eq!(k("msg"), r#","_msg":"#);
        assert_eq!(k("hostname"), r#","_hostname":"#);
        assert_eq!(k("levels"), r#","levels":"#);
        assert_eq!(k("_x"), r#","_x":"#);
        assert_eq!(k("we\"ird\n"), r#","we\"ird\n":"#);
        for key in RESERVED_KEYS {
            assert!(is_reserved(key.as_bytes()));
        }
    }
}
