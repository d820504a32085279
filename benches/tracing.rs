//! `tracing` events through `logjet::TracingLayer`, beside logjet's own
//! macros and beside `tracing_subscriber::fmt().json()` writing through
//! `tracing_appender::non_blocking` (lossless): the same events, the same
//! sink (a file on disk), nothing lost, every file checked. A last row,
//! `tracing-floor`, is what `tracing` itself costs a caller before any
//! layer does work: the same events through the registry to a layer whose
//! visitor takes every value and does nothing with it (no file); no layer
//! can be faster than it.
//!
//! ```text
//! cargo bench --bench tracing --features tracing
//! cargo bench --bench tracing --features tracing -- --records 500000 --runs 5
//! ```
//!
//! Each run is its own process (a global subscriber per run). Throughput is
//! from the first event to the complete file; latency percentiles come from
//! a separate run that times every call (timer overhead subtracted).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use hdrhistogram::Histogram;

#[path = "shared/mod.rs"]
mod shared;

const KINDS: [&str; 5] =
    ["logjet-macros", "logjet-layer", "logjet-layer-span", "tracing-appender-json", "tracing-floor"];

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = argv.iter().position(|a| a == "--child") {
        let records: u64 = argv[i + 3].parse().unwrap();
        child(&argv[i + 1], argv[i + 2] == "latency", records);
        return;
    }
    let get = |name: &str, default: u64| shared::flag(&argv, name, default);
    let records = get("--records", 1_000_000);
    let runs = get("--runs", 3) as usize;
    let exe = std::env::current_exe().unwrap();
    println!("{records} events to a file, 1 producer, median (min–max) of {runs} runs; latency in ns\n");
    println!("| path | k events/s | × tracing-appender | p50 | p99 | p99.9 |");
    println!("|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for kind in KINDS {
        let mut rate = Vec::new();
        let mut lat = Vec::new();
        for _ in 0..runs {
            for mode in ["throughput", "latency"] {
                let out =
                    Command::new(&exe).args(["--child", kind, mode, &records.to_string()]).output().expect("run child");
                assert!(out.status.success(), "{kind}: {}", String::from_utf8_lossy(&out.stderr));
                let v: Vec<f64> =
                    String::from_utf8_lossy(&out.stdout).split_whitespace().map(|x| x.parse().unwrap()).collect();
                if mode == "throughput" {
                    rate.push(records as f64 / v[0] / 1e3);
                } else {
                    lat.push([v[1], v[2], v[3]]);
                }
            }
        }
        rows.push((kind, rate, lat));
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let base = med(rows.iter().find(|r| r.0 == "tracing-appender-json").unwrap().1.clone()).0;
    for (kind, rate, lat) in rows {
        let (m, lo, hi) = med(rate);
        let p = |i: usize| med(lat.iter().map(|l| l[i]).collect()).0;
        println!("| {kind} | {m:.0} ({lo:.0}–{hi:.0}) | {:.1} | {:.0} | {:.0} | {:.0} |", m / base, p(0), p(1), p(2));
    }
}

fn temp_file() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("logjet-tracing-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("out.log")
}

fn timer_overhead() -> u64 {
    let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).unwrap();
    for _ in 0..100_000 {
        let t = Instant::now();
        h.saturating_record(t.elapsed().as_nanos() as u64);
    }
    h.value_at_quantile(0.5)
}

fn verify(path: &Path, records: u64) {
    let mut n = 0;
    for line in std::io::BufReader::new(std::fs::File::open(path).unwrap()).lines() {
        let line = line.unwrap();
        assert!(line.starts_with('{') && line.ends_with('}') && line.contains("request handled"), "{line}");
        n += 1;
    }
    assert_eq!(n, records, "every event written");
}

/// Runs `records` events through the kind's path; with `timed`, records
/// each call's duration.
fn child(kind: &str, timed: bool, records: u64) {
    let path = temp_file();
    let _ = std::fs::remove_file(&path);
    let overhead = if timed { timer_overhead() } else { 0 };
    let mut hist = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).unwrap();
    let mut time_it = |f: &mut dyn FnMut(u64)| {
        let start = Instant::now();
        for n in 0..records {
            if timed {
                let t = Instant::now();
                f(n);
                hist.saturating_record((t.elapsed().as_nanos() as u64).saturating_sub(overhead));
            } else {
                f(n);
            }
        }
        start
    };
    let start;
    match kind {
        "logjet-macros" | "logjet-layer" | "logjet-layer-span" => {
            use tracing_subscriber::prelude::*;
            let (log, guard) = shared::file_logger(&path);
            if kind == "logjet-macros" {
                start = time_it(&mut |n| shared::log_request(&log, n));
            } else {
                tracing::subscriber::set_global_default(
                    tracing_subscriber::registry().with(logjet::TracingLayer::new(&log)),
                )
                .unwrap();
                let span = tracing::info_span!("request", service = "users");
                let _e = (kind == "logjet-layer-span").then(|| span.enter());
                start = time_it(&mut shared::trace_request);
            }
            guard.shutdown().unwrap();
        }
        "tracing-appender-json" => {
            let file = std::fs::File::create(&path).unwrap();
            let (writer, guard) =
                tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(false).finish(file);
            let subscriber = tracing_subscriber::fmt().json().with_writer(writer).finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            start = time_it(&mut shared::trace_request);
            drop(guard); // flushes and joins the worker
        }
        "tracing-floor" => {
            use tracing_subscriber::prelude::*;
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Floor)).unwrap();
            start = time_it(&mut shared::trace_request);
        }
        other => panic!("unknown kind {other}"),
    }
    let wall = start.elapsed().as_secs_f64();
    if kind != "tracing-floor" {
        verify(&path, records);
    }
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    println!(
        "{wall} {} {} {}",
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
        hist.value_at_quantile(0.999)
    );
}

/// A layer that takes each event's values and does nothing with them:
/// what `tracing` costs before a layer's own work (`tracing-floor`).
struct Floor;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Floor {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        event.record(&mut FloorVisitor);
    }
}

/// Takes every value (through `black_box`, so that none is optimized away).
struct FloorVisitor;

impl tracing::field::Visit for FloorVisitor {
    fn record_f64(&mut self, _: &tracing::field::Field, v: f64) {
        std::hint::black_box(v);
    }
    fn record_u64(&mut self, _: &tracing::field::Field, v: u64) {
        std::hint::black_box(v);
    }
    fn record_bool(&mut self, _: &tracing::field::Field, v: bool) {
        std::hint::black_box(v);
    }
    fn record_str(&mut self, _: &tracing::field::Field, v: &str) {
        std::hint::black_box(v);
    }
    fn record_debug(&mut self, _: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        std::hint::black_box(v);
    }
}
