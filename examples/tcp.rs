//! `sink::Tcp` smoke tool: sends `count` records (default 1000), each with
//! a `seq` field counting from 0, as NDJSON to a collector's TCP input,
//! flushes, and prints how many were sent.
//!
//! ```text
//! cargo run --example tcp -- <host:port> [count]
//! cargo run --example tcp -- 127.0.0.1:5170 100000
//! nc -lk 127.0.0.1 5170 | head          # a collector to try it with
//! ```
//!
//! With the `rustls` feature, `TCP_TLS_CA=/path/ca.pem` (or `TCP_TLS_CA=system`
//! for the system's roots) makes the connection TLS; `TCP_TLS_NAME=name`
//! sets the name the certificate must carry.

use std::time::Duration;

use logjet::sink::Tcp;
use logjet::{Logger, Overflow};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(target) = args.first() else {
        eprintln!("usage: tcp <host:port> [count]");
        std::process::exit(2);
    };
    let count: u64 = match args.get(1) {
        Some(n) => n.parse().map_err(|e| format!("count {n:?}: {e}"))?,
        None => 1000,
    };
    let sink = Tcp::new(target.as_str()).connect_timeout(Duration::from_secs(2));
    #[cfg(feature = "rustls")]
    let sink = match std::env::var("TCP_TLS_CA") {
        Ok(ca) => {
            let mut tls = logjet::sink::TlsOptions::new();
            if ca != "system" {
                tls = tls.ca_file(ca);
            }
            if let Ok(name) = std::env::var("TCP_TLS_NAME") {
                tls = tls.server_name(name);
            }
            sink.tls(tls)?
        }
        Err(_) => sink,
    };

    let (log, guard) = Logger::builder().overflow(Overflow::Block).sink(sink).build()?;
    for seq in 0..count {
        logjet::info!(log, "smoke record {}", seq, seq = seq);
    }
    let flushed = guard.flush_timeout(Duration::from_secs(30));
    let stats = log.stats();
    println!(
        "sent {} of {count} records to {target} (dropped {}, write errors {})",
        stats.written, stats.dropped, stats.write_errors
    );
    flushed?;
    Ok(())
}
