//! `trace_id` and `span_id` in `TracingLayer` records, from the real
//! OpenTelemetry SDK through tracing-opentelemetry: the ids are the ones
//! the SDK assigned (as its span processor sees them when the spans end).
#![cfg(feature = "opentelemetry")]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{keys, Mem};
use logjet::{Logger, TracingLayer};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanProcessor};
use serde_json::Value;
use tracing_subscriber::prelude::*;

/// The ended spans, as the SDK assigned them: (name, trace id, span id,
/// parent span id), in W3C hex.
#[derive(Clone, Debug, Default)]
struct Ended(Arc<Mutex<Vec<EndedSpan>>>);

type EndedSpan = (String, String, String, String);

impl SpanProcessor for Ended {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
    fn on_end(&self, span: SpanData) {
        let sc = &span.span_context;
        self.0.lock().unwrap().push((
            span.name.to_string(),
            sc.trace_id().to_string(),
            sc.span_id().to_string(),
            span.parent_span_id.to_string(),
        ));
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
}

impl Ended {
    fn get(&self, name: &str) -> (String, String, String) {
        let all = self.0.lock().unwrap();
        let found: Vec<_> = all.iter().filter(|s| s.0 == name).collect();
        assert_eq!(found.len(), 1, "one span {name} in {all:?}");
        (found[0].1.clone(), found[0].2.clone(), found[0].3.clone())
    }
}

/// Runs `f` under registry + tracing-opentelemetry (the SDK with `Ended`)
/// + logjet's layer; returns the lines and the ended spans.
fn run(f: impl FnOnce()) -> (Vec<Value>, Ended) {
    let ended = Ended::default();
    let provider = SdkTracerProvider::builder().with_span_processor(ended.clone()).build();
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).build().unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
        .with(TracingLayer::new(&log));
    tracing::subscriber::with_default(subscriber, f);
    guard.flush().unwrap();
    (mem.lines(), ended)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn records_carry_the_ids_the_sdk_assigned() {
    let (lines, ended) = run(|| {
        let request = tracing::info_span!("request", request_id = 42);
        let _r = request.enter();
        tracing::info!("in request");
        {
            let db = tracing::info_span!("db", table = "users");
            let _d = db.enter();
            tracing::warn!(rows = 3, "in db");
            tracing::warn!("again in db");
        }
        tracing::info!("back in request");
    });
    let (trace, request_span, root_parent) = ended.get("request");
    let (db_trace, db_span, db_parent) = ended.get("db");
    assert!(is_hex(&trace, 32) && is_hex(&request_span, 16), "{trace} {request_span}");
    assert_eq!(root_parent, "0000000000000000", "request is a root span");
    assert_eq!(db_trace, trace, "one trace");
    assert_eq!(db_parent, request_span);

    let by_msg = |m: &str| lines.iter().find(|l| l["msg"] == m).unwrap_or_else(|| panic!("{m} in {lines:#?}"));
    for (msg, span) in [
        ("in request", &request_span),
        ("in db", &db_span),
        ("again in db", &db_span),
        ("back in request", &request_span),
    ] {
        let l = by_msg(msg);
        assert_eq!(l["trace_id"], trace.as_str(), "{l}");
        assert_eq!(l["span_id"], span.as_str(), "{l}");
    }
    // After `target`, before the span fields and the event's own fields.
    assert_eq!(
        keys(by_msg("in db")),
        ["level", "time", "pid", "hostname", "target", "trace_id", "span_id", "request_id", "table", "rows", "msg"]
    );
}

#[test]
fn no_ids_outside_spans_or_without_opentelemetry() {
    // Outside any span: no ids.
    let (lines, _) = run(|| tracing::info!("no span"));
    assert_eq!(lines.len(), 1);
    assert!(lines[0].get("trace_id").is_none() && lines[0].get("span_id").is_none(), "{}", lines[0]);

    // A span but no tracing-opentelemetry layer: no ids, and nothing breaks.
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).build().unwrap();
    let subscriber = tracing_subscriber::registry().with(TracingLayer::new(&log));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request", request_id = 7);
        let _e = span.enter();
        tracing::info!("one");
        tracing::info!("two");
    });
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert_eq!(keys(l), ["level", "time", "pid", "hostname", "target", "request_id", "msg"]);
    }
}

#[test]
fn a_remote_parent_context_gives_its_trace_id() {
    // A trace started elsewhere (as extracted from a `traceparent` header):
    // the span joins it, and the records carry that trace id.
    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let remote = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let (lines, ended) = run(|| {
        let span = tracing::info_span!("handler");
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
        let _e = span.enter();
        tracing::info!("handling");
    });
    let (trace, span, parent) = ended.get("handler");
    assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(parent, "00f067aa0ba902b7");
    assert_eq!(lines[0]["trace_id"], trace.as_str());
    assert_eq!(lines[0]["span_id"], span.as_str());
}

#[cfg(feature = "tower")]
#[test]
fn the_access_log_request_span_carries_the_ids_into_handler_events() {
    // The `request` span the access log opens with `span(true)` is a
    // tracing span like any other: with tracing-opentelemetry, the
    // handler's events join its trace.
    use tower_layer::Layer;
    use tower_service::Service;
    #[derive(Clone)]
    struct Handler;
    impl Service<http::Request<()>> for Handler {
        type Response = http::Response<String>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<http::Response<String>, std::convert::Infallible>>;
        fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            tracing::info!("handling");
            std::future::ready(Ok(http::Response::new(String::new())))
        }
    }
    let ended = Ended::default();
    let provider = SdkTracerProvider::builder().with_span_processor(ended.clone()).build();
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).build().unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
        .with(TracingLayer::new(&log));
    tracing::subscriber::with_default(subscriber, || {
        let mut svc = logjet::AccessLog::new(&log).span(true).layer(Handler);
        let fut = std::pin::pin!(svc.call(http::Request::new(())));
        assert!(
            std::future::Future::poll(fut, &mut std::task::Context::from_waker(std::task::Waker::noop())).is_ready()
        );
    });
    guard.flush().unwrap();
    let lines = mem.lines();
    let (trace, span, _) = ended.get("request");
    let handling = &lines[0];
    assert_eq!(handling["msg"], "handling");
    assert_eq!(handling["trace_id"], trace.as_str());
    assert_eq!(handling["span_id"], span.as_str());
    assert!(handling["request_id"].is_string());
}
