//! The captured record: what the caller builds and the channel carries.
//!
//! The caller does not encode JSON. It *captures* the record in a compact
//! binary form (typed fields, raw string bytes) inside a fixed-size inline
//! buffer, so that a typical record needs no allocation and the writer thread
//! does the formatting for each sink. Only values that borrow from the caller
//! and have no fast path (any `serde::Serialize`, errors, `Display`) are
//! turned into JSON text at the call site, because they cannot outlive it.
//!
//! Layout of the payload, a sequence of items:
//!
//! ```text
//! item   := MSG len:u32 utf8
//!         | NS len:u32 utf8                       (the namespace of a debug handle)
//!         | BINDINGS mask:u64 len:u32 json-fragment
//!                                   (`,"k":v,...`, pre-encoded; mask: its keys'
//!                                    bits, see `encode::unique_keys::key_bit`)
//!         | tag key value
//! key    := len:u8 bytes | 0xFF len:u32 bytes     (UTF-8)
//! value  := I64/U64/F64: 8 bytes LE | I128/U128: 16 bytes LE | TRUE | FALSE | NULL
//!         | STR/BYTES/JSON: len:u32 bytes
//! ```
//!
//! The format is private to the crate and can change in any release.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::level::Level;

/// Bytes stored inline in a record before it spills to the heap. Chosen so
/// that a whole [`Record`] is 256 bytes (four cache lines).
pub(crate) const INLINE: usize = 219;

pub(crate) const T_MSG: u8 = 1;
pub(crate) const T_BINDINGS: u8 = 2;
pub(crate) const T_NS: u8 = 3;
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

/// A field's key, with whether it is known to need neither escaping nor
/// renaming ("plain": letters, digits, `_`, `.`, `-`, 1 to 127 bytes, not a
/// reserved key). The macros decide it at compile time, so the writer just
/// copies such keys; keys known only at run time are checked by the writer.
#[derive(Clone, Copy, Debug)]
pub struct Key<'a> {
    name: &'a str,
    /// The interned id of a call site's plain key (0: not interned).
    id: u16,
}

impl<'a> Key<'a> {
    /// A key the writer will check (escape, rename).
    #[inline]
    pub const fn runtime(name: &'a str) -> Key<'a> {
        Key { name, id: 0 }
    }

    /// The key's text.
    pub const fn name(&self) -> &'a str {
        self.name
    }
}

impl<'a> From<&'a str> for Key<'a> {
    #[inline]
    fn from(name: &'a str) -> Key<'a> {
        Key::runtime(name)
    }
}

/// A call site's key, plain (checked at compile time) and interned on first
/// use: a record then carries a 2-byte id instead of the key, and the writer
/// copies the key's `,"key":` text as it is.
pub struct StaticKey {
    name: &'static str,
    /// `,"key":`
    framed: &'static str,
    id: AtomicU32,
}

impl StaticKey {
    /// `framed` is `,"name":` for a `name` that [`is_plain`].
    pub const fn new(name: &'static str, framed: &'static str) -> StaticKey {
        StaticKey { name, framed, id: AtomicU32::new(0) }
    }

