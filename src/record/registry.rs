//! [`Registry`]: a list that only grows, entries addressed by index (an
//! id is index + 1), written under a lock and read without one through a
//! published count. The interned keys (`record::intern`) and the call
//! sites (`record::site`) are each one; formatters keep a copy of both
//! (`record::KeyTable`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::sync::lock;

/// A list of `&'static T` that only grows.
pub(super) struct Registry<T: ?Sized + 'static> {
    all: Mutex<Vec<&'static T>>,
    /// The length of `all`, stored after each change: a reader that keeps
    /// a copy compares it with its own, and one that meets an index its
    /// copy lacks asks the registry itself, so a stale count is never
    /// wrong, only slower.
    count: AtomicUsize,
}

/// The registry's entries, locked; the count is published when it is
/// dropped.
pub(super) struct Entries<'r, T: ?Sized + 'static> {
    all: MutexGuard<'r, Vec<&'static T>>,
    count: &'r AtomicUsize,
}

impl<T: ?Sized + 'static> Registry<T> {
    pub(super) const fn new() -> Registry<T> {
        Registry { all: Mutex::new(Vec::new()), count: AtomicUsize::new(0) }
    }

    /// The entries, locked (a panic while they were held cannot leave
    /// them half written: they only ever grow by one push).
    pub(super) fn lock(&self) -> Entries<'_, T> {
        Entries { all: lock(&self.all), count: &self.count }
    }

    /// Entry `i`, looked up under the lock (a copy's rare miss).
    #[cold]
    #[inline(never)]
    pub(super) fn get(&self, i: usize) -> Option<&'static T> {
        lock(&self.all).get(i).copied()
    }

    /// The entries from index `from` on, for a copy that has the ones
    /// before.
    pub(super) fn from(&self, from: usize) -> Vec<&'static T> {
        let all = lock(&self.all);
        all[from.min(all.len())..].to_vec()
    }

    /// How many entries there are (a lower bound while another thread
    /// adds one).
    #[inline]
    pub(super) fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

impl<T: ?Sized + 'static> Entries<'_, T> {
    /// The entries.
    pub(super) fn as_slice(&self) -> &[&'static T] {
        &self.all
    }

    /// Adds `v`; returns its id (index + 1).
    pub(super) fn push(&mut self, v: &'static T) -> usize {
        self.all.push(v);
        self.all.len()
    }
}

impl<T: ?Sized + 'static> Drop for Entries<'_, T> {
    fn drop(&mut self) {
        self.count.store(self.all.len(), Ordering::Release);
    }
}
