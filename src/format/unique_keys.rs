//! One key per object: a record never carries the same key twice.
//!
//! The rule: **a later entry replaces an earlier one with the same key**,
//! and the surviving entry is written where the later one stands. A
//! record's entries come in this order: the logger's bound fields (a
//! child's merged over its parent's when the child is made), a tracing
//! span's fields, then the call's fields as written. So a call's field
//! replaces a binding, a later field an earlier one, and an inner span's
//! field an outer one. Inside nested values (`serde::Serialize`) the later
//! member of an object replaces the earlier one the same way (see
//! [`crate::format::ser`]).
//!
//! Keys are compared as they are written. Renaming a reserved key (`level`
//! is written `_level`, `_level` is written `__level`, see [`is_reserved`])
//! is one-to-one, so two keys are equal as written exactly when they are
//! equal as given.
//!
//! Cost: the caller pays nothing. The writer's formatter sets one bit of a
//! 64-bit mask per key ([`key_bit`], computed once per interned key); a
//! child's bindings carry the mask of their keys, made once with the child. Only when a bit is already set does
//! it compare keys ([`Seen::collision`]), and only a real duplicate makes it
//! write the record again, leaving out the replaced entries ([`plan`]). A
//! call site whose keys' bits are distinct (`SiteData::distinct_mask`) has
//! its fields checked at once: when none of its bits is set yet, none of
//! its fields can repeat a key ([`Seen::fields_apart`]).

pub(crate) use crate::record::key_bit;
use crate::record::{Bound, Item, Items, KeyTable};

/// What a formatter has seen of a record's keys so far.
#[derive(Default)]
pub(crate) struct Seen {
    /// Bits of every key so far.
    mask: u64,
    /// Bits of bound keys so far.
    bound: u64,
    /// Fields so far.
    fields: u32,
    /// A key was written twice: the record must be written again.
    pub(crate) duplicate: bool,
}

impl Seen {
    /// The bits of every key so far.
    #[inline(always)]
    pub(crate) fn mask(&self) -> u64 {
        self.mask
    }

    /// A field with raw key `k` whose bit is `bit` ([`key_bit`]), in the
    /// record whose items are `items`.
    #[inline(always)]
    pub(crate) fn field(&mut self, k: &[u8], bit: u64, items: &[u8], keys: &KeyTable) {
        if self.mask & bit != 0 {
            self.collision(k, bit, items, keys);
        }
        self.mask |= bit;
        self.fields += 1;
    }

    /// `n` fields whose keys' bits are `bits`, known to share no bit with
    /// each other or with any key so far (see `Items::site_mask`).
    #[inline(always)]
    pub(crate) fn fields_apart(&mut self, bits: u64, n: u32) {
        debug_assert_eq!(self.mask & bits, 0);
        self.mask |= bits;
        self.fields += n;
    }

    /// Bound fields. They never repeat a key among themselves (children
    /// and spans merge theirs when made).
    #[inline(always)]
    pub(crate) fn bindings(&mut self, b: Bound<'_>, items: &[u8], keys: &KeyTable) {
        if self.mask & b.mask != 0 {
            self.bindings_collision(b, items, keys);
        }
        self.mask |= b.mask;
        self.bound |= b.mask;
    }

    /// `k` shares a bit with an earlier key: is it the same key?
    #[cold]
    #[inline(never)]
    fn collision(&mut self, k: &[u8], bit: u64, items: &[u8], keys: &KeyTable) {
        let mut earlier = self.fields;
        for item in Items::with_keys(items, keys) {
            match item {
                Item::Field(k2, ..) if earlier > 0 => {
                    earlier -= 1;
                    if k2 == k {
                        self.duplicate = true;
                        return;
                    }
                }
                Item::Bindings(b) if self.bound & bit != 0 && bound_keys(b, keys).any(|k2| k2 == k) => {
                    self.duplicate = true;
                    return;
                }
                _ => {}
            }
        }
    }

    /// Bound fields share bits with earlier keys: do they repeat one?
    #[cold]
    #[inline(never)]
    fn bindings_collision(&mut self, b: Bound<'_>, items: &[u8], keys: &KeyTable) {
        let mut earlier: Vec<&[u8]> = Vec::new();
        for item in Items::with_keys(items, keys) {
            match item {
                // Items before these: their own bytes end the search.
                Item::Bindings(b2) if std::ptr::eq(b2.items, b.items) => break,
                Item::Bindings(b2) => earlier.extend(bound_keys(b2, keys)),
                Item::Field(k, ..) => earlier.push(k),
                _ => {}
            }
        }
        self.duplicate |= bound_keys(b, keys).any(|k| earlier.contains(&k));
    }
}

/// The keys of bound fields, as given.
fn bound_keys<'a>(b: Bound<'a>, keys: &'a KeyTable) -> impl Iterator<Item = &'a [u8]> {
    Items::with_keys(b.items, keys).filter_map(|item| match item {
        Item::Field(k, ..) => Some(k),
        _ => None,
    })
}

