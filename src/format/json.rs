//! The NDJSON line of a record, and what every formatter shares about
//! JSON: the reserved keys and their renaming, a captured value as JSON,
//! splitting a JSON object's text into its members.
//!
//! Strings and numbers are written by [`crate::format::escape`] and
//! [`crate::format::number`].

use crate::format::escape::{escape_into, escape_lossy_into, write_keyed_str, write_str, write_str_lossy};
use crate::format::number::{write_f64, write_int, write_keyed_f64};
use crate::format::unique_keys::{Seen, Skips};
use crate::level::Level;
use crate::record::{Bound, Item, Items, KeyTable, Out, RecordRef, SiteData, Val};
use crate::time::TimeFormatter;

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

/// A pre-framed key (`,"key":`) and its value: strings, integers and
/// booleans in one piece of the output's room (one check where the key and
/// the value were two), other values after the key.
#[inline(always)]
pub(crate) fn write_keyed_val<O: Out + ?Sized>(out: &mut O, key: &[u8], v: Val<'_>) {
    match v {
        Val::Str(s) => write_keyed_str(out, key, s),
        Val::I64(n) => out.extend2(key, itoa::Buffer::new().format(n).as_bytes()),
        Val::U64(n) => out.extend2(key, itoa::Buffer::new().format(n).as_bytes()),
        Val::Bool(true) => out.extend2(key, b"true"),
        Val::Bool(false) => out.extend2(key, b"false"),
        Val::F64(f) => write_keyed_f64(out, key, f),
        other => {
            out.extend(key);
            write_val(out, other);
        }
    }
}

/// The key a message is written under by pino's keys.
const MSG_KEY: &[u8] = b",\"msg\":";

