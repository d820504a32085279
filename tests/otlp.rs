//! The OTLP/HTTP exporter against a receiver inside the test that decodes
//! every body with the official `opentelemetry-proto` types: every record
//! and attribute (protobuf and JSON, plain and gzip), batching by size and
//! delay, retries on 429/503 honouring `Retry-After`, final refusals
//! counted as lost, and a receiver restarted mid-stream under
//! `Overflow::Block` losing and duplicating nothing.
#![cfg(feature = "otlp")]

mod common;
mod otlp_receiver;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use logjet::sink::{Otlp, OtlpEncoding};
use logjet::{Level, Logger, Overflow};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use otlp_receiver::{Received, Receiver, Reply};

fn s(v: &str) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::StringValue(v.into())) })
}
fn i(v: i64) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::IntValue(v)) })
}
fn d(v: f64) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::DoubleValue(v)) })
}
fn b(v: bool) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Value::BoolValue(v)) })
}
fn null() -> Option<AnyValue> {
    Some(AnyValue { value: None })
}
fn arr(v: Vec<Option<AnyValue>>) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Value::ArrayValue(opentelemetry_proto::tonic::common::v1::ArrayValue {
            values: v.into_iter().map(|v| v.unwrap()).collect(),
        })),
    })
}
fn map(v: Vec<(&str, Option<AnyValue>)>) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(Value::KvlistValue(opentelemetry_proto::tonic::common::v1::KeyValueList {
            values: v.into_iter().map(|(k, v)| kv(k, v)).collect(),
        })),
    })
}
fn kv(k: &str, v: Option<AnyValue>) -> KeyValue {
    KeyValue { key: k.into(), value: v, ..Default::default() }
}

/// The records of every request, in order.
fn records(reqs: &[Received]) -> Vec<LogRecord> {
    reqs.iter()
        .flat_map(|r| &r.request.resource_logs)
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| s.log_records.iter().cloned())
        .collect()
}

#[derive(serde::Serialize)]
struct Order {
    id: u32,
    items: Vec<&'static str>,
    note: Option<&'static str>,
}

