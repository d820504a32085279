//! JSON strings: escaping (16 bytes at a time on the clean path) and
//! reading a string literal back.
//!
//! Every string goes through [`write_str`] or [`write_str_lossy`], which escape
//! what JSON requires (`"`, `\`, U+0000–U+001F) and also DEL, the C1 controls
//! U+0080–U+009F and U+2028/U+2029, so that a line can never be split or
//! made to look like two lines by any tool that reads it.

use crate::record::Out;

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

/// Whether any of the 8 bytes of `w` may need escaping: below 0x20, `"`,
/// `\`, DEL, or not ASCII (the lead bytes of C1 controls and U+2028/9 are
/// checked byte by byte).
#[inline(always)]
fn word_needs_escape(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let below_space = w.wrapping_sub(LO * 0x20) & !w & HI;
    let quote = has_zero(w ^ (LO * b'"' as u64));
    let backslash = has_zero(w ^ (LO * b'\\' as u64));
    let del = has_zero(w ^ (LO * 0x7F));
    (below_space | quote | backslash | del | (w & HI)) != 0
}

/// Whether none of 16 bytes needs a look: below 0x20, `"`, `\\`, DEL or
/// not ASCII. Written as a plain loop over a fixed-size array, which the
/// compiler turns into a few vector compares (SSE2 on x86-64).
#[inline(always)]
fn clean16(b: &[u8; 16]) -> bool {
    let mut bad = false;
    for &c in b {
        bad |= (c < 0x20) | (c == b'"') | (c == b'\\') | (c >= 0x7F);
    }
    !bad
}

/// The 16 bytes of `s` from `at` (which has them).
#[inline(always)]
fn block16(s: &[u8], at: usize) -> [u8; 16] {
    let mut b = [0; 16];
    b.copy_from_slice(&s[at..at + 16]);
    b
}

/// Writes `"s"` into `dst` (at least `s.len() + 18` bytes) when no byte of
/// `s` needs a look, 16 bytes at a time; returns false otherwise. Bytes
/// past the closing quote may be overwritten (scratch, not counted).
#[inline(always)]
fn copy_quoted_clean(dst: &mut [u8], s: &[u8]) -> bool {
    let n = s.len();
    if dst.len() < n + 18 {
        return false;
    }
    dst[0] = b'"';
    if n <= 16 {
        // Padded with a harmless byte; the padding lands past the quote.
        let mut b = [b'a'; 16];
        crate::record::copy_small(&mut b[..n], s);
        if !clean16(&b) {
            return false;
        }
        dst[1..17].copy_from_slice(&b);
    } else {
        let mut at = 0;
        while at + 16 <= n {
            let b = block16(s, at);
            if !clean16(&b) {
                return false;
            }
            dst[1 + at..17 + at].copy_from_slice(&b);
            at += 16;
        }
        if at < n {
            // The last 16 bytes, overlapping what was already copied.
            let b = block16(s, n - 16);
            if !clean16(&b) {
                return false;
            }
            dst[n - 15..n + 1].copy_from_slice(&b);
        }
    }
    dst[n + 1] = b'"';
    true
}

/// Writes the escaped contents of valid UTF-8 `s`, without quotes.
#[inline]
pub(crate) fn escape_into<O: Out + ?Sized>(out: &mut O, s: &[u8]) {
    // Fast path: 8 bytes at a time while none needs a look; the last
    // partial word is padded with a harmless byte.
    let mut clean = 0;
    for c in s.chunks_exact(8) {
        if word_needs_escape(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])) {
            break;
        }
        clean += 8;
    }
    if clean + 8 > s.len() {
        let rest = &s[clean..];
        let mut padded = [b'a'; 8];
        crate::record::copy_small(&mut padded[..rest.len()], rest);
        if !word_needs_escape(u64::from_le_bytes(padded)) {
            out.extend(s);
            return;
        }
    }
    while clean < s.len() && ESCAPE[s[clean] as usize] == 0 {
        clean += 1;
    }
    if clean == s.len() {
        out.extend(s);
        return;
    }
    let mut start = 0;
    let mut i = clean;
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

