//! `tracing` and `log` through logjet, to stdout.
//!
//! ```text
//! cargo run --example tracing_layer --features tracing,log
//! RUST_LOG=debug cargo run --example tracing_layer --features tracing,log
//! ```

use tracing_subscriber::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (log, guard) = logjet::Logger::builder().level(logjet::Level::Debug).sink(logjet::sink::Stdout).build()?;
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with(logjet::TracingLayer::new(&log));
    // `set_global_default`, not `.init()`: with tracing-subscriber's default
    // features `.init()` also claims the `log` crate's logger (tracing-log),
    // which would route `log` records through tracing instead (that works
    // too: the layer writes them with their real target).
    tracing::subscriber::set_global_default(subscriber)?;
    logjet::init_log(&log)?; // the `log` crate's macros now flow through the same logger

    let request = tracing::info_span!("request", request_id = 42, method = "GET", path = "/users");
    let _r = request.enter();
    tracing::info!(status = 200, latency_ms = 3.25, "request handled");
    {
        let db = tracing::info_span!("db", table = "users");
        let _d = db.enter();
        tracing::debug!(rows = 10, "query ran (shown with RUST_LOG=debug)");
        tracing::warn!(ms = 812, "slow query");
    }
    log::info!(cache = "users", hit = true; "a record from the log crate");
    let hostile = "line one\nline two \"quoted\" \u{1b}[31mred\u{1b}[0m \u{2028}";
    tracing::error!(input = hostile, "hostile input, still {} line", 1);

    guard.flush()?;
    Ok(())
}
