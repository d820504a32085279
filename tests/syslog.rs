//! The syslog sink against real collectors: a private rsyslog and a private
//! syslog-ng (tests/common/collector.rs), each started by the test on
//! loopback with its own config, ports and socket, and stopped by its PID.
//!
//! Without the collectors these tests fail, naming what is missing and how
//! to get it (`.ci/test`): none passes without a collector having received
//! its records.
#![cfg(unix)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::collector::{Collector, Kind};
use logjet::sink::{Framing, Syslog, SyslogBody};
use logjet::{Facility, Level, Logger, Overflow, SyslogFormat};
use serde_json::Value;

/// The syslog sink for one of the collector's inputs.
fn syslog_sink(c: &Collector, transport: &str) -> Syslog {
    match transport {
        "udp" => Syslog::udp(format!("127.0.0.1:{}", c.udp)),
        "tcp" => Syslog::tcp(format!("127.0.0.1:{}", c.tcp)),
        "tcp-lf" => Syslog::tcp(format!("127.0.0.1:{}", c.tcp_lf)).framing(Framing::Lf),
        "unix" => Syslog::unix(&c.sock),
        "unix-stream" => Syslog::unix_stream(&c.stream_sock),
        other => panic!("{other}"),
    }
}

/// Parses an RFC 5424 STRUCTURED-DATA element `[id k="v" ...]`.
fn parse_sd(sd: &str) -> (String, BTreeMap<String, String>) {
    let inner = sd.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or_else(|| panic!("SD {sd:?}"));
    let (id, mut rest) = inner.split_once(' ').unwrap_or((inner, ""));
    let mut params = BTreeMap::new();
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap();
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next().unwrap_or_else(|| panic!("unterminated value in {sd:?}"));
            match c {
                // RFC 5424 §6.3.3: only `"`, `\` and `]` are escaped; a
                // backslash before anything else is a backslash.
                '\\' => match chars.clone().next() {
                    Some((_, e @ ('"' | '\\' | ']'))) => {
                        value.push(e);
                        chars.next();
                    }
                    _ => value.push('\\'),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        params.insert(name.to_string(), value);
        rest = after[end + 1..].trim_start();
    }
    (id.to_string(), params)
}

/// The JSON body of a received message (after an optional `@cee:`).
fn body(msg: &Value) -> Value {
    let m = msg["msg"].as_str().unwrap();
    let m = m.trim_start().strip_prefix("@cee:").unwrap_or(m.trim_start());
    serde_json::from_str(m).unwrap_or_else(|e| panic!("body {m:?}: {e}"))
}

const LEVELS: [(Level, u64); 5] =
    [(Level::Debug, 7), (Level::Info, 6), (Level::Warn, 4), (Level::Error, 3), (Level::Fatal, 2)];

/// Sends `n` records with a `seq` field over each transport in both body
/// styles, and checks that every one arrived with the right PRI, APP-NAME,
/// PROCID and fields.
fn every_transport(c: &Collector, n: u64) {
    let transports: &[&str] = match c.kind {
        Kind::Rsyslog => &["udp", "tcp", "tcp-lf", "unix"],
        Kind::SyslogNg => &["udp", "tcp", "tcp-lf", "unix", "unix-stream"],
    };
    for &transport in transports {
        for sd in [false, true] {
            let app = format!("lj-{transport}-{}", if sd { "sd" } else { "json" });
            let mut sink = syslog_sink(c, transport).app_name(&app).facility(Facility::Local0).msgid("test");
            if sd {
                sink = sink.body(SyslogBody::StructuredData { sd_id: "fields@32473".into() });
            }
            let (log, guard) = Logger::builder().level(Level::Trace).sink(sink).build().unwrap();
            let req = log.child(logjet::fields!(request_id = 42));
            for seq in 0..n {
                let (level, _) = LEVELS[(seq % 4) as usize];
                logjet::log!(req, level, "record {}", seq, seq = seq, transport = transport, ok = true);
            }
            guard.flush().unwrap();
            assert_eq!(log.stats().written, n);
            let got = c.received(&app, n as usize);
            assert_eq!(got.len() as u64, n, "{:?} {app}: {} of {n} arrived", c.kind, got.len());
            let mut seqs = BTreeSet::new();
            for m in &got {
                assert_eq!(m["procid"], std::process::id().to_string(), "{m}");
                assert_eq!(m["msgid"], "test");
                let (seq, fields) = if sd {
                    let (id, p) = parse_sd(m["sd"].as_str().unwrap());
                    assert_eq!(id, "fields@32473");
                    assert_eq!(p["request_id"], "42");
                    assert_eq!(p["transport"], transport);
                    assert_eq!(p["ok"], "true");
                    let seq: u64 = p["seq"].parse().unwrap();
                    assert_eq!(m["msg"].as_str().unwrap().trim(), format!("record {seq}"));
                    (seq, p.len())
                } else {
                    let b = body(m);
                    assert_eq!(b["request_id"], 42);
                    assert_eq!(b["transport"], transport);
                    let seq = b["seq"].as_u64().unwrap();
                    assert_eq!(b["msg"], format!("record {seq}"));
                    (seq, b.as_object().unwrap().len())
                };
                assert!(fields >= 4);
                let (_, severity) = LEVELS[(seq % 4) as usize];
                assert_eq!(m["pri"], (16 * 8 + severity).to_string(), "{m}");
                seqs.insert(seq);
            }
            assert_eq!(seqs, (0..n).collect::<BTreeSet<u64>>(), "{app}");
        }
    }
}

/// Newlines, `]`, quotes, backslashes, unicode and 10 KB values arrive
/// intact, or cut to the size limit and marked.
fn hostile_strings(c: &Collector) {
    let evil = "line1\nline2\r\n\t\"q\" \\back\\ ]bracket] [sd=\"x\"] é 日本 😀 \u{2028} \u{1b}[31m";
    let big = "0123456789".repeat(1024); // 10 KB
    for transport in ["udp", "tcp", "unix"] {
        for sd in [false, true] {
            let app = format!("lj-hostile-{transport}-{}", if sd { "sd" } else { "json" });
            let mut sink = syslog_sink(c, transport).app_name(&app);
            if sd {
                sink = sink.body(SyslogBody::StructuredData { sd_id: "x@32473".into() });
            }
            let (log, guard) = Logger::builder().sink(sink).build().unwrap();
            logjet::info!(log, "{}", evil, evil = evil, n = 1);
            logjet::info!(log, "big", big = &big, after = "kept");
            guard.flush().unwrap();
            let got = c.received(&app, 2);
            assert_eq!(got.len(), 2, "{:?} {app}", c.kind);
            let limit = if transport == "udp" { 1472 } else { 8192 };
            if sd {
                let (_, p) = parse_sd(got[0]["sd"].as_str().unwrap());
                // Control characters are escaped in SD values, as in JSON,
                // so that a message stays one line.
                assert_eq!(p["evil"], json_escaped_controls(evil), "{:?} {app}", c.kind);
                let (_, p) = parse_sd(got[1]["sd"].as_str().unwrap());
                assert_eq!(p["after"], "kept");
                assert!(p["logjet_truncated"].parse::<usize>().unwrap() > 10_000);
                assert!(p["big"].ends_with('…') && big.starts_with(p["big"].trim_end_matches('…')));
            } else {
                let b = body(&got[0]);
                assert_eq!(b["evil"], evil, "{:?} {app}", c.kind);
                assert_eq!(b["msg"], evil);
                let b = body(&got[1]);
                assert_eq!(b["after"], "kept");
                let cut = b["big"].as_str().unwrap();
                assert!(cut.ends_with('…') && big.starts_with(cut.trim_end_matches('…')), "{:?} {app}", c.kind);
                assert!(b["logjet_truncated"].as_u64().unwrap() > 10_000);
                assert!(got[1]["msg"].as_str().unwrap().len() < limit);
            }
        }
    }
}

/// `s` with its control characters (and U+2028/9) escaped as JSON does.
fn json_escaped_controls(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\r' => "\\r".to_string(),
            '\t' => "\\t".to_string(),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                format!("\\u{:04x}", c as u32)
            }
            c => c.to_string(),
        })
        .collect()
}

