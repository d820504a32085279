//! `logjet::AccessLog` in a real axum app on 127.0.0.1, driven by a real
//! HTTP client (ureq): one record per request with the right level, the
//! request id echoed and carried by the handler's own records.
#![cfg(feature = "tower")]

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Router};
use common::Mem;
use logjet::{AccessLog, Level, Logger};
use serde_json::Value;
use tower_layer::Layer;
use tower_service::Service;

/// The handlers: each logs through the request's child logger (and, with
/// the `tracing` feature, a `tracing` event).
fn app() -> Router {
    async fn hello(Extension(log): Extension<Logger>) -> &'static str {
        logjet::info!(log, "saying hello", greeting = "hello");
        #[cfg(feature = "tracing")]
        tracing::info!(traced = true, "traced hello");
        "hello"
    }
    async fn boom(Extension(log): Extension<Logger>) -> (StatusCode, &'static str) {
        logjet::error!(log, "about to fail");
        (StatusCode::INTERNAL_SERVER_ERROR, "boom!")
    }
    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(60)).await;
        "done"
    }
    async fn stream() -> Body {
        Body::new(Chunked(Some(Bytes::from_static(b"streamed"))))
    }
    Router::new()
        .route("/hello", get(hello))
        .route("/boom", get(boom))
        .route("/slow", get(slow))
        .route("/stream", get(stream))
}

/// A body of one chunk whose size is not known in advance (as a streamed
/// body's is not).
struct Chunked(Option<Bytes>);

impl http_body::Body for Chunked {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|b| Ok(http_body::Frame::data(b))))
    }
}

/// A response as the client saw it.
struct Got {
    status: u16,
    request_id: String,
    body: String,
}

/// Serves `app` with the access log on 127.0.0.1:0 (a current-thread
/// runtime with a subscriber of a `TracingLayer` to the same logger) while
/// `client` sends requests to its base URL from another thread; returns
/// what the client returned and every line written.
fn serve<T: Send + 'static>(
    access: impl FnOnce(&Logger) -> AccessLog,
    client: impl FnOnce(&str) -> T + Send + 'static,
) -> (T, Vec<Value>) {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().level(Level::Debug).sink(mem.sink()).build().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let run = || {
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let app = app().layer(access(&log));
            let server = tokio::spawn(async move { axum::serve(listener, app).await });
            let out = tokio::task::spawn_blocking(move || client(&base)).await.unwrap();
            server.abort();
            out
        })
    };
    #[cfg(feature = "tracing")]
    let out = {
        use tracing_subscriber::prelude::*;
        let subscriber = tracing_subscriber::registry().with(logjet::TracingLayer::new(&log));
        tracing::subscriber::with_default(subscriber, run)
    };
    #[cfg(not(feature = "tracing"))]
    let out = run();
    guard.flush().unwrap();
    (out, mem.lines())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn get_with(agent: &ureq::Agent, url: &str, request_id: Option<&str>) -> Got {
    let mut req = agent.get(url);
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    let mut resp = req.call().unwrap();
    let request_id =
        resp.headers().get("x-request-id").expect("x-request-id on the response").to_str().unwrap().to_string();
    Got { status: resp.status().as_u16(), request_id, body: resp.body_mut().read_to_string().unwrap() }
}

/// The access record of the request with this id.
fn access_record<'a>(lines: &'a [Value], id: &str) -> &'a Value {
    let found: Vec<_> = lines.iter().filter(|l| l["request_id"] == id && l.get("status").is_some()).collect();
    assert_eq!(found.len(), 1, "one access record for {id} in {lines:#?}");
    found[0]
}

