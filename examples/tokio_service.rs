//! A small tokio HTTP-like service that logs one record per request through
//! the tracing layer, inside a per-request span, and flushes on ctrl-c.
//!
//! ```text
//! cargo run --example tokio_service --features tracing,tokio            # serve until ctrl-c
//! curl http://127.0.0.1:8080/users/7
//! cargo run --example tokio_service --features tracing,tokio -- --requests 200   # self-test: 200 requests, then exit
//! ```
//!
//! Logging uses `Overflow::Drop`, so a request task never waits on the
//! logger, whatever the sink does; any loss is counted and written into the
//! log. The final `shutdown_async` flushes without blocking a runtime
//! worker.

use std::time::Instant;

use logjet::{sink, Logger, Overflow, TracingLayer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::Instrument;
use tracing_subscriber::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let self_test: Option<u64> =
        args.iter().position(|a| a == "--requests").and_then(|i| args.get(i + 1)).and_then(|n| n.parse().ok());
    let port = if self_test.is_some() { 0 } else { 8080 };

    let (log, guard) = Logger::builder().overflow(Overflow::Drop).sink(sink::Stdout).build()?;
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with(TracingLayer::new(&log));
    tracing::subscriber::set_global_default(subscriber)?;

    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");

    let done = std::sync::Arc::new(tokio::sync::Notify::new());
    if let Some(n) = self_test {
        let done = done.clone();
        tokio::spawn(async move {
            for i in 0..n {
                if let Err(e) = get(addr, &format!("/users/{i}")).await {
                    tracing::error!(error = %e, "self-test request failed");
                }
            }
            done.notify_one();
        });
    }

    let mut next_id = 0u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = accepted?;
                next_id += 1;
                let span = tracing::info_span!(
                    "request",
                    request_id = next_id,
                    %peer,
                    method = tracing::field::Empty,
                    path = tracing::field::Empty,
                );
                tokio::spawn(handle(stream).instrument(span));
            }
            _ = tokio::signal::ctrl_c() => break,
            _ = done.notified() => break,
        }
    }
    tracing::info!(requests = next_id, "shutting down");
    guard.shutdown_async().await?;
    let stats = log.stats();
    eprintln!("served {next_id} requests; log records written={} dropped={}", stats.written, stats.dropped);
    Ok(())
}

/// Reads one request, answers it, logs one record.
async fn handle(mut stream: TcpStream) {
    let start = Instant::now();
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        match stream.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => {
                tracing::warn!(error = %e, "read failed");
                return;
            }
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (parts.next().unwrap_or("-").to_string(), parts.next().unwrap_or("-").to_string());
    let span = tracing::Span::current();
    span.record("method", method.as_str());
    span.record("path", path.as_str());
    let (status, body) = if method == "GET" { (200, "ok\n") } else { (405, "method not allowed\n") };
    let response = format!(
        "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        if status == 200 { "OK" } else { "Method Not Allowed" },
        body.len()
    );
    let written = stream.write_all(response.as_bytes()).await;
    let latency_ms = start.elapsed().as_secs_f64() * 1e3;
    match written {
        Ok(()) => tracing::info!(status, latency_ms, "request handled"),
        Err(e) => tracing::warn!(status, latency_ms, error = %e, "response not sent"),
    }
}

/// A minimal client for the self-test.
async fn get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n").as_bytes()).await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    Ok(())
}