/// Logs a set of records covering every kind of value and checks what the
/// receiver decoded.
fn every_record_and_attribute(encoding: OtlpEncoding, gzip: bool) {
    let rx = Receiver::start(0, true);
    let (log, guard) = Logger::builder()
        .level(Level::Trace)
        .sink(
            Otlp::http(rx.url())
                .unwrap()
                .encoding(encoding)
                .gzip(gzip)
                .service_name("checkout")
                .resource_attribute("deployment.environment.name", "test")
                .header("x-tenant", "t1")
                .unwrap(),
        )
        .debug("app:*")
        .build()
        .unwrap();
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let req = log.child(logjet::fields!(
        request_id = 42,
        route = "/orders",
        ctx = &Order { id: 1, items: vec![], note: None }
    ));
    logjet::trace!(log, "t");
    logjet::debug!(log, "d");
    logjet::info!(
        req,
        "order placed",
        s = "text",
        neg = -5,
        big = u64::MAX,
        f = 3.25,
        nan = f64::NAN,
        yes = true,
        none = Option::<u8>::None,
        order = &Order { id: 7, items: vec!["a", "b"], note: Some("n") },
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
        span_id = "00f067aa0ba902b7"
    );
    let err = std::io::Error::other("disk full");
    logjet::warn!(log, "w", err = &err);
    logjet::error!(log, "e", level = "shadow", request_id = 1);
    logjet::fatal!(log, "");
    let db = log.debug_ns("app:db");
    logjet::debug!(db, "connected", host = "db1");
    guard.flush().unwrap();
    let after = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let stats = log.stats();
    drop(log);
    drop(guard);
    let reqs = rx.stop();
    assert!(!reqs.is_empty());
    for r in &reqs {
        assert_eq!(r.gzip, gzip);
        assert_eq!(r.json, encoding == OtlpEncoding::Json);
        assert_eq!(r.path, "/v1/logs");
        assert!(r.headers.contains(&("x-tenant".into(), "t1".into())), "{:?}", r.headers);
        let rl = &r.request.resource_logs;
        assert_eq!(rl.len(), 1);
        let res = &rl[0].resource.as_ref().unwrap().attributes;
        assert_eq!(res[0], kv("service.name", s("checkout")));
        assert_eq!(res[1].key, "host.name");
        assert_eq!(res[1].value, s(&gethostname()));
        assert_eq!(res[2], kv("process.pid", i(std::process::id() as i64)));
        assert_eq!(res[3], kv("deployment.environment.name", s("test")));
        let scope = rl[0].scope_logs[0].scope.as_ref().unwrap();
        assert_eq!(scope.name, "logjet");
    }
    let recs = records(&reqs);
    assert_eq!(recs.len(), 7, "{recs:#?}");
    assert_eq!(stats.written, 7);
    assert_eq!(stats.dropped, 0);
    let sev: Vec<(i32, &str)> = recs.iter().map(|r| (r.severity_number, r.severity_text.as_str())).collect();
    assert_eq!(
        sev,
        [(1, "trace"), (5, "debug"), (9, "info"), (13, "warn"), (17, "error"), (21, "fatal"), (5, "debug")]
    );
    let mut last = 0;
    for r in &recs {
        assert!(r.time_unix_nano >= before && r.time_unix_nano <= after, "{} in {before}..{after}", r.time_unix_nano);
        assert!(r.time_unix_nano >= last, "in time order");
        last = r.time_unix_nano;
        assert_eq!(r.observed_time_unix_nano, r.time_unix_nano);
    }
    assert_eq!(recs[0].body, s("t"));
    assert!(recs[0].attributes.is_empty());
    assert!(recs[0].trace_id.is_empty() && recs[0].span_id.is_empty());

    let info = &recs[2];
    assert_eq!(info.body, s("order placed"));
    assert_eq!(info.trace_id, hex("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(info.span_id, hex("00f067aa0ba902b7"));
    let expect = vec![
        kv("request_id", i(42)),
        kv("route", s("/orders")),
        kv("ctx", map(vec![("id", i(1)), ("items", arr(vec![])), ("note", null())])),
        kv("s", s("text")),
        kv("neg", i(-5)),
        kv("big", s("18446744073709551615")),
        kv("f", d(3.25)),
        kv("nan", s("NaN")),
        kv("yes", b(true)),
        kv("none", null()),
        kv("order", map(vec![("id", i(7)), ("items", arr(vec![s("a"), s("b")])), ("note", s("n"))])),
    ];
    assert_eq!(info.attributes, expect);

    let warn = &recs[3];
    assert_eq!(warn.attributes.len(), 1);
    let Some(AnyValue { value: Some(Value::KvlistValue(e)) }) = &warn.attributes[0].value else {
        panic!("err as a map: {warn:?}")
    };
    assert_eq!(warn.attributes[0].key, "err");
    assert!(e.values.contains(&kv("message", s("disk full"))), "{e:?}");
    assert!(e.values.iter().any(|kv| kv.key == "type"), "{e:?}");

    // Keys as given: `level` is an attribute like any other.
    assert_eq!(recs[4].attributes, vec![kv("level", s("shadow")), kv("request_id", i(1))]);
    // No message: no body.
    assert_eq!(recs[5].body, None);
    // A debug handle's namespace.
    assert_eq!(recs[6].attributes, vec![kv("ns", s("app:db")), kv("host", s("db1"))]);
}

fn hex(h: &str) -> Vec<u8> {
    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
}

fn gethostname() -> String {
    // The crate logjet asks.
    gethostname::gethostname().to_string_lossy().into_owned()
}

#[test]
fn every_record_and_attribute_protobuf() {
    every_record_and_attribute(OtlpEncoding::Protobuf, false);
}

#[test]
fn every_record_and_attribute_protobuf_gzip() {
    every_record_and_attribute(OtlpEncoding::Protobuf, true);
}

#[test]
fn every_record_and_attribute_json() {
    every_record_and_attribute(OtlpEncoding::Json, false);
}

#[test]
fn every_record_and_attribute_json_gzip() {
    every_record_and_attribute(OtlpEncoding::Json, true);
}

fn ids(recs: &[LogRecord]) -> Vec<i64> {
    recs.iter()
        .map(|r| {
            let a = r.attributes.iter().find(|a| a.key == "i").expect("field i");
            match a.value {
                Some(AnyValue { value: Some(Value::IntValue(n)) }) => n,
                _ => panic!("i is an int: {a:?}"),
            }
        })
        .collect()
}

#[test]
fn requests_hold_at_most_max_batch_records() {
    let rx = Receiver::start(0, true);
    let (log, guard) = Logger::builder().sink(Otlp::http(rx.url()).unwrap().max_batch(10)).build().unwrap();
    for n in 0..95 {
        logjet::info!(log, "r", i = n);
    }
    guard.flush().unwrap();
    let reqs = rx.requests();
    assert!(reqs.iter().all(|r| r.records() <= 10), "{:?}", reqs.iter().map(Received::records).collect::<Vec<_>>());
    assert_eq!(ids(&records(&reqs)), (0..95).collect::<Vec<i64>>());
    assert_eq!(log.stats().written, 95);
}

#[test]
fn records_go_out_after_max_delay_without_a_flush() {
    let rx = Receiver::start(0, true);
    let (log, _guard) =
        Logger::builder().sink(Otlp::http(rx.url()).unwrap().max_delay(Duration::from_millis(50))).build().unwrap();
    for n in 0..3 {
        logjet::info!(log, "r", i = n);
    }
    // No flush: the delay sends them (a generous bound on the wait).
    let start = Instant::now();
    while rx.records() < 3 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(ids(&records(&rx.requests())), vec![0, 1, 2]);
}

#[test]
fn retries_on_429_and_503_honour_retry_after_and_lose_nothing() {
    let rx = Receiver::start(0, true);
    rx.script(&[
        Reply { status: 503, retry_after: Some(1) },
        Reply { status: 429, retry_after: Some(0) },
        Reply { status: 503, retry_after: None },
    ]);
    let (log, guard) = Logger::builder().sink(Otlp::http(rx.url()).unwrap().max_batch(40)).build().unwrap();
    let start = Instant::now();
    for n in 0..100 {
        logjet::info!(log, "r", i = n);
    }
    guard.flush().unwrap();
    assert!(start.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was honoured");
    assert_eq!(rx.refused(), 3);
    assert_eq!(ids(&records(&rx.requests())), (0..100).collect::<Vec<i64>>());
    let stats = log.stats();
    assert_eq!((stats.written, stats.dropped), (100, 0));
    assert!(stats.write_errors >= 3, "{stats:?}");
}

#[test]
fn a_final_refusal_counts_the_records_as_lost() {
    let rx = Receiver::start(0, true);
    rx.script(&[Reply { status: 400, retry_after: None }]);
    let (log, guard) = Logger::builder().sink(Otlp::http(rx.url()).unwrap()).build().unwrap();
    for n in 0..5 {
        logjet::info!(log, "refused", i = n);
    }
    let err = guard.flush().unwrap_err();
    assert_eq!(err.lost_records(), Some(5));
    logjet::info!(log, "accepted", i = 5);
    guard.flush().unwrap();
    assert_eq!(ids(&records(&rx.requests())), vec![5]);
    let stats = log.stats();
    assert_eq!((stats.written, stats.dropped), (1, 5));
}

#[test]
fn a_receiver_restarted_mid_stream_loses_nothing_under_block() {
    const N: i64 = 30_000;
    // A port no client socket is handed while the receiver is down.
    let rx = Receiver::start(common::restart_port(), true);
    let port = rx.addr.port();
    let (log, guard) = Logger::builder()
        .sink(Otlp::http(rx.url()).unwrap().max_batch(200))
        .overflow(Overflow::Block)
        .capacity(1024)
        .build()
        .unwrap();
    let producer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for n in 0..N {
                logjet::info!(log, "r", i = n);
            }
        })
    };
    let start = Instant::now();
    while rx.records() < 3_000 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let first = rx.stop();
    assert!(!producer.is_finished(), "the producer is still logging when the receiver stops");
    std::thread::sleep(Duration::from_millis(300));
    let rx = Receiver::start(port, true);
    producer.join().unwrap();
    guard.flush().unwrap();
    let second = rx.stop();
    assert!(!second.is_empty(), "the restarted receiver got records");
    let mut all = ids(&records(&first));
    all.extend(ids(&records(&second)));
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(distinct.len(), N as usize, "nothing lost");
    assert_eq!(all.len(), N as usize, "nothing sent twice");
    assert_eq!(all, (0..N).collect::<Vec<i64>>(), "in order");
    let stats = log.stats();
    assert_eq!((stats.written, stats.dropped), (N as u64, 0));
    assert!(stats.write_errors > 0, "the exporter saw the receiver gone: {stats:?}");
}

