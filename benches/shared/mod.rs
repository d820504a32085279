//! What the benchmarks share: the workload record (the one of the peer
//! comparison) and the logger they write it with.

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

/// A logger writing NDJSON to `path`, losing nothing (`Overflow::Block`).
pub fn file_logger(path: &Path) -> (Logger, Guard) {
    Logger::builder().sink(sink::File::append(path).unwrap()).overflow(Overflow::Block).build().unwrap()
}