    /// The key, interned.
    #[inline(always)]
    pub fn key(&'static self) -> Key<'static> {
        let id = match self.id.load(Ordering::Relaxed) {
            0 => self.register(),
            id => id,
        };
        // `register` never stores more than u16::MAX.
        Key { name: self.name, id: id as u16 }
    }

    #[cold]
    #[inline(never)]
    fn register(&'static self) -> u32 {
        let mut all = registry();
        let id = match all.iter().position(|k| *k == self.framed) {
            Some(i) => i + 1,
            None => {
                all.push(self.framed);
                REGISTERED.store(all.len(), Ordering::Release);
                all.len()
            }
        };
        // Past 65,535 distinct keys, keys are copied instead (id 0... never
        // stored, so `key()` registers again: still correct).
        let id = u32::try_from(id).ok().filter(|&id| id <= u32::from(u16::MAX)).unwrap_or(0);
        if id != 0 {
            self.id.store(id, Ordering::Relaxed);
        }
        id
    }
}

/// Every interned key's `,"key":` text; id = index + 1.
static REGISTRY: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// The length of [`REGISTRY`], for readers that keep a copy ([`KeyTable`]):
/// stored after each push. A reader that sees an id its copy lacks looks it
/// up in the registry itself, so a stale count is never wrong, only slower.
static REGISTERED: AtomicUsize = AtomicUsize::new(0);

/// The registry, locked (a panic while it was held cannot leave it half
/// written: it only ever grows by one push).
fn registry() -> MutexGuard<'static, Vec<&'static str>> {
    match REGISTRY.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A copy of the key registry, refreshed when keys were added: lookups
/// then need no lock.
#[derive(Default, Clone)]
pub(crate) struct KeyTable {
    keys: Vec<Framed>,
}

/// An interned key as the writer sees it: its `,"key":` text and the bit
/// of its key in the mask that finds repeated keys
/// (`encode::unique_keys`), computed once per key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Framed {
    pub(crate) text: &'static [u8],
    pub(crate) bit: u64,
}

impl Framed {
    fn of(framed: &'static str) -> Framed {
        let text = framed.as_bytes();
        Framed { text, bit: key_bit(&text[2..text.len() - 2]) }
    }
}

/// The bit of key `k` (its text as given, before renaming or escaping) in
/// the 64-bit mask with which the writer finds a record's repeated keys
/// (`encode::unique_keys`). Length, first and last byte: cheap, and enough
/// to tell apart the keys of one record nearly always (a collision only
/// costs a comparison).
#[inline(always)]
pub(crate) fn key_bit(k: &[u8]) -> u64 {
    let (a, z) = match k {
        [] => (0, 0),
        [a, .., z] => (*a, *z),
        [a] => (*a, *a),
    };
    let x = (k.len() as u32) ^ (u32::from(a) << 8) ^ (u32::from(z) << 16);
    1u64 << (x.wrapping_mul(0x9E37_79B1) >> 26)
}

impl KeyTable {
    const fn new() -> KeyTable {
        KeyTable { keys: Vec::new() }
    }

    /// Brings the copy up to date (one atomic load when nothing changed).
    #[inline]
    pub(crate) fn refresh(&mut self) {
        if REGISTERED.load(Ordering::Acquire) != self.keys.len() {
            self.reload();
        }
    }

    #[cold]
    #[inline(never)]
    fn reload(&mut self) {
        let all = registry();
        let known = self.keys.len();
        self.keys.extend(all[known.min(all.len())..].iter().map(|k| Framed::of(k)));
    }

    /// Interned key `id` (from the registry itself when the copy does not
    /// have it yet).
    #[inline(always)]
    fn get(&self, id: u16) -> Option<Framed> {
        // Id 0 (no key) wraps to an index nothing has.
        let i = usize::from(id).wrapping_sub(1);
        match self.keys.get(i) {
            Some(k) => Some(*k),
            None => registered(i).map(Framed::of),
        }
    }
}

/// Registry entry `i`, looked up under the lock (a copy's rare miss).
#[cold]
#[inline(never)]
fn registered(i: usize) -> Option<&'static str> {
    registry().get(i).copied()
}

thread_local! {
    /// This thread's copy of the registry, for decoders that do not keep
    /// their own [`KeyTable`].
    static KNOWN: RefCell<KeyTable> = const { RefCell::new(KeyTable::new()) };
}

/// An interned key.
#[inline(never)]
pub(crate) fn interned(id: u16) -> Option<Framed> {
    let local = KNOWN.try_with(|t| {
        let mut t = t.try_borrow_mut().ok()?;
        t.refresh();
        Some(t.get(id))
    });
    match local {
        Ok(Some(key)) => key,
        // The thread-local is being destroyed (or in use): ask the registry.
        _ => registered(usize::from(id).checked_sub(1)?).map(Framed::of),
    }
}