#[test]
fn records_held_for_their_delay_go_out_at_shutdown() {
    let rx = Receiver::start(0, true);
    let (log, guard) =
        Logger::builder().sink(Otlp::http(rx.url()).unwrap().max_delay(Duration::from_secs(3600))).build().unwrap();
    for n in 0..5 {
        logjet::info!(log, "r", i = n);
    }
    guard.shutdown().unwrap();
    assert_eq!(ids(&records(&rx.requests())), (0..5).collect::<Vec<i64>>());
    let stats = log.stats();
    assert_eq!((stats.written, stats.dropped), (5, 0));
}

#[test]
fn a_collector_that_never_comes_back_is_given_up_at_the_shutdown_deadline() {
    // A port with nothing listening on it.
    let port = Receiver::start(0, false).stop_port();
    let (log, guard) = Logger::builder()
        .sink(Otlp::http(format!("http://127.0.0.1:{port}")).unwrap().max_delay(Duration::from_secs(3600)))
        .build()
        .unwrap();
    // Three records the exporter holds for their delay (they count as
    // written once it took them), then four more.
    for n in 0..3 {
        logjet::info!(log, "r", i = n);
    }
    let start = Instant::now();
    while log.stats().written < 3 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(log.stats().written, 3, "held by the exporter");
    for n in 3..7 {
        logjet::info!(log, "r", i = n);
    }
    let start = Instant::now();
    let err = guard.shutdown_timeout(Duration::from_millis(500)).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(30), "the shutdown came back");
    assert_eq!(err.lost_records(), Some(7), "{err}");
    let stats = log.stats();
    assert_eq!((stats.written, stats.dropped), (0, 7));
    assert!(stats.write_errors > 0);
}

