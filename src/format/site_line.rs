//! A call site's NDJSON line written straight from the call's fields, by a
//! caller that formats its own line while the writer is behind
//! (`crate::preformat`): no capture, no decoding of one.
//!
//! Only the common case is written this way: pino's keys, no redaction, a
//! call site with its literal message, the fields under the call site's
//! keys with raw values (numbers, booleans, strings), no key twice, and
//! bound fields whose keys the call's fields do not repeat. Anything else
//! makes [`SiteLine`] fail, and the record is captured and formatted as
//! the writer formats it. The line is the writer's, byte for byte: the
//! same head, the same value writers, the call site's cached message
//! member (`tests/caller_format.rs` compares the two).

use std::fmt;

use crate::format::json::write_keyed_val;
use crate::record::{Capture, Framed, Item, ItemWriter, Items, Key, Out, SiteData, Val};
use crate::record::{T_BYTES, T_FALSE, T_NULL, T_SITE, T_STR, T_TRUE};

/// Writes a call site's fields as `,"key":value` members (see the module
/// docs); [`ok`](SiteLine::ok) says whether it could write all of them.
pub(crate) struct SiteLine<'a, O: Out> {
    out: &'a mut O,
    site: &'static SiteData,
    /// The bits of the keys so far (`record::key_bit`): a bit seen twice
    /// may be a key written twice, which only the writer's path handles.
    mask: u64,
    ok: bool,
}

impl<'a, O: Out> SiteLine<'a, O> {
    pub(crate) fn new(out: &'a mut O, site: &'static SiteData) -> SiteLine<'a, O> {
        SiteLine { out, site, mask: 0, ok: true }
    }

    /// Whether every item was written.
    #[inline(always)]
    pub(crate) fn ok(&self) -> bool {
        self.ok
    }

    /// The key of a field under its call site's key whose bit is new.
    #[inline(always)]
    fn framed(&mut self, key: Key<'_>) -> Option<Framed> {
        let f = self.site.keys.get(usize::from(key.site_index()?)).copied().flatten()?;
        if self.mask & f.bit != 0 {
            return None;
        }
        self.mask |= f.bit;
        Some(f)
    }

    /// `,"key":value` when the key is its call site's, else a failure.
    #[inline(always)]
    fn field(&mut self, key: Key<'_>, v: Option<Val<'_>>) {
        match (self.ok, v, self.framed(key)) {
            (true, Some(v), Some(f)) => write_keyed_val(self.out, f.text, v),
            _ => self.ok = false,
        }
    }
}

impl<O: Out> ItemWriter for SiteLine<'_, O> {
    /// The call site's item (its message is written last, from the site)
    /// or a child's bindings item (its fragment, when the call's fields do
    /// not repeat its keys: bindings come first in a record).
    fn item(&mut self, bytes: &[u8]) {
        match bytes.first() {
            Some(&T_SITE) => {}
            _ => match Items::new(bytes).next() {
                Some(Item::Bindings(b)) if self.ok && self.mask & b.mask == 0 => {
                    self.mask |= b.mask;
                    self.out.extend(b.json);
                }
                _ => self.ok = false,
            },
        }
    }

    #[inline(always)]
    fn keyed<const N: usize>(&mut self, tag: u8, key: Key<'_>, v: [u8; N]) {
        self.field(key, Val::fixed(tag, &v))
    }

    #[inline(always)]
    fn keyed_blob(&mut self, tag: u8, key: Key<'_>, s: &[u8]) {
        let v = match tag {
            T_STR => Some(Val::Str(s)),
            T_BYTES => Some(Val::Bytes(s)),
            _ => None,
        };
        self.field(key, v)
    }

    #[inline(always)]
    fn key_only(&mut self, tag: u8, key: Key<'_>) {
        let v = match tag {
            T_TRUE => Some(Val::Bool(true)),
            T_FALSE => Some(Val::Bool(false)),
            T_NULL => Some(Val::Null),
            _ => None,
        };
        self.field(key, v)
    }

    fn keyed_json(&mut self, _key: Key<'_>, _f: impl FnOnce(&mut Capture) -> Result<(), String>) {
        self.ok = false;
    }

    fn keyed_display(&mut self, _key: Key<'_>, _v: &dyn fmt::Display) {
        self.ok = false;
    }

    /// A message item's text: a macro call site's message is its site's.
    fn blob(&mut self, _s: &[u8]) {
        self.ok = false;
    }

    fn formatted(&mut self, _args: fmt::Arguments<'_>) {
        self.ok = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::register_runtime;

    /// What `write` writes through a `SiteLine` of `site`, if it could.
    fn line(site: &'static SiteData, write: impl FnOnce(&mut SiteLine<'_, Vec<u8>>)) -> Option<String> {
        let mut out = Vec::new();
        let mut w = SiteLine::new(&mut out, site);
        write(&mut w);
        w.ok().then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn writes_the_sites_keys_and_refuses_the_rest() {
        let keys = [",\"a\":", ",\"b\":", ",\"with space\":"];
        let (id, site) = register_runtime(keys.iter().map(|k| k.to_string()).collect());
        let ok = line(site, |w| {
            w.site(id);
            w.u64(Key::at_site(0), 7);
            w.str(Key::at_site(1), "x\"y\n");
        });
        assert_eq!(ok.as_deref(), Some(r#","a":7,"b":"x\"y\n""#));
        let values = line(site, |w| {
            w.f64(Key::at_site(0), 3.25);
            w.bytes_lossy(Key::at_site(1), b"a\xffb");
        });
        assert_eq!(values.as_deref(), Some(r#","a":3.25,"b":"a\ufffdb""#));
        let refused: [fn(&mut SiteLine<'_, Vec<u8>>); 6] = [
            // A key carried as text.
            |w| w.u64("a", 1),
            // A key the site has no framed text for (not plain).
            |w| w.u64(Key::at_site(2), 1),
            // An index past the site's keys.
            |w| w.u64(Key::at_site(9), 1),
            // The same key twice.
            |w| {
                w.bool(Key::at_site(0), true);
                w.null(Key::at_site(0));
            },
            // Values only a capture writes.
            |w| w.display(Key::at_site(0), &5),
            |w| w.json_with(Key::at_site(0), |_| Ok(())),
        ];
        for (i, write) in refused.into_iter().enumerate() {
            assert_eq!(line(site, write), None, "case {i}");
        }
    }
}
