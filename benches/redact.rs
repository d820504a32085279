//! What redaction, rate limits and sampling cost (issue 13, items 4 and 5).
//!
//! ```text
//! cargo bench --bench redact
//! cargo bench --bench redact -- --records 1000000
//! ```
//!
//! Writer side: throughput of the workload record (msg "request handled"
//! and six fields, NDJSON to `io::sink()`, one producer, first call until
//! the shutdown has written everything; median of 3) without redaction,
//! with paths that match nothing in it, with a `*.token` path (every
//! top-level key compared), with a path that hides one of its fields, and
//! with a record that carries a nested value whose member is hidden.
//! With one producer on this machine the writer is the bottleneck, so the
//! rate shows the writer's cost per record.
//!
//! Before that, the writer's instructions per record for each set-up,
//! counted by callgrind (stable where times are not), when `valgrind` is
//! installed.
//!
//! Caller side: latency percentiles of a call that is held back by a rate
//! limit, of one sampled out, and of the same call written (timer cost
//! subtracted).

use std::hint::black_box;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use logjet::{sink, Level, Logger, Overflow, Redact};

#[path = "shared/mod.rs"]
mod shared;
use shared::{log_request, REQUEST};

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = argv.iter().position(|a| a == "--child-instr") {
        // Under callgrind: one set-up, 100,000 records.
        let (_, w) = argv.get(i + 1).and_then(|n| setup(n)).expect("a set-up name");
        run_once(&argv[i + 1], 100_000, w);
        return;
    }
    let records = shared::flag(&argv, "--records", 300_000);
    println!("logjet redaction, rate limits and sampling ({records} records per run)\n");
    println!("writer instructions per record (callgrind, 100,000 records; includes thread start-up):");
    for name in SETUPS {
        instructions(name);
    }
    println!();
    println!("writer throughput (M records/s, median of 3, min–max):");
    let plain = || Logger::builder();
    throughput("no redaction", records, plain, Workload::Request);
    throughput(
        "paths matching nothing (password, req.headers.authorization)",
        records,
        || Logger::builder().redact(Redact::paths(["password", "req.headers.authorization"])),
        Workload::Request,
    );
    throughput(
        "a `*.token` path (every key compared)",
        records,
        || Logger::builder().redact(Redact::paths(["*.token"])),
        Workload::Request,
    );
    throughput(
        "a path hiding one field (path)",
        records,
        || Logger::builder().redact(Redact::paths(["path"])),
        Workload::Request,
    );
    throughput("no redaction, nested value", records, plain, Workload::Nested);
    throughput(
        "nested value, req.headers.authorization hidden",
        records,
        || Logger::builder().redact(Redact::paths(["req.headers.authorization"])),
        Workload::Nested,
    );
    println!();
    caller(records);
}

/// The set-ups counted under callgrind: (name, paths, workload).
const SETUPS: [&str; 6] = ["none", "nomatch", "wild", "onefield", "nested-none", "nested-hidden"];

fn setup(name: &str) -> Option<(Option<Vec<&'static str>>, Workload)> {
    Some(match name {
        "none" => (None, Workload::Request),
        "nomatch" => (Some(vec!["password", "req.headers.authorization"]), Workload::Request),
        "wild" => (Some(vec!["*.token"]), Workload::Request),
        "onefield" => (Some(vec!["path"]), Workload::Request),
        "nested-none" => (None, Workload::Nested),
        "nested-hidden" => (Some(vec!["req.headers.authorization"]), Workload::Nested),
        _ => return None,
    })
}

fn builder_for(paths: &Option<Vec<&'static str>>) -> logjet::Builder {
    match paths {
        Some(p) => Logger::builder().redact(Redact::paths(p.iter().copied())),
        None => Logger::builder(),
    }
}

fn run_once(name: &str, records: u64, w: Workload) {
    let (paths, _) = setup(name).expect("set-up");
    let (log, guard) = builder_for(&paths).sink(sink::Writer::new(std::io::sink())).build().unwrap();
    let producer = std::thread::spawn(move || {
        for i in 0..records {
            emit(&log, i, w);
        }
        log
    });
    let log = producer.join().unwrap();
    guard.shutdown().unwrap();
    assert_eq!(log.stats().written, records);
}