/// Letters, digits, `_`, `.`, `-`; 1 to 127 bytes; not `_*` followed by a
/// reserved key.
pub const fn is_plain(b: &[u8]) -> bool {
    if b.is_empty() || b.len() > 127 {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-') {
            return false;
        }
        i += 1;
    }
    !crate::encode::json::is_reserved(b)
}

/// Something bytes can be appended to: the capture buffer of a record or a
/// plain `Vec<u8>` (bindings, the writer's output buffers).
pub trait Out {
    /// Appends one byte.
    fn push(&mut self, b: u8);
    /// Appends bytes.
    fn extend(&mut self, s: &[u8]);
    /// The number of bytes written so far.
    fn len(&self) -> usize;
    /// Cuts back to `len` bytes.
    fn truncate(&mut self, len: usize);
    /// Overwrites four bytes at `at` with `v` (little endian).
    fn patch_u32(&mut self, at: usize, v: u32);
    /// The bytes written from `from` on.
    fn tail(&self, from: usize) -> &[u8];
    /// At least `n` writable bytes past the end, not yet counted as
    /// written (see [`advance`](Out::advance)), for outputs that can lend
    /// them; `None` otherwise.
    #[inline(always)]
    fn spare(&mut self, _n: usize) -> Option<&mut [u8]> {
        None
    }
    /// Counts `n` bytes of the [`spare`](Out::spare) room as written.
    #[inline(always)]
    fn advance(&mut self, _n: usize) {}
}

