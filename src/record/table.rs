//! The writer's lock-free copy of the two registries a record refers to:
//! interned keys (`record::intern`) and call sites (`record::site`).

use std::cell::RefCell;

use super::intern::{registered, registered_count, registered_from, Framed};
use super::site::{registered_site, site_count, sites_from, SiteData};

/// A copy of the key and call-site registries, refreshed when either
/// grew: lookups then need no lock.
#[derive(Default, Clone)]
pub(crate) struct KeyTable {
    keys: Vec<Framed>,
    sites: Vec<&'static SiteData>,
}

impl KeyTable {
    const fn new() -> KeyTable {
        KeyTable { keys: Vec::new(), sites: Vec::new() }
    }

    /// Brings the copy up to date (two atomic loads when nothing changed).
    #[inline]
    pub(crate) fn refresh(&mut self) {
        if registered_count() != self.keys.len() || site_count() != self.sites.len() {
            self.reload();
        }
    }

    #[cold]
    #[inline(never)]
    fn reload(&mut self) {
        let keys = registered_from(self.keys.len());
        self.keys.extend(keys.into_iter().map(Framed::of));
        let sites = sites_from(self.sites.len());
        self.sites.extend(sites);
    }

    /// Interned key `id` (from the registry itself when the copy does not
    /// have it yet).
    #[inline(always)]
    pub(super) fn get(&self, id: u16) -> Option<Framed> {
        // Id 0 (no key) wraps to an index nothing has.
        let i = usize::from(id).wrapping_sub(1);
        match self.keys.get(i) {
            Some(k) => Some(*k),
            None => registered(i).map(Framed::of),
        }
    }

    /// Call site `id` (from the registry itself when the copy does not
    /// have it yet).
    #[inline(always)]
    pub(super) fn site(&self, id: u32) -> Option<&'static SiteData> {
        match self.sites.get((id as usize).wrapping_sub(1)) {
            Some(s) => Some(*s),
            None => registered_site(id),
        }
    }
}

thread_local! {
    /// This thread's copy of the registries, for decoders that do not keep
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

/// A registered call site.
#[inline(never)]
pub(crate) fn known_site(id: u32) -> Option<&'static SiteData> {
    let local = KNOWN.try_with(|t| {
        let mut t = t.try_borrow_mut().ok()?;
        t.refresh();
        Some(t.site(id))
    });
    match local {
        Ok(Some(site)) => site,
        _ => registered_site(id),
    }
}
