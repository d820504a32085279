//! `tracing` events through `logjet::TracingLayer`.
#![cfg(feature = "tracing")]

mod common;

use common::{keys, Mem};
use logjet::{Level, Logger, SpanFields, TracingLayer};
use serde_json::{json, Value};
use tracing_subscriber::prelude::*;

/// Runs `f` with a registry + the layer as this thread's subscriber and
/// returns the lines written.
fn capture(
    build: impl FnOnce(logjet::Builder) -> logjet::Builder,
    layer: impl FnOnce(TracingLayer) -> TracingLayer,
    f: impl FnOnce(&Logger),
) -> Vec<Value> {
    let mem = Mem::new();
    let (log, guard) = build(Logger::builder().sink(mem.sink())).build().unwrap();
    let subscriber = tracing_subscriber::registry().with(layer(TracingLayer::new(&log)));
    tracing::subscriber::with_default(subscriber, || f(&log));
    guard.flush().unwrap();
    mem.lines()
}

fn default_capture(f: impl FnOnce()) -> Vec<Value> {
    capture(|b| b, |l| l, |_| f())
}

#[test]
fn the_issue_example_line() {
    let lines = default_capture(|| {
        let span = tracing::info_span!("request", request_id = 42, method = "GET");
        let _e = span.enter();
        tracing::info!(status = 200, latency_ms = 3.25, "request handled");
    });
    assert_eq!(lines.len(), 1);
    let l = &lines[0];
    assert_eq!(
        keys(l),
        ["level", "time", "pid", "hostname", "target", "request_id", "method", "status", "latency_ms", "msg"]
    );
    assert_eq!(l["level"], 30);
    assert_eq!(l["target"], "tracing_layer");
    assert_eq!(l["request_id"], 42);
    assert_eq!(l["method"], "GET");
    assert_eq!(l["status"], 200);
    assert_eq!(l["latency_ms"], 3.25);
    assert_eq!(l["msg"], "request handled");
}

#[test]
fn a_callsites_keys_are_written_the_same_wherever_its_message_is() {
    // The message first (as tracing's macros declare it): the record
    // carries the callsite's id and each field's index in it. Elsewhere, or
    // no message: the keys as text. The lines must not differ.
    let lines = default_capture(|| {
        for _ in 0..2 {
            tracing::info!(status = 200, target = "t", level = "l", "with space" = 1, r#type = true, "hello");
            tracing::info!(status = 200, target = "t", level = "l", "with space" = 1, r#type = true, message = "hello");
            tracing::info!(status = 200, target = "t", level = "l", "with space" = 1, r#type = true);
        }
        // Other threads, first to this callsite at once.
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let start = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    tracing::dispatcher::with_default(&dispatch, || {
                        start.wait();
                        tracing::info!(
                            status = 200,
                            target = "t",
                            level = "l",
                            "with space" = 1,
                            r#type = true,
                            "hello"
                        )
                    })
                });
            }
        });
    });
    assert_eq!(lines.len(), 10);
    let expected = json!({
        "target": "tracing_layer", "status": 200, "_target": "t", "_level": "l", "with space": 1, "type": true,
        "msg": "hello"
    });
    let head = ["level", "time", "pid", "hostname"];
    for (i, line) in lines.iter().enumerate() {
        let mut want = expected.clone();
        if i % 3 == 2 && i < 6 {
            want.as_object_mut().unwrap().remove("msg");
        }
        let order: Vec<String> = keys(line).into_iter().filter(|k| !head.contains(&k.as_str())).collect();
        assert_eq!(order, keys(&want), "line {i}: key order");
        for (k, v) in want.as_object().unwrap() {
            assert_eq!(&line[k], v, "line {i}: {k}");
        }
    }
}

#[test]
fn nested_spans_merge_outermost_first_inner_wins() {
    let lines = default_capture(|| {
        let outer = tracing::info_span!("outer", a = 1, shared = "outer");
        let _o = outer.enter();
        let inner = tracing::info_span!("inner", b = 2, shared = "inner");
        let _i = inner.enter();
        tracing::warn!(b = 9, c = 3, "deep");
        drop(_i);
        tracing::warn!("back in outer");
    });
    assert_eq!(keys(&lines[0]), ["level", "time", "pid", "hostname", "target", "a", "shared", "b", "c", "msg"]);
    assert_eq!(lines[0]["shared"], "inner");
    assert_eq!(lines[0]["b"], 9);
    assert_eq!(lines[0]["level"], 40);
    assert_eq!(lines[1]["shared"], "outer");
    assert!(lines[1].get("b").is_none());
}

