//! The debug console format: what npm `debug` prints, for records from
//! debug handles.
//!
//! On a terminal (colours on), like debug's `formatArgs`:
//!
//! ```text
//!   <colour;1m>app:db <reset>connected host="db1" pool=8 <colour>m+12ms<reset>
//! ```
//!
//! with each further line of a multi-line message behind the same prefix.
//! Without colours: `<ISO date> app:db connected host="db1" pool=8`, the
//! date left out under `DEBUG_HIDE_DATE`. Fields follow the message as
//! `key=value` with the value as JSON. Control characters other than
//! newline and tab are escaped (`\u001b`), so a record cannot drive the
//! terminal.

use std::collections::HashMap;

use crate::format::escape::escape_into;
use crate::format::json::write_val;
use crate::format::unique_keys::{plan_if_repeated, Skips};
use crate::record::{Item, Items, KeyTable, Out, RecordRef};

/// npm debug's palettes (debug/src/node.js).
pub(crate) const BASIC: [u8; 6] = [6, 2, 3, 4, 5, 1];
pub(crate) const ANSI256: [u8; 76] = [
    20, 21, 26, 27, 32, 33, 38, 39, 40, 41, 42, 43, 44, 45, 56, 57, 62, 63, 68, 69, 74, 75, 76, 77, 78, 79, 80, 81, 92,
    93, 98, 99, 112, 113, 128, 129, 134, 135, 148, 149, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171,
    172, 173, 178, 179, 184, 185, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 214, 215, 220,
    221,
];

/// debug's `selectColor`: a 32-bit string hash over UTF-16 code units.
pub(crate) fn select_color(namespace: &str, palette: &[u8]) -> u8 {
    let mut hash: i32 = 0;
    for c in namespace.encode_utf16() {
        hash = hash.wrapping_shl(5).wrapping_sub(hash).wrapping_add(i32::from(c));
    }
    palette[(hash.unsigned_abs() as usize) % palette.len()]
}

/// The `ms` package's short form, as debug prints the time since the
/// previous record of a namespace: `0ms`, `999ms`, `2s`, `1m`, `1h`, `2d`.
pub(crate) fn humanize(ms: i64) -> String {
    const S: f64 = 1000.0;
    const M: f64 = S * 60.0;
    const H: f64 = M * 60.0;
    const D: f64 = H * 24.0;
    let v = ms as f64;
    let a = v.abs();
    // Math.round: halves go up.
    let round = |x: f64| (x + 0.5).floor() as i64;
    if a >= D {
        format!("{}d", round(v / D))
    } else if a >= H {
        format!("{}h", round(v / H))
    } else if a >= M {
        format!("{}m", round(v / M))
    } else if a >= S {
        format!("{}s", round(v / S))
    } else {
        format!("{ms}ms")
    }
}

/// How the console looks, decided when the sink is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConsoleStyle {
    /// `None`: no colours; otherwise the palette (6 or 76 entries).
    pub(crate) palette: Option<&'static [u8]>,
    pub(crate) hide_date: bool,
}

/// Per-namespace state: its colour and the time of its previous record.
struct NsState {
    color: u8,
    last_ms: Option<i64>,
}

pub(crate) struct ConsoleFormat {
    style: ConsoleStyle,
    namespaces: HashMap<Box<[u8]>, NsState>,
    keys: KeyTable,
}

impl ConsoleFormat {
    pub(crate) fn new(style: ConsoleStyle) -> ConsoleFormat {
        ConsoleFormat { style, namespaces: HashMap::new(), keys: KeyTable::default() }
    }

