//! Micro-benchmarks of the caller's hot path (criterion).
//!
//! ```text
//! cargo bench --bench hot_path
//! ```
//!
//! - `disabled_level`: a `debug!` call with seven fields on an `info` logger:
//!   the level check and nothing else;
//! - `disabled_debug_namespace`: `debug!` through a debug handle whose
//!   namespace `DEBUG` does not enable: the cached namespace check;
//! - `capture_only`: the enabled record captured (time, fields, message)
//!   and discarded without being queued: the caller's work minus the queue;
//! - `info_full_call`: the whole call, queued to a writer that formats it
//!   and writes to `io::sink()` (under `Block`, so it includes waiting when
//!   the writer is the slower side: read it as throughput, not latency;
//!   `benches/latency.rs` measures percentiles).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use logjet::{Level, Logger, Overflow};

fn hot_path(c: &mut Criterion) {
    let (log, guard) = Logger::builder()
        .level(Level::Info)
        .debug("other")
        .overflow(Overflow::Block)
        .sink(logjet::sink::Writer::new(std::io::sink()))
        .build()
        .unwrap();

    c.bench_function("disabled_level", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            logjet::debug!(
                black_box(&log),
                "request handled",
                method = "GET",
                path = "/api/v1/users/12345",
                status = 200,
                latency_ms = 3.25,
                cached = false,
                request_id = n
            );
        })
    });

    let db = log.debug_ns("app:db"); // DEBUG does not enable it
    c.bench_function("disabled_debug_namespace", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            logjet::debug!(black_box(&db), "connected", host = "db1", pool = 8, n = n);
        })
    });

    c.bench_function("capture_only", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            if let Some(mut ev) = black_box(&log).event(Level::Info) {
                ev.str("method", "GET")
                    .str("path", "/api/v1/users/12345")
                    .i64("status", 200)
                    .f64("latency_ms", 3.25)
                    .bool("cached", false)
                    .u64("request_id", n);
                black_box(&ev);
            }
        })
    });

    c.bench_function("info_full_call", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            logjet::info!(
                black_box(&log),
                "request handled",
                method = "GET",
                path = "/api/v1/users/12345",
                status = 200,
                latency_ms = 3.25,
                cached = false,
                request_id = n
            );
        })
    });
    guard.flush().unwrap();
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
