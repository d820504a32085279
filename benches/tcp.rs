//! `sink::Tcp` under full load: one producer logs the workload record as
//! fast as it can into a TCP sink whose collector is a thread of this
//! process reading the socket and counting lines (loopback). Reported:
//! records per second until the receiver has counted every line, and the
//! caller's latency per call (p50, p99, p99.9, longest), for the default
//! sink (replay window on) and with `replay(0)`.
//!
//! ```text
//! cargo bench --bench tcp
//! cargo bench --bench tcp -- --records 3000000 --runs 3
//! ```
//!
//! Set-ups alternate within each run; the table shows the median run by
//! throughput. docs/performance.md has the numbers.

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use logjet::sink::Tcp;
use logjet::{Logger, Overflow};

#[path = "shared/mod.rs"]
mod shared;

struct Run {
    per_sec: f64,
    hist: Histogram<u64>,
    bytes: u64,
}

/// A collector thread: accepts connections one after another and counts
/// the lines it reads.
fn receiver() -> (u16, Arc<AtomicU64>, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let lines = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let (n, b) = (lines.clone(), bytes.clone());
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 20];
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { return };
            loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => {
                        let newlines = buf[..k].iter().filter(|&&c| c == b'\n').count();
                        n.fetch_add(newlines as u64, Ordering::Relaxed);
                        b.fetch_add(k as u64, Ordering::Relaxed);
                    }
                }
            }
        }
    });
    (port, lines, bytes)
}

fn run(name: &str, records: u64) -> Run {
    let (port, lines, bytes) = receiver();
    let mut sink = Tcp::new(format!("127.0.0.1:{port}"));
    if name == "replay(0)" {
        sink = sink.replay(0);
    }
    let (log, guard) = Logger::builder().sink(sink).overflow(Overflow::Block).build().unwrap();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).unwrap();
    let start = Instant::now();
    for i in 0..records {
        let t = Instant::now();
        shared::log_request(&log, std::hint::black_box(i));
        hist.saturating_record(t.elapsed().as_nanos() as u64);
    }
    guard.flush().unwrap();
    // Until the collector has read every line.
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines.load(Ordering::Relaxed) < records {
        assert!(Instant::now() < deadline, "the receiver got {} of {records} lines", lines.load(Ordering::Relaxed));
        std::hint::spin_loop();
    }
    let elapsed = start.elapsed();
    assert_eq!(log.stats().written, records);
    drop(guard);
    Run { per_sec: records as f64 / elapsed.as_secs_f64(), hist, bytes: bytes.load(Ordering::Relaxed) }
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().any(|a| a == "--list") {
        return;
    }
    let records = shared::flag(&argv, "--records", 3_000_000);
    let runs = shared::flag(&argv, "--runs", 3) as usize;
    let names = ["default (replay 1 MiB)", "replay(0)"];
    let mut results: Vec<Vec<Run>> = names.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (i, n) in names.iter().enumerate() {
            results[i].push(run(n, records));
        }
    }
    println!("{records} records per run, {runs} runs, median run by throughput; receiver: a thread counting lines");
    println!("| sink::Tcp | records/s | MB/s | p50 ns | p99 ns | p99.9 ns | longest µs |");
    println!("|---|---|---|---|---|---|---|");
    for (n, mut rs) in names.iter().zip(results) {
        rs.sort_by(|a, b| a.per_sec.total_cmp(&b.per_sec));
        let r = &rs[rs.len() / 2];
        let h = &r.hist;
        println!(
            "| {n} | {:.2} M | {:.0} | {} | {} | {} | {} |",
            r.per_sec / 1e6,
            r.per_sec * (r.bytes as f64 / records as f64) / 1e6,
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max() / 1000,
        );
    }
}
