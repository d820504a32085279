//! logjet alone under sustained load: P producers (default 2) log the
//! workload record as fast as they can into a file for S seconds (default
//! 3) while the main thread asks for a flush every 100 ms. Reports each
//! producer's share, the longest single call, the worst flush, and how many
//! lines of the file come out earlier in time than a line before them
//! (the merge by time; `time` has millisecond resolution).
//!
//! ```text
//! cargo bench --bench under_load
//! cargo bench --bench under_load -- --producers 4 --seconds 5
//! ```
//!
//! The side-by-side version, beside the other loggers, is table D of the
//! peer comparison (`benches/compare`).

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "shared/mod.rs"]
mod shared;

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().any(|a| a == "--list") {
        return;
    }
    let producers = shared::flag(&argv, "--producers", 2);
    let seconds = shared::flag(&argv, "--seconds", 3);
    let dir = std::env::temp_dir().join(format!("logjet-under-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("load.log");
    let (log, guard) = shared::file_logger(&path);
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..producers)
        .map(|p| {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut n, mut longest) = (0u64, Duration::ZERO);
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    shared::log_request(&log, p << 40 | n);
                    longest = longest.max(t.elapsed());
                    n += 1;
                }
                (n, longest)
            })
        })
        .collect();
    let start = Instant::now();
    let mut flushes = Vec::new();
    while start.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        guard.flush().unwrap();
        flushes.push(t.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    let results: Vec<(u64, Duration)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let wall = start.elapsed();
    guard.shutdown().unwrap();

    // Lines whose time is earlier than the latest time before them.
    let (mut lines, mut back, mut worst_back, mut latest) = (0u64, 0u64, 0u64, 0u64);
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    for line in file.lines() {
        let line = line.unwrap();
        let t: u64 = line
            .split_once("\"time\":")
            .and_then(|(_, rest)| rest.split(',').next())
            .and_then(|v| v.parse().ok())
            .expect("a time in every line");
        if t < latest {
            back += 1;
            worst_back = worst_back.max(latest - t);
        }
        latest = latest.max(t);
        lines += 1;
    }
    if std::env::var_os("LOGJET_KEEP").is_some() {
        println!("kept {}", path.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let total: u64 = results.iter().map(|r| r.0).sum();
    assert_eq!(lines, total, "every record written");
    let (min, max) = (results.iter().map(|r| r.0).min().unwrap(), results.iter().map(|r| r.0).max().unwrap());
    let longest = results.iter().map(|r| r.1).max().unwrap();
    flushes.sort();
    println!("{producers} producers at full speed for {:.1} s, a flush every 100 ms", wall.as_secs_f64());
    println!(
        "records: {total} ({:.2} M/s); shares max ÷ min {:.2}",
        total as f64 / wall.as_secs_f64() / 1e6,
        max as f64 / min.max(1) as f64
    );
    println!("longest single call: {:.2} ms", longest.as_secs_f64() * 1e3);
    println!(
        "flushes: {}, median {:.1} ms, worst {:.1} ms",
        flushes.len(),
        flushes[flushes.len() / 2].as_secs_f64() * 1e3,
        flushes[flushes.len() - 1].as_secs_f64() * 1e3
    );
    println!("lines earlier in time than a line before them: {back} of {lines} (worst {worst_back} ms)");
}
