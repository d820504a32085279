//! Many logging threads: what a thread's queue costs. N threads (default
//! 500) each log 10 records and stay alive until all have; reports the
//! latency of each thread's first record (which makes its queue; threads
//! start one after another, so it is the call's own cost, not the
//! scheduler's queue of 500 runnable threads), p50 / p99 / max, the queue
//! memory (`Stats::queue_bytes`) while all threads live, and the process's
//! peak RSS.
//!
//! ```text
//! cargo bench --bench threads
//! cargo bench --bench threads -- --threads 2000 --records 10
//! ```

use std::sync::{Arc, Barrier};
use std::time::Instant;

#[path = "shared/mod.rs"]
mod shared;

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().any(|a| a == "--list") {
        return;
    }
    let threads = shared::flag(&argv, "--threads", 500) as usize;
    let records = shared::flag(&argv, "--records", 10);
    let dir = std::env::temp_dir().join(format!("logjet-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("threads.log");
    let (log, guard) = shared::file_logger(&path);
    let alive = Arc::new(Barrier::new(threads + 1));
    let done = Arc::new(Barrier::new(threads + 1));
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let mut handles = Vec::with_capacity(threads);
    let mut firsts = Vec::with_capacity(threads);
    for _ in 0..threads {
        let (log, alive, done, first_tx) = (log.clone(), alive.clone(), done.clone(), first_tx.clone());
        handles.push(std::thread::spawn(move || {
            // A service's thread has run (and allocated) before it logs:
            // the thread's malloc arena is not logjet's cost.
            drop(std::hint::black_box(vec![0u8; 64]));
            let t = Instant::now();
            shared::log_request(&log, 0);
            first_tx.send(t.elapsed().as_nanos() as u64).unwrap();
            for i in 1..records {
                shared::log_request(&log, i);
            }
            alive.wait();
            done.wait();
        }));
        // The next thread starts once this one's first record is queued.
        firsts.push(first_rx.recv().unwrap());
    }
    alive.wait(); // every thread has logged; none has exited
    let stats = log.stats();
    done.wait();
    for h in handles {
        h.join().unwrap();
    }
    guard.flush().unwrap();
    firsts.sort_unstable();
    let q = |p: f64| firsts[((firsts.len() - 1) as f64 * p) as usize];
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap_or("?").trim().to_string();
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    assert_eq!(lines as u64, threads as u64 * records, "every record written");
    let _ = std::fs::remove_dir_all(&dir);
    println!("{threads} threads x {records} records, all alive at once (default capacity)");
    println!(
        "first record per thread (makes its queue), ns: p50 {}  p99 {}  max {}",
        q(0.5),
        q(0.99),
        firsts[firsts.len() - 1]
    );
    println!(
        "queues: {} holding {:.1} MiB ({:.1} KiB each); peak RSS {hwm}",
        stats.queues,
        stats.queue_bytes as f64 / 1048576.0,
        stats.queue_bytes as f64 / 1024.0 / stats.queues.max(1) as f64
    );
}
