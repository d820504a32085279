//! With tracing-subscriber's `init()` (and its default `tracing-log`
//! feature), `log` records reach the layer as `tracing` events: they keep
//! their real target and lose the `log.*` bookkeeping fields. (Its own test
//! binary: `init()` is process-wide.)
#![cfg(all(feature = "tracing", feature = "log"))]

mod common;

use common::{keys, Mem};
use logjet::Logger;
use tracing_subscriber::prelude::*;

#[test]
fn log_records_through_log_tracer_keep_their_target() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).build().unwrap();
    tracing_subscriber::registry().with(logjet::TracingLayer::new(&log)).init();
    // The `log` crate's logger is tracing-log's now, so logjet's is refused.
    assert!(logjet::init_log(&log).is_err());

    let span = tracing::info_span!("request", request_id = 9);
    let _e = span.enter();
    log::warn!(target: "myapp::db", "slow {}", "query");
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(keys(&lines[0]), ["level", "time", "pid", "hostname", "target", "request_id", "msg"]);
    assert_eq!(lines[0]["target"], "myapp::db");
    assert_eq!(lines[0]["level"], 40);
    assert_eq!(lines[0]["msg"], "slow query");
}
