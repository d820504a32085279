//! The writer's lock-free copy of the two registries a record refers to:
//! interned keys (`record::intern`) and call sites (`record::site`).

use std::cell::RefCell;

use super::intern::{Framed, KEYS};
use super::site::{SiteData, SITES};

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
        if KEYS.count() != self.keys.len() || SITES.count() != self.sites.len() {
            self.reload();
        }
    }

    #[cold]
    #[inline(never)]
    fn reload(&mut self) {
        self.keys.extend(KEYS.from(self.keys.len()).into_iter().map(Framed::of));
        self.sites.extend(SITES.from(self.sites.len()));
    }

    /// Interned key `id` (from the registry itself when the copy does not
    /// have it yet).
    #[inline(always)]
    pub(super) fn get(&self, id: u16) -> Option<Framed> {
        // Id 0 (no key) wraps to an index nothing has.
        let i = usize::from(id).wrapping_sub(1);
        match self.keys.get(i) {
            Some(k) => Some(*k),
            None => KEYS.get(i).map(Framed::of),
        }
    }

    /// Call site `id` (from the registry itself when the copy does not
    /// have it yet).
    #[inline(always)]
    pub(super) fn site(&self, id: u32) -> Option<&'static SiteData> {
        let i = (id as usize).wrapping_sub(1);
        match self.sites.get(i) {
            Some(s) => Some(*s),
            None => SITES.get(i),
        }
    }
}

thread_local! {
    /// This thread's copy of the registries, for decoders that do not keep
    /// their own [`KeyTable`].
    static KNOWN: RefCell<KeyTable> = const { RefCell::new(KeyTable::new()) };
}

/// `f` on this thread's copy of the registries, brought up to date;
/// `None` while the thread-local is being destroyed (or in use).
fn known<R>(f: impl FnOnce(&KeyTable) -> R) -> Option<R> {
    KNOWN
        .try_with(|t| {
            let mut t = t.try_borrow_mut().ok()?;
            t.refresh();
            Some(f(&t))
        })
        .ok()
        .flatten()
}

/// An interned key.
#[inline(never)]
pub(crate) fn interned(id: u16) -> Option<Framed> {
    match known(|t| t.get(id)) {
        Some(key) => key,
        None => KEYS.get(usize::from(id).checked_sub(1)?).map(Framed::of),
    }
}

/// A registered call site.
#[inline(never)]
pub(crate) fn known_site(id: u32) -> Option<&'static SiteData> {
    match known(|t| t.site(id)) {
        Some(site) => site,
        None => SITES.get((id as usize).checked_sub(1)?),
    }
}
