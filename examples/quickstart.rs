//! The README's main job: 1,000,000 records from 2 threads into
//! `logs/quickstart.log` (or the path given as the first argument) with
//! `Overflow::Block`, then one summary line. Each call is timed (two clock
//! reads, their own cost subtracted); the percentiles are read from the
//! sorted times of all calls.
//!
//! ```text
//! cargo run --release --example quickstart [path]
//! ```

use std::time::Instant;

use logjet::{sink, Level, Logger, Overflow};

const RECORDS: u64 = 1_000_000;
const THREADS: u64 = 2;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "logs/quickstart.log".to_string());
    // Start from an empty file so that the line count below is this run's.
    if std::path::Path::new(&path).exists() {
        std::fs::remove_file(&path)?;
    }
    let (log, guard) =
        Logger::builder().level(Level::Info).sink(sink::File::append(&path)?).overflow(Overflow::Block).build()?;

    let timer_overhead = timer_overhead_ns();
    let start = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                let per_thread = RECORDS / THREADS;
                let mut times = Vec::with_capacity(per_thread as usize);
                for i in 0..per_thread {
                    let request_id = t * per_thread + i;
                    let t0 = Instant::now();
                    logjet::info!(
                        log,
                        "request handled",
                        method = "GET",
                        path = "/api/v1/users/12345",
                        status = 200,
                        latency_ms = 3.25,
                        cached = false,
                        request_id = request_id
                    );
                    let ns = t0.elapsed().as_nanos() as u64;
                    times.push(ns.saturating_sub(timer_overhead));
                }
                times
            })
        })
        .collect();
    let mut times = Vec::with_capacity(RECORDS as usize);
    for w in workers {
        times.extend(w.join().expect("producer thread"));
    }
    guard.flush()?;
    let secs = start.elapsed().as_secs_f64();
    let stats = log.stats();
    let lines = std::io::BufRead::lines(std::io::BufReader::new(std::fs::File::open(&path)?)).count();
    assert_eq!(lines as u64, RECORDS, "every record is in {path}");
    times.sort_unstable();

    println!(
        "records={} dropped={} seconds={:.3} records_per_sec={:.0} caller_p50_ns={} caller_p99_ns={} file={}",
        stats.written,
        stats.dropped,
        secs,
        stats.written as f64 / secs,
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        path
    );
    Ok(())
}

/// The value below which the fraction `q` of the sorted `times` lies (the
/// nearest-rank percentile).
fn percentile(sorted: &[u64], q: f64) -> u64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The cost of the two `Instant::now()` calls around each log call (their
/// median).
fn timer_overhead_ns() -> u64 {
    let mut times: Vec<u64> = (0..100_000)
        .map(|_| {
            let t0 = Instant::now();
            t0.elapsed().as_nanos() as u64
        })
        .collect();
    times.sort_unstable();
    percentile(&times, 0.5)
}