/// End to end with the real OpenTelemetry SDK: a `tracing` event inside a
/// span that tracing-opentelemetry tracks reaches the collector with the
/// span's trace and span ids, and the span's fields as attributes.
#[cfg(feature = "opentelemetry")]
#[test]
fn tracing_events_carry_the_sdk_span_ids() {
    use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::prelude::*;

    let rx = Receiver::start(0, true);
    let (log, guard) = Logger::builder().sink(Otlp::http(rx.url()).unwrap()).build().unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
        .with(logjet::TracingLayer::new(&log));
    let ids = tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request", request_id = 42);
        let _e = span.enter();
        tracing::info!(rows = 3, "in request");
        let cx = span.context();
        let sc = cx.span().span_context().clone();
        (sc.trace_id().to_bytes().to_vec(), sc.span_id().to_bytes().to_vec())
    });
    guard.flush().unwrap();
    let recs = records(&rx.stop());
    assert_eq!(recs.len(), 1, "{recs:#?}");
    assert_eq!(recs[0].body, s("in request"));
    assert_eq!((recs[0].trace_id.clone(), recs[0].span_id.clone()), ids);
    assert_ne!(ids.0, vec![0; 16]);
    assert!(recs[0].attributes.contains(&kv("request_id", i(42))), "{:?}", recs[0].attributes);
    assert!(recs[0].attributes.contains(&kv("rows", i(3))), "{:?}", recs[0].attributes);
    assert!(!recs[0].attributes.iter().any(|a| a.key == "trace_id" || a.key == "span_id"));
}
