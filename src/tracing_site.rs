//! `tracing` callsites as logjet call sites: a callsite's field names are
//! registered once (`record::site`), so that an event's record carries
//! each field's index in its callsite instead of its name, and the writer
//! copies the key pre-framed instead of checking it. Found per event in a
//! small per-thread cache keyed by the callsite's `Metadata`.
//!
//! A callsite's registration is kept for the life of the process (a few
//! hundred bytes), as a `tracing` callsite's `Metadata` is: a program has a
//! fixed set of them.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Mutex;

use tracing_core::Metadata;

use crate::record::{register_runtime, SiteData};

/// A registered callsite: its id, and what the writer sees of it.
#[derive(Clone, Copy)]
pub(crate) struct Callsite {
    pub(crate) id: u32,
    pub(crate) data: &'static SiteData,
}

/// Entries of the per-thread cache (direct-mapped by the metadata's
/// address).
const CACHED: usize = 64;

type Entry = (usize, Option<Callsite>);

thread_local! {
    static CACHE: [Cell<Entry>; CACHED] = const { [const { Cell::new((0, None)) }; CACHED] };
}

/// Every callsite registered, by the address of its metadata.
static ALL: Mutex<Option<HashMap<usize, Callsite>>> = Mutex::new(None);

/// The callsite of `meta`, registered on first use with the `,"key":`
/// texts `keys` makes (one per field of `meta.fields()`, by index).
#[inline]
pub(crate) fn callsite(meta: &'static Metadata<'static>, keys: impl FnOnce() -> Vec<String>) -> Callsite {
    let addr = meta as *const Metadata<'static> as usize;
    let slot = (addr >> 4) % CACHED;
    let hit = CACHE.try_with(|c| match c[slot].get() {
        (a, Some(site)) if a == addr => Some(site),
        _ => None,
    });
    if let Ok(Some(site)) = hit {
        return site;
    }
    let site = register(addr, keys);
    let _ = CACHE.try_with(|c| c[slot].set((addr, Some(site))));
    site
}

#[cold]
#[inline(never)]
fn register(addr: usize, keys: impl FnOnce() -> Vec<String>) -> Callsite {
    *crate::sync::lock(&ALL).get_or_insert_with(HashMap::new).entry(addr).or_insert_with(|| {
        let (id, data) = register_runtime(keys());
        Callsite { id, data }
    })
}
