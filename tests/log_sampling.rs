//! `log` records through `logjet::init_log` are sampled like the macros'
//! (docs/sampling.md). Its own test binary: the `log` crate takes one
//! logger per process.
#![cfg(feature = "log")]

mod common;

use common::Mem;
use logjet::{Level, Logger};

#[test]
fn log_records_are_sampled_like_the_macros() {
    let mem = Mem::new();
    let (log, guard) =
        Logger::builder().level(Level::Trace).sink(mem.sink()).sample(Level::Debug, 0.0).build().unwrap();
    logjet::init_log(&log).unwrap();
    for _ in 0..100 {
        log::trace!("t");
        log::debug!("d");
        log::error!("e");
    }
    guard.flush().unwrap();
    let s = log.stats();
    assert_eq!((s.written, s.suppressed), (100, 200));
    assert!(mem.lines().iter().all(|l| l["msg"] == "e"), "only the errors, which are not sampled");
}