/// Writes valid UTF-8 `s` as a quoted, escaped JSON string. Always
/// inlined: its fast path is a few instructions in the writer's loop,
/// where a call cost about 45 writer instructions per record when the
/// compiler chose one (see docs/performance.md).
#[inline(always)]
pub(crate) fn write_str<O: Out + ?Sized>(out: &mut O, s: &[u8]) {
    // Fast path: the string needs no escaping and the output lends room
    // for it: checked and copied a word at a time, quotes included.
    if let Some(dst) = out.spare(s.len() + 18) {
        if copy_quoted_clean(dst, s) {
            out.advance(s.len() + 2);
            return;
        }
    }
    out.push(b'"');
    escape_into(out, s);
    out.push(b'"');
}

/// Writes `key` (a pre-framed `,"key":`) and valid UTF-8 `s` as a quoted,
/// escaped JSON string: in one piece of the output's room when `s` needs
/// no escaping, else as [`write_str`] after the key.
#[inline(always)]
pub(crate) fn write_keyed_str<O: Out + ?Sized>(out: &mut O, key: &[u8], s: &[u8]) {
    let k = key.len();
    if let Some(dst) = out.spare(k + s.len() + 18) {
        let (dk, ds) = dst.split_at_mut(k);
        crate::record::copy_small(dk, key);
        if copy_quoted_clean(ds, s) {
            out.advance(k + s.len() + 2);
            return;
        }
    }
    out.extend(key);
    write_str(out, s);
}

/// Writes bytes that may not be UTF-8 as a JSON string, each invalid
/// sequence replaced by U+FFFD (written as `\ufffd`).
pub(crate) fn write_str_lossy<O: Out + ?Sized>(out: &mut O, s: &[u8]) {
    out.push(b'"');
    escape_lossy_into(out, s);
    out.push(b'"');
}

/// The escaped contents of bytes that may not be UTF-8 (no quotes).
pub(crate) fn escape_lossy_into<O: Out + ?Sized>(out: &mut O, s: &[u8]) {
    for chunk in s.utf8_chunks() {
        escape_into(out, chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            out.extend(b"\\ufffd");
        }
    }
}

/// The text of a JSON string literal (`"a\nb"` → `a` newline `b`), or
/// `None` when `j` is not one.
pub(crate) fn unescape_json_string(j: &[u8]) -> Option<String> {
    let inner = j.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let text = std::str::from_utf8(inner).ok()?;
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            '/' => out.push('/'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                let mut n = u32::from_str_radix(&hex, 16).ok()?;
                // logjet's encoder never writes surrogates; other writers
                // (a JSON text read by `logjet-pretty`) may write a pair.
                if (0xD800..0xDC00).contains(&n) {
                    let mut ahead = chars.clone();
                    if ahead.next() == Some('\\') && ahead.next() == Some('u') {
                        let low: String = ahead.by_ref().take(4).collect();
                        if let Some(low) = u32::from_str_radix(&low, 16).ok().filter(|l| (0xDC00..0xE000).contains(l)) {
                            n = 0x10000 + ((n - 0xD800) << 10) + (low - 0xDC00);
                            chars = ahead;
                        }
                    }
                }
                out.push(char::from_u32(n).unwrap_or('\u{fffd}'));
            }
            _ => return None,
        }
    }
    Some(out)
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
    fn block_fast_path_matches_the_byte_path_at_every_length_and_position() {
        // OutBuf lends room, so it takes the 16-byte path; Vec does not.
        let specials = ["\"", "\\", "\n", "\x7f", "é", "\u{2028}", "\u{85}", "\x00"];
        for len in 0..50 {
            let plain = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP"[..len].to_string();
            let mut cases = vec![plain.clone()];
            for at in 0..=len {
                for sp in specials {
                    cases.push(format!("{}{}{}", &plain[..at], sp, &plain[at..]));
                }
            }
            for case in cases {
                let mut fast = crate::record::OutBuf::with_capacity(1);
                fast.extend(b"x");
                write_str(&mut fast, case.as_bytes());
                fast.extend(b"y");
                let mut slow = b"x".to_vec();
                write_str(&mut slow, case.as_bytes());
                slow.extend_from_slice(b"y");
                assert_eq!(fast.as_slice(), &slow[..], "{case:?}");
            }
        }
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
    fn the_word_check_finds_every_byte_that_needs_a_look() {
        for b in 0u8..=255 {
            for pos in 0..8 {
                let mut w = *b"abcdefgh";
                w[pos] = b;
                let needs = ESCAPE[b as usize] != 0 || b >= 0x80;
                assert_eq!(word_needs_escape(u64::from_le_bytes(w)), needs, "byte {b:#x} at {pos}");
            }
        }
    }
}
