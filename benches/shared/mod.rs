//! What the benchmarks share: the workload record (the one of the peer
//! comparison), the logger they write it with, and flag parsing.

// Each benchmark uses a part of this.
#![allow(dead_code)]

use std::hint::black_box;
use std::path::Path;

use logjet::{sink, Guard, Logger, Overflow};

/// The workload's values, as a service would have them at run time.
pub struct Request {
    pub method: &'static str,
    pub path: &'static str,
    pub status: u16,
    pub latency_ms: f64,
    pub cached: bool,
}

/// The one workload record of every benchmark (and of the peer comparison).
pub const REQUEST: Request =
    Request { method: "GET", path: "/api/v1/users/12345", status: 200, latency_ms: 3.25, cached: false };

/// msg "request handled" and six fields, `request_id` = `i`; every value
/// reaches the logger through `black_box`, as a service's values arrive,
/// so the compiler cannot fold any of them into the call site.
#[inline(always)]
pub fn log_request(log: &Logger, i: u64) {
    let r = black_box(&REQUEST);
    logjet::info!(
        log,
        "request handled",
        method = r.method,
        path = r.path,
        status = r.status,
        latency_ms = r.latency_ms,
        cached = r.cached,
        request_id = black_box(i)
    );
}

/// [`log_request`] through the global logger (`Logger::set_global`): the
/// same record, no handle.
#[inline(always)]
pub fn log_request_global(i: u64) {
    let r = black_box(&REQUEST);
    logjet::info!(
        "request handled",
        method = r.method,
        path = r.path,
        status = r.status,
        latency_ms = r.latency_ms,
        cached = r.cached,
        request_id = black_box(i)
    );
}

/// [`log_request`] as a `tracing` event (for `TracingLayer`): the same
/// fields, every value passed at run time.
#[cfg(feature = "tracing")]
#[inline(never)]
pub fn trace_request(i: u64) {
    let r = black_box(&REQUEST);
    tracing::info!(
        method = r.method,
        path = r.path,
        status = r.status,
        latency_ms = r.latency_ms,
        cached = r.cached,
        request_id = black_box(i),
        "request handled"
    );
}

/// The number after `flag` on the command line, or `default`.
pub fn flag(argv: &[String], flag: &str, default: u64) -> u64 {
    argv.iter().position(|a| a == flag).and_then(|i| argv.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The median cost of timing an empty span with two `Instant` reads, in
/// ns: what the latency benchmarks subtract from each timed call.
pub fn timer_overhead() -> u64 {
    let mut v: Vec<u64> = (0..10_000)
        .map(|_| {
            let t = std::time::Instant::now();
            t.elapsed().as_nanos() as u64
        })
        .collect();
    v.sort_unstable();
    v[v.len() / 2]
}

/// A logger writing NDJSON to `path`, losing nothing (`Overflow::Block`).
pub fn file_logger(path: &Path) -> (Logger, Guard) {
    Logger::builder().sink(sink::File::append(path).unwrap()).overflow(Overflow::Block).build().unwrap()
}
