//! Caller latency, as percentiles: how long one `info!` call keeps the
//! calling thread, at full speed and paced at one record every 2 µs.
//!
//! ```text
//! cargo bench --bench latency                  # both modes, 1,000,000 records each
//! cargo bench --bench latency -- --records 200000 --runs 5
//! cargo bench --bench latency -- --mode paced --no-floor   # one mode, logjet only
//! ```
//!
//! Each call is timed with two `Instant::now()` reads; their own cost (the
//! median of an empty pair) is subtracted. The record is written to a file
//! in a temporary directory, `Overflow::Block`, nothing lost; every run
//! checks the line count. Alongside logjet, the same harness times a
//! "constant line" transport (a pre-formatted line over a bounded crossbeam
//! channel to a thread that writes 64 KiB batches): the machine's floor.

use std::io::Write;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
#[path = "shared/mod.rs"]
mod shared;

struct Args {
    records: u64,
    runs: usize,
    period: Duration,
    modes: Vec<(&'static str, bool)>,
    floor: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        records: 1_000_000,
        runs: 3,
        period: Duration::from_nanos(2_000),
        modes: vec![("full speed", false), ("paced, 1 record / 2 µs", true)],
        floor: true,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let next = || argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match argv[i].as_str() {
            "--records" => a.records = next().expect("--records N"),
            "--runs" => a.runs = next().expect("--runs N") as usize,
            "--period-ns" => a.period = Duration::from_nanos(next().expect("--period-ns N")),
            "--mode" => {
                let m = argv.get(i + 1).map(String::as_str);
                a.modes.retain(|(_, paced)| match m {
                    Some("full") => !paced,
                    Some("paced") => *paced,
                    _ => panic!("--mode full|paced"),
                });
            }
            "--no-floor" => {
                a.floor = false;
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

fn timer_overhead() -> u64 {
    let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).unwrap();
    for _ in 0..200_000 {
        let t = Instant::now();
        h.saturating_record(t.elapsed().as_nanos() as u64);
    }
    h.value_at_quantile(0.5)
}

/// Spins until `at` (sleeping would add the scheduler's wake-up to the pace).
fn spin_until(at: Instant) {
    while Instant::now() < at {
        std::hint::spin_loop();
    }
}

fn temp_file(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("logjet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

fn count_lines(p: &std::path::Path) -> u64 {
    let data = std::fs::read(p).unwrap();
    data.iter().filter(|&&b| b == b'\n').count() as u64
}

fn run_logjet(args: &Args, paced: bool, overhead: u64) -> Histogram<u64> {
    let path = temp_file("latency.log");
    let (log, guard) = shared::file_logger(&path);
    let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).unwrap();
    let start = Instant::now();
    for n in 0..args.records {
        if paced {
            spin_until(start + args.period * n as u32);
        }
        let t = Instant::now();
        shared::log_request(&log, n);
        h.saturating_record((t.elapsed().as_nanos() as u64).saturating_sub(overhead));
    }
    guard.shutdown().unwrap();
    assert_eq!(count_lines(&path), args.records, "every record written");
    let _ = std::fs::remove_file(&path);
    h
}

/// The floor: a constant pre-formatted line through a bounded channel to a
/// writer thread that writes 64 KiB batches.
fn run_constant(args: &Args, paced: bool, overhead: u64) -> Histogram<u64> {
    let path = temp_file("constant.log");
    let line: &'static [u8] = b"{\"level\":30,\"time\":1732200000000,\"pid\":4242,\"hostname\":\"web-1\",\"method\":\"GET\",\"path\":\"/api/v1/users/12345\",\"status\":200,\"latency_ms\":3.25,\"cached\":false,\"request_id\":42,\"msg\":\"request handled\"}\n";
    let (tx, rx) = crossbeam_channel::bounded::<&'static [u8]>(16_384);
    let p2 = path.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::File::create(&p2).unwrap();
        let mut buf = Vec::with_capacity(1 << 16);
        for l in rx {
            buf.extend_from_slice(l);
            if buf.len() >= 1 << 16 {
                f.write_all(&buf).unwrap();
                buf.clear();
            }
        }
        f.write_all(&buf).unwrap();
    });
    let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).unwrap();
    let start = Instant::now();
    for n in 0..args.records {
        if paced {
            spin_until(start + args.period * n as u32);
        }
        let t = Instant::now();
        tx.send(line).unwrap();
        h.saturating_record((t.elapsed().as_nanos() as u64).saturating_sub(overhead));
    }
    drop(tx);
    writer.join().unwrap();
    assert_eq!(count_lines(&path), args.records);
    let _ = std::fs::remove_file(&path);
    h
}

fn row(name: &str, hs: &[Histogram<u64>]) {
    let q = |p: f64| {
        let mut v: Vec<u64> = hs.iter().map(|h| h.value_at_quantile(p)).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let max = {
        let mut v: Vec<u64> = hs.iter().map(|h| h.max()).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    println!("| {name} | {} | {} | {} | {} | {} | {} |", q(0.5), q(0.9), q(0.99), q(0.999), q(0.9999), max);
}

fn main() {
    let args = parse_args();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let overhead = timer_overhead();
    println!(
        "caller latency in ns, median of {} runs of {} records (timer overhead {overhead} ns subtracted)\n",
        args.runs, args.records
    );
    for &(mode, paced) in &args.modes {
        let mut ours = Vec::new();
        let mut floor = Vec::new();
        for _ in 0..args.runs {
            ours.push(run_logjet(&args, paced, overhead));
            if args.floor {
                floor.push(run_constant(&args, paced, overhead));
            }
        }
        println!("### {mode}\n");
        println!("| path | p50 | p90 | p99 | p99.9 | p99.99 | max |");
        println!("|---|---|---|---|---|---|---|");
        row("logjet info! (7 fields) → file", &ours);
        if args.floor {
            row("constant line over a crossbeam channel (floor)", &floor);
        }
        println!();
    }
}
