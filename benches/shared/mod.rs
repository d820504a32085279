//! What the benchmarks share: the workload record (the one of the peer
//! comparison), the logger they write it with, and flag parsing.

// Each benchmark uses a part of this.
#![allow(dead_code)]

use std::path::Path;

use logjet::{sink, Guard, Logger, Overflow};

/// msg "request handled" and six fields, `request_id` = `i`.
#[inline(always)]
pub fn log_request(log: &Logger, i: u64) {
    logjet::info!(
        log,
        "request handled",
        method = "GET",
        path = "/api/v1/users/12345",
        status = 200,
        latency_ms = 3.25,
        cached = false,
        request_id = i
    );
}

/// The number after `flag` on the command line, or `default`.
pub fn flag(argv: &[String], flag: &str, default: u64) -> u64 {
    argv.iter().position(|a| a == flag).and_then(|i| argv.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A logger writing NDJSON to `path`, losing nothing (`Overflow::Block`).
pub fn file_logger(path: &Path) -> (Logger, Guard) {
    Logger::builder().sink(sink::File::append(path).unwrap()).overflow(Overflow::Block).build().unwrap()
}
