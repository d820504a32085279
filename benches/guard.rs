//! No-regression guard: a quick, printed snapshot of what a change did to
//! the hot path. `.ci/run` runs it and prints its output; nothing here is
//! asserted against a time (the machine is shared and noisy), only the
//! output is checked for completeness.
//!
//! ```text
//! cargo bench --bench guard --features tracing
//! cargo bench --bench guard -- --records 500000
//! ```
//!
//! It prints, for the record of the peer comparison (msg "request handled"
//! and six fields, NDJSON to a file, `Overflow::Block`):
//!
//! 1. instructions per record on the calling thread and on the writer
//!    thread, counted by callgrind when `valgrind` is installed: stable to
//!    about 1% from run to run, so the number to compare between changes.
//!    Counted twice: with callers that only capture (the writer formats;
//!    `LOGJET_CALLER_FORMAT=off`) and with callers that format their own
//!    records, as they do while the writer is behind
//!    (`LOGJET_CALLER_FORMAT=always`); once more through the global
//!    logger (`logjet::info!("...")` without a handle), which should cost
//!    the caller what a handle does; through a child logger (bound
//!    fields); and, with `--features tracing` (as `.ci/run` runs it), as a
//!    `tracing` event through `TracingLayer`;
//! 2. throughput (first call until the file is complete), median of 3;
//! 3. caller latency at full speed, p50 / p99 / p99.9 (timer cost
//!    subtracted).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use hdrhistogram::Histogram;

#[path = "shared/mod.rs"]
mod shared;
use shared::{file_logger as logger, log_request, log_request_global};

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().any(|a| a == "--list") {
        return;
    }
    if measured_child(&argv) {
        return;
    }
    let get = |name: &str, default: u64| shared::flag(&argv, name, default);
    let records = get("--records", 300_000);
    println!("logjet guard: numbers to compare between changes (not a test; the machine is noisy)\n");
    let n = records.min(100_000);
    instructions("--child-instr", n, "off", "the writer formats");
    instructions("--child-instr", n, "always", "callers format their own records, as when the writer is behind");
    instructions("--global-instr", n, "off", "through the global logger, no handle (the writer formats)");
    instructions("--child-logger-instr", n, "off", "a child logger's (3 bound fields), the writer formats");
    #[cfg(feature = "tracing")]
    instructions("--layer-instr", n, "off", "a `tracing` event through `TracingLayer`, the writer formats");
    throughput(records);
    latency(records);
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("logjet-guard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}.log"));
    let _ = std::fs::remove_file(&p);
    p
}

