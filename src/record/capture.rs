//! The record a caller builds: [`Capture`] (256 bytes: level, time, 219
//! bytes of items inline, spilling to the heap), the item tags of the
//! binary format (the module docs of `record`), and [`RecordRef`], a queued
//! record as the writer sees it.

use std::fmt;

use super::intern::Key;
use super::out::{copy_small, Out};
use crate::level::Level;

/// Bytes stored inline in a record before it spills to the heap. Chosen so
/// that a whole [`Record`] is 256 bytes (four cache lines).
pub(crate) const INLINE: usize = 219;

pub(crate) const T_MSG: u8 = 1;
pub(crate) const T_BINDINGS: u8 = 2;
pub(crate) const T_NS: u8 = 3;
pub(crate) const T_SITE: u8 = 4;
pub(crate) const T_SITE_FMT: u8 = 5;
pub(crate) const T_I64: u8 = 16;
pub(crate) const T_U64: u8 = 17;
pub(crate) const T_F64: u8 = 18;
pub(crate) const T_FALSE: u8 = 19;
pub(crate) const T_TRUE: u8 = 20;
pub(crate) const T_NULL: u8 = 21;
pub(crate) const T_STR: u8 = 22;
pub(crate) const T_BYTES: u8 = 23;
pub(crate) const T_JSON: u8 = 24;
pub(crate) const T_I128: u8 = 25;
pub(crate) const T_U128: u8 = 26;

/// What follows the text a failing `Display` implementation wrote before
/// it failed, wherever a value is written from its `Display` output.
pub(crate) const DISPLAY_FAILED: &[u8] = b"<Display failed>";

/// A record being captured, or the fields of a child logger: a level, a
/// time and `INLINE` (219) bytes of items inline, spilling to the heap when a
/// record is larger.
pub struct Capture {
    /// Nanoseconds since the Unix epoch, taken by the caller (0 when the
    /// logger writes no time).
    pub(crate) time: u64,
    heap: Option<Vec<u8>>,
    len: u32,
    pub(crate) level: Level,
    inline: [u8; INLINE],
}

/// A record on its way to the writer.
pub(crate) type Record = Capture;

/// A record as the writer's formatters see it: its level, its time (in
/// nanoseconds since the epoch, or 0) and its captured items.
#[derive(Clone, Copy)]
pub(crate) struct RecordRef<'a> {
    pub(crate) level: Level,
    pub(crate) time: u64,
    pub(crate) items: &'a [u8],
    /// `items` is the finished NDJSON line (the caller formatted it, see
    /// `crate::preformat`), not captured items.
    pub(crate) line: bool,
}

impl<'a> RecordRef<'a> {
    #[inline]
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.items
    }
}

impl Capture {
    #[inline(always)]
    pub(crate) fn new(level: Level, time: u64) -> Capture {
        Capture { time, heap: None, len: 0, level, inline: [0; INLINE] }
    }

    /// A copy (on the heap when the record is large: this is for the rare
    /// records that do not travel in a thread's queue).
    pub(crate) fn to_owned_capture(&self) -> Capture {
        let mut c = Capture::new(self.level, self.time);
        c.extend(self.bytes());
        c
    }

