//! JSON text: string escaping, numbers, keys, and the NDJSON line of a record.
//!
//! Every string goes through [`write_str`] or [`write_str_lossy`], which escape
//! what JSON requires (`"`, `\`, U+0000–U+001F) and also DEL, the C1 controls
//! U+0080–U+009F and U+2028/U+2029, so that a line can never be split or
//! made to look like two lines by any tool that reads it.

use crate::format::unique_keys::{Seen, Skips};
use crate::record::{Bound, Item, Items, KeyTable, Out, RecordRef, Val};
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

/// Writes valid UTF-8 `s` as a quoted, escaped JSON string.
#[inline]
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

/// Writes a float: finite values as the shortest JSON number that reads
/// back to the same value; NaN and the infinities as the strings `"NaN"`,
/// `"Infinity"` and `"-Infinity"`.
#[inline]
pub(crate) fn write_f64<O: Out + ?Sized>(out: &mut O, v: f64) {
    if v.is_finite() {
        if !write_short_decimal(out, v) {
            out.extend(ryu::Buffer::new().format_finite(v).as_bytes());
        }
    } else {
        out.extend(non_finite(v.is_nan(), v.is_sign_negative()));
    }
}

/// A fast path for the floats logs are full of (`3.25`, `0.5`, `12.125`):
/// when `v` is exactly `n / 10^k` as a double, for an integer `n` below
/// 2^53 and `k ≤ 6`, writes `n` with `k` decimals (`1.0` for integers, as
/// ryu does). The text reads back to exactly `v`: `n` and `10^k` are exact
/// doubles, so `n / 10^k` computed in floating point is the correctly
/// rounded value of the decimal, which is what a JSON parser computes.
/// Returns false (writing nothing) for other values, which go to ryu.
#[inline]
fn write_short_decimal<O: Out + ?Sized>(out: &mut O, v: f64) -> bool {
    const SCALE: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
                                                // Outside [1e-4, 1e9) ryu writes exponents or many digits: leave it to ryu,
                                                // so that both paths always write the same text.
    if !(1e-4..1e9).contains(&v.abs()) {
        return false;
    }
    for (k, &scale) in SCALE.iter().enumerate() {
        let x = v * scale;
        if x.abs() >= LIMIT {
            return false;
        }
        // Below 2^53 the conversion to i64 is exact when `x` is integral.
        let n = x as i64;
        if n as f64 == x && x / scale == v {
            let mut n = n;
            let mut k = k;
            // The same value with fewer decimals when it ends in zeros.
            while k > 0 && n % 10 == 0 {
                n /= 10;
                k -= 1;
            }
            let mut digits = itoa::Buffer::new();
            let d = digits.format(n.unsigned_abs()).as_bytes();
            if n < 0 {
                out.push(b'-');
            }
            if k == 0 {
                out.extend(d);
                out.extend(b".0");
            } else if d.len() > k {
                out.extend(&d[..d.len() - k]);
                out.push(b'.');
                out.extend(&d[d.len() - k..]);
            } else {
                out.extend(b"0.");
                for _ in d.len()..k {
                    out.push(b'0');
                }
                out.extend(d);
            }
            return true;
        }
    }
    false
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
/// by a reserved key (`level`, `_level`, `__level`, …, `ns`). The one
/// place the rule is written: [`RESERVED_KEYS`] is the list, and the
/// macros' compile-time key check (`record::is_plain`) calls this too.
#[inline]
pub(crate) const fn is_reserved(key: &[u8]) -> bool {
    let mut start = 0;
    while start < key.len() && key[start] == b'_' {
        start += 1;
    }
    let mut r = 0;
    while r < RESERVED_KEYS.len() {
        let word = RESERVED_KEYS[r].as_bytes();
        if key.len() - start == word.len() {
            let mut j = 0;
            while j < word.len() && key[start + j] == word[j] {
                j += 1;
            }
            if j == word.len() {
                return true;
            }
        }
        r += 1;
    }
    false
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

/// Captured fields as the NDJSON fragment `,"k":v,...` (what
/// `Fields`'s `Debug` shows).
pub(crate) fn encode_fields(captured: &[u8], out: &mut Vec<u8>) {
    for item in crate::record::Items::new(captured) {
        if let Item::Field(k, v, _) = item {
            write_field_key(out, k);
            write_val(out, v);
        }
    }
}

/// Splits a bindings fragment `,"k":v,"k2":v2` (logjet's own encoding)
/// into each key as a JSON string literal and its JSON value.
pub(crate) fn fragment_entries(frag: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < frag.len() {
        if frag[i] == b',' {
            i += 1;
        }
        let Some(key_end) = skip_string(frag, i) else { break };
        if frag.get(key_end) != Some(&b':') {
            break;
        }
        let val_end = skip_value(frag, key_end + 1);
        out.push((&frag[i..key_end], &frag[key_end + 1..val_end]));
        i = val_end;
    }
    out
}

/// The index just past the JSON string starting at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The index just past the JSON value starting at `i` (up to the next
/// top-level comma).
pub(crate) fn skip_value(b: &[u8], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'"' => {
                j = skip_string(b, j).unwrap_or(b.len());
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => return j,
            _ => {}
        }
        j += 1;
    }
    b.len()
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

/// The NDJSON line format: pino's keys in pino's order.
#[derive(Clone)]
pub(crate) struct JsonFormat {
    /// `{"level":30` for each level.
    level_prefix: [Vec<u8>; 6],
    /// `,"pid":4242,"hostname":"web-1"` (or less, as configured).
    base: Vec<u8>,
    time: TimeFormatter,
    keys: crate::record::KeyTable,
    /// The keys when they are not pino's ([`crate::Keys`]); `None` keeps
    /// pino's line on its own code path, which has no branch for them.
    custom: Option<Box<CustomKeys>>,
}

/// What a line with other keys than pino's needs, computed at build.
#[derive(Clone)]
struct CustomKeys {
    /// `{"log.level":"info","@timestamp":` for each level (the time key
    /// only when a time is written).
    head: [Vec<u8>; 6],
    /// `,"message":`
    msg_key: Vec<u8>,
    /// The logger's key names that pino's rule does not already reserve.
    reserved: Vec<Vec<u8>>,
    /// Each of them escaped and followed by `"`: a bindings fragment
    /// without any of these holds no key to rename.
    needles: Vec<Vec<u8>>,
}

impl CustomKeys {
    fn new(keys: &crate::Keys, time: &TimeFormatter) -> CustomKeys {
        let head = crate::level::Level::ALL.map(|l| {
            let mut v = b"{".to_vec();
            v.extend_from_slice(&keys.level_member(l));
            if time.writes_time() {
                v.push(b',');
                write_str(&mut v, keys.time_key().as_bytes());
                v.push(b':');
            }
            v
        });
        let mut msg_key = b",".to_vec();
        write_str(&mut msg_key, keys.message_key().as_bytes());
        msg_key.push(b':');
        let reserved: Vec<Vec<u8>> =
            keys.names().into_iter().filter(|n| !is_reserved(n.as_bytes())).map(|n| n.as_bytes().to_vec()).collect();
        let needles = reserved
            .iter()
            .map(|r| {
                let mut v = Vec::new();
                escape_into(&mut v, r);
                v.push(b'"');
                v
            })
            .collect();
        CustomKeys { head, msg_key, reserved, needles }
    }

    /// Whether a user key is renamed under these keys beyond pino's rule:
    /// underscores followed by one of the logger's key names.
    #[inline]
    fn renames(&self, key: &[u8]) -> bool {
        let mut k = key;
        while let [b'_', rest @ ..] = k {
            k = rest;
        }
        self.reserved.iter().any(|r| r[..] == *k)
    }

    /// Writes `,"key":` for a user key (pino's renaming, then these keys').
    #[inline]
    fn write_field_key<O: Out + ?Sized>(&self, out: &mut O, key: &[u8]) {
        if self.renames(key) {
            out.extend(b",\"_");
            escape_into(out, key);
            out.extend(b"\":");
        } else {
            write_field_key(out, key);
        }
    }

    /// Writes bound fields: their fragment (written with pino's renaming)
    /// as it is when it holds no key these keys rename, else each field
    /// again from its item.
    fn write_bindings<O: Out + ?Sized>(&self, out: &mut O, b: Bound<'_>, keys: &KeyTable) {
        let maybe = self.needles.iter().any(|n| b.json.windows(n.len()).any(|w| w == &n[..]));
        if !maybe {
            out.extend(b.json);
            return;
        }
        for item in Items::with_keys(b.items, keys) {
            if let Item::Field(k, v, _) = item {
                self.write_field_key(out, k);
                write_val(out, v);
            }
        }
    }
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
        JsonFormat { level_prefix, base: b, time, keys: Default::default(), custom: None }
    }

    /// The line with `keys` (the base's names come from them too); pino's
    /// keys keep pino's code path.
    pub(crate) fn with_keys(mut self, keys: &crate::Keys) -> JsonFormat {
        self.custom = (!keys.is_pino()).then(|| Box::new(CustomKeys::new(keys, &self.time)));
        self
    }

    /// Appends the record as one line (ending in `\n`). Returns the bits
    /// of its top-level keys (`format::unique_keys::key_bit`), which the
    /// redaction checks after the fact (`crate::redact`).
    #[inline]
    pub(crate) fn format<O: Out>(&mut self, rec: &RecordRef<'_>, out: &mut O) -> u64 {
        let mask = self.format_object(rec, out, None);
        out.push(b'\n');
        mask
    }

    /// Appends the record as a JSON object (no newline). With `clip`, long
    /// values are shortened to fit a size limit (see [`Clip`]). No key is
    /// written twice (see [`crate::format::unique_keys`]). Returns the bits
    /// of its top-level keys.
    #[inline]
    pub(crate) fn format_object<O: Out>(&mut self, rec: &RecordRef<'_>, out: &mut O, clip: Option<Clip>) -> u64 {
        if self.custom.is_some() {
            return self.format_object_custom(rec, out, clip);
        }
        self.format_object_as::<false, O>(rec, out, clip)
    }

    /// [`format_object`](JsonFormat::format_object) under keys other than
    /// pino's: a function of its own, so that pino's path is compiled as
    /// it was.
    #[inline(never)]
    fn format_object_custom<O: Out>(&mut self, rec: &RecordRef<'_>, out: &mut O, clip: Option<Clip>) -> u64 {
        self.format_object_as::<true, O>(rec, out, clip)
    }

    /// The object under pino's keys or (`CUSTOM`) configured ones; a key
    /// that repeats makes it write the record again without the replaced
    /// entries.
    #[inline(always)]
    fn format_object_as<const CUSTOM: bool, O: Out>(
        &mut self,
        rec: &RecordRef<'_>,
        out: &mut O,
        clip: Option<Clip>,
    ) -> u64 {
        let start = out.len();
        self.keys.refresh();
        let (repeats, mask) = self.write_object::<CUSTOM, O>(rec, out, clip);
        if repeats {
            let plan = crate::format::unique_keys::plan(rec.bytes(), &self.keys);
            if plan.is_some() {
                out.truncate(start);
                self.write_object_skipping(rec, out, clip, Skips::new(plan.as_deref()));
            }
        }
        mask
    }

    /// Writes the object; returns whether a key may repeat, and the bits
    /// of its keys.
    #[inline(always)]
    fn write_object<const CUSTOM: bool, O: Out>(
        &mut self,
        rec: &RecordRef<'_>,
        out: &mut O,
        clip: Option<Clip>,
    ) -> (bool, u64) {
        self.write_head::<CUSTOM, O>(rec, out);
        let items = rec.bytes();
        let mut msg: Option<&[u8]> = None;
        let mut seen = Seen::default();
        for item in crate::record::Items::with_keys(items, &self.keys) {
            match item {
                Item::Field(k, v, framed) => {
                    match framed {
                        // Checked at compile time: nothing to escape or rename (under pino's keys).
                        Some(f) => {
                            seen.field(k, f.bit, items, &self.keys);
                            match (CUSTOM, self.custom.as_deref()) {
                                (true, Some(c)) if c.renames(k) => c.write_field_key(out, k),
                                _ => out.extend(f.text),
                            }
                        }
                        None => {
                            seen.field(k, crate::record::key_bit(k), items, &self.keys);
                            match (CUSTOM, self.custom.as_deref()) {
                                (true, Some(c)) => c.write_field_key(out, k),
                                _ => write_field_key(out, k),
                            }
                        }
                    }
                    match clip {
                        None => write_val(out, v),
                        Some(c) => c.write_val(out, v),
                    }
                }
                Item::Bindings(b) => {
                    seen.bindings(b, items, &self.keys);
                    match (clip, CUSTOM, self.custom.as_deref()) {
                        (Some(c), _, _) if !c.bindings => {}
                        (_, true, Some(c)) => c.write_bindings(out, b, &self.keys),
                        _ => out.extend(b.json),
                    }
                }
                Item::Ns(ns) => {
                    out.extend(b",\"ns\":");
                    write_str(out, ns);
                }
                Item::Msg(m) => msg = Some(m),
            }
        }
        self.write_tail::<CUSTOM, O>(out, clip, msg);
        (seen.duplicate, seen.mask())
    }

    /// Writes the object leaving out the entries `skips` names (the rare
    /// record that repeats a key).
    #[cold]
    #[inline(never)]
    fn write_object_skipping<O: Out>(
        &mut self,
        rec: &RecordRef<'_>,
        out: &mut O,
        clip: Option<Clip>,
        mut skips: Skips<'_>,
    ) {
        self.write_head::<true, O>(rec, out);
        let mut msg: Option<&[u8]> = None;
        for item in crate::record::Items::with_keys(rec.bytes(), &self.keys) {
            match item {
                Item::Field(k, v, framed) => {
                    if skips.skip() {
                        continue;
                    }
                    match (framed, self.custom.as_deref()) {
                        (_, Some(c)) => c.write_field_key(out, k),
                        (Some(f), None) => out.extend(f.text),
                        (None, None) => write_field_key(out, k),
                    }
                    match clip {
                        None => write_val(out, v),
                        Some(c) => c.write_val(out, v),
                    }
                }
                Item::Bindings(b) => {
                    // Bound values are never clipped: kept whole or left out.
                    for item in Items::with_keys(b.items, &self.keys) {
                        let Item::Field(k, v, framed) = item else { continue };
                        if skips.skip() || clip.is_some_and(|c| !c.bindings) {
                            continue;
                        }
                        match (framed, self.custom.as_deref()) {
                            (_, Some(c)) => c.write_field_key(out, k),
                            (Some(f), None) => out.extend(f.text),
                            (None, None) => write_field_key(out, k),
                        }
                        write_val(out, v);
                    }
                }
                Item::Ns(ns) => {
                    out.extend(b",\"ns\":");
                    write_str(out, ns);
                }
                Item::Msg(m) => msg = Some(m),
            }
        }
        self.write_tail::<true, O>(out, clip, msg);
    }

    /// `{"level":30,"time":…,"pid":…,"hostname":…`
    /// (or the configured keys' head). `CUSTOM` false: pino's keys.
    #[inline(always)]
    fn write_head<const CUSTOM: bool, O: Out>(&mut self, rec: &RecordRef<'_>, out: &mut O) {
        match (CUSTOM, self.custom.as_deref()) {
            (true, Some(c)) => {
                out.extend(&c.head[rec.level.index()]);
                self.time.write_json_value(out, rec.time);
            }
            _ => {
                out.extend(&self.level_prefix[rec.level.index()]);
                self.time.write_json_member(out, rec.time);
            }
        }
        out.extend(&self.base);
    }

    /// `,"logjet_truncated":…,"msg":…}`
    #[inline(always)]
    fn write_tail<const CUSTOM: bool, O: Out>(&self, out: &mut O, clip: Option<Clip>, msg: Option<&[u8]>) {
        if let Some(c) = clip {
            out.extend(b",\"logjet_truncated\":");
            write_int(out, c.original_len);
        }
        if let Some(m) = msg {
            match (CUSTOM, self.custom.as_deref()) {
                (true, Some(c)) => out.extend(&c.msg_key),
                _ => out.extend(b",\"msg\":"),
            }
            match clip {
                None => write_str(out, m),
                Some(c) => c.write_text(out, m, false),
            }
        }
        out.push(b'}');
    }
}

/// How to shorten a record that is too long for its sink: every string
/// value (and the message) cut to `cap` bytes at a character boundary and
/// marked with `…`, every nested JSON value longer than `cap` replaced by
/// its text cut the same way, bound fields kept or dropped, and a
/// `logjet_truncated` key giving the original length.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clip {
    pub(crate) cap: usize,
    pub(crate) bindings: bool,
    pub(crate) original_len: usize,
}