fn is_generated(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn one_record_per_request_with_levels_latency_bytes_and_the_request_id() {
    let (got, lines) = serve(AccessLog::new, |base| {
        let a = agent();
        vec![
            get_with(&a, &format!("{base}/hello?token=secret"), None),
            get_with(&a, &format!("{base}/hello"), Some("client-chosen-id-42")),
            get_with(&a, &format!("{base}/missing"), None),
            get_with(&a, &format!("{base}/boom"), None),
            get_with(&a, &format!("{base}/slow"), None),
            get_with(&a, &format!("{base}/stream"), None),
            get_with(&a, &format!("{base}/hello"), Some("has space")),
        ]
    });
    let [hello, given, missing, boom, slow, stream, invalid] = &got[..] else { panic!("7 responses") };
    assert_eq!((hello.status, hello.body.as_str()), (200, "hello"));
    assert_eq!(missing.status, 404);
    assert_eq!((boom.status, boom.body.as_str()), (500, "boom!"));
    assert_eq!(stream.body, "streamed");

    // The ids: generated ones are 32 hex digits, one prefix per process,
    // all different; a usable given one is kept; an unusable one replaced.
    assert_eq!(given.request_id, "client-chosen-id-42");
    for g in [hello, missing, boom, slow, stream, invalid] {
        assert!(is_generated(&g.request_id), "{}", g.request_id);
        assert_eq!(g.request_id[..16], hello.request_id[..16]);
    }
    let mut ids: Vec<_> = got.iter().map(|g| &g.request_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 7, "every request has its own id");

    // Every access record: the keys in order, the level by status, numbers.
    let expect = [
        (hello, "/hello", 30, 200, Some(5)),
        (given, "/hello", 30, 200, Some(5)),
        (missing, "/missing", 40, 404, Some(0)),
        (boom, "/boom", 50, 500, Some(5)),
        (slow, "/slow", 30, 200, Some(4)),
        (stream, "/stream", 30, 200, None),
        (invalid, "/hello", 30, 200, Some(5)),
    ];
    for (g, path, level, status, bytes) in expect {
        let r = access_record(&lines, &g.request_id);
        let mut keys = vec!["level", "time", "pid", "hostname", "request_id", "method", "path", "status", "latency_ms"];
        if bytes.is_some() {
            keys.push("bytes");
        }
        keys.push("msg");
        assert_eq!(common::keys(r), keys, "{r}");
        assert_eq!(r["level"], level, "{r}");
        assert_eq!(r["method"], "GET");
        assert_eq!(r["path"], path, "the path, without the query string");
        assert_eq!(r["status"], status);
        assert_eq!(r["msg"], "request completed");
        let ms = r["latency_ms"].as_f64().expect("latency_ms is a number");
        assert!(r["latency_ms"].is_f64() && (0.0..10_000.0).contains(&ms), "{r}");
        assert_eq!(r["bytes"].as_u64(), bytes, "{r}");
    }
    let slow_ms = access_record(&lines, &slow.request_id)["latency_ms"].as_f64().unwrap();
    assert!(slow_ms >= 60.0, "the handler slept 60 ms: {slow_ms}");

    // The handlers' own records carry the request's id: through the child
    // logger in the request's extensions, and (feature `tracing`) through
    // the `request` span the TracingLayer merges.
    for g in [hello, given, invalid] {
        let own: Vec<_> = lines.iter().filter(|l| l["request_id"] == g.request_id.as_str()).collect();
        let msgs: Vec<_> = own.iter().map(|l| l["msg"].as_str().unwrap()).collect();
        #[cfg(feature = "tracing")]
        assert_eq!(msgs, ["saying hello", "traced hello", "request completed"], "{own:#?}");
        #[cfg(not(feature = "tracing"))]
        assert_eq!(msgs, ["saying hello", "request completed"], "{own:#?}");
        assert_eq!(own[0]["greeting"], "hello");
        #[cfg(feature = "tracing")]
        assert_eq!(own[1]["traced"], true);
    }
    let boom_own: Vec<_> = lines.iter().filter(|l| l["request_id"] == boom.request_id.as_str()).collect();
    assert_eq!(boom_own[0]["msg"], "about to fail");
    assert_eq!(boom_own[0]["level"], 50);

    // Nothing else was written: 7 access records, the handlers' records.
    let handler_records = if cfg!(feature = "tracing") { 3 * 2 + 1 } else { 3 + 1 };
    assert_eq!(lines.len(), 7 + handler_records, "{lines:#?}");
}

#[test]
fn levels_are_configurable_and_filtered_by_the_logger() {
    let (got, lines) = serve(
        |log| AccessLog::new(log).levels(Level::Debug, Level::Info, Level::Fatal),
        |base| {
            let a = agent();
            [get_with(&a, &format!("{base}/slow"), None), get_with(&a, &format!("{base}/missing"), None)]
        },
    );
    assert_eq!(access_record(&lines, &got[0].request_id)["level"], 20);
    assert_eq!(access_record(&lines, &got[1].request_id)["level"], 30);

    // A logger at `warn` drops the 2xx and 4xx records; 5xx are written.
    let mem = Mem::new();
    let (log, guard) = Logger::builder().level(Level::Warn).sink(mem.sink()).build().unwrap();
    let mut svc = AccessLog::new(&log).levels(Level::Info, Level::Info, Level::Error).layer(Fixed(200));
    assert!(drive(svc.call(http::Request::new(()))).is_ready());
    let mut svc = AccessLog::new(&log).levels(Level::Info, Level::Info, Level::Error).layer(Fixed(503));
    assert!(drive(svc.call(http::Request::new(()))).is_ready());
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!((lines[0]["status"].as_u64(), lines[0]["level"].as_u64()), (Some(503), Some(50)));
}

/// A service answering every request with a fixed status (an empty body).
#[derive(Clone)]
struct Fixed(u16);

impl Service<http::Request<()>> for Fixed {
    type Response = http::Response<String>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<http::Response<String>, Infallible>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: http::Request<()>) -> Self::Future {
        let mut resp = http::Response::new(String::from("x"));
        *resp.status_mut() = StatusCode::from_u16(self.0).unwrap();
        std::future::ready(Ok(resp))
    }
}

