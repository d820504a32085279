use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
fn main() {
    let path = "/tmp/probe/load.log";
    let _ = std::fs::remove_file(path);
    let (log, guard) = logjet::Logger::builder().sink(logjet::sink::File::append(path).unwrap()).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut hs = vec![];
    for t in 0..2u64 {
        let log = log.clone();
        let stop = stop.clone();
        hs.push(std::thread::spawn(move || {
            let mut n = 0u64;
            let mut longest = 0u128;
            while !stop.load(Ordering::Relaxed) {
                let s = Instant::now();
                logjet::info!(
                    log,
                    "request handled",
                    method = std::hint::black_box("GET"),
                    status = std::hint::black_box(200),
                    t = t,
                    request_id = n
                );
                longest = longest.max(s.elapsed().as_nanos());
                n += 1;
            }
            (n, longest)
        }));
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let s = Instant::now();
        guard.flush().unwrap();
        worst = worst.max(s.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let r: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    guard.flush().unwrap();
    println!("flush worst {worst:?}; producers {:?}; stats {:?}", r, log.stats());
    let _ = AtomicU64::new(0);
}