    /// Appends the record (only records from debug handles; others are
    /// not this sink's).
    pub(crate) fn format<O: Out>(&mut self, rec: &RecordRef<'_>, out: &mut O) {
        let mut ns: Option<&[u8]> = None;
        let mut msg: &[u8] = b"";
        for item in Items::new(rec.bytes()) {
            match item {
                Item::Ns(n) => ns = Some(n),
                Item::Msg(m, _) => msg = m,
                _ => {}
            }
        }
        let Some(ns) = ns else { return };
        let ms = if rec.time == 0 { crate::clock::system_nanos() } else { rec.time } / 1_000_000;
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        let palette = self.style.palette;
        if self.namespaces.len() >= crate::tunables::DEBUG_TARGETS_CACHED && !self.namespaces.contains_key(ns) {
            // Bounded: a service that makes namespaces at run time starts
            // again (colours are recomputed; each namespace's `+ms` restarts).
            self.namespaces.clear();
        }
        let state = self.namespaces.entry(Box::from(ns)).or_insert_with(|| NsState {
            color: palette.map_or(0, |p| select_color(&String::from_utf8_lossy(ns), p)),
            last_ms: None,
        });
        let diff = ms - state.last_ms.unwrap_or(ms);
        state.last_ms = Some(ms);

        let mut prefix = Vec::with_capacity(32 + ns.len());
        let mut code = Vec::new();
        if palette.is_some() {
            code.extend_from_slice(b"\x1b[3");
            if state.color < 8 {
                code.push(b'0' + state.color);
            } else {
                code.extend_from_slice(b"8;5;");
                code.extend_from_slice(itoa::Buffer::new().format(state.color).as_bytes());
            }
            prefix.extend_from_slice(b"  ");
            prefix.extend_from_slice(&code);
            prefix.extend_from_slice(b";1m");
            write_text(&mut prefix, ns);
            prefix.extend_from_slice(b" \x1b[0m");
        } else {
            if !self.style.hide_date {
                prefix.extend_from_slice(iso_date(ms).as_bytes());
                prefix.push(b' ');
            }
            write_text(&mut prefix, ns);
            prefix.push(b' ');
        }

        for (i, line) in msg.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            out.extend(&prefix);
            write_text(out, line);
        }
        self.keys.refresh();
        let plan = plan_if_repeated(rec.bytes(), &self.keys);
        let mut skips = Skips::new(plan.as_deref());
        // Bound fields (a child logger's) and the call's alike.
        for item in Items::with_keys(rec.bytes(), &self.keys).flat() {
            if let Item::Field(k, v, _) = item {
                if skips.skip() {
                    continue;
                }
                out.push(b' ');
                write_key(out, k);
                out.push(b'=');
                write_val(out, v);
            }
        }
        if palette.is_some() {
            out.push(b' ');
            out.extend(&code);
            out.extend(b"m+");
            out.extend(humanize(diff).as_bytes());
            out.extend(b"\x1b[0m");
        }
        out.push(b'\n');
    }
}

