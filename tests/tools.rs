//! The real consumers read logjet's output unchanged: `jq` and
//! `pino-pretty`. `.ci/test` installs both (`apt-get install jq`,
//! `npm ci --prefix tests/tools`). Without them these tests fail, naming the
//! missing tool and how to get it.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{parse_lines, Mem};
use logjet::{Level, Logger, TimeFormat};
use serde_json::Value;

/// A tool the test needs is not installed: the test fails, saying what is
/// missing and how to get it.
fn missing(tool: &str, how: &str) -> ! {
    panic!("\n\n*** {tool} NOT FOUND: this test needs it. Run .ci/test, which installs it (or: {how}). ***\n");
}

/// A varied sample: every level, hostile strings, nested values, errors,
/// bindings, both time formats.
fn sample() -> String {
    let mem = Mem::new();
    for time in [TimeFormat::EpochMillis, TimeFormat::Rfc3339] {
        let (log, guard) = Logger::builder().level(Level::Trace).time(time).sink(mem.sink()).build().unwrap();
        let evil = "a\nb\r\"q\" \\ \t\x00\x1b[31m \u{2028}\u{85} é 😀";
        for level in Level::ALL {
            logjet::log!(log, level, "level {}", level, evil = evil);
        }
        let req = log.child(logjet::fields!(request_id = 42, "we\"ird" = "k\ney"));
        logjet::info!(
            req,
            "request handled",
            method = "GET",
            status = 200,
            latency_ms = 3.25,
            cached = false,
            nested = serde_json::json!({"a": [1, 2.5, null, {"b": evil}], "": true}),
            nan = f64::NAN,
            bytes = &b"\xff\xfe"[..],
            level = "user level"
        );
        let err = std::io::Error::other(evil);
        logjet::error!(req, "{}", evil, err = &err);
        guard.shutdown().unwrap();
    }
    mem.text()
}

fn find_pino_pretty() -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/node_modules/.bin/pino-pretty");
    if local.exists() {
        return Some(local);
    }
    Command::new("pino-pretty")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("pino-pretty"))
}

fn run(cmd: &mut Command, input: &str) -> String {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn jq_reads_every_line_unchanged() {
    if Command::new("jq").arg("--version").output().is_err() {
        missing("jq", "apt-get install -y jq");
    }
    let text = sample();
    let ours = parse_lines(&text);
    // jq -c re-encodes each record; the values must be the same.
    let theirs = parse_lines(&run(Command::new("jq").arg("-c").arg("."), &text));
    assert_eq!(ours.len(), 16);
    assert_eq!(theirs, ours);
    // And jq can select by pino's keys.
    let errors = run(Command::new("jq").args(["-c", "select(.level >= 50) | .msg"]), &text);
    assert_eq!(errors.lines().count(), 6, "{errors}");
}

#[test]
fn pino_pretty_reads_every_line() {
    let Some(pp) = find_pino_pretty() else {
        missing(
            "pino-pretty (looked for tests/tools/node_modules/.bin/pino-pretty and on PATH)",
            "npm ci --prefix tests/tools",
        );
    };
    let text = sample();
    let ours = parse_lines(&text);
    let pretty = run(Command::new(&pp).args(["--no-colorize", "--translateTime", "false"]), &text);
    // pino-pretty prints a line it cannot parse as it is: none may appear.
    for line in pretty.lines() {
        assert!(!line.starts_with("{\"level\""), "pino-pretty did not parse: {line}");
    }
    let headers: Vec<&str> = pretty.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(headers.len(), ours.len(), "{pretty}");
    let levels: Vec<&str> = headers.iter().map(|h| h.split("] ").nth(1).unwrap().split(' ').next().unwrap()).collect();
    assert_eq!(&levels[..6], ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]);
    assert!(pretty.contains("request handled"));
    let first: &Value = &ours[0];
    assert!(pretty.contains(&format!("({})", first["pid"])), "pid shown: {pretty}");
}