    /// The record as the formatters see it, with its time as given.
    #[inline]
    pub(crate) fn as_ref(&self) -> RecordRef<'_> {
        RecordRef { level: self.level, time: self.time, items: self.bytes(), line: false }
    }

    /// The captured bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.heap {
            None => &self.inline[..self.len as usize],
            Some(v) => v,
        }
    }

    #[cold]
    #[inline(never)]
    fn spill(&mut self, s: &[u8]) {
        let len = self.len as usize;
        let mut v = Vec::with_capacity((2 * INLINE).max(len + s.len() + INLINE));
        v.extend_from_slice(&self.inline[..len]);
        v.extend_from_slice(s);
        self.heap = Some(v);
        // No inline write fits any more (see `inline_room`).
        self.len = u32::MAX;
    }

    #[inline(always)]
    fn put_u32(&mut self, v: u32) {
        self.extend(&v.to_le_bytes());
    }

    /// The inline bytes `len..len + n`, when the record is still inline and
    /// they fit: the fast path of every write.
    #[inline(always)]
    fn inline_room(&mut self, n: usize) -> Option<&mut [u8]> {
        // Once the record is on the heap, `len` is `u32::MAX`: no range of
        // `inline` starts there.
        let len = self.len as usize;
        let dst = self.inline.get_mut(len..len + n)?;
        self.len += n as u32;
        Some(dst)
    }

    /// `tag`, then the key: `0x81` and its index for a call site's key;
    /// `0x80` and a 2-byte id for an interned key; else its length (below
    /// 0x7F, or 0x7F and a u32) and its bytes.
    #[inline(always)]
    pub(super) fn put_key(&mut self, tag: u8, key: Key<'_>) {
        let Some((head, h)) = key.coded(tag) else { return self.put_key_text(tag, key) };
        if let Some(dst) = self.inline_room(h) {
            dst.copy_from_slice(&head[..h]);
            return;
        }
        self.extend(&head[..h]);
    }

    /// `tag`, the key and a fixed-size value `v`: for a call site's key,
    /// all in one write (one room check for the field), else as
    /// [`put_key`](Capture::put_key) then `v`.
    #[inline(always)]
    pub(super) fn put_keyed<const N: usize>(&mut self, tag: u8, key: Key<'_>, v: [u8; N]) {
        if let Some(index) = key.site_index() {
            if let Some(dst) = self.inline_room(3 + N) {
                dst[..3].copy_from_slice(&[tag, 0x81, index]);
                dst[3..].copy_from_slice(&v);
                return;
            }
        }
        self.put_key(tag, key);
        self.extend(&v);
    }

    /// `tag`, the key and a length-prefixed blob `s`: for a call site's
    /// key, all in one write when it fits, else as
    /// [`put_key`](Capture::put_key) then [`put_blob`](Capture::put_blob).
    #[inline(always)]
    pub(super) fn put_keyed_blob(&mut self, tag: u8, key: Key<'_>, s: &[u8]) {
        if let (Some(index), true) = (key.site_index(), s.len() <= INLINE) {
            if let Some(dst) = self.inline_room(7 + s.len()) {
                let [a, b, c, d] = (s.len() as u32).to_le_bytes();
                dst[..7].copy_from_slice(&[tag, 0x81, index, a, b, c, d]);
                copy_small(&mut dst[7..], s);
                return;
            }
        }
        self.put_key(tag, key);
        self.put_blob(s);
    }

    #[inline(never)]
    fn put_key_text(&mut self, tag: u8, key: Key<'_>) {
        let k = key.name.as_bytes();
        if k.len() < 0x7F {
            let len = k.len() as u8;
            if let Some(dst) = self.inline_room(2 + k.len()) {
                dst[0] = tag;
                dst[1] = len;
                copy_small(&mut dst[2..], k);
                return;
            }
            self.extend(&[tag, len]);
        } else {
            self.extend(&[tag, 0x7F]);
            self.put_u32(clamp_len(k.len()));
        }
        self.extend(&k[..k.len().min(u32::MAX as usize)]);
    }

    #[inline(always)]
    pub(super) fn put_blob(&mut self, s: &[u8]) {
        let n = clamp_len(s.len());
        if let Some(dst) = self.inline_room(4 + n as usize) {
            dst[..4].copy_from_slice(&n.to_le_bytes());
            copy_small(&mut dst[4..], &s[..n as usize]);
            return;
        }
        self.put_u32(n);
        self.extend(&s[..n as usize]);
    }

    /// Writes the item of bound fields into `out` (emptied first): the
    /// mask of their keys' bits, their NDJSON fragment (`,"k":v,...`,
    /// which the NDJSON formatter copies), written by `json`, and the same
    /// fields as captured items (which every other formatter reads like
    /// the call's fields), written by `items`. No key twice among them.
    /// Returns where the fragment and the items lie in `out`.
    pub(crate) fn bindings_item(
        out: &mut Vec<u8>,
        mask: u64,
        json: impl FnOnce(&mut Vec<u8>),
        items: impl FnOnce(&mut Vec<u8>),
    ) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        out.clear();
        out.push(T_BINDINGS);
        out.extend_from_slice(&mask.to_le_bytes());
        (length_prefixed(out, json).0, length_prefixed(out, items).0)
    }

    /// The text of format arguments, behind its length (see
    /// [`ItemWriter::formatted`](super::ItemWriter::formatted)).
    pub(super) fn put_formatted(&mut self, args: fmt::Arguments<'_>) {
        length_prefixed(self, |c| {
            // A `Display` impl that fails leaves what it wrote; the text is
            // still valid UTF-8 because `fmt::Write` only takes `&str`.
            let _ = fmt::write(&mut FmtOut { out: c }, args);
        });
    }

    /// A value written as a JSON string from its `Display` output.
    pub(super) fn put_display(&mut self, key: Key<'_>, v: &dyn fmt::Display) {
        self.put_key(T_STR, key);
        length_prefixed(self, |c| {
            if fmt::write(&mut FmtOut { out: c }, format_args!("{v}")).is_err() {
                c.extend(DISPLAY_FAILED);
            }
        });
    }

    /// A field whose value is JSON text written by `f`. When `f` fails, what
    /// it wrote is cut and the value becomes a string naming the failure.
    pub(super) fn put_json_with(&mut self, key: Key<'_>, f: impl FnOnce(&mut Capture) -> Result<(), String>) {
        self.put_key(T_JSON, key);
        length_prefixed(self, |c| {
            let start = c.len();
            if let Err(e) = f(c) {
                c.truncate(start);
                crate::format::escape::write_str(c, format!("[logjet: cannot serialize value: {e}]").as_bytes());
            }
        });
    }
}