#[test]
fn nested_mode_names_and_file_line() {
    let lines = capture(
        |b| b,
        |l| l.span_fields(SpanFields::Nested).file_line(true),
        |_| {
            let outer = tracing::info_span!("outer", a = 1);
            let _o = outer.enter();
            let inner = tracing::info_span!("inner", b = "x");
            let _i = inner.enter();
            tracing::info!("nested");
        },
    );
    let l = &lines[0];
    assert_eq!(l["spans"], json!([{"name": "outer", "a": 1}, {"name": "inner", "b": "x"}]));
    assert_eq!(l["file"], "tests/tracing_layer.rs");
    assert!(l["line"].as_u64().unwrap() > 0);
    assert!(l.get("a").is_none());

    let named = capture(
        |b| b,
        |l| l.span_names(true),
        |_| {
            let outer = tracing::info_span!("outer", a = 1);
            let _o = outer.enter();
            let inner = tracing::debug_span!("inner");
            let _i = inner.enter();
            tracing::info!("named");
        },
    );
    assert_eq!(named[0]["spans"], json!(["outer", "inner"]));
    assert_eq!(named[0]["a"], 1);

    let omitted = capture(
        |b| b,
        |l| l.span_fields(SpanFields::Omit),
        |_| {
            let s = tracing::info_span!("s", a = 1);
            let _e = s.enter();
            tracing::info!("none");
        },
    );
    assert_eq!(keys(&omitted[0]), ["level", "time", "pid", "hostname", "target", "msg"]);
}

#[derive(Debug)]
struct NotDisplay {
    _x: u8,
}

#[test]
fn field_types_keep_their_json_types() {
    let lines = default_capture(|| {
        let err = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let span = tracing::info_span!("s", span_u = u64::MAX, span_f = -0.5, span_dbg = ?NotDisplay { _x: 1 });
        let _e = span.enter();
        tracing::error!(
            i = -5i64,
            u = u64::MAX,
            big = i128::MIN,
            ubig = u128::MAX,
            f = 2.5f64,
            t = true,
            s = "str",
            d = ?NotDisplay { _x: 2 },
            shown = %std::net::Ipv4Addr::LOCALHOST,
            err = &err as &(dyn std::error::Error + 'static),
            "typed {}", 7
        );
    });
    let l = &lines[0];
    assert_eq!(l["level"], 50);
    assert_eq!(l["span_u"], u64::MAX);
    assert_eq!(l["span_f"], -0.5);
    assert_eq!(l["span_dbg"], "NotDisplay { _x: 1 }");
    assert_eq!(l["i"], -5);
    assert_eq!(l["u"], u64::MAX);
    assert_eq!(l["f"], 2.5);
    assert_eq!(l["t"], true);
    assert_eq!(l["s"], "str");
    assert_eq!(l["d"], "NotDisplay { _x: 2 }");
    assert_eq!(l["shown"], "127.0.0.1");
    assert_eq!(l["err"], json!({"type": "dyn Error", "message": "denied"}));
    assert_eq!(l["msg"], "typed 7");
    // 128-bit integers keep every digit (serde_json's Value cannot hold them).
    let big = l["big"].as_f64().unwrap();
    assert_eq!(big, i128::MIN as f64);
    assert_eq!(l["ubig"].as_f64().unwrap(), u128::MAX as f64);
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).build().unwrap();
    let subscriber = tracing_subscriber::registry().with(TracingLayer::new(&log));
    tracing::subscriber::with_default(subscriber, || tracing::info!(big = i128::MIN, ubig = u128::MAX));
    guard.flush().unwrap();
    let text = mem.text();
    assert!(text.contains(&format!("\"big\":{},\"ubig\":{}", i128::MIN, u128::MAX)), "{text}");
}

#[test]
fn fields_recorded_later_and_again() {
    let lines = default_capture(|| {
        let span = tracing::info_span!("req", id = 1, status = tracing::field::Empty, user = "a");
        let _e = span.enter();
        tracing::info!("before");
        span.record("status", 200);
        span.record("user", "b");
        tracing::info!("after");
    });
    assert!(lines[0].get("status").is_none());
    assert_eq!(lines[0]["user"], "a");
    assert_eq!(lines[1]["status"], 200);
    assert_eq!(lines[1]["user"], "b");
    assert_eq!(lines[1]["id"], 1);
    assert_eq!(serde_json::to_string(&lines[1]).unwrap().matches("\"user\"").count(), 1);
}

#[test]
fn the_loggers_level_and_debug_targets_filter() {
    let lines = capture(
        |b| b.level(Level::Info).debug("myapp::db*"),
        |l| l,
        |log| {
            tracing::debug!(target: "myapp::http", "off: level is info");
            tracing::debug!(target: "myapp::db::pool", "on: DEBUG matches the target");
            tracing::trace!(target: "myapp::db", "on too");
            tracing::info!(target: "myapp::http", "on: info");
            log.enable_debug("");
            tracing::debug!(target: "myapp::db::pool", "off again");
            log.set_level(Level::Debug);
            tracing::debug!(target: "myapp::http", "on: level is debug now");
        },
    );
    let msgs: Vec<&str> = lines.iter().map(|l| l["msg"].as_str().unwrap()).collect();
    assert_eq!(msgs, ["on: DEBUG matches the target", "on too", "on: info", "on: level is debug now"]);
    assert_eq!(lines[0]["target"], "myapp::db::pool");
    assert_eq!(lines[1]["level"], 10);
}

