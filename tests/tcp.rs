//! `sink::Tcp` against real collectors: a private rsyslog (imtcp, each line
//! parsed by mmjsonparse) and a private syslog-ng (`network()` with
//! `flags(no-parse)`, each line parsed by `json-parser()`), started on
//! loopback by tests/common/collector.rs and stopped by their PID; and,
//! with the `rustls` feature, a TLS collector inside the test.
//!
//! Without the collectors these tests fail, naming what is missing and how
//! to get it (`.ci/test`).
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::collector::{Collector, Kind};
use logjet::sink::Tcp;
use logjet::{Level, Logger, Overflow};
use serde_json::Value;

const EVIL: &str = "line1\nline2\r\n\t\"q\" \\back\\ {\"not\":\"json\"} é 日本 😀 \u{2028} \u{1b}[31m";
const LEVELS: [(Level, u64); 4] = [(Level::Debug, 20), (Level::Info, 30), (Level::Warn, 40), (Level::Error, 50)];

/// The record, as the collector parsed it, and the line as it arrived when
/// the collector gives it (syslog-ng).
fn parsed(kind: Kind, line: &str) -> Value {
    match kind {
        // mmjsonparse's object, written back by rsyslog.
        Kind::Rsyslog => serde_json::from_str(line).unwrap_or_else(|e| panic!("rsyslog output {line:?}: {e}")),
        // `SEQ LINE`: json-parser()'s value of `seq`, then the line itself.
        Kind::SyslogNg => {
            let (seq, raw) = line.split_once(' ').unwrap_or_else(|| panic!("syslog-ng output {line:?}"));
            let v: Value = serde_json::from_str(raw).unwrap_or_else(|e| panic!("syslog-ng output {raw:?}: {e}"));
            if let Some(s) = v.get("seq") {
                assert_eq!(seq, s.to_string(), "json-parser() found another seq in {raw}");
            }
            v
        }
    }
}

/// How many distinct `seq` values `lines` hold: what a wait for "every
/// record arrived" counts, since a replay after a restart may deliver some
/// twice (a count of lines would stop waiting before the last ones arrive).
fn distinct_seqs(lines: &[String], seq_of: impl Fn(&str) -> Option<u64>) -> u64 {
    lines.iter().filter_map(|l| seq_of(l)).collect::<std::collections::BTreeSet<u64>>().len() as u64
}

/// Every record arrives, parsed by the collector, with every field; a line
/// that is not JSON goes to the collector's "bad" output, so an empty one
/// means no line arrived torn.
fn every_record_and_field(kind: Kind) {
    let c = Collector::start_new(kind);
    let sink = Tcp::new(format!("127.0.0.1:{}", c.json)).name("collector");
    let (log, guard) = Logger::builder().level(Level::Trace).sink(sink).build().unwrap();
    let req = log.child(logjet::fields!(request_id = 42, service = "billing"));
    const N: u64 = 2000;
    let big = "0123456789".repeat(2000); // 20 KB, within the collectors' 64 KiB
    for seq in 0..N {
        let (level, _) = LEVELS[(seq % 4) as usize];
        logjet::log!(
            req,
            level,
            "record {}",
            seq,
            seq = seq,
            evil = EVIL,
            ratio = seq as f64 / 4.0,
            even = seq % 2 == 0
        );
    }
    logjet::info!(req, "big", seq = N, big = &big);
    guard.flush().unwrap();
    assert_eq!(log.stats().written, N + 1);
    // Proof that the collector sorts out lines it cannot parse.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", c.json)).unwrap();
    raw.write_all(b"not json {\n").unwrap();
    drop(raw);

    let lines = c.lines_of(&c.json_out, |got| got.len() as u64 > N);
    assert_eq!(lines.len() as u64, N + 1, "{kind:?}: {} of {} records arrived", lines.len(), N + 1);
    let mut seen = BTreeMap::new();
    for line in &lines {
        let v = parsed(kind, line);
        let seq = v["seq"].as_u64().unwrap_or_else(|| panic!("{kind:?}: no seq in {v}"));
        *seen.entry(seq).or_insert(0) += 1;
        assert_eq!(v["request_id"], 42, "{v}");
        assert_eq!(v["service"], "billing");
        assert_eq!(v["pid"], std::process::id());
        assert!(v["time"].as_u64().is_some() && v["hostname"].is_string(), "{v}");
        if seq == N {
            assert_eq!((v["msg"].as_str(), v["big"].as_str()), (Some("big"), Some(big.as_str())));
            continue;
        }
        assert_eq!(v["level"], LEVELS[(seq % 4) as usize].1, "{v}");
        assert_eq!(v["msg"], format!("record {seq}"));
        assert_eq!(v["evil"], EVIL, "{kind:?}");
        assert_eq!(v["ratio"].as_f64(), Some(seq as f64 / 4.0), "{v}");
        assert_eq!(v["even"], seq.is_multiple_of(2));
    }
    assert_eq!(seen.len() as u64, N + 1, "{kind:?}: every record once");
    assert!(seen.values().all(|&n| n == 1), "{kind:?}: a record arrived twice");
    let bad = c.lines_of(&c.json_bad, |got| !got.is_empty());
    assert_eq!(bad, ["not json {"], "{kind:?}: only the probe is unparsable");
}