fn instructions(name: &str) {
    let exe = std::env::current_exe().unwrap();
    let dir = std::env::temp_dir().join(format!("logjet-redact-cg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new("valgrind")
        .env("LOGJET_CALLER_FORMAT", "off")
        .arg("--tool=callgrind")
        .arg("--separate-threads=yes")
        .arg(format!("--callgrind-out-file={}/cg.out", dir.display()))
        .arg(&exe)
        .args(["--child-instr", name])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let mut writer = f64::NAN;
            for thread in 2..10 {
                let Ok(text) = std::fs::read_to_string(dir.join(format!("cg.out-{thread:02}"))) else { continue };
                if text.contains("logjet::writer::Writer") && !text.contains("logjet::output::OutputThread") {
                    let total: f64 = text
                        .lines()
                        .find_map(|l| l.strip_prefix("totals: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(f64::NAN);
                    writer = total / 100_000.0;
                }
            }
            println!("  {name}: writer {writer:.0}");
        }
        Ok(o) => println!("  {name}: callgrind failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(_) => println!("  {name}: valgrind not installed (apt-get install valgrind), skipped"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[inline(always)]
fn emit(log: &Logger, i: u64, w: Workload) {
    match w {
        Workload::Request => log_request(log, i),
        Workload::Nested => {
            let r = black_box(&REQUEST);
            let req =
                Req { headers: Headers { authorization: black_box("Bearer abc"), accept: "*/*" }, id: black_box(i) };
            logjet::info!(log, "request handled", method = r.method, path = r.path, req = &req);
        }
    }
}

#[derive(Clone, Copy)]
enum Workload {
    Request,
    /// The request record plus a nested value with a secret header.
    Nested,
}

#[derive(serde::Serialize)]
struct Headers {
    authorization: &'static str,
    accept: &'static str,
}

#[derive(serde::Serialize)]
struct Req {
    headers: Headers,
    id: u64,
}

fn throughput(what: &str, records: u64, builder: impl Fn() -> logjet::Builder, w: Workload) {
    let mut rates: Vec<f64> = (0..3)
        .map(|_| {
            let (log, guard) =
                builder().sink(sink::Writer::new(std::io::sink())).overflow(Overflow::Block).build().unwrap();
            let start = Instant::now();
            for i in 0..records {
                emit(&log, i, w);
            }
            guard.shutdown().unwrap();
            let wall = start.elapsed().as_secs_f64();
            assert_eq!(log.stats().written, records);
            records as f64 / wall / 1e6
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    println!("  {what}: {:.2} ({:.2}–{:.2})", rates[1], rates[0], rates[2]);
}

fn caller(records: u64) {
    let overhead = shared::timer_overhead();
    println!("caller latency per call (ns, timer cost {overhead} ns subtracted), {records} calls:");
    let run = |what: &str, log: &Logger, f: &dyn Fn(&Logger, u64)| {
        let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).unwrap();
        let start = Instant::now();
        for i in 0..records {
            let t = Instant::now();
            f(log, i);
            h.saturating_record((t.elapsed().as_nanos() as u64).saturating_sub(overhead));
        }
        let rate = records as f64 / start.elapsed().as_secs_f64() / 1e6;
        println!(
            "  {what}: p50 {}  p99 {}  p99.9 {}  max {}  ({rate:.1} M calls/s)",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max()
        );
    };
    let (log, guard) = Logger::builder().sink(sink::Writer::new(std::io::sink())).build().unwrap();
    run("written (no limit)", &log, &|log, i| log_request(log, i));
    run("held back by a rate limit", &log, &|log, i| {
        let r = black_box(&REQUEST);
        logjet::info!(
            log,
            limit = (1, Duration::from_secs(3600)),
            "request handled",
            method = r.method,
            path = r.path,
            status = r.status,
            latency_ms = r.latency_ms,
            cached = r.cached,
            request_id = black_box(i)
        );
    });
    drop(guard);
    let (log, guard) =
        Logger::builder().sink(sink::Writer::new(std::io::sink())).sample(Level::Info, 0.0).build().unwrap();
    run("sampled out (sample(Info, 0.0))", &log, &|log, i| log_request(log, i));
    drop(guard);
}