impl Out for Vec<u8> {
    #[inline]
    fn push(&mut self, b: u8) {
        Vec::push(self, b)
    }
    #[inline]
    fn extend(&mut self, s: &[u8]) {
        self.extend_from_slice(s)
    }
    #[inline]
    fn len(&self) -> usize {
        Vec::len(self)
    }
    #[inline]
    fn truncate(&mut self, len: usize) {
        Vec::truncate(self, len)
    }
    #[inline]
    fn patch_u32(&mut self, at: usize, v: u32) {
        self[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    #[inline]
    fn tail(&self, from: usize) -> &[u8] {
        &self[from..]
    }
}

/// An output buffer that writes short pieces without calling `memcpy`:
/// its bytes stay initialized up to its capacity and a position marks the
/// end of what was written.
pub(crate) struct OutBuf {
    buf: Vec<u8>,
    pos: usize,
}

impl OutBuf {
    pub(crate) fn with_capacity(n: usize) -> OutBuf {
        OutBuf { buf: vec![0; n], pos: 0 }
    }

    /// The bytes written.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[..self.pos]
    }

    #[inline]
    pub(crate) fn clear(&mut self) {
        self.pos = 0;
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Gives memory back when a huge record made the buffer grow past `keep`.
    pub(crate) fn shrink_to(&mut self, keep: usize, to: usize) {
        if self.buf.len() > keep && self.pos == 0 {
            self.buf = vec![0; to];
        }
    }

    /// The next `n` bytes, counted as written.
    #[inline(always)]
    fn room(&mut self, n: usize) -> &mut [u8] {
        if self.buf.len() - self.pos < n {
            self.grow(n);
        }
        let start = self.pos;
        self.pos += n;
        &mut self.buf[start..start + n]
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, n: usize) {
        let len = (self.buf.len() * 2).max(self.pos + n).max(64);
        self.buf.resize(len, 0);
    }
}

impl Out for OutBuf {
    #[inline(always)]
    fn push(&mut self, b: u8) {
        self.room(1)[0] = b;
    }
    #[inline(always)]
    fn extend(&mut self, s: &[u8]) {
        copy_small(self.room(s.len()), s);
    }
    #[inline]
    fn len(&self) -> usize {
        self.pos
    }
    #[inline]
    fn truncate(&mut self, len: usize) {
        self.pos = self.pos.min(len);
    }
    fn patch_u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn tail(&self, from: usize) -> &[u8] {
        &self.buf[from..self.pos]
    }
    #[inline(always)]
    fn spare(&mut self, n: usize) -> Option<&mut [u8]> {
        if self.buf.len() - self.pos < n {
            self.grow(n);
        }
        self.buf.get_mut(self.pos..self.pos + n)
    }
    #[inline(always)]
    fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

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
    }

    #[inline]
    fn put_u32(&mut self, v: u32) {
        self.extend(&v.to_le_bytes());
    }

    /// The inline bytes `len..len + n`, when the record is still inline and
    /// they fit: the fast path of every write.
    #[inline(always)]
    fn inline_room(&mut self, n: usize) -> Option<&mut [u8]> {
        if self.heap.is_some() {
            return None;
        }
        let len = self.len as usize;
        let dst = self.inline.get_mut(len..len + n)?;
        self.len += n as u32;
        Some(dst)
    }

    /// `tag`, then the key: `0x80` and a 2-byte id for an interned key;
    /// else its length (below 0x7F, or 0x7F and a u32) and its bytes.
    #[inline(always)]
    fn put_key(&mut self, tag: u8, key: Key<'_>) {
        if key.id != 0 {
            let [lo, hi] = key.id.to_le_bytes();
            if let Some(dst) = self.inline_room(4) {
                dst.copy_from_slice(&[tag, 0x80, lo, hi]);
                return;
            }
            self.extend(&[tag, 0x80, lo, hi]);
            return;
        }
        self.put_key_text(tag, key);
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

    #[inline]
    fn put_blob(&mut self, s: &[u8]) {
        let n = clamp_len(s.len());
        if let Some(dst) = self.inline_room(4 + n as usize) {
            dst[..4].copy_from_slice(&n.to_le_bytes());
            copy_small(&mut dst[4..], &s[..n as usize]);
            return;
        }
        self.put_u32(n);
        self.extend(&s[..n as usize]);
    }

    /// Captures the pre-encoded JSON fragment of a child logger's bindings,
    /// with the mask of its keys' bits (no key twice in one fragment).
    #[inline]
    pub(crate) fn bindings(&mut self, fragment: &[u8], mask: u64) {
        self.push(T_BINDINGS);
        self.extend(&mask.to_le_bytes());
        self.put_blob(fragment);
    }

    /// Captures bindings written by `f` as a JSON fragment (`,"k":v,...`,
    /// no key twice); `f` returns the mask of the keys it wrote.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn bindings_with(&mut self, f: impl FnOnce(&mut Capture) -> u64) {
        let tag_at = self.len();
        self.push(T_BINDINGS);
        let mask_at = self.len();
        self.extend(&[0; 8]);
        let at = self.len();
        self.put_u32(0);
        let start = self.len();
        let mask = f(self);
        let n = self.len() - start;
        if n == 0 {
            self.truncate(tag_at);
        } else {
            self.patch_u32(at, clamp_len(n));
            let [a, b, c, d, e, f, g, h] = mask.to_le_bytes();
            self.patch_u32(mask_at, u32::from_le_bytes([a, b, c, d]));
            self.patch_u32(mask_at + 4, u32::from_le_bytes([e, f, g, h]));
        }
    }

    /// Captures the namespace of a debug handle.
    #[inline]
    pub(crate) fn ns(&mut self, ns: &str) {
        self.push(T_NS);
        self.put_blob(ns.as_bytes());
    }

    /// Captures the message. Its bytes are valid UTF-8.
    #[inline]
    pub(crate) fn msg(&mut self, msg: &str) {
        self.push(T_MSG);
        self.put_blob(msg.as_bytes());
    }

    /// The capture itself, for the macros (which also take an `Event` or
    /// `Fields` through the same call).
    #[doc(hidden)]
    #[inline(always)]
    pub fn __capture(&mut self) -> &mut Capture {
        self
    }

    /// The message, for the macros.
    #[doc(hidden)]
    #[inline(always)]
    pub fn __msg_fmt(&mut self, args: fmt::Arguments<'_>) {
        self.msg_fmt(args)
    }

    /// Captures the message from format arguments, formatting only when the
    /// arguments are not a plain string.
    #[inline]
    pub(crate) fn msg_fmt(&mut self, args: fmt::Arguments<'_>) {
        match args.as_str() {
            Some(s) => self.msg(s),
            None => {
                self.push(T_MSG);
                let at = self.len();
                self.put_u32(0);
                let start = self.len();
                let mut w = FmtOut { out: self };
                // A `Display` impl that fails leaves what it wrote; the text
                // is still valid UTF-8 because `fmt::Write` only takes `&str`.
                let _ = fmt::write(&mut w, args);
                let n = self.len() - start;
                self.patch_u32(at, clamp_len(n));
            }
        }
    }

    #[inline]
    pub(crate) fn i64<'k>(&mut self, key: impl Into<Key<'k>>, v: i64) {
        self.put_key(T_I64, key.into());
        self.extend(&v.to_le_bytes());
    }

