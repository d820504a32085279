//! File rotation and compression under full load: one producer logs the
//! workload record into a file as fast as it can, in three set-ups, and
//! the bench reports throughput (records per second, the final flush
//! included) and the caller's latency per call (p50, p99, p99.9, longest):
//!
//! - `plain`: no rotation (the baseline);
//! - `rotate`: a new file every 100 MB (index names), no compression;
//! - `rotate+gzip`: the same, each rotated file gzipped on the sink's
//!   background thread while the load goes on (about 100 MB per rotation).
//!
//! ```text
//! cargo bench --features compression --bench files
//! cargo bench --features compression --bench files -- --records 3000000 --runs 3
//! ```
//!
//! Set-ups alternate within each run; the table shows the median run by
//! throughput. docs/performance.md has the numbers.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use logjet::sink::{self, Naming};
use logjet::{Logger, Overflow};

#[path = "shared/mod.rs"]
mod shared;

const ROTATE_AT: u64 = 100 * 1000 * 1000;

struct Run {
    per_sec: f64,
    hist: Histogram<u64>,
    files: usize,
    gzip_done_after: Option<Duration>,
}

fn run(name: &str, records: u64) -> Run {
    let dir = std::env::temp_dir().join(format!("logjet-bench-files-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut opts = sink::File::options();
    if name != "plain" {
        opts = opts.rotate_size(ROTATE_AT).naming(Naming::Index);
    }
    if name == "rotate+gzip" {
        opts = opts.compress(true);
    }
    let file = opts.append(dir.join("app.log")).unwrap();
    let (log, guard) = Logger::builder().sink(file).overflow(Overflow::Block).build().unwrap();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).unwrap();
    let start = Instant::now();
    for i in 0..records {
        let t = Instant::now();
        shared::log_request(&log, i);
        hist.saturating_record(t.elapsed().as_nanos() as u64);
    }
    guard.flush().unwrap();
    let elapsed = start.elapsed();
    drop(guard);
    drop(log);
    // How long the compressions went on after the load (they overlap it).
    let mut gzip_done_after = None;
    if name == "rotate+gzip" {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let pending = std::fs::read_dir(&dir).unwrap().any(|e| {
                let n = e.unwrap().file_name().to_string_lossy().into_owned();
                n != "app.log" && !n.ends_with(".gz")
            });
            if !pending {
                gzip_done_after = Some(start.elapsed().saturating_sub(elapsed));
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let files = std::fs::read_dir(&dir).unwrap().count();
    let _ = std::fs::remove_dir_all(&dir);
    Run { per_sec: records as f64 / elapsed.as_secs_f64(), hist, files, gzip_done_after }
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().any(|a| a == "--list") {
        return;
    }
    let records = shared::flag(&argv, "--records", 3_000_000);
    let runs = shared::flag(&argv, "--runs", 3) as usize;
    let names = ["plain", "rotate", "rotate+gzip"];
    let mut results: Vec<Vec<Run>> = names.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (i, n) in names.iter().enumerate() {
            results[i].push(run(n, records));
        }
    }
    println!("{records} records per run, {runs} runs, median run by throughput; rotation every {ROTATE_AT} bytes");
    println!(
        "| set-up | records/s | vs plain | p50 ns | p99 ns | p99.9 ns | longest µs | files | gzip done after load |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut base = 0.0;
    for (n, mut rs) in names.iter().zip(results) {
        rs.sort_by(|a, b| a.per_sec.total_cmp(&b.per_sec));
        let r = &rs[rs.len() / 2];
        if base == 0.0 {
            base = r.per_sec;
        }
        let h = &r.hist;
        println!(
            "| {n} | {:.2} M | {:+.1}% | {} | {} | {} | {} | {} | {} |",
            r.per_sec / 1e6,
            (r.per_sec / base - 1.0) * 100.0,
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max() / 1000,
            r.files,
            r.gzip_done_after.map_or("-".to_string(), |d| format!("{:.2} s", d.as_secs_f64())),
        );
    }
}
