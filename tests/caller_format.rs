//! Callers that format their own lines (as when the writer is behind; see
//! `LOGJET_CALLER_FORMAT` in `src/preformat.rs`) write exactly the lines
//! the writer writes: the same records from two child processes, one
//! where every caller formats, one where none does, give the same file
//! but for the times and the process ids.

mod common;

use common::child::child_role;
use logjet::{sink, Level, Logger};

const NAME: &str = "callers_write_the_lines_the_writer_writes";

#[derive(serde::Serialize)]
struct Nested {
    id: u32,
    tags: Vec<&'static str>,
    ratio: f64,
}

#[derive(Debug)]
struct Opaque {
    _x: u8,
}

/// Logs the same mix of records every time: call sites with every raw
/// value kind, strings that need escaping (one longer than the callers'
/// first line buffer), formatted messages, a child's bindings, renamed and
/// repeated keys, `Display`, `Debug`, error and `serde` values, a debug
/// handle's namespace.
fn log_the_records(file: &std::path::Path) {
    let (log, guard) = Logger::builder()
        .level(Level::Trace)
        .debug("app:*")
        .sink(sink::File::append(file).expect("log file"))
        .build()
        .expect("logger");
    let child = log.child(logjet::fields!(svc = "api", shard = 3, level = "renamed"));
    let long = "a \"quoted\" \\ line\n\twith U+2028 \u{2028} and \u{1} ".repeat(20);
    let err = std::io::Error::other("disk \"full\"");
    let db = log.debug_ns("app:db");
    for i in 0..300u64 {
        let i = std::hint::black_box(i);
        logjet::info!(
            log,
            "request handled",
            method = "GET",
            path = "/api/v1/users/12345",
            status = 200u16,
            latency_ms = 3.25,
            small = -0.025,
            huge = 1e300,
            nan = f64::NAN,
            cached = false,
            request_id = i
        );
        logjet::warn!(log, "escape \"me\"\n", text = long.as_str(), min = i128::MIN, max = u128::MAX, neg = -7i64);
        logjet::error!(child, "from {} of {}", i, 300, level = 5, msg = "user msg", dup = 1, dup = 2);
        logjet::debug!(
            log,
            "values",
            shown = %format_args!("{i} items"),
            dbg = ?Opaque { _x: 1 },
            e = &err,
            nested = Nested { id: 7, tags: vec!["a", "b\"c"], ratio: 0.5 }
        );
        logjet::debug!(db, "query", rows = i);
        // Literal messages (written straight from the fields when callers
        // format): a child's, one repeating a bound key, one repeating its
        // own key, optional values, bytes that are not UTF-8.
        logjet::info!(child, "child literal", a = i, b = "x\"y");
        logjet::info!(child, "override", svc = "web", shard = i);
        logjet::info!(log, "dup", k = 1, k = i, other = true);
        logjet::info!(log, "options", none = Option::<u64>::None, some = Some(i), raw = &b"a\xffb"[..]);
    }
    guard.shutdown().expect("shutdown");
}

#[test]
fn callers_write_the_lines_the_writer_writes() {
    if let Some(file) = child_role(NAME) {
        log_the_records(&file);
        return;
    }
    let a = common::same_lines_whoever_formats(NAME, 2700);
    assert!(a.iter().any(|l| l.len() > 600), "a line longer than the callers' first buffer");
}