/// `,"msg":"s"}`: a message member under pino's keys and the object's end
/// (the form a call site's literal message is cached in, see
/// [`SiteData::msg_member`]).
fn msg_member(s: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(MSG_KEY.len() + s.len() + 3);
    v.extend_from_slice(MSG_KEY);
    write_str(&mut v, s);
    v.push(b'}');
    v
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

/// Splits the members of a JSON object's text, without its braces
/// (`"k":v,"k2":v2`, a leading comma allowed), into each key as a JSON
/// string literal and its JSON value (what the pretty format shows of a
/// nested object).
pub(crate) fn split_members(frag: &[u8]) -> Vec<(&[u8], &[u8])> {
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
pub(crate) fn skip_string(b: &[u8], i: usize) -> Option<usize> {
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

/// The NDJSON line format: pino's keys in pino's order.
#[derive(Clone)]
pub(crate) struct JsonFormat {
    /// `{"level":30` for each level.
    level_prefix: [Vec<u8>; 6],
    /// Writes the time; it holds the base (`,"pid":4242,"hostname":"web-1"`,
    /// or less, as configured) as its member suffix, cached with the
    /// millisecond digits.
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
        // Under pino's keys the base follows the time member, in one piece
        // with it (`write_head`).
        let time = time.with_member_suffix(&b);
        JsonFormat { level_prefix, time, keys: Default::default(), custom: None }
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

    /// Appends call site `site`'s line (ending in `\n`), its fields written
    /// by `fields` straight from the call's values (`format::site_line`),
    /// which says whether it could. False, having written part of it, when
    /// it could not or the line is not pino's: the caller cuts the output
    /// back and formats the captured record instead.
    #[inline]
    pub(crate) fn format_site<O: Out>(
        &mut self,
        level: Level,
        time: u64,
        site: &'static SiteData,
        out: &mut O,
        fields: impl FnOnce(&mut O) -> bool,
    ) -> bool {
        if self.custom.is_some() {
            return false;
        }
        let Some(member) = site.msg_member(msg_member) else { return false };
        self.write_head::<false, O>(&RecordRef { level, time, items: &[], line: false }, out);
        if !fields(out) {
            return false;
        }
        out.extend(member);
        out.push(b'\n');
        true
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
        let mut literal: Option<&SiteData> = None;
        let mut seen = Seen::default();
        let mut it = crate::record::Items::with_keys(items, &self.keys);
        loop {
            if !CUSTOM && clip.is_none() {
                // A call site's fields, the common case: checked at compile
                // time, nothing to escape or rename.
                if it.site_mask().is_some_and(|m| seen.mask() & m == 0) {
                    // No key of the site repeats another, nor one so far:
                    // nothing to check per field.
                    let (mut bits, mut n) = (0, 0);
                    while let Some(field) = it.next_site_field() {
                        let Some((f, v)) = field else { break };
                        bits |= f.bit;
                        n += 1;
                        write_keyed_val(out, f.text, v);
                    }
                    seen.fields_apart(bits, n);
                }
                while let Some(field) = it.next_site_field() {
                    let Some((f, v)) = field else { break };
                    seen.field(f.key(), f.bit, items, &self.keys);
                    write_keyed_val(out, f.text, v);
                }
            }
            let Some(item) = it.next() else { break };
            match item {
                Item::Field(k, v, framed) => {
                    match framed {
                        // Checked at compile time: nothing to escape or rename (under pino's keys).
                        Some(f) => {
                            seen.field(k, f.bit, items, &self.keys);
                            match (CUSTOM, self.custom.as_deref()) {
                                (true, Some(c)) if c.renames(k) => c.write_field_key(out, k),
                                _ if clip.is_none() => {
                                    write_keyed_val(out, f.text, v);
                                    continue;
                                }
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
                Item::Msg(m, site) => {
                    msg = Some(m);
                    literal = site;
                }
            }
        }
        self.write_tail::<CUSTOM, O>(out, clip, msg, literal);
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
        let mut literal: Option<&SiteData> = None;
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
                Item::Msg(m, site) => {
                    msg = Some(m);
                    literal = site;
                }
            }
        }
        self.write_tail::<true, O>(out, clip, msg, literal);
    }

    /// `{"level":30,"time":…,"pid":…,"hostname":…`
    /// (or the configured keys' head). `CUSTOM` false: pino's keys.
    #[inline(always)]
    fn write_head<const CUSTOM: bool, O: Out>(&mut self, rec: &RecordRef<'_>, out: &mut O) {
        match (CUSTOM, self.custom.as_deref()) {
            (true, Some(c)) => {
                out.extend(&c.head[rec.level.index()]);
                self.time.write_json_value(out, rec.time);
                out.extend(self.time.member_suffix());
            }
            _ => {
                out.extend(&self.level_prefix[rec.level.index()]);
                // The time member, then the base (its suffix).
                self.time.write_json_member(out, rec.time);
            }
        }
    }

    /// `,"logjet_truncated":…,"msg":…}`; a call site's literal message
    /// (`site`) is escaped once per call site (with pino's keys, the whole
    /// `,"msg":…}` is one piece).
    #[inline(always)]
    fn write_tail<const CUSTOM: bool, O: Out>(
        &self,
        out: &mut O,
        clip: Option<Clip>,
        msg: Option<&[u8]>,
        site: Option<&SiteData>,
    ) {
        if let Some(c) = clip {
            out.extend(b",\"logjet_truncated\":");
            write_int(out, c.original_len);
        }
        if let Some(m) = msg {
            // A call site's literal message: escaped once per call site,
            // with its key and the object's end.
            let member = site.filter(|_| clip.is_none()).and_then(|s| s.msg_member(msg_member));
            match (CUSTOM, self.custom.as_deref(), member) {
                (true, Some(c), _) => out.extend(&c.msg_key),
                (_, _, Some(member)) => {
                    out.extend(member);
                    return;
                }
                _ => out.extend(MSG_KEY),
            }
            match (clip, member) {
                (Some(c), _) => c.write_text(out, m, false),
                (None, Some(member)) => out.extend(&member[MSG_KEY.len()..member.len() - 1]),
                (None, None) => write_str(out, m),
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

    /// A call site's fields whose keys are distinct are written without a
    /// check per field; a later field repeating one of them still replaces
    /// it, and a site whose keys repeat is checked field by field.
    #[test]
    fn a_sites_distinct_keys_still_give_way_to_a_later_repeat() {
        use crate::record::{register_runtime, Capture, ItemWriter, Key};
        use crate::time::TimeFormat;
        let line = |keys: &[&str], write: &dyn Fn(&mut Capture, u32)| {
            let (id, _) = register_runtime(keys.iter().map(|k| format!(",\"{k}\":")).collect());
            let mut c = Capture::new(crate::Level::Info, 0);
            write(&mut c, id);
            let mut json = JsonFormat::new(&[], TimeFormatter::new(TimeFormat::EpochMillis));
            let mut out = Vec::new();
            json.format(&c.as_ref(), &mut out);
            String::from_utf8(out).unwrap()
        };
        let distinct = line(&["a", "b"], &|c, id| {
            c.site_msg(id, "m");
            c.u64(Key::at_site(0), 1);
            c.u64(Key::at_site(1), 2);
            c.u64(Key::runtime("a"), 3);
        });
        assert!(distinct.ends_with(",\"b\":2,\"a\":3,\"msg\":\"m\"}\n"), "{distinct}");
        assert_eq!(distinct.matches("\"a\"").count(), 1, "{distinct}");
        let repeated = line(&["a", "a"], &|c, id| {
            c.site_msg(id, "m");
            c.u64(Key::at_site(0), 1);
            c.u64(Key::at_site(1), 2);
        });
        assert!(repeated.ends_with(",\"a\":2,\"msg\":\"m\"}\n"), "{repeated}");
        assert_eq!(repeated.matches("\"a\"").count(), 1, "{repeated}");
    }
}