/// `new Date(ms).toISOString()`.
fn iso_date(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// Text for a terminal: newline and tab as they are (the caller splits
/// lines), every other control character (C0, DEL, C1) and U+2028/9
/// escaped as JSON does, invalid UTF-8 replaced.
fn write_text<O: Out + ?Sized>(out: &mut O, s: &[u8]) {
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            let n = u32::from(c);
            let control = (n < 0x20 && c != '\t') || (0x7F..=0x9F).contains(&n) || n == 0x2028 || n == 0x2029;
            let mut buf = [0u8; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            if control {
                escape_into(out, bytes);
            } else {
                out.extend(bytes);
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend("\u{fffd}".as_bytes());
        }
    }
}

/// A key as it is when it is a plain word, quoted as JSON otherwise.
fn write_key<O: Out + ?Sized>(out: &mut O, k: &[u8]) {
    let plain = !k.is_empty() && k.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if plain {
        out.extend(k);
    } else {
        crate::format::escape::write_str(out, k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use crate::record::Capture;
    use crate::record::ItemWriter as _;

    fn rec(ms: u64, ns: &str, msg: &str) -> Capture {
        let mut c = Capture::new(Level::Debug, ms * 1_000_000);
        c.ns(ns);
        crate::logger::Bindings::of(|c| {
            c.u64("request_id", 42);
            c.str("we ird", "a,b");
            c.json_with("o", |c| {
                c.extend(b"{\"x\":[1,2]}");
                Ok(())
            });
        })
        .capture(&mut c);
        c.str("host", "db1");
        c.u64("pool", 8);
        c.msg(msg);
        c
    }

    fn run(style: ConsoleStyle, recs: &[Capture]) -> String {
        let mut f = ConsoleFormat::new(style);
        let mut out = Vec::new();
        for r in recs {
            f.format(&r.as_ref(), &mut out);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn colours_diff_and_multiline_like_debug() {
        let style = ConsoleStyle { palette: Some(&BASIC), hide_date: false };
        let c = select_color("app:db", &BASIC);
        assert_eq!(c, 4);
        let out = run(style, &[rec(1_000, "app:db", "connected"), rec(1_250, "app:db", "two\nlines")]);
        let pre = "  \x1b[34;1mapp:db \x1b[0m";
        let fields = " request_id=42 \"we ird\"=\"a,b\" o={\"x\":[1,2]} host=\"db1\" pool=8";
        assert_eq!(
            out,
            format!("{pre}connected{fields} \x1b[34m+0ms\x1b[0m\n{pre}two\n{pre}lines{fields} \x1b[34m+250ms\x1b[0m\n")
        );
        let out = run(ConsoleStyle { palette: Some(&ANSI256), hide_date: false }, &[rec(0, "app:db", "x")]);
        assert!(out.starts_with("  \x1b[38;5;199;1mapp:db \x1b[0mx"), "{out:?}");
        assert!(out.ends_with(" \x1b[38;5;199m+0ms\x1b[0m\n"), "{out:?}");
    }

    #[test]
    fn diff_is_per_namespace() {
        let style = ConsoleStyle { palette: Some(&BASIC), hide_date: false };
        let out =
            run(style, &[rec(1_000, "a", "1"), rec(2_000, "b", "2"), rec(4_500, "a", "3"), rec(64_000, "b", "4")]);
        let diffs: Vec<&str> = out.lines().map(|l| l.rsplit('+').next().unwrap().trim_end_matches("\x1b[0m")).collect();
        assert_eq!(diffs, ["0ms", "0ms", "4s", "1m"]);
    }

    #[test]
    fn without_colours_an_iso_date_prefix() {
        let style = ConsoleStyle { palette: None, hide_date: false };
        let out = run(style, &[rec(1_732_200_000_123, "app:db", "connected\nagain")]);
        assert_eq!(
            out,
            "2024-11-21T14:40:00.123Z app:db connected\n2024-11-21T14:40:00.123Z app:db again request_id=42 \"we ird\"=\"a,b\" o={\"x\":[1,2]} host=\"db1\" pool=8\n"
        );
        let hidden = run(ConsoleStyle { palette: None, hide_date: true }, &[rec(5, "x", "m")]);
        assert!(hidden.starts_with("x m request_id=42"), "{hidden}");
    }

    #[test]
    fn control_characters_cannot_drive_the_terminal() {
        let style = ConsoleStyle { palette: None, hide_date: true };
        let out = run(style, &[rec(5, "evil\x1b[2J", "a\x1b[31m\tb\r\u{85}\u{2028}\"q\" \\ \x7f")]);
        let first = out.lines().next().unwrap();
        assert!(first.starts_with("evil\\u001b[2J a\\u001b[31m\tb\\r\\u0085\\u2028\"q\" \\ \\u007f"), "{first}");
    }

    fn reference(name: &str) -> Vec<serde_json::Value> {
        let text = match name {
            "humanize" => include_str!("../../tests/debug/humanize.json"),
            _ => include_str!("../../tests/debug/palettes.json"),
        };
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["cases"].as_array().unwrap().clone()
    }

    #[test]
    fn humanize_is_the_ms_packages() {
        let cases = reference("humanize");
        assert!(cases.len() > 20);
        for c in cases {
            assert_eq!(humanize(c[0].as_i64().unwrap()), c[1].as_str().unwrap(), "{}", c[0]);
        }
    }

    #[test]
    fn palettes_are_debugs() {
        let p = reference("palettes");
        let list = |v: &serde_json::Value| -> Vec<u8> {
            v.as_array().unwrap().iter().map(|n| n.as_u64().unwrap() as u8).collect()
        };
        assert_eq!(list(&p[0]), BASIC);
        assert_eq!(list(&p[1]), ANSI256);
    }

    #[test]
    fn records_without_namespace_are_skipped() {
        let mut c = Capture::new(Level::Info, 1);
        c.msg("plain");
        let out = run(ConsoleStyle { palette: None, hide_date: true }, &[c]);
        assert_eq!(out, "");
    }
}
