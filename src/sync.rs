//! What a poisoned lock means, decided once: logjet's locks guard data
//! that is valid after every single update (a push, a swap, a counter), so
//! a panic while one was held leaves nothing half written and the lock is
//! used as it is.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning (see the module docs).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
