//! `tracing` events written straight into the queue (`TracingLayer`, the
//! writer formatting them) give the lines of the same events captured and
//! formatted by their callers (`LOGJET_CALLER_FORMAT=always`, as when the
//! writer is behind): two child processes, the same events, the same file
//! but for the times and the process ids.
#![cfg(feature = "tracing")]

mod common;

use common::child::child_role;
use logjet::{sink, Level, Logger, TracingLayer};
use tracing_subscriber::prelude::*;

const NAME: &str = "tracing_events_in_place_write_the_lines_of_their_captures";

#[derive(Debug)]
#[allow(dead_code)]
struct Opaque {
    id: u32,
    name: &'static str,
}

/// The same events every time: every raw value kind, formatted messages,
/// `Debug` and `Display` values, renamed keys, spans (merged, an inner
/// field replacing an outer one; a span larger than the room an event
/// reserves), a message that is not first, an event too large for that
/// room, an error value.
fn log_the_events(file: &std::path::Path) {
    let (log, guard) = Logger::builder()
        .level(Level::Trace)
        .sink(sink::File::append(file).expect("log file"))
        .build()
        .expect("logger");
    let child = log.child(logjet::fields!(svc = "api"));
    let subscriber = tracing_subscriber::registry().with(TracingLayer::new(&child).file_line(true));
    let long = "a \"quoted\" \\ line\n\twith U+2028 \u{2028} ".repeat(20);
    let err = std::io::Error::other("disk \"full\"");
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..300u64 {
            let i = std::hint::black_box(i);
            tracing::info!(
                method = "GET",
                path = "/api/v1/users/12345",
                status = 200u16,
                latency_ms = 3.25,
                nan = f64::NAN,
                cached = false,
                request_id = i,
                "request handled"
            );
            tracing::warn!(min = i128::MIN, max = u128::MAX, neg = -7i64, target = "renamed", "from {} of {}", i, 300);
            tracing::debug!(dbg = ?Opaque { id: 7, name: "x\"y" }, shown = %format_args!("{i} items"), "values");
            tracing::event!(tracing::Level::INFO, a = i, message = "late message");
            // Span fields larger than the room an event reserves: captured.
            let wide = tracing::info_span!("wide", note = long.as_str(), n = i);
            wide.in_scope(|| tracing::info!(n = i, "in a wide span"));
            let span = tracing::info_span!("request", request_id = i, method = "GET");
            let _entered = span.enter();
            let inner = tracing::debug_span!("query", table = "users", method = "POST");
            let _inner = inner.enter();
            tracing::info!(rows = i, "in spans");
            tracing::info!(text = long.as_str(), "large");
            tracing::error!(e = &err as &(dyn std::error::Error + 'static), "failed");
        }
    });
    guard.shutdown().expect("shutdown");
}

#[test]
fn tracing_events_in_place_write_the_lines_of_their_captures() {
    if let Some(file) = child_role(NAME) {
        log_the_events(&file);
        return;
    }
    let a = common::same_lines_whoever_formats(NAME, 2400);
    let spans = a.iter().find(|l| l.contains("\"msg\":\"in spans\"")).expect("the in-span event");
    assert!(spans.contains(",\"request_id\":0,\"table\":\"users\",\"method\":\"POST\",\"rows\":0,"), "{spans}");
}