/// `records` complete lines, each the expected record.
fn verify(path: &Path, records: u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut n = 0;
    for line in text.lines() {
        assert!(line.starts_with("{\"level\":30,") && line.ends_with(",\"msg\":\"request handled\"}"), "{line}");
        n += 1;
    }
    assert_eq!(n, records, "every record written");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// Runs this benchmark's measured child `mode` (see [`measured_child`])
/// under callgrind, one file per thread, and prints the instructions per
/// record of each thread, told apart by what it ran.
fn instructions(mode: &str, records: u64, caller_format: &str, what: &str) {
    let exe = std::env::current_exe().unwrap();
    let dir = std::env::temp_dir().join(format!("logjet-guard-cg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("valgrind")
        .env("LOGJET_CALLER_FORMAT", caller_format)
        .arg("--tool=callgrind")
        .arg("--separate-threads=yes")
        .arg(format!("--callgrind-out-file={}/cg.out", dir.display()))
        .arg(&exe)
        .args([mode, &records.to_string()])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let (mut caller, mut writer, mut output) = (f64::NAN, f64::NAN, f64::NAN);
            // Thread 1 is the main thread (it starts the others and checks
            // the file).
            for thread in 2..10 {
                let Ok(text) = std::fs::read_to_string(dir.join(format!("cg.out-{thread:02}"))) else { continue };
                let total = text.lines().find_map(|l| l.strip_prefix("totals: ")).and_then(|v| v.trim().parse().ok());
                let total = total.unwrap_or(f64::NAN) / records as f64;
                // By module, not by one function's name, which inlining
                // can make disappear.
                if text.contains("logjet::output::OutputThread") {
                    output = total;
                } else if text.contains("logjet::writer::Writer") {
                    writer = total;
                } else {
                    caller = total;
                }
            }
            println!("instructions per record, {what} (callgrind, {records} records; includes thread start-up):");
            println!("  caller {caller:.0}");
            println!("  writer {writer:.0} (merge, then decode and format or copy the line)");
            println!("  output {output:.0} (write(2) calls; the kernel's work is not counted)\n");
        }
        Ok(o) => println!("instructions ({what}): callgrind failed: {}\n", String::from_utf8_lossy(&o.stderr)),
        Err(_) => println!("instructions ({what}): valgrind not installed (apt-get install valgrind), skipped\n"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn throughput(records: u64) {
    let mut rates: Vec<f64> = (0..3)
        .map(|_| {
            let path = temp_path("throughput");
            let (log, guard) = logger(&path);
            let start = Instant::now();
            for i in 0..records {
                log_request(&log, i);
            }
            guard.shutdown().unwrap();
            let wall = start.elapsed().as_secs_f64();
            verify(&path, records);
            records as f64 / wall / 1e6
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    println!(
        "throughput, {records} records, 1 producer: {:.2} M records/s (median of 3; {:.2}–{:.2})\n",
        rates[1], rates[0], rates[2]
    );
}

fn latency(records: u64) {
    let overhead = shared::timer_overhead();
    let path = temp_path("latency");
    let (log, guard) = logger(&path);
    let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).unwrap();
    for i in 0..records {
        let t = Instant::now();
        log_request(&log, i);
        h.saturating_record((t.elapsed().as_nanos() as u64).saturating_sub(overhead));
    }
    guard.shutdown().unwrap();
    verify(&path, records);
    println!(
        "caller latency, full speed, {records} calls (ns, timer cost {overhead} ns subtracted): p50 {}  p99 {}  p99.9 {}  max {}",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    );
}

/// The measured processes [`instructions`] runs under callgrind: the
/// workload record logged `N` times on a thread of its own, then the file
/// checked. Returns true when this process is one of them:
///
/// - `--child-instr N`: with a handle;
/// - `--global-instr N`: through the global logger;
/// - `--child-logger-instr N`: through a child logger with three bound
///   fields (a string, a string that needs escaping, a number; their keys
///   share no bit of the one-key rule's mask with the record's, which would
///   add the exact check to every record, see `format/unique_keys.rs`): what
///   bound fields cost the caller (copying them into the record) and the
///   writer (writing them into the line);
/// - `--layer-instr N` (feature `tracing`): as a `tracing` event through
///   `TracingLayer` (a registry and the layer as the thread's subscriber).
fn measured_child(argv: &[String]) -> bool {
    let modes = ["--child-instr", "--global-instr", "--child-logger-instr", "--layer-instr"];
    let Some(mode) = modes.into_iter().find(|m| argv.iter().any(|a| a == m)) else { return false };
    let records = shared::flag(argv, mode, 100_000);
    let path = temp_path("instr");
    let (log, guard) = logger(&path);
    let run: Box<dyn FnOnce() + Send> = match mode {
        "--child-instr" => Box::new(move || (0..records).for_each(|i| log_request(&log, i))),
        "--global-instr" => {
            log.set_global().unwrap();
            Box::new(move || (0..records).for_each(log_request_global))
        }
        "--child-logger-instr" => {
            let child =
                log.child(logjet::fields!(app = "billing", zone = "eu-west-1 \"b\"", worker = std::hint::black_box(3)));
            Box::new(move || (0..records).for_each(|i| log_request(&child, i)))
        }
        #[cfg(feature = "tracing")]
        "--layer-instr" => Box::new(move || {
            use tracing_subscriber::prelude::*;
            let subscriber = tracing_subscriber::registry().with(logjet::TracingLayer::new(&log));
            tracing::subscriber::with_default(subscriber, || (0..records).for_each(shared::trace_request));
        }),
        _ => {
            println!("{mode} needs the `tracing` feature");
            return true;
        }
    };
    // One loop per mode, on a thread of its own: a branch inside would be
    // counted too.
    std::thread::spawn(run).join().unwrap();
    guard.shutdown().unwrap();
    verify(&path, records);
    true
}