#[test]
fn rsyslog_every_transport_and_format() {
    let c = Collector::rsyslog();
    every_transport(&c, 200);
}

#[test]
fn rsyslog_hostile_strings() {
    let c = Collector::rsyslog();
    hostile_strings(&c);
}

#[test]
fn syslog_ng_every_transport_and_format() {
    let c = Collector::syslog_ng();
    every_transport(&c, 200);
}

#[test]
fn syslog_ng_hostile_strings() {
    let c = Collector::syslog_ng();
    hostile_strings(&c);
}

#[test]
fn rfc3164_to_rsyslog() {
    let c = Collector::rsyslog();
    let sink = syslog_sink(&c, "udp")
        .format(SyslogFormat::Rfc3164)
        .app_name("lj-3164")
        .facility(Facility::Local3)
        .body(SyslogBody::JsonCee);
    let (log, guard) = Logger::builder().sink(sink).build().unwrap();
    logjet::warn!(log, "bsd", n = 5);
    guard.flush().unwrap();
    let got = c.received("lj-3164", 1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["pri"], (19 * 8 + 4).to_string());
    assert_eq!(got[0]["procid"], std::process::id().to_string());
    assert_eq!(body(&got[0])["n"], 5);
}

/// The collector goes away in the middle of a stream and comes back: logging
/// goes on, later records arrive, and the loss is measured.
fn restart_mid_stream(kind: Kind, transport: &str) {
    let mut c = Collector::start_new(kind);
    let app = format!("lj-restart-{transport}");
    let sink = syslog_sink(&c, transport).app_name(&app);
    let (log, guard) = Logger::builder().overflow(Overflow::Block).sink(sink).build().unwrap();
    const TOTAL: u64 = 3000;
    let mut seq = 0;
    let mut send = |until: u64| {
        while seq < until {
            logjet::info!(log, "tick", seq = seq);
            seq += 1;
            std::thread::sleep(Duration::from_micros(500));
        }
    };
    send(TOTAL / 3);
    guard.flush().unwrap();
    c.stop();
    send(TOTAL / 2); // into the void: the collector is down
    c.start();
    send(TOTAL);
    guard.flush().unwrap();
    // Wait for what must arrive (a count of lines could stop early).
    let must = |s: &u64| *s < TOTAL / 3 || *s >= TOTAL / 2;
    let got = c.received_until(&app, |ours| {
        ours.iter().filter_map(|m| body(m)["seq"].as_u64()).filter(must).collect::<BTreeSet<u64>>().len() as u64
            >= TOTAL / 3 + (TOTAL - TOTAL / 2)
    });
    let seqs: BTreeSet<u64> = got.iter().map(|m| body(m)["seq"].as_u64().unwrap()).collect();
    let lost: Vec<u64> = (0..TOTAL).filter(|s| !seqs.contains(s)).collect();
    eprintln!(
        "{kind:?} {transport} restart: {} of {TOTAL} records arrived, {} lost (seq {:?}..{:?}), write errors {}",
        seqs.len(),
        lost.len(),
        lost.first(),
        lost.last(),
        log.stats().write_errors
    );
    // Everything before the stop arrived, and everything logged after the
    // collector was back.
    assert!((0..TOTAL / 3).all(|s| seqs.contains(&s)), "records before the stop arrived");
    assert!((TOTAL / 2..TOTAL).all(|s| seqs.contains(&s)), "records after the restart arrived: lost {lost:?}");
    assert_eq!(log.stats().written, TOTAL);
    if transport == "udp" {
        // UDP cannot know: what is sent while nobody listens is gone.
        assert!(lost.iter().all(|s| (TOTAL / 3..TOTAL / 2).contains(s)), "{lost:?}");
    } else {
        // TCP: the closed connection is noticed before the next batch; unix
        // datagram: sending fails until the socket is back. Nothing is lost.
        assert!(lost.is_empty(), "{kind:?} {transport} lost {lost:?}");
    }
}

#[test]
fn rsyslog_restart_tcp() {
    restart_mid_stream(Kind::Rsyslog, "tcp");
}

#[test]
fn rsyslog_restart_udp() {
    restart_mid_stream(Kind::Rsyslog, "udp");
}

#[test]
fn rsyslog_restart_unix() {
    restart_mid_stream(Kind::Rsyslog, "unix");
}

#[test]
fn syslog_ng_restart_tcp() {
    restart_mid_stream(Kind::SyslogNg, "tcp");
}

#[test]
fn syslog_ng_restart_unix() {
    restart_mid_stream(Kind::SyslogNg, "unix");
}
