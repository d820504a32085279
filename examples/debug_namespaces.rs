//! DEBUG namespaces, the npm `debug` way.
//!
//! ```text
//! DEBUG='app:*,-app:db' cargo run --example debug_namespaces
//! DEBUG='*' DEBUG_COLORS=1 cargo run --example debug_namespaces 2>&1 | cat -v
//! ```
//!
//! NDJSON at `info` and up goes to stdout (for a collector); debug handles
//! print in debug's own format on stderr, coloured on a terminal. Records
//! of enabled namespaces also reach the NDJSON sink when it takes their
//! level (here it does not: it starts at `info`).

use logjet::{sink, Level, Logger};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (log, guard) = Logger::builder()
        .level(Level::Info)
        .sink_at(Level::Info, sink::Stdout)
        .sink(sink::DebugConsole::stderr())
        .build()?; // reads $DEBUG

    let http = log.debug_ns("app:http"); // like require('debug')('app:http')
    let db = log.debug_ns("app:db");
    let pool = db.extend("pool"); // app:db:pool

    eprintln!("DEBUG={:?}", log.debug_namespaces().to_string());
    logjet::info!(log, "service started", port = 8080);
    for i in 0..3 {
        logjet::debug!(http, "request {}", i, method = "GET", path = "/users");
        logjet::debug!(db, "query", table = "users", rows = 10 * i);
        logjet::debug!(pool, "connection reused", conn = i % 2);
        std::thread::sleep(std::time::Duration::from_millis(25));
    }

    // Switch namespaces at run time: existing handles follow at once.
    let previous = log.disable_debug();
    logjet::debug!(http, "not shown: every namespace is off now");
    log.enable_debug("app:db*");
    logjet::debug!(db, "db namespaces on at run time", previous = previous.as_str());
    logjet::warn!(db, "a warning through a debug handle goes to stdout too", ns_enabled = db.enabled());

    guard.flush()?;
    Ok(())
}