impl Out for Capture {
    #[inline(always)]
    fn push(&mut self, b: u8) {
        self.extend(&[b])
    }

    #[inline(always)]
    fn extend(&mut self, s: &[u8]) {
        if let Some(dst) = self.inline_room(s.len()) {
            copy_small(dst, s);
            return;
        }
        match &mut self.heap {
            None => self.spill(s),
            Some(v) => v.extend_from_slice(s),
        }
    }

    #[inline(always)]
    fn len(&self) -> usize {
        match &self.heap {
            None => self.len as usize,
            Some(v) => v.len(),
        }
    }

    fn truncate(&mut self, len: usize) {
        match &mut self.heap {
            None => self.len = self.len.min(len as u32),
            Some(v) => v.truncate(len),
        }
    }

    fn patch_u32(&mut self, at: usize, v: u32) {
        let b = v.to_le_bytes();
        match &mut self.heap {
            None => self.inline[at..at + 4].copy_from_slice(&b),
            Some(h) => h[at..at + 4].copy_from_slice(&b),
        }
    }

    fn tail(&self, from: usize) -> &[u8] {
        &self.bytes()[from..]
    }
}

/// What `write` appends to `out`, behind its length as a u32 (patched in
/// after; cut to 4 GiB): where it lies, and what `write` returned. Every
/// length-prefixed piece a capture writes after the fact (a formatted
/// message or value, JSON text, bound fields) goes through here.
fn length_prefixed<O: Out, R>(out: &mut O, write: impl FnOnce(&mut O) -> R) -> (std::ops::Range<usize>, R) {
    let at = out.len();
    out.extend(&[0; 4]);
    let r = write(out);
    let n = clamp_len(out.len() - at - 4);
    out.truncate(at + 4 + n as usize);
    out.patch_u32(at, n);
    (at + 4..out.len(), r)
}

/// Lengths are stored as u32; anything longer (4 GiB) is cut.
#[inline]
fn clamp_len(n: usize) -> u32 {
    n.min(u32::MAX as usize) as u32
}

/// `fmt::Write` into a capture buffer.
struct FmtOut<'a, O: Out> {
    out: &'a mut O,
}

impl<O: Out> fmt::Write for FmtOut<'_, O> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.out.extend(s.as_bytes());
        Ok(())
    }
}
