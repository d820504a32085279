//! What `logjet::AccessLog` adds to a request on the caller: a timed loop
//! that calls a trivial tower service and polls its future to completion,
//! with and without the layer.
//!
//! ```text
//! cargo bench --bench access_log --features tower            # the layer alone
//! cargo bench --bench access_log --features tower,tracing    # + a TracingLayer registry (span(true): a request span)
//! ```
//!
//! `LOGJET_BENCH_QUICK=1` runs 3 rounds of 2,000 (for callgrind:
//! `valgrind --tool=callgrind` on the bench binary, then the inclusive
//! cost of `AccessLogService::call`, `AccessLogFuture::poll` and its drop
//! per call gives the layer's instructions per request, stable on a busy
//! machine); `ACCESS_LOG_PHASE=plain` or `tracing` runs one phase, and
//! `ACCESS_LOG_CASE=x` only the cases whose name ends with `x` (`generated`,
//! `x-request-id`, `span(true)`).
//!
//! Each case runs 15 rounds of 20,000 requests; the logger's queue holds a
//! round (capacity 65,536) and is flushed between rounds, outside the timed
//! part, so the caller never waits for the writer: the numbers are the
//! caller's own work (the id, the child logger, the extensions, the record,
//! the response header). Printed: the median and the best round, in ns per
//! request, and the layer's cost (the case minus the bare service).

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll};
use std::time::Instant;

use logjet::{AccessLog, Logger, Overflow};
use tower_layer::Layer;
use tower_service::Service;

/// Rounds and requests per round.
fn sizes() -> (usize, usize) {
    if std::env::var_os("LOGJET_BENCH_QUICK").is_some() {
        (3, 2_000)
    } else {
        (15, 20_000)
    }
}

/// A service answering at once with a small body and a content type (as
/// real responses have: the response's header map is not empty).
#[derive(Clone)]
struct Hello;

impl Service<http::Request<()>> for Hello {
    type Response = http::Response<String>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<http::Response<String>, Infallible>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: http::Request<()>) -> Self::Future {
        black_box(&req);
        let mut resp = http::Response::new(String::from("hello"));
        resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
        std::future::ready(Ok(resp))
    }
}

/// A request with the headers a client sends (host, user agent, accept).
fn request(id: Option<&'static str>) -> http::Request<()> {
    let mut req = http::Request::get("/api/v1/users/12345")
        .header("host", "api.example.com")
        .header("user-agent", "curl/8.5.0")
        .header("accept", "*/*")
        .body(())
        .unwrap();
    if let Some(id) = id {
        req.headers_mut().insert("x-request-id", http::HeaderValue::from_static(id));
    }
    req
}

/// Median and best ns per request over the rounds; the request is built
/// outside the timed part.
fn run<S, B>(log: &Logger, svc: &mut S, id: Option<&'static str>) -> (f64, f64)
where
    S: Service<http::Request<()>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
{
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    let (rounds_n, per_round) = sizes();
    let mut reqs: Vec<_> = (0..per_round).map(|_| request(id)).collect();
    let mut rounds = Vec::new();
    for round in 0..rounds_n + 2 {
        let t = Instant::now();
        for req in reqs.drain(..) {
            let fut = std::pin::pin!(svc.call(req));
            match fut.poll(&mut cx) {
                Poll::Ready(r) => drop(black_box(r.unwrap())),
                Poll::Pending => unreachable!(),
            }
        }
        let ns = t.elapsed().as_nanos() as f64 / per_round as f64;
        log.flush().unwrap();
        reqs.extend((0..per_round).map(|_| request(id)));
        if round >= 2 {
            rounds.push(ns); // the first two warm up
        }
    }
    rounds.sort_by(f64::total_cmp);
    (rounds[rounds.len() / 2], rounds[0])
}

fn main() {
    let (log, guard) = Logger::builder()
        .overflow(Overflow::Block)
        .capacity(65_536)
        .sink(logjet::sink::Writer::new(std::io::sink()))
        .build()
        .unwrap();
    let cases = |log: &Logger| {
        let bare = run(log, &mut Hello, None);
        println!("{:<44} median {:>6.0} ns  best {:>6.0} ns", "bare service", bare.0, bare.1);
        for (name, id, span) in [
            ("AccessLog, id generated", None, false),
            ("AccessLog, id from x-request-id", Some("req-7f3a9c"), false),
            ("AccessLog, id generated, span(true)", None, true),
        ] {
            if std::env::var("ACCESS_LOG_CASE").is_ok_and(|c| !name.ends_with(c.as_str())) {
                continue;
            }
            let (median, best) = run(log, &mut AccessLog::new(log).span(span).layer(Hello), id);
            println!(
                "{name:<44} median {median:>6.0} ns  best {best:>6.0} ns  layer: {:>5.0} ns/request",
                median - bare.0
            );
        }
    };
    let phase = std::env::var("ACCESS_LOG_PHASE").unwrap_or_default();
    if phase != "tracing" {
        println!("no tracing subscriber:");
        cases(&log);
    }
    #[cfg(feature = "tracing")]
    if phase != "plain" {
        use tracing_subscriber::prelude::*;
        println!("a registry with logjet::TracingLayer (the request's bindings current while polled; span(true) makes a span):");
        let subscriber = tracing_subscriber::registry().with(logjet::TracingLayer::new(&log));
        tracing::subscriber::with_default(subscriber, || cases(&log));
    }
    guard.flush().unwrap();
    let stats = log.stats();
    assert_eq!(stats.dropped, 0);
}