#[test]
fn composes_with_env_filter_and_per_layer_filters() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().level(Level::Trace).sink(mem.sink()).build().unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("warn,special=debug"))
        .with(TracingLayer::new(&log));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("filtered by EnvFilter");
        tracing::warn!("passes");
        tracing::debug!(target: "special", "passes by directive");
    });
    let per_layer = Mem::new();
    let (log2, guard2) = Logger::builder().level(Level::Trace).sink(per_layer.sink()).build().unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(TracingLayer::new(&log2).with_filter(tracing_subscriber::filter::LevelFilter::ERROR));
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!("not for this layer");
        tracing::error!("for this layer");
    });
    guard.flush().unwrap();
    guard2.flush().unwrap();
    let msgs: Vec<String> = mem.lines().iter().map(|l| l["msg"].as_str().unwrap().to_string()).collect();
    assert_eq!(msgs, ["passes", "passes by directive"]);
    let msgs: Vec<String> = per_layer.lines().iter().map(|l| l["msg"].as_str().unwrap().to_string()).collect();
    assert_eq!(msgs, ["for this layer"]);
}

#[test]
fn hostile_strings_and_colliding_names() {
    let evil = "a\nb\r\"q\"\\\u{0}\u{1b}[2J\u{2028}\u{85}😀";
    let lines = default_capture(|| {
        let span = tracing::info_span!("s", evil = evil, level = "span level", target = "span target");
        let _e = span.enter();
        tracing::info!(evil2 = evil, msg = "field msg", target_ = 1, "{}", evil);
    });
    assert_eq!(lines.len(), 1);
    let l = &lines[0];
    assert_eq!(l["msg"], evil);
    assert_eq!(l["evil"], evil);
    assert_eq!(l["evil2"], evil);
    assert_eq!(l["level"], 30);
    assert_eq!(l["_level"], "span level");
    assert_eq!(l["target"], "tracing_layer");
    assert_eq!(l["_target"], "span target");
    assert_eq!(l["_msg"], "field msg");
    assert_eq!(l["target_"], 1);
}

#[test]
fn many_threads_each_with_their_spans() {
    const THREADS: u64 = 4;
    const PER: u64 = 5_000;
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).build().unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(TracingLayer::new(&log)));
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let dispatch = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    let span = tracing::info_span!("worker", thread = t);
                    let _e = span.enter();
                    for i in 0..PER {
                        let req = tracing::info_span!("req", i = i);
                        let _r = req.enter();
                        tracing::info!(seq = i, "tick");
                    }
                })
            });
        }
    });
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines.len() as u64, THREADS * PER);
    let mut next = vec![0u64; THREADS as usize];
    for l in &lines {
        let t = l["thread"].as_u64().unwrap() as usize;
        assert_eq!(l["i"], l["seq"]);
        assert_eq!(l["seq"].as_u64().unwrap(), next[t]);
        next[t] += 1;
    }
}

#[test]
fn a_childs_bindings_come_with_every_event() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).build().unwrap();
    let service = log.child(logjet::fields!(service = "billing"));
    let subscriber = tracing_subscriber::registry().with(TracingLayer::new(&service));
    tracing::subscriber::with_default(subscriber, || tracing::info!(n = 1, "bound"));
    guard.flush().unwrap();
    let l = &mem.lines()[0];
    assert_eq!(keys(l), ["level", "time", "pid", "hostname", "service", "target", "n", "msg"]);
}

#[test]
fn the_pretty_sink_shows_span_fields_and_event_fields_once() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder()
        .sink(logjet::sink::Pretty::writer(mem.clone()).colors(false).time(logjet::pretty::Time::Omit))
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(TracingLayer::new(&log));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request", request_id = 42, shared = "span");
        let _e = span.enter();
        tracing::info!(status = 200, shared = "event", "request handled");
    });
    guard.flush().unwrap();
    assert_eq!(mem.text(), "INFO  request handled target=tracing_layer request_id=42 status=200 shared=event\n");
}

#[test]
fn span_fields_recorded_again_and_shadowed_reach_the_pretty_sink_as_the_line_has_them() {
    let (json, pretty) = (Mem::new(), Mem::new());
    let (log, guard) = Logger::builder()
        .sink(json.sink())
        .sink(logjet::sink::Pretty::writer(pretty.clone()).colors(false).time(logjet::pretty::Time::Omit))
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(TracingLayer::new(&log));
    tracing::subscriber::with_default(subscriber, || {
        let outer = tracing::info_span!("outer", id = 1, status = tracing::field::Empty, user = "a");
        let _o = outer.enter();
        outer.record("status", 200);
        outer.record("user", "b \"quoted\"");
        outer.record("id", 2);
        let inner = tracing::info_span!("inner", user = "c", extra = true);
        let _i = inner.enter();
        tracing::info!(n = 7, "x");
    });
    guard.flush().unwrap();
    let line = &json.lines()[0];
    assert_eq!(keys(line), ["level", "time", "pid", "hostname", "target", "status", "id", "user", "extra", "n", "msg"]);
    assert_eq!(
        (&line["status"], &line["id"], &line["user"], &line["extra"]),
        (&json!(200), &json!(2), &json!("c"), &json!(true))
    );
    assert_eq!(pretty.text(), "INFO  x target=tracing_layer status=200 id=2 user=c extra=true n=7\n");
}
