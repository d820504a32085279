//! A service's whole logging set-up for production (docs/operations.md):
//! a rotating file with retention, SIGTERM/SIGINT handled (every record
//! written, then the process ends by the signal), SIGHUP reopening the file
//! for logrotate, panics written as `fatal` records, `DEBUG` namespaces, a
//! child logger per request, and a clean exit with `Guard::exit`.
//!
//! ```text
//! cargo run --release --example service -- [--log logs/service.log] [--requests 200000] [--pace-us 0]
//! DEBUG=service:db cargo run --release --example service &   # then: kill -TERM $!
//! ```
//!
//! It handles `--requests` simulated requests (each: a child logger with a
//! request id, a debug record of `service:db`, an `info` access record; a
//! `warn` every 1,000th), `--pace-us` apart, then prints the logger's
//! counters and exits with status 0 through `Guard::exit`.

use std::time::{Duration, Instant};

use logjet::{sink, Level, Logger, Overflow};

struct Args {
    log: String,
    requests: u64,
    pace: Duration,
}

fn args() -> Result<Args, String> {
    let mut a = Args { log: "logs/service.log".into(), requests: 200_000, pace: Duration::ZERO };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--log" => a.log = value()?,
            "--requests" => a.requests = value()?.parse().map_err(|e| format!("--requests: {e}"))?,
            "--pace-us" => a.pace = Duration::from_micros(value()?.parse().map_err(|e| format!("--pace-us: {e}"))?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let file = sink::File::options()
        .rotate_size(64 << 20) // a new file every 64 MiB...
        .rotate_every(sink::Period::Daily) // ...and every day, at local midnight
        .keep_files(14) // and no more than 14 rotated files
        .append(&args.log)?;
    let (log, guard) = Logger::builder()
        .level(Level::Info)
        .sink(file)
        .overflow(Overflow::Block) // nothing lost; Overflow::Drop never waits and counts what it drops
        .flush_on_panic(true)
        .flush_on_signals(true) // SIGTERM/SIGINT/SIGQUIT: a record, a shutdown, then the signal
        .reopen_on_sighup(true) // logrotate `create` mode: postrotate sends SIGHUP
        .build()?; // reads $DEBUG

    let db = log.debug_ns("service:db");
    logjet::info!(log, "started", pid = std::process::id(), log_file = args.log.as_str(), requests = args.requests);
    let start = Instant::now();
    for id in 0..args.requests {
        let req = log.child(logjet::fields!(request_id = id));
        logjet::debug!(db, "query", table = "orders", request_id = id);
        let status: u16 = if id % 1000 == 999 { 503 } else { 200 };
        if status >= 500 {
            logjet::warn!(req, "upstream unavailable", status = status, retry_in_ms = 50);
        } else {
            logjet::info!(req, "request handled", method = "GET", path = "/orders", status = status);
        }
        if !args.pace.is_zero() {
            std::thread::sleep(args.pace);
        }
    }
    let stats = log.stats();
    logjet::info!(log, "done", seconds = start.elapsed().as_secs_f64());
    println!("requests={} written_so_far={} dropped={} file={}", args.requests, stats.written, stats.dropped, args.log);
    // Writes everything still queued, closes the file, exits with 0.
    guard.exit(0)
}
