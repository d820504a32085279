//! Syslog smoke tool: sends `count` records (default 1000), each with a
//! `seq` field counting from 0, flushes, and prints how many were sent.
//!
//! ```text
//! cargo run --example syslog -- <udp|tcp|tcp-lf|unix> <address-or-socket-path> [count]
//! cargo run --example syslog -- udp 127.0.0.1:514
//! cargo run --example syslog -- tcp 127.0.0.1:6514 10000
//! cargo run --example syslog -- unix /dev/log 10
//! ```
//!
//! Options through the environment: `SYSLOG_FORMAT=3164`, `SYSLOG_BODY=cee`
//! or `SYSLOG_BODY=sd`, `SYSLOG_APP=name`.

use logjet::sink::{Framing, Syslog, SyslogBody};
use logjet::{Facility, Logger, SyslogFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: syslog <udp|tcp|tcp-lf|unix> <address-or-socket-path> [count]";
    let (Some(transport), Some(target)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let count: u64 = match args.get(2) {
        Some(n) => n.parse().map_err(|e| format!("count {n:?}: {e}"))?,
        None => 1000,
    };
    let mut sink = match transport.as_str() {
        "udp" => Syslog::udp(target.as_str()),
        "tcp" => Syslog::tcp(target.as_str()),
        "tcp-lf" => Syslog::tcp(target.as_str()).framing(Framing::Lf),
        "unix" => Syslog::unix(target),
        other => {
            eprintln!("unknown transport {other:?}; {usage}");
            std::process::exit(2);
        }
    };
    sink =
        sink.app_name(std::env::var("SYSLOG_APP").unwrap_or_else(|_| "logjet-smoke".into())).facility(Facility::Local0);
    if std::env::var("SYSLOG_FORMAT").is_ok_and(|f| f == "3164") {
        sink = sink.format(SyslogFormat::Rfc3164);
    }
    match std::env::var("SYSLOG_BODY").as_deref() {
        Ok("cee") => sink = sink.body(SyslogBody::JsonCee),
        Ok("sd") => sink = sink.body(SyslogBody::StructuredData { sd_id: "smoke@32473".into() }),
        _ => {}
    }

    let (log, guard) = Logger::builder().sink(sink).build()?;
    for seq in 0..count {
        logjet::info!(log, "smoke record {}", seq, seq = seq, transport = transport.as_str());
    }
    let flushed = guard.flush_timeout(std::time::Duration::from_secs(30));
    let stats = log.stats();
    println!(
        "sent {} of {count} records over {transport} to {target} (dropped {}, write errors {})",
        stats.written, stats.dropped, stats.write_errors
    );
    flushed?;
    Ok(())
}