/// Which entries of a record to leave out: one flag per entry, in order
/// (each bound field of each bindings item, each field), `true` where a
/// later entry has the same key. `None` when no key repeats.
pub(crate) fn plan(items: &[u8], keys: &KeyTable) -> Option<Vec<bool>> {
    let mut written: Vec<&[u8]> = Vec::new();
    for item in Items::with_keys(items, keys) {
        match item {
            Item::Bindings(b) => written.extend(bound_keys(b, keys)),
            Item::Field(k, ..) => written.push(k),
            _ => {}
        }
    }
    let skip: Vec<bool> = (0..written.len()).map(|i| written[i + 1..].contains(&written[i])).collect();
    skip.contains(&true).then_some(skip)
}

/// Whether a record repeats a key (one pass; for formatters that do not
/// track keys as they write).
pub(crate) fn plan_if_repeated(items: &[u8], keys: &KeyTable) -> Option<Vec<bool>> {
    let mut seen = Seen::default();
    for item in Items::with_keys(items, keys) {
        match item {
            Item::Field(k, _, framed) => seen.field(k, framed.map_or_else(|| key_bit(k), |f| f.bit), items, keys),
            Item::Bindings(b) => seen.bindings(b, items, keys),
            _ => {}
        }
    }
    if seen.duplicate {
        plan(items, keys)
    } else {
        None
    }
}

/// Walks a plan's flags: `skip()` for each entry in order.
pub(crate) struct Skips<'a> {
    plan: Option<&'a [bool]>,
    next: usize,
}

impl<'a> Skips<'a> {
    pub(crate) fn new(plan: Option<&'a [bool]>) -> Skips<'a> {
        Skips { plan, next: 0 }
    }

    /// Whether the next entry is left out.
    #[inline]
    pub(crate) fn skip(&mut self) -> bool {
        let i = self.next;
        self.next += 1;
        self.plan.is_some_and(|p| p.get(i).copied().unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use crate::record::Capture;
    use crate::record::ItemWriter as _;

    fn check(c: &Capture) -> Option<Vec<bool>> {
        plan_if_repeated(c.bytes(), &KeyTable::default())
    }

    fn bind(c: &mut Capture, f: impl FnOnce(&mut Capture)) {
        crate::logger::Bindings::of(f).capture(c);
    }

    #[test]
    fn distinct_keys_need_no_plan_even_when_their_bits_collide() {
        // Find two distinct keys with the same bit: the exact check must clear them.
        let names: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
        let (a, b) = names
            .iter()
            .enumerate()
            .find_map(|(i, a)| {
                names[i + 1..].iter().find(|b| key_bit(a.as_bytes()) == key_bit(b.as_bytes())).map(|b| (a, b))
            })
            .expect("64 bits cannot hold 200 keys apart");
        let mut c = Capture::new(Level::Info, 0);
        c.i64(a.as_str(), 1);
        c.i64(b.as_str(), 2);
        assert_eq!(check(&c), None);
        let mut c = Capture::new(Level::Info, 0);
        bind(&mut c, |c| c.i64(a.as_str(), 1));
        c.i64(b.as_str(), 2);
        assert_eq!(check(&c), None);
    }

    #[test]
    fn a_repeated_field_or_a_field_over_a_binding_is_found() {
        let mut c = Capture::new(Level::Info, 0);
        c.i64("rep", 1);
        c.i64("x", 0);
        c.i64("rep", 2);
        assert_eq!(check(&c), Some(vec![true, false, false]));

        let mut c = Capture::new(Level::Info, 0);
        bind(&mut c, |c| {
            c.str("dup", "b");
            c.i64("other", 1);
        });
        c.str("dup", "f");
        assert_eq!(check(&c), Some(vec![true, false, false]));

        // Reserved keys compare as written: `level` is `_level`, `_level` is `__level`.
        let mut c = Capture::new(Level::Info, 0);
        bind(&mut c, |c| c.i64("level", 1));
        c.i64("_level", 2);
        assert_eq!(check(&c), None);
        c.i64("level", 3);
        assert_eq!(check(&c), Some(vec![true, false, false]));

        // Keys that need escaping.
        let mut c = Capture::new(Level::Info, 0);
        bind(&mut c, |c| c.i64("a\"b", 1));
        c.i64("a\"b", 2);
        assert_eq!(check(&c), Some(vec![true, false]));
    }

    #[test]
    fn two_bindings_items_with_one_key() {
        let mut c = Capture::new(Level::Info, 0);
        bind(&mut c, |c| c.str("svc", "a"));
        bind(&mut c, |c| {
            c.i64("span", 1);
            c.str("svc", "b");
        });
        assert_eq!(check(&c), Some(vec![true, false, false]));
    }
}