    #[inline]
    pub(crate) fn u64<'k>(&mut self, key: impl Into<Key<'k>>, v: u64) {
        self.put_key(T_U64, key.into());
        self.extend(&v.to_le_bytes());
    }

    #[inline]
    pub(crate) fn i128<'k>(&mut self, key: impl Into<Key<'k>>, v: i128) {
        self.put_key(T_I128, key.into());
        self.extend(&v.to_le_bytes());
    }

    #[inline]
    pub(crate) fn u128<'k>(&mut self, key: impl Into<Key<'k>>, v: u128) {
        self.put_key(T_U128, key.into());
        self.extend(&v.to_le_bytes());
    }

    #[inline]
    pub(crate) fn f64<'k>(&mut self, key: impl Into<Key<'k>>, v: f64) {
        self.put_key(T_F64, key.into());
        self.extend(&v.to_bits().to_le_bytes());
    }

    #[inline]
    pub(crate) fn bool<'k>(&mut self, key: impl Into<Key<'k>>, v: bool) {
        self.put_key(if v { T_TRUE } else { T_FALSE }, key.into());
    }

    #[inline]
    pub(crate) fn null<'k>(&mut self, key: impl Into<Key<'k>>) {
        self.put_key(T_NULL, key.into());
    }

    #[inline]
    pub(crate) fn str<'k>(&mut self, key: impl Into<Key<'k>>, v: &str) {
        self.put_key(T_STR, key.into());
        self.put_blob(v.as_bytes());
    }

    /// Bytes that may not be UTF-8: the writer replaces invalid sequences.
    #[inline]
    pub(crate) fn bytes_lossy<'k>(&mut self, key: impl Into<Key<'k>>, v: &[u8]) {
        self.put_key(T_BYTES, key.into());
        self.put_blob(v);
    }

    /// A value written as a JSON string from its `Display` output.
    pub(crate) fn display<'k>(&mut self, key: impl Into<Key<'k>>, v: &dyn fmt::Display) {
        self.put_key(T_STR, key.into());
        let at = self.len();
        self.put_u32(0);
        let start = self.len();
        let mut w = FmtOut { out: self };
        if fmt::write(&mut w, format_args!("{v}")).is_err() {
            self.extend(b"<Display failed>");
        }
        let n = self.len() - start;
        self.patch_u32(at, clamp_len(n));
    }

    /// A field whose value is JSON text written by `f`. When `f` fails, what
    /// it wrote is cut and the value becomes a string naming the failure.
    pub(crate) fn json_with<'k>(
        &mut self,
        key: impl Into<Key<'k>>,
        f: impl FnOnce(&mut Capture) -> Result<(), String>,
    ) {
        self.put_key(T_JSON, key.into());
        let at = self.len();
        self.put_u32(0);
        let start = self.len();
        if let Err(e) = f(self) {
            self.truncate(start);
            crate::encode::json::write_str(self, format!("[logjet: cannot serialize value: {e}]").as_bytes());
        }
        let n = self.len() - start;
        self.patch_u32(at, clamp_len(n));
    }
}

impl Out for Capture {
    #[inline]
    fn push(&mut self, b: u8) {
        self.extend(&[b])
    }

    #[inline]
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

    #[inline]
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

/// Copies `src` into `dst` (of the same length) without a call to `memcpy`
/// for the short keys and values records are made of: up to 16 bytes with
/// two overlapping fixed-size moves.
#[inline(always)]
pub(crate) fn copy_small(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..n].copy_from_slice(&src[n - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..n].copy_from_slice(&src[n - 8..]);
        }
        _ => dst[..n].copy_from_slice(src),
    }
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

