//! An axum service with logjet's access log: one record per request, a
//! request id on every record logged while handling it (through the child
//! logger in the request's extensions, and on `tracing` events through the
//! `TracingLayer`, which adds the request's bindings), echoed in the
//! response's `x-request-id`.
//!
//! ```text
//! cargo run --example axum_service --features tower,tracing            # serve on 127.0.0.1:8080 until ctrl-c
//! curl -i http://127.0.0.1:8080/users/7
//! curl -i -H 'x-request-id: abc-123' http://127.0.0.1:8080/users/0    # 404, logged at warn, id kept
//! cargo run --example axum_service --features tower,tracing -- --requests 20   # self-test: 20 requests, then exit
//! ```

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Router};
use logjet::{sink, AccessLog, Logger, Overflow, TracingLayer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing_subscriber::prelude::*;

/// `GET /users/{id}`: logs through the request's child logger (logjet's
/// macros) and through `tracing`; both records carry `request_id`.
async fn user(Extension(log): Extension<Logger>, Path(id): Path<u64>) -> Result<String, StatusCode> {
    logjet::info!(log, "looking up user", user_id = id);
    if id == 0 {
        return Err(StatusCode::NOT_FOUND);
    }
    tracing::info!(user_id = id, "cache hit");
    Ok(format!("{{\"id\":{id},\"name\":\"user {id}\"}}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let self_test: Option<u64> =
        args.iter().position(|a| a == "--requests").and_then(|i| args.get(i + 1)).and_then(|n| n.parse().ok());
    let port = if self_test.is_some() { 0 } else { 8080 };

    let (log, guard) = Logger::builder().overflow(Overflow::Drop).sink(sink::Stdout).build()?;
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "debug".into()))
        .with(TracingLayer::new(&log));
    tracing::subscriber::set_global_default(subscriber)?;

    let app = Router::new()
        .route("/users/{id}", get(user))
        .route("/health", get(|| async { "ok" }))
        .layer(AccessLog::new(&log));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    logjet::info!(log, "listening", addr = %addr);
    let server = axum::serve(listener, app);

    match self_test {
        None => server.with_graceful_shutdown(async { tokio::signal::ctrl_c().await.unwrap_or(()) }).await?,
        Some(n) => {
            let serving = tokio::spawn(async move { server.await });
            for i in 0..n {
                // A minimal HTTP/1.1 client: the example needs no client crate.
                let mut s = tokio::net::TcpStream::connect(addr).await?;
                let req = format!("GET /users/{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n", i % 10);
                s.write_all(req.as_bytes()).await?;
                let mut resp = String::new();
                s.read_to_string(&mut resp).await?;
                assert!(resp.to_ascii_lowercase().contains("x-request-id:"), "the id is echoed: {resp}");
            }
            serving.abort();
        }
    }
    guard.shutdown_async().await?;
    Ok(())
}