#[test]
fn rsyslog_every_record_and_field() {
    every_record_and_field(Kind::Rsyslog);
}

#[test]
fn syslog_ng_every_record_and_field() {
    every_record_and_field(Kind::SyslogNg);
}

/// The collector goes away while a producer logs under `Overflow::Block`
/// (SIGTERM, as a restart does, or SIGKILL, a crash) and comes back on the
/// same port: every record arrives, none torn. What the collector had not
/// read when it went away arrives thanks to the replay window, so records
/// written shortly before the break may arrive twice: at most once more
/// each, at most a window of them, and only records logged before the
/// collector came back.
fn restart_mid_stream(kind: Kind, crash: bool) {
    let mut c = Collector::start_new(kind);
    let sink = Tcp::new(format!("127.0.0.1:{}", c.json)).name("collector");
    restart_with(&mut c, sink, crash);
}

fn restart_with(c: &mut Collector, sink: Tcp, crash: bool) {
    let kind = c.kind;
    let (log, guard) = Logger::builder().overflow(Overflow::Block).sink(sink).build().unwrap();
    // About 1,700 records a second (one every 0.5 ms and the sleep's
    // overshoot), lines of about 230 bytes: the default window (1 MiB)
    // holds more than 2 s of the stream, so the collector may fall that
    // far behind (a loaded machine) and still lose nothing.
    const TOTAL: u64 = 6000;
    // 100 bytes of padding: each line is over 150 bytes.
    let pad = "p".repeat(100);
    let logged = Arc::new(AtomicU64::new(0));
    let producer = {
        let (log, logged) = (log.clone(), logged.clone());
        std::thread::spawn(move || {
            for seq in 0..TOTAL {
                logjet::info!(log, "tick", seq = seq, pad = &pad);
                logged.store(seq + 1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(500));
            }
        })
    };
    // The collector goes away in the middle of the stream.
    let deadline = Instant::now() + Duration::from_secs(30);
    let arrived = || std::fs::read(&c.json_out).map_or(0, |b| b.iter().filter(|&&b| b == b'\n').count());
    while arrived() < (TOTAL / 4) as usize {
        assert!(Instant::now() < deadline, "{kind:?}: the first records never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    let at_stop = logged.load(Ordering::Relaxed);
    if crash {
        c.kill();
    } else {
        c.stop();
    }
    std::thread::sleep(Duration::from_millis(300));
    let before_start = logged.load(Ordering::Relaxed);
    c.start();
    producer.join().unwrap();
    guard.flush().unwrap();
    assert_eq!(log.stats().written, TOTAL);

    let lines = c.lines_of(&c.json_out, |got| distinct_seqs(got, |l| parsed(kind, l)["seq"].as_u64()) >= TOTAL);
    let mut count = BTreeMap::new();
    for line in &lines {
        *count.entry(parsed(kind, line)["seq"].as_u64().unwrap()).or_insert(0u32) += 1;
    }
    let lost: Vec<u64> = (0..TOTAL).filter(|s| !count.contains_key(s)).collect();
    let twice: Vec<u64> = count.iter().filter(|(_, &n)| n > 1).map(|(&s, _)| s).collect();
    let bad = c.lines_of(&c.json_bad, |_| true);
    eprintln!(
        "{kind:?} {}: {TOTAL} records, stopped after {at_stop}, started after {before_start}; lost {}, twice {} \
         (seq {:?}..{:?}), torn {}, write errors {}",
        if crash { "SIGKILL" } else { "SIGTERM" },
        lost.len(),
        twice.len(),
        twice.first(),
        twice.last(),
        bad.len(),
        log.stats().write_errors
    );
    assert!(lost.is_empty(), "{kind:?}: lost {} records: {lost:?}", lost.len());
    assert!(bad.is_empty(), "{kind:?}: torn lines arrived: {bad:?}");
    assert!(count.values().all(|&n| n <= 2), "{kind:?}: a record arrived more than twice");
    // At most the window (1 MiB, and one 64 KiB chunk) of lines over 150
    // bytes, and only records logged before the collector came back.
    assert!(twice.len() <= (1 << 20) / 150 + 64 * 1024 / 150, "{kind:?}: {} records twice", twice.len());
    assert!(twice.iter().all(|&s| s < before_start), "{kind:?}: {twice:?} logged after the restart, twice");
}

#[test]
fn rsyslog_restart_loses_nothing() {
    restart_mid_stream(Kind::Rsyslog, false);
}

#[test]
fn rsyslog_crash_loses_nothing() {
    restart_mid_stream(Kind::Rsyslog, true);
}

#[test]
fn syslog_ng_restart_loses_nothing() {
    restart_mid_stream(Kind::SyslogNg, false);
}

#[test]
fn syslog_ng_crash_loses_nothing() {
    restart_mid_stream(Kind::SyslogNg, true);
}

/// A collector that is not there: the sink says so on stderr, naming
/// itself and the address, counts the failures and keeps the records until
/// the collector comes, then delivers them.
#[test]
fn an_unreachable_collector_is_reported_and_waited_for() {
    const TEST: &str = "an_unreachable_collector_is_reported_and_waited_for";
    if let Some(path) = common::child::child_role(TEST) {
        let port: u16 = std::fs::read_to_string(&path).unwrap().trim().parse().unwrap();
        let sink = Tcp::new(format!("127.0.0.1:{port}")).name("central");
        let (log, guard) = Logger::builder().sink(sink).build().unwrap();
        logjet::info!(log, "waiting for the collector");
        let err = guard.flush_timeout(Duration::from_millis(300)).unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert!(log.stats().write_errors > 0);
        // The collector comes.
        let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        guard.flush_timeout(Duration::from_secs(10)).unwrap();
        let (conn, _) = l.accept().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(conn), &mut line).unwrap();
        println!("RECEIVED {line}");
        // The collector closes the connection (it read everything); the
        // next record goes on a new one, after the replay window.
        std::thread::sleep(Duration::from_millis(50));
        logjet::info!(log, "after the close");
        guard.flush_timeout(Duration::from_secs(10)).unwrap();
        let (conn, _) = l.accept().unwrap();
        guard.shutdown().unwrap(); // closes the connection
        let mut second = String::new();
        std::io::Read::read_to_string(&mut std::io::BufReader::new(conn), &mut second).unwrap();
        println!("SECOND {}", second.replace('\n', " | "));
        return;
    }
    let dir = common::TempDir::new("tcp-unreachable");
    let port = common::restart_port();
    let file = dir.join("port");
    std::fs::write(&file, port.to_string()).unwrap();
    let out = common::child::run_child(TEST, &file);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
    let expected = format!(
        "logjet: central: write failed: cannot connect to 127.0.0.1:{port}: Connection refused (os error 111); \
         retrying with backoff (records wait in the queue)"
    );
    assert!(out.stderr.contains(&expected), "stderr:\n{}", out.stderr);
    assert!(out.stderr.contains("logjet: central: writable again after"), "stderr:\n{}", out.stderr);
    assert!(out.stdout.contains("RECEIVED {") && out.stdout.contains("\"msg\":\"waiting for the collector\"}"));
    let second = out.stdout.lines().find_map(|l| l.split_once("SECOND ")).map(|(_, s)| s).unwrap_or_default();
    let msgs: Vec<&str> = second.split(" | ").filter(|l| !l.is_empty()).collect();
    assert_eq!(msgs.len(), 2, "the replayed line, then the new one: {second}");
    assert!(
        msgs[0].ends_with("\"msg\":\"waiting for the collector\"}")
            && msgs[1].ends_with("\"msg\":\"after the close\"}")
    );
    assert!(
        out.stderr.contains(
            "logjet: central: the connection had ended unexpectedly: sent the last 1 line (1 KiB) again, so that none \
             the collector had not read is lost; it may have some of them twice"
        ),
        "stderr:\n{}",
        out.stderr
    );
}

#[cfg(feature = "rustls")]
mod tls {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::Mutex;

    use logjet::sink::TlsOptions;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    /// A CA, a certificate for "localhost" signed by it, and the CA's PEM
    /// file.
    struct Pki {
        dir: common::TempDir,
        ca_file: std::path::PathBuf,
        server: Arc<rustls::ServerConfig>,
    }

    fn pki() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "logjet test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&key, &issuer).unwrap();
        let dir = common::TempDir::new("tcp-tls");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
        Pki { dir, ca_file, server: Arc::new(server) }
    }

    /// A TLS collector: reads lines on each connection it accepts; the
    /// first connection is closed after `close_after` lines (with the rest
    /// unread), as a collector that goes away does.
    struct TlsCollector {
        port: u16,
        lines: Arc<Mutex<Vec<String>>>,
        connections: Arc<AtomicU64>,
    }

    impl TlsCollector {
        fn start(config: Arc<rustls::ServerConfig>, close_after: Option<usize>) -> TlsCollector {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = l.local_addr().unwrap().port();
            let lines = Arc::new(Mutex::new(Vec::new()));
            let connections = Arc::new(AtomicU64::new(0));
            let (got, conns) = (lines.clone(), connections.clone());
            std::thread::spawn(move || {
                for sock in l.incoming() {
                    let Ok(sock) = sock else { return };
                    let n = conns.fetch_add(1, Ordering::Relaxed);
                    let (got, config) = (got.clone(), config.clone());
                    std::thread::spawn(move || {
                        let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                        let tls = rustls::StreamOwned::new(conn, sock);
                        for (i, line) in BufReader::new(tls).lines().enumerate() {
                            let Ok(line) = line else { return };
                            got.lock().unwrap().push(line);
                            if n == 0 && close_after == Some(i + 1) {
                                return; // closed with the rest unread
                            }
                        }
                    });
                }
            });
            TlsCollector { port, lines, connections }
        }

        /// The lines received, once `n` distinct records arrived (or after
        /// 20 s): duplicates from the replay do not count.
        fn wait_for(&self, n: u64) -> Vec<String> {
            let deadline = Instant::now() + Duration::from_secs(20);
            let seq_of = |l: &str| serde_json::from_str::<Value>(l).ok()?["seq"].as_u64();
            loop {
                let got = self.lines.lock().unwrap().clone();
                if super::distinct_seqs(&got, seq_of) >= n || Instant::now() > deadline {
                    return got;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Records arrive over TLS, checked against a private CA; the collector
    /// closing the first connection with lines unread loses none of them.
    #[test]
    fn tls_delivers_everything_across_a_closed_connection() {
        let pki = pki();
        let collector = TlsCollector::start(pki.server.clone(), Some(500));
        // At full speed, what the collector had not read when it closed
        // (its socket, the sink's socket, TLS buffers) can be megabytes: the
        // window covers the whole stream (20,000 lines, about 5 MB), so this
        // checks the mechanism over TLS, not the default's size.
        let sink = Tcp::new(format!("localhost:{}", collector.port))
            .tls(TlsOptions::new().ca_file(&pki.ca_file))
            .unwrap()
            .replay(16 << 20);
        let (log, guard) = Logger::builder().overflow(Overflow::Block).sink(sink).build().unwrap();
        const N: u64 = 20_000;
        for seq in 0..N {
            logjet::info!(log, "over tls", seq = seq, evil = EVIL);
        }
        guard.flush().unwrap();
        assert_eq!(log.stats().written, N);
        let lines = collector.wait_for(N);
        let mut count = BTreeMap::new();
        for l in &lines {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line {l:?}: {e}"));
            assert_eq!(v["evil"], EVIL);
            *count.entry(v["seq"].as_u64().unwrap()).or_insert(0u32) += 1;
        }
        let lost: Vec<u64> = (0..N).filter(|s| !count.contains_key(s)).collect();
        let twice = count.values().filter(|&&n| n > 1).count();
        eprintln!("tls: {} lines, lost {}, twice {twice}", lines.len(), lost.len());
        assert!(lost.is_empty(), "lost {lost:?}");
        assert_eq!(collector.connections.load(Ordering::Relaxed), 2, "one reconnection");
        assert!(count.values().all(|&n| n <= 2));
    }

    /// A certificate for another name is refused: nothing is sent, the
    /// failures are counted and the records wait.
    #[test]
    fn tls_refuses_a_certificate_for_another_name() {
        let pki = pki();
        let collector = TlsCollector::start(pki.server.clone(), None);
        let sink = Tcp::new(format!("127.0.0.1:{}", collector.port))
            .tls(TlsOptions::new().ca_file(&pki.ca_file).server_name("collector.example"))
            .unwrap();
        let (log, guard) = Logger::builder().sink(sink).build().unwrap();
        logjet::info!(log, "never sent");
        let err = guard.flush_timeout(Duration::from_millis(500)).unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert!(log.stats().write_errors > 0);
        assert_eq!(log.stats().written, 0);
        assert!(collector.lines.lock().unwrap().is_empty());
    }

    #[test]
    fn tls_options_that_cannot_work_fail_at_build() {
        let dir = common::TempDir::new("tcp-tls-bad");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let err = Tcp::new("localhost:6514").tls(TlsOptions::new().ca_file(&empty)).unwrap_err();
        assert!(err.to_string().contains("holds no certificate"), "{err}");
        let err = Tcp::new("localhost:6514").tls(TlsOptions::new().ca_file(dir.join("missing.pem"))).unwrap_err();
        assert!(err.to_string().contains("cannot read the CA file"), "{err}");
    }

    /// syslog-ng's own TLS input (OpenSSL), serving the certificate of the
    /// private CA: every record arrives and is parsed.
    #[test]
    fn syslog_ng_over_tls() {
        let pki = pki();
        let c = Collector::syslog_ng_tls(&pki.dir.join("server.pem"), &pki.dir.join("server.key"));
        let port = c.tls.as_ref().unwrap().0;
        let sink = Tcp::new(format!("localhost:{port}")).tls(TlsOptions::new().ca_file(&pki.ca_file)).unwrap();
        let (log, guard) = Logger::builder().sink(sink).build().unwrap();
        const N: u64 = 2000;
        for seq in 0..N {
            logjet::info!(log, "over tls", seq = seq, evil = EVIL);
        }
        guard.flush().unwrap();
        assert_eq!(log.stats().written, N);
        let lines = c.lines_of(&c.json_out, |got| got.len() as u64 >= N);
        let mut seqs: Vec<u64> = lines
            .iter()
            .map(|l| {
                let v = parsed(Kind::SyslogNg, l);
                assert_eq!(v["evil"], EVIL);
                v["seq"].as_u64().unwrap()
            })
            .collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (0..N).collect::<Vec<_>>());
        assert!(c.lines_of(&c.json_bad, |_| true).is_empty(), "torn lines");
    }

    /// The restart of tests/tcp.rs over syslog-ng's TLS input.
    #[test]
    fn syslog_ng_over_tls_restart_loses_nothing() {
        let pki = pki();
        let mut c = Collector::syslog_ng_tls(&pki.dir.join("server.pem"), &pki.dir.join("server.key"));
        let port = c.tls.as_ref().unwrap().0;
        let sink = Tcp::new(format!("localhost:{port}")).tls(TlsOptions::new().ca_file(&pki.ca_file)).unwrap();
        restart_with(&mut c, sink, false);
    }
}