impl Clip {
    fn write_val<O: Out>(self, out: &mut O, v: Val<'_>) {
        match v {
            Val::Str(s) => self.write_text(out, s, false),
            Val::Bytes(b) => self.write_text(out, b, true),
            Val::Json(j) if j.len() > self.cap => self.write_text(out, j, false),
            other => write_val(out, other),
        }
    }

    /// Writes `s` as a JSON string of at most `cap` bytes of its text.
    pub(crate) fn write_text<O: Out>(self, out: &mut O, s: &[u8], lossy: bool) {
        if s.len() <= self.cap {
            if lossy {
                write_str_lossy(out, s)
            } else {
                write_str(out, s)
            }
            return;
        }
        let mut end = self.cap;
        // Back up to a character boundary (UTF-8 continuation bytes are 10xxxxxx).
        while end > 0 && (s[end] & 0xC0) == 0x80 {
            end -= 1;
        }
        out.push(b'"');
        if lossy {
            escape_lossy_into(out, &s[..end]);
        } else {
            escape_into(out, &s[..end]);
        }
        out.extend("…\"".as_bytes());
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
    fn short_decimals_match_ryu_and_round_trip() {
        let f = |x: f64| {
            let mut v = Vec::new();
            write_f64(&mut v, x);
            String::from_utf8(v).unwrap()
        };
        for x in
            [3.25, 0.5, -0.5, 1.0, -7.0, 0.1, 0.3, 12.125, 0.001, -0.000001, 123456.789, 1e8, 999999999.5, 0.1 + 0.2]
        {
            let ours = f(x);
            assert_eq!(ours, ryu::Buffer::new().format_finite(x), "{x}");
            assert_eq!(ours.parse::<f64>().unwrap().to_bits(), x.to_bits());
        }
        // A deterministic sweep of values with few decimals and of random bits.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..200_000u64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let x = if i % 2 == 0 {
                (seed % 10_000_000) as f64 / [1.0, 10.0, 100.0, 1e3, 1e4][i as usize % 5]
            } else {
                f64::from_bits(seed)
            };
            if !x.is_finite() {
                continue;
            }
            let ours = f(x);
            assert_eq!(ours.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{x:e} → {ours}");
            assert_eq!(ours, ryu::Buffer::new().format_finite(x), "{x:e}");
        }
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
