//! Sampling and rate limits (docs/sampling.md): what is held back is
//! counted exactly in `Stats::suppressed`, a rate-limited call site
//! reports what it held back when its window reopens, and the windows are
//! driven by a clock the test moves (no timed assertion).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Mem;
use logjet::{Level, Logger};
use serde_json::Value;

const SEC: u64 = 1_000_000_000;

fn logger(mem: &Mem) -> (Logger, logjet::Guard, Arc<AtomicU64>) {
    let clock = Arc::new(AtomicU64::new(5 * SEC));
    let (log, guard) =
        Logger::builder().level(Level::Trace).sink(mem.sink()).__limit_clock(clock.clone()).build().expect("logger");
    (log, guard, clock)
}

fn msgs(lines: &[Value]) -> Vec<String> {
    lines.iter().map(|l| l["msg"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_call_site_writes_n_per_window_then_reports_what_it_held_back() {
    let mem = Mem::new();
    let (log, guard, clock) = logger(&mem);
    let req = log.child(logjet::fields!(svc = "api"));
    let site = |i: u64| logjet::warn!(req, limit = (3, Duration::from_secs(1)), "queue full ({})", i, attempt = i);
    for i in 0..10 {
        site(i);
    }
    guard.flush().unwrap();
    assert_eq!(log.stats().suppressed, 7);
    assert_eq!(log.stats().written, 3);
    clock.fetch_add(SEC - 1, Ordering::Relaxed);
    site(10); // still the first window
    clock.fetch_add(1, Ordering::Relaxed);
    site(11); // the window reopens: the notice, then the record
    site(12);
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(
        msgs(&lines),
        [
            "queue full (0)",
            "queue full (1)",
            "queue full (2)",
            "suppressed 8 records",
            "queue full (11)",
            "queue full (12)"
        ]
    );
    let notice = &lines[3];
    assert_eq!(notice["level"], 40, "the call site's level");
    assert_eq!(notice["suppressed"], 8);
    assert_eq!(notice["suppressed_msg"], "queue full ({})");
    assert!(notice["call_site"].as_str().unwrap().starts_with("tests/sampling.rs:"), "{notice}");
    assert_eq!(notice["svc"], "api", "the handle's bindings");
    let s = log.stats();
    assert_eq!((s.written, s.suppressed), (6, 8));
}

#[test]
fn call_sites_are_limited_each_on_its_own() {
    let mem = Mem::new();
    let (log, guard, clock) = logger(&mem);
    for i in 0..5 {
        logjet::info!(log, limit = (1, Duration::from_secs(10)), "a", i = i);
        logjet::info!(log, limit = (2, Duration::from_secs(10)), "b", i = i);
        logjet::info!(log, "unlimited", i = i);
    }
    clock.fetch_add(10 * SEC, Ordering::Relaxed);
    logjet::log!(log, Level::Info, limit = (0, Duration::from_secs(10)), "never");
    guard.flush().unwrap();
    let m = msgs(&mem.lines());
    assert_eq!(m.iter().filter(|m| *m == "a").count(), 1);
    assert_eq!(m.iter().filter(|m| *m == "b").count(), 2);
    assert_eq!(m.iter().filter(|m| *m == "unlimited").count(), 5);
    assert_eq!(log.stats().suppressed, 4 + 3 + 1);
}

#[test]
fn concurrent_callers_of_one_site_are_counted_exactly() {
    let mem = Mem::new();
    let (log, guard, _clock) = logger(&mem);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..2500 {
                    shared_site(&log, t, i);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    guard.flush().unwrap();
    let s = log.stats();
    assert_eq!(s.written, 100);
    assert_eq!(s.suppressed, 9_900);
    assert_eq!(mem.lines().len(), 100);
}

fn shared_site(log: &Logger, t: u64, i: u64) {
    logjet::info!(log, limit = (100, Duration::from_secs(60)), "hot", t = t, i = i);
}

#[test]
fn debug_handles_and_the_event_api_are_sampled_and_limited() {
    let mem = Mem::new();
    let clock = Arc::new(AtomicU64::new(0));
    let (log, guard) = Logger::builder()
        .level(Level::Info)
        .debug("app:*")
        .sink(mem.sink())
        .sample(Level::Debug, 0.0)
        .__limit_clock(clock.clone())
        .build()
        .unwrap();
    let db = log.debug_ns("app:db");
    for _ in 0..10 {
        logjet::debug!(db, "sampled out");
        logjet::warn!(db, limit = (2, Duration::from_secs(1)), "limited");
    }
    assert!(log.event(Level::Debug).is_none(), "debug is below the level");
    log.set_level(Level::Trace);
    assert!(log.event(Level::Trace).is_none(), "sampled out at rate 0");
    assert!(log.event(Level::Info).is_some());
    guard.flush().unwrap();
    assert_eq!(msgs(&mem.lines()), ["limited", "limited"]);
    assert_eq!(log.stats().suppressed, 10 + 8 + 1);
}

#[test]
fn the_sampler_keeps_about_its_rate_and_counts_the_rest() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder()
        .level(Level::Trace)
        .sink(logjet::sink::Writer::new(std::io::sink()))
        .sample(Level::Debug, 0.1)
        .build()
        .unwrap();
    let _ = &mem;
    for i in 0..20_000 {
        logjet::debug!(log, "d", i = i);
        logjet::trace!(log, "t", i = i);
    }
    for i in 0..1_000 {
        logjet::info!(log, "i", i = i);
    }
    guard.flush().unwrap();
    let s = log.stats();
    assert_eq!(s.written + s.suppressed, 41_000, "every record written or suppressed");
    let kept = s.written - 1_000;
    // 40,000 draws at 0.1: the mean is 4,000, the standard deviation 60.
    assert!((3_500..4_500).contains(&kept), "kept {kept}");

    // Above the level: not sampled. Below the logger's level: not counted.
    log.set_level(Level::Info);
    for _ in 0..100 {
        logjet::debug!(log, "below the level");
    }
    guard.flush().unwrap();
    assert_eq!(log.stats().suppressed, s.suppressed);
}

#[test]
fn rates_of_one_and_zero_are_exact() {
    for (rate, written) in [(1.0, 300), (0.0, 100)] {
        let mem = Mem::new();
        let (log, guard) =
            Logger::builder().level(Level::Trace).sink(mem.sink()).sample(Level::Debug, rate).build().unwrap();
        for _ in 0..100 {
            logjet::trace!(log, "t");
            logjet::debug!(log, "d");
            logjet::error!(log, "e");
        }
        guard.flush().unwrap();
        let s = log.stats();
        assert_eq!((s.written, s.suppressed), (written, 300 - written), "rate {rate}");
        assert_eq!(mem.lines().len() as u64, written);
    }
}

#[test]
fn a_bad_rate_is_a_build_error() {
    for rate in [-0.1, 1.1, f64::NAN] {
        let err = Logger::builder()
            .sink(logjet::sink::Writer::new(std::io::sink()))
            .sample(Level::Debug, rate)
            .build()
            .map(|_| ())
            .expect_err("rate");
        assert!(err.to_string().contains("sample rate"), "{err}");
    }
}

#[test]
fn the_global_logger_takes_the_limit_form() {
    let mem = Mem::new();
    let (log, guard, _clock) = logger(&mem);
    log.set_global().expect("the only global logger of this test binary");
    for i in 0..5 {
        logjet::error!(limit = (2, Duration::from_secs(60)), "global {}", i);
    }
    guard.flush().unwrap();
    assert_eq!(msgs(&mem.lines()), ["global 0", "global 1"]);
    assert_eq!(log.stats().suppressed, 3);
}

#[cfg(feature = "tracing")]
#[test]
fn tracing_events_are_sampled_like_the_macros() {
    use tracing_subscriber::prelude::*;
    for (rate, written) in [(1.0, 300), (0.0, 100)] {
        let mem = Mem::new();
        let (log, guard) =
            Logger::builder().level(Level::Trace).sink(mem.sink()).sample(Level::Debug, rate).build().unwrap();
        let subscriber = tracing_subscriber::registry().with(logjet::TracingLayer::new(&log));
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..100 {
                tracing::trace!("t");
                tracing::debug!("d");
                tracing::error!("e");
            }
        });
        guard.flush().unwrap();
        let s = log.stats();
        assert_eq!((s.written, s.suppressed), (written, 300 - written), "rate {rate}");
        assert_eq!(mem.lines().iter().filter(|l| l["msg"] == "e").count(), 100, "errors are not sampled");
    }
}
