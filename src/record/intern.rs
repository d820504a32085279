//! Keys: the macros' compile-time check ([`is_plain`]), interning a
//! plain key once (the registry of `,"key":` texts), and what the writer
//! knows of an interned key ([`Framed`]: its text and its bit).

use std::sync::atomic::{AtomicU32, Ordering};

use super::registry::Registry;

/// A field's key, with whether it is known to need neither escaping nor
/// renaming ("plain": letters, digits, `_`, `.`, `-`, 1 to 127 bytes, not a
/// reserved key). The macros decide it at compile time, so the writer just
/// copies such keys; keys known only at run time are checked by the writer.
#[derive(Clone, Copy, Debug)]
pub struct Key<'a> {
    pub(super) name: &'a str,
    /// The interned id of a plain key (0: not interned), or `SITE_BASE`
    /// plus the key's index in its call site's list (`record::site`).
    pub(super) id: u16,
}

impl<'a> Key<'a> {
    /// A key the writer will check (escape, rename).
    #[inline]
    pub const fn runtime(name: &'a str) -> Key<'a> {
        Key { name, id: 0 }
    }

    /// Key number `index` of its call site's list (see
    /// [`Site`](super::Site)): a record carries the index, the writer
    /// takes the key from the site. Only for a plain key and an index
    /// below 256.
    #[inline(always)]
    pub(crate) const fn site(name: &'a str, index: usize) -> Key<'a> {
        Key { name, id: SITE_BASE + (index as u16 & 0xFF) }
    }

    /// Key number `index` of its call site's list without its text, for
    /// keys known at run time (a `tracing` callsite's): like
    /// [`site`](Key::site), and only where nothing needs the text (a
    /// record carries only the index; a capture writes only the index).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    #[inline(always)]
    pub(crate) const fn at_site(index: usize) -> Key<'static> {
        Key::site("", index)
    }

    /// The key's text.
    pub const fn name(&self) -> &'a str {
        self.name
    }

    /// The key's index in its call site's list, for a call site's key.
    #[inline(always)]
    pub(crate) fn site_index(&self) -> Option<u8> {
        self.id.checked_sub(SITE_BASE).map(|i| i as u8)
    }

    /// A field's `tag` and this key as a record carries them when the key
    /// is a number, and how many of the four bytes that takes: `0x81` and
    /// a call site's key index (3), or `0x80` and an interned key's id (4).
    /// `None` for a key carried as its text.
    #[inline(always)]
    pub(crate) fn coded(&self, tag: u8) -> Option<([u8; 4], usize)> {
        if let Some(index) = self.site_index() {
            return Some(([tag, 0x81, index, 0], 3));
        }
        let [lo, hi] = self.id.to_le_bytes();
        (self.id != 0).then_some(([tag, 0x80, lo, hi], 4))
    }
}

impl<'a> From<&'a str> for Key<'a> {
    #[inline]
    fn from(name: &'a str) -> Key<'a> {
        Key::runtime(name)
    }
}

/// The first [`Key`] id that is a call site's key index (`id - SITE_BASE`)
/// rather than an interned key.
pub(crate) const SITE_BASE: u16 = 0xFF00;

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
        // Acquire, as a call site's id (`record::site`): the registration
        // happens before any record carrying the id reaches a decoder.
        let id = match self.id.load(Ordering::Acquire) {
            0 => self.register(),
            id => id,
        };
        // `register` never stores more than u16::MAX.
        Key { name: self.name, id: id as u16 }
    }

    #[cold]
    #[inline(never)]
    fn register(&'static self) -> u32 {
        let mut all = KEYS.lock();
        let id = match all.as_slice().iter().position(|k| *k == self.framed) {
            Some(i) => i + 1,
            None => all.push(self.framed),
        };
        // Past 65,279 distinct keys, keys are copied instead (id 0... never
        // stored, so `key()` registers again: still correct); ids from
        // `SITE_BASE` on are call sites' key indexes.
        let id = u32::try_from(id).ok().filter(|&id| id < u32::from(SITE_BASE)).unwrap_or(0);
        if id != 0 {
            self.id.store(id, Ordering::Release);
        }
        id
    }
}

/// Every interned key's `,"key":` text; id = index + 1.
pub(super) static KEYS: Registry<str> = Registry::new();

/// An interned key as the writer sees it: its `,"key":` text and the bit
/// of its key in the mask that finds repeated keys
/// (`format::unique_keys`), computed once per key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Framed {
    pub(crate) text: &'static [u8],
    pub(crate) bit: u64,
}

impl Framed {
    pub(super) fn of(framed: &'static str) -> Framed {
        let text = framed.as_bytes();
        Framed { text, bit: key_bit(unframe(text)) }
    }

    /// The key itself, without `,"` and `":`.
    #[inline(always)]
    pub(crate) fn key(&self) -> &'static [u8] {
        unframe(self.text)
    }
}

/// The key of a framed text (`,"key":`).
#[inline(always)]
fn unframe(text: &[u8]) -> &[u8] {
    &text[2..text.len() - 2]
}

/// The bit of key `k` (its text as given, before renaming or escaping) in
/// the 64-bit mask with which the writer finds a record's repeated keys
/// (`format::unique_keys`). Length, first and last byte: cheap, and enough
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
    !crate::format::json::is_reserved(b)
}