/// A decoded field value, borrowed from the record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val<'a> {
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
    Bool(bool),
    Null,
    /// Valid UTF-8 text.
    Str(&'a [u8]),
    /// Bytes that may not be UTF-8.
    Bytes(&'a [u8]),
    /// Finished JSON text.
    Json(&'a [u8]),
}

/// A decoded item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Item<'a> {
    Msg(&'a [u8]),
    Ns(&'a [u8]),
    /// A bindings fragment and the mask of its keys' bits.
    Bindings(&'a [u8], u64),
    /// A key, a value, and for an interned key its `,"key":` text and bit.
    Field(&'a [u8], Val<'a>, Option<Framed>),
}

/// Iterates over the items of a capture. Stops at the first malformed item
/// (which the capture code never produces).
pub(crate) struct Items<'a> {
    b: &'a [u8],
    keys: Option<&'a KeyTable>,
}

impl<'a> Items<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Items<'a> {
        Items { b, keys: None }
    }

    /// Decodes with `keys` (brought up to date by the caller) for the
    /// interned keys.
    pub(crate) fn with_keys(b: &'a [u8], keys: &'a KeyTable) -> Items<'a> {
        Items { b, keys: Some(keys) }
    }

    /// The bytes not decoded yet (an item's offset is the total less this).
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.b.len()
    }

    #[inline]
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            self.b = &[];
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }

    #[inline]
    fn u32(&mut self) -> Option<usize> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    #[inline]
    fn blob(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()?;
        self.take(n)
    }

    #[inline]
    fn arr8(&mut self) -> Option<[u8; 8]> {
        let b = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Some(a)
    }

    #[inline]
    fn arr16(&mut self) -> Option<[u8; 16]> {
        let b = self.take(16)?;
        let mut a = [0; 16];
        a.copy_from_slice(b);
        Some(a)
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    // Always inlined: a call per item (and the copy of the item it returns)
    // costs the formatting loops hundreds of instructions per record when
    // the compiler decides otherwise (measured by the guard).
    #[inline(always)]
    fn next(&mut self) -> Option<Item<'a>> {
        let tag = *self.take(1)?.first()?;
        match tag {
            T_MSG => return Some(Item::Msg(self.blob()?)),
            T_NS => return Some(Item::Ns(self.blob()?)),
            T_BINDINGS => {
                let mask = u64::from_le_bytes(self.arr8()?);
                return Some(Item::Bindings(self.blob()?, mask));
            }
            _ => {}
        }
        let klen = *self.take(1)?.first()? as usize;
        let (key, framed): (&'a [u8], Option<Framed>) = if klen == 0x80 {
            let id = self.take(2)?;
            let id = u16::from_le_bytes([id[0], id[1]]);
            let framed = match self.keys {
                Some(k) => k.get(id),
                None => interned(id),
            }?;
            (&framed.text[2..framed.text.len() - 2], Some(framed))
        } else {
            let klen = if klen == 0x7F { self.u32()? } else { klen };
            (self.take(klen)?, None)
        };
        let val = match tag {
            T_I64 => Val::I64(i64::from_le_bytes(self.arr8()?)),
            T_U64 => Val::U64(u64::from_le_bytes(self.arr8()?)),
            T_F64 => Val::F64(f64::from_bits(u64::from_le_bytes(self.arr8()?))),
            T_I128 => Val::I128(i128::from_le_bytes(self.arr16()?)),
            T_U128 => Val::U128(u128::from_le_bytes(self.arr16()?)),
            T_TRUE => Val::Bool(true),
            T_FALSE => Val::Bool(false),
            T_NULL => Val::Null,
            T_STR => Val::Str(self.blob()?),
            T_BYTES => Val::Bytes(self.blob()?),
            T_JSON => Val::Json(self.blob()?),
            _ => {
                self.b = &[];
                return None;
            }
        };
        Some(Item::Field(key, val, framed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_four_cache_lines() {
        assert_eq!(std::mem::size_of::<Record>(), 256);
    }

    #[test]
    fn items_round_trip_inline_and_spilled() {
        for pad in [0usize, 10, 300, 5000] {
            let mut c = Capture::new(Level::Info, 0);
            let long = "x".repeat(pad);
            c.ns("app:db");
            c.bindings(b",\"a\":1", 7);
            c.i64("i", -5);
            c.u64("u", u64::MAX);
            c.f64("f", 3.25);
            c.bool("t", true);
            c.bool("f2", false);
            c.null("n");
            c.str("s", &long);
            c.bytes_lossy("b", b"\xff");
            c.i128("big", i128::MIN);
            c.u128("ubig", u128::MAX);
            let k = "k".repeat(300);
            c.str(k.as_str(), "v");
            c.msg_fmt(format_args!("hello {}", 42));
            let items: Vec<Item<'_>> = Items::new(c.bytes()).collect();
            assert_eq!(
                items,
                vec![
                    Item::Ns(b"app:db"),
                    Item::Bindings(b",\"a\":1", 7),
                    Item::Field(b"i", Val::I64(-5), None),
                    Item::Field(b"u", Val::U64(u64::MAX), None),
                    Item::Field(b"f", Val::F64(3.25), None),
                    Item::Field(b"t", Val::Bool(true), None),
                    Item::Field(b"f2", Val::Bool(false), None),
                    Item::Field(b"n", Val::Null, None),
                    Item::Field(b"s", Val::Str(long.as_bytes()), None),
                    Item::Field(b"b", Val::Bytes(b"\xff"), None),
                    Item::Field(b"big", Val::I128(i128::MIN), None),
                    Item::Field(b"ubig", Val::U128(u128::MAX), None),
                    Item::Field(k.as_bytes(), Val::Str(b"v"), None),
                    Item::Msg(b"hello 42"),
                ]
            );
        }
    }

    #[test]
    fn plain_keys_are_decided_at_compile_time_and_interned() {
        const { assert!(is_plain(b"request_id")) };
        for k in ["method", "http.method", "a-b", "x_1", "_x", "levels", "nsx"] {
            assert!(is_plain(k.as_bytes()), "{k}");
        }
        for k in ["", "with space", "quo\"te", "é", "level", "_level", "__msg", "ns", "time", "pid", "hostname"] {
            assert!(!is_plain(k.as_bytes()), "{k}");
        }
        assert!(!is_plain("k".repeat(128).as_bytes()));
        static A: StaticKey = StaticKey::new("plain", ",\"plain\":");
        static B: StaticKey = StaticKey::new("plain", ",\"plain\":");
        let mut c = Capture::new(Level::Info, 0);
        c.str(A.key(), "v");
        c.str(Key::runtime("plain"), "w");
        c.str(B.key(), "x");
        assert_eq!(A.key().id, B.key().id, "one id per key text");
        let items: Vec<Item<'_>> = Items::new(c.bytes()).collect();
        let framed = Framed::of(",\"plain\":");
        assert_eq!(
            items,
            [
                Item::Field(b"plain", Val::Str(b"v"), Some(framed)),
                Item::Field(b"plain", Val::Str(b"w"), None),
                Item::Field(b"plain", Val::Str(b"x"), Some(framed)),
            ]
        );
    }

    #[test]
    fn small_copies_copy_every_length() {
        for n in 0..40 {
            let src: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(7).wrapping_add(1)).collect();
            let mut dst = vec![0u8; n];
            copy_small(&mut dst, &src);
            assert_eq!(dst, src, "length {n}");
        }
    }

    #[test]
    fn truncated_capture_stops_without_panic() {
        let mut c = Capture::new(Level::Info, 0);
        c.str("key", "value");
        let b = c.bytes();
        for cut in 0..b.len() {
            let n = Items::new(&b[..cut]).count();
            assert_eq!(n, 0, "cut at {cut}");
        }
        assert_eq!(Items::new(&[0xEE, 1, 2]).count(), 0);
    }
}
