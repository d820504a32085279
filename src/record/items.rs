//! Reading a record's items back: [`Items`] decodes the binary format into
//! [`Item`]s and [`Val`]ues, with interned keys resolved through a
//! [`KeyTable`].

use super::capture::*;
use super::intern::Framed;
use super::site::SiteData;
use super::table::{interned, known_site, KeyTable};

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

impl Val<'static> {
    /// The fixed-size value with tag `tag` from its little-endian bytes (8,
    /// or 16 for the 128-bit integers); `None` for another tag or length.
    #[inline(always)]
    pub(crate) fn fixed(tag: u8, b: &[u8]) -> Option<Val<'static>> {
        Some(match tag {
            T_I64 => Val::I64(i64::from_le_bytes(b.try_into().ok()?)),
            T_U64 => Val::U64(u64::from_le_bytes(b.try_into().ok()?)),
            T_F64 => Val::F64(f64::from_bits(u64::from_le_bytes(b.try_into().ok()?))),
            T_I128 => Val::I128(i128::from_le_bytes(b.try_into().ok()?)),
            T_U128 => Val::U128(u128::from_le_bytes(b.try_into().ok()?)),
            _ => return None,
        })
    }
}

/// A decoded item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Item<'a> {
    /// The message, and the call site when it is the site's literal.
    Msg(&'a [u8], Option<&'static SiteData>),
    Ns(&'a [u8]),
    /// Bound fields (a child logger's, a span's).
    Bindings(Bound<'a>),
    /// A key, a value, and for an interned key its `,"key":` text and bit.
    Field(&'a [u8], Val<'a>, Option<Framed>),
}

/// Bound fields, borrowed from the record: the same fields twice, as an
/// NDJSON fragment and as captured items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bound<'a> {
    /// `,"k":v,...`, for the NDJSON formatter to copy.
    pub(crate) json: &'a [u8],
    /// The fields as captured (`Items` decodes them to `Item::Field`s).
    pub(crate) items: &'a [u8],
    /// The bits of their keys (`record::key_bit`).
    pub(crate) mask: u64,
}

/// Iterates over the items of a capture. Stops at the first malformed item
/// (which the capture code never produces).
pub(crate) struct Items<'a> {
    b: &'a [u8],
    keys: Option<&'a KeyTable>,
    /// The keys of the record's call site (after its site item).
    site: &'a [Option<Framed>],
    /// Its `SiteData::distinct_mask`.
    site_mask: Option<u64>,
}

impl<'a> Items<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Items<'a> {
        Items { b, keys: None, site: &[], site_mask: None }
    }

    /// Decodes with `keys` (brought up to date by the caller) for the
    /// interned keys and call sites.
    pub(crate) fn with_keys(b: &'a [u8], keys: &'a KeyTable) -> Items<'a> {
        Items { b, keys: Some(keys), site: &[], site_mask: None }
    }

    /// The fields of bound fields `b`, decoded with this decoder's keys.
    #[inline]
    pub(crate) fn bound(&self, b: Bound<'a>) -> Items<'a> {
        Items { b: b.items, keys: self.keys, site: &[], site_mask: None }
    }

    /// The call site of a site item, whose keys the fields after it use.
    #[inline(always)]
    fn site(&mut self) -> Option<&'static SiteData> {
        let id = self.u32()? as u32;
        let site = match self.keys {
            Some(k) => k.site(id),
            None => known_site(id),
        }?;
        self.site = &site.keys;
        self.site_mask = site.distinct_mask;
        Some(site)
    }

    /// The items with bound fields taken out of their bindings items: each
    /// bound field comes as an `Item::Field`, where its bindings item
    /// stands (for formatters that write bound fields like the call's).
    #[inline]
    pub(crate) fn flat(self) -> Flat<'a> {
        Flat { outer: self, bound: None }
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
        if let Some(field) = self.next_site_field() {
            return field.map(|(framed, val)| Item::Field(framed.key(), val, Some(framed)));
        }
        let tag = *self.take(1)?.first()?;
        match tag {
            T_MSG => return Some(Item::Msg(self.blob()?, None)),
            T_NS => return Some(Item::Ns(self.blob()?)),
            T_SITE => {
                let site = self.site()?;
                return Some(Item::Msg(site.msg?, Some(site)));
            }
            T_SITE_FMT => {
                self.site()?;
                return Some(Item::Msg(self.blob()?, None));
            }
            T_BINDINGS => {
                let mask = u64::from_le_bytes(self.arr8()?);
                let json = self.blob()?;
                return Some(Item::Bindings(Bound { json, items: self.blob()?, mask }));
            }
            _ => {}
        }
        // A call site's key (0x81) was decoded above; here only a record
        // cut short has one, and it ends the decoding.
        let klen = *self.take(1)?.first()? as usize;
        let (key, framed): (&'a [u8], Option<Framed>) = if klen == 0x81 {
            self.b = &[];
            return None;
        } else if klen == 0x80 {
            let id = self.take(2)?;
            let id = u16::from_le_bytes([id[0], id[1]]);
            let framed = match self.keys {
                Some(k) => k.get(id),
                None => interned(id),
            }?;
            (framed.key(), Some(framed))
        } else {
            let klen = if klen == 0x7F { self.u32()? } else { klen };
            (self.take(klen)?, None)
        };
        let val = self.val(tag)?;
        Some(Item::Field(key, val, framed))
    }
}

impl<'a> Items<'a> {
    /// The bits of the call site's keys when no two of them share one
    /// (see `SiteData::distinct_mask`).
    #[inline(always)]
    pub(crate) fn site_mask(&self) -> Option<u64> {
        self.site_mask
    }

    /// The common item, a field under a call site's key (its tag, 0x81 and
    /// the key's index, read with one length check): `None` when the next
    /// item is another (nothing decoded), `Some(None)` when it is malformed
    /// (decoding ends). For formatters' loops over a call site's fields.
    #[inline(always)]
    pub(crate) fn next_site_field(&mut self) -> Option<Option<(Framed, Val<'a>)>> {
        let [tag @ T_I64..=u8::MAX, 0x81, index, rest @ ..] = self.b else { return None };
        let Some(framed) = self.site.get(usize::from(*index)).copied().flatten() else {
            self.b = &[];
            return Some(None);
        };
        self.b = rest;
        Some(self.val(*tag).map(|val| (framed, val)))
    }

    /// The value of a field item with tag `tag`, after its key.
    #[inline(always)]
    fn val(&mut self, tag: u8) -> Option<Val<'a>> {
        Some(match tag {
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
        })
    }
}

/// [`Items::flat`]: the items, bound fields as fields.
pub(crate) struct Flat<'a> {
    outer: Items<'a>,
    bound: Option<Items<'a>>,
}

impl<'a> Iterator for Flat<'a> {
    type Item = Item<'a>;

    #[inline]
    fn next(&mut self) -> Option<Item<'a>> {
        loop {
            if let Some(b) = &mut self.bound {
                match b.next() {
                    Some(item @ Item::Field(..)) => return Some(item),
                    Some(_) => continue,
                    None => self.bound = None,
                }
            }
            match self.outer.next()? {
                Item::Bindings(b) => self.bound = Some(self.outer.bound(b)),
                item => return Some(item),
            }
        }
    }
}
