//! The caller's hot path does not allocate for a typical record: logjet's
//! macros, and `tracing` events through the layer inside spans. (Its own
//! test binary: it installs a counting global allocator.)

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::Mem;
use logjet::Logger;

struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the thread-locals are const-initialized: reading them never allocates.
        if ON.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Allocations made by this thread while `f` runs.
fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    ON.with(|o| o.set(true));
    f();
    ON.with(|o| o.set(false));
    COUNT.with(Cell::get)
}

/// A thread's queue starts at 8 KiB and doubles up to the capacity (here
/// 100,000 records × 128 bytes, rounded up to 16 MiB): 11 doublings, each
/// allocating the new ring and its `Arc`.
const MAX_GROWTH_ALLOCATIONS: u64 = 2 * 11;

#[test]
fn a_typical_record_allocates_only_to_grow_its_queue() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().capacity(100_000).sink(mem.sink()).build().unwrap();
    let req = log.child(logjet::fields!(request_id = 42, user = "ada"));
    let run = |count: u64| {
        for i in 0..count {
            logjet::info!(
                req,
                "request handled",
                method = "GET",
                path = "/api/v1/users/12345",
                status = 200,
                latency_ms = 3.25,
                cached = false,
                request_id = i
            );
            logjet::debug!(req, "disabled", i = i);
        }
    };
    // The first record makes this thread's queue and interns the call
    // site's keys; after that, only the queue's growth allocates (a ring
    // and its `Arc` per doubling, whatever the number of records).
    run(1);
    let n = allocations(|| run(10_000));
    assert!(n <= MAX_GROWTH_ALLOCATIONS, "{n} allocations for 10,000 records");
    let n = allocations(|| run(10_000));
    assert!(n <= MAX_GROWTH_ALLOCATIONS, "{n} allocations for 10,000 more records");
    guard.flush().unwrap();
    assert_eq!(mem.lines().len(), 20_001);
}

#[cfg(feature = "tracing")]
#[test]
fn a_tracing_event_inside_spans_allocates_only_to_grow_its_queue() {
    use tracing_subscriber::prelude::*;
    let mem = Mem::new();
    let (log, guard) = Logger::builder().capacity(100_000).sink(mem.sink()).build().unwrap();
    let subscriber = tracing_subscriber::registry().with(logjet::TracingLayer::new(&log));
    tracing::subscriber::with_default(subscriber, || {
        let outer = tracing::info_span!("request", request_id = 42, method = "GET");
        let _o = outer.enter();
        let inner = tracing::info_span!("db", table = "users");
        let _i = inner.enter();
        let event = |i: u64| tracing::info!(status = 200, latency_ms = 3.25, cached = false, i = i, "request handled");
        // The first event registers its callsite's keys (once per callsite).
        event(0);
        let n = allocations(|| {
            for i in 1..=10_000u64 {
                event(i);
            }
        });
        assert!(n <= MAX_GROWTH_ALLOCATIONS, "{n} allocations for 10,000 events");
    });
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines.len(), 10_001);
    assert_eq!(lines[1]["table"], "users");
}