/// A service that never answers (`pending`) or fails (`Err`).
struct Never(bool);

impl Service<http::Request<()>> for Never {
    type Response = http::Response<String>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<String>, std::io::Error>> + Send>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), std::io::Error>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: http::Request<()>) -> Self::Future {
        if self.0 {
            Box::pin(std::future::pending())
        } else {
            Box::pin(std::future::ready(Err(std::io::Error::other("backend down"))))
        }
    }
}

/// Polls a future once with a no-op waker.
fn drive<F: Future>(f: F) -> Poll<F::Output> {
    let mut f = std::pin::pin!(f);
    f.as_mut().poll(&mut Context::from_waker(std::task::Waker::noop()))
}

#[test]
fn service_errors_and_cancelled_requests_are_logged() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).build().unwrap();
    let mut failing = AccessLog::new(&log).layer(Never(false));
    let mut req = http::Request::new(());
    req.headers_mut().insert("x-request-id", http::HeaderValue::from_static("req-failing"));
    *req.uri_mut() = "/api/items?page=2".parse().unwrap();
    assert!(matches!(drive(failing.call(req)), Poll::Ready(Err(_))));

    let mut hanging = AccessLog::new(&log).layer(Never(true));
    let mut req = http::Request::new(());
    req.headers_mut().insert("x-request-id", http::HeaderValue::from_static("req-hanging"));
    *req.method_mut() = http::Method::POST;
    let fut = hanging.call(req);
    std::thread::sleep(Duration::from_millis(5));
    assert!(drive(fut).is_pending()); // the future is dropped here, unanswered
    guard.flush().unwrap();

    let lines = mem.lines();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let (failed, cancelled) = (&lines[0], &lines[1]);
    assert_eq!(
        common::keys(failed),
        ["level", "time", "pid", "hostname", "request_id", "method", "path", "latency_ms", "msg"]
    );
    assert_eq!(failed["request_id"], "req-failing");
    assert_eq!(failed["level"], 50);
    assert_eq!(failed["path"], "/api/items");
    assert_eq!(failed["msg"], "request failed");
    assert_eq!(cancelled["request_id"], "req-hanging");
    assert_eq!(cancelled["method"], "POST");
    assert_eq!(cancelled["level"], 40);
    assert_eq!(cancelled["msg"], "request cancelled");
    assert!(cancelled["latency_ms"].as_f64().unwrap() >= 5.0);
}

#[test]
fn the_request_carries_the_child_logger_and_the_id() {
    // What a handler sees: the id in the request's headers (generated ones
    // too) and a Logger in its extensions.
    #[derive(Clone)]
    struct Look;
    impl Service<http::Request<()>> for Look {
        type Response = http::Response<String>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<http::Response<String>, Infallible>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, req: http::Request<()>) -> Self::Future {
            let id = req.headers()["x-request-id"].to_str().unwrap().to_string();
            let log = req.extensions().get::<Logger>().expect("a Logger in the extensions");
            logjet::info!(log, "inside", seen = id.as_str());
            std::future::ready(Ok(http::Response::new(id)))
        }
    }
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).build().unwrap();
    let mut svc = AccessLog::new(&log).layer(Look);
    let Poll::Ready(Ok(resp)) = drive(svc.call(http::Request::new(()))) else { panic!("ready") };
    let echoed = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(is_generated(&echoed));
    assert_eq!(resp.body(), &echoed, "the handler saw the generated id in the request's headers");
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines[0]["msg"], "inside");
    assert_eq!(lines[0]["request_id"], echoed.as_str());
    assert_eq!(lines[0]["seen"], echoed.as_str());
    assert_eq!(lines[1]["request_id"], echoed.as_str());
    assert_eq!(lines[1]["bytes"], 32, "String's exact size hint");
}

#[cfg(feature = "tracing")]
#[test]
fn tracing_events_carry_the_request_id_with_and_without_the_span() {
    for span in [false, true] {
        let (got, lines) =
            serve(|log| AccessLog::new(log).span(span), |base| get_with(&agent(), &format!("{base}/hello"), None));
        let id = got.request_id.as_str();
        let by_msg = |m: &str| lines.iter().find(|l| l["msg"] == m).unwrap_or_else(|| panic!("no {m:?} in {lines:#?}"));
        assert_eq!(by_msg("saying hello")["request_id"], id, "span({span}): the child logger's record");
        let traced = by_msg("traced hello");
        assert_eq!(traced["request_id"], id, "span({span}): the tracing event");
        assert_eq!(common::keys(traced).iter().filter(|k| *k == "request_id").count(), 1);
        assert_eq!(access_record(&lines, id)["status"], 200);
    }
}
