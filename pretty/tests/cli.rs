//! `logjet-pretty` run as a program on real input: logjet's own NDJSON,
//! pino-shaped lines and lines that are not JSON; the filters; follow
//! mode; the same output as `sink::Pretty`; and pino-pretty on the same
//! input (pino-pretty comes from `npm ci --prefix tests/tools`, which
//! `.ci/test` runs; without it the comparison fails, saying so).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use logjet::pretty::Time;
use logjet::{sink, Level, Logger};
use serde_json::{Map, Value};

const BIN: &str = env!("CARGO_BIN_EXE_logjet-pretty");

/// An in-memory sink.
#[derive(Clone, Default)]
struct Mem(Arc<Mutex<Vec<u8>>>);

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Mem {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

/// Runs a program with `input` on its standard input; its standard output.
fn run_with(cmd: &mut Command, input: &[u8]) -> Vec<u8> {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn pretty(args: &[&str], input: &[u8]) -> String {
    String::from_utf8(run_with(Command::new(BIN).args(args), input)).unwrap()
}

/// Records of every kind, written by logjet both as NDJSON and by
/// `sink::Pretty` (no colours, UTC): the two outputs of the same records.
fn logjet_sample(hostile: bool) -> (Vec<u8>, String) {
    let json = Mem::default();
    let pretty = Mem::default();
    let (log, guard) = Logger::builder()
        .level(Level::Trace)
        .sink(sink::Writer::new(json.clone()))
        .sink(sink::Pretty::writer(pretty.clone()).colors(false).time(Time::Utc))
        .debug("app:*")
        .build()
        .unwrap();
    let evil = if hostile { "a\nb\r\"q\" \\ \t\x00\x1b[31m \u{2028}\u{85}\u{7f} é 😀" } else { "é 😀 ünïcode" };
    for level in Level::ALL {
        logjet::log!(log, level, "level {}", level, evil = evil, n = level.number());
    }
    let req = log.child(logjet::fields!(request_id = 42, "we\"ird" = "k ey", svc = "api"));
    logjet::info!(
        req,
        "request handled",
        method = "GET",
        path = "/api/v1/users/12345",
        status = 200,
        latency_ms = 3.25,
        cached = false,
        nested = serde_json::json!({"a": [1, 2.5, null, {"b": evil}], "": true}),
        nan = f64::NAN,
        bytes = &b"ok\xff"[..],
        level = "user level",
        svc = "replaced",
        empty = "",
        quoted = "true"
    );
    let sql = "SELECT *\n  FROM users\n WHERE id = 1";
    logjet::debug!(log, "multi\nline message", sql = sql);
    let err = std::io::Error::other(format!("disk {evil} failed"));
    logjet::error!(req, "{}", evil, err = &err);
    let db = log.debug_ns("app:db");
    logjet::debug!(db, "connected", host = "db1", pool = 8);
    guard.shutdown().unwrap();
    let text = String::from_utf8(pretty.bytes()).unwrap();
    (json.bytes(), text)
}

#[test]
fn the_command_prints_what_the_sink_prints() {
    for hostile in [false, true] {
        let (json, sink_text) = logjet_sample(hostile);
        let cli = pretty(&["--no-color", "--time", "utc"], &json);
        assert_eq!(cli, sink_text, "hostile: {hostile}");
        assert_eq!(sink_text.lines().filter(|l| !l.starts_with(' ')).count(), 10);
        if hostile {
            for bad in ['\r', '\x1b', '\u{2028}', '\u{85}', '\u{7f}', '\0'] {
                assert!(!cli.contains(bad), "{bad:?} reached the terminal: {cli:?}");
            }
        }
    }
}

#[test]
fn colours_only_when_asked_or_on_a_terminal() {
    let line = br#"{"level":50,"time":1732200000123,"msg":"boom","k":1}"#;
    let plain = pretty(&["--time", "utc"], line);
    assert_eq!(plain, "[14:40:00.123] ERROR boom k=1\n", "a pipe gets no colours");
    let coloured = pretty(&["--time", "utc", "--color"], line);
    assert_eq!(coloured, "[14:40:00.123] \x1b[31mERROR\x1b[39m \x1b[36mboom\x1b[39m \x1b[35mk\x1b[39m=1\n");
}

fn filter_input() -> Vec<u8> {
    let mut input = Vec::new();
    for (level, ns) in [(10, None), (20, Some("app:db")), (30, None), (35, None), (40, Some("app:http")), (50, None)] {
        let mut m = Map::new();
        m.insert("level".into(), level.into());
        m.insert("time".into(), 1_732_200_000_123u64.into());
        if let Some(ns) = ns {
            m.insert("ns".into(), ns.into());
        }
        m.insert("msg".into(), format!("at {level}").into());
        input.extend_from_slice(serde_json::to_string(&m).unwrap().as_bytes());
        input.push(b'\n');
    }
    input.extend_from_slice(b"{\"level\":\"fatal\",\"msg\":\"named level\"}\nnot json\n");
    input
}

fn messages(out: &str) -> Vec<&str> {
    out.lines().map(|l| l.rsplit_once("at ").map_or(l, |(_, n)| n)).collect()
}

#[test]
fn level_and_namespace_filters() {
    let input = filter_input();
    let all = pretty(&["--time", "none"], &input);
    assert_eq!(messages(&all), ["10", "20", "30", "35", "40", "50", "FATAL named level", "not json"]);
    assert!(all.starts_with("TRACE at 10\nDEBUG (app:db) at 20\nINFO  at 30\n35 at 35\n"), "{all}");
    let warn = pretty(&["--level", "warn"], &input);
    assert_eq!(messages(&warn), ["40", "50", "FATAL named level", "not json"], "non-JSON lines are never dropped");
    assert_eq!(messages(&pretty(&["-l", "35"], &input)), ["35", "40", "50", "FATAL named level", "not json"]);
    let ns = pretty(&["--ns", "app:*,-app:db"], &input);
    assert_eq!(messages(&ns), ["40", "not json"]);
    let both = pretty(&["--ns=app:*", "--level=debug"], &input);
    assert_eq!(messages(&both), ["20", "40", "not json"]);
}

#[test]
fn lines_that_are_not_json_objects_pass_through_unchanged() {
    let odd: Vec<&[u8]> = vec![
        b"plain text",
        b"{not json",
        b"{\"level\":30,\"msg\":\"cut",
        b"[1,2,3]",
        b"42",
        b"\"a string\"",
        b"",
        b"\xff\xfe invalid utf-8 \x1b[31m",
        b"   {\"indented\": \"json is parsed\"}",
    ];
    let mut input = Vec::new();
    for line in &odd {
        input.extend_from_slice(line);
        input.push(b'\n');
    }
    input.extend_from_slice(b"{\"level\":30,\"time\":1732200000123,\"msg\":\"fine\"}\nno newline at the end");
    let out = run_with(Command::new(BIN).args(["--time", "utc"]), &input);
    let lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    assert_eq!(&lines[..8], &odd[..8]);
    assert_eq!(lines[8], b"indented=\"json is parsed\"");
    assert_eq!(lines[9], b"[14:40:00.123] INFO  fine");
    assert_eq!(lines[10], b"no newline at the end");
    // A file and standard input, in order; a missing file is reported and
    // the others are still read.
    let dir = temp_dir("files");
    let file = dir.join("a.log");
    std::fs::write(&file, b"from the file\n").unwrap();
    let mut child = Command::new(BIN)
        .args([file.to_str().unwrap(), "-", dir.join("missing.log").to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"from stdin\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.stdout, b"from the file\nfrom stdin\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.log"));
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("logjet-pretty-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The program's output lines, as they come.
struct Lines {
    child: Child,
    rx: mpsc::Receiver<String>,
}

impl Lines {
    fn spawn(args: &[&str]) -> Lines {
        let mut child = Command::new(BIN).args(args).stdout(Stdio::piped()).spawn().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut pending = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                pending.extend_from_slice(&buf[..n]);
                while let Some(i) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=i).collect();
                    if tx.send(String::from_utf8_lossy(&line[..i]).into_owned()).is_err() {
                        return;
                    }
                }
            }
        });
        Lines { child, rx }
    }

    /// Waits (at most 10 s) for the next line; it must be `expected`.
    fn expect(&self, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(line) => assert_eq!(line, expected),
            Err(e) => panic!("no line {expected:?} within 10 s: {e}"),
        }
    }

    /// Nothing more for a while.
    fn expect_quiet(&self, wait: Duration) {
        if let Ok(line) = self.rx.recv_timeout(wait) {
            panic!("unexpected line {line:?}");
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn record(msg: &str) -> String {
    format!("{{\"level\":30,\"time\":1732200000123,\"msg\":\"{msg}\"}}\n")
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn follow_reads_appended_lines_and_survives_truncation_and_rotation() {
    let dir = temp_dir("follow");
    let path = dir.join("app.log");
    append(&path, &record("before start"));
    let lines = Lines::spawn(&["-f", "--time", "none", path.to_str().unwrap()]);
    lines.expect("INFO  before start");
    // Appended after start, and a line written in two pieces.
    append(&path, &record("appended"));
    lines.expect("INFO  appended");
    let half = record("in two pieces");
    let (a, b) = half.split_at(10);
    append(&path, a);
    lines.expect_quiet(Duration::from_millis(300));
    append(&path, b);
    lines.expect("INFO  in two pieces");
    // Truncated (copytruncate): read again from the start.
    std::fs::write(&path, "short\n").unwrap();
    lines.expect("short");
    // Rotated: renamed away and a new file made under the name.
    append(&path, &record("last of the old file"));
    lines.expect("INFO  last of the old file");
    std::fs::rename(&path, dir.join("app.log.1")).unwrap();
    append(&path, &record("first of the new file"));
    lines.expect("INFO  first of the new file");
    append(&path, "not json, followed too\n");
    lines.expect("not json, followed too");
    drop(lines);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A tool the test needs is not installed: the test fails, saying what is
/// missing and how to get it.
fn find_pino_pretty() -> PathBuf {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/tools/node_modules/.bin/pino-pretty");
    if local.exists() {
        return local;
    }
    panic!(
        "\n\n*** pino-pretty NOT FOUND (looked for {}): this test compares logjet-pretty with it. \
         Run .ci/test, which installs it (or: npm ci --prefix tests/tools). ***\n",
        local.display()
    );
}

/// The records of a pretty output: each starts with a line that `starts`
/// (pino-pretty does not indent a message's further lines).
fn blocks(text: &str, starts: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if !starts(line) && !out.is_empty() {
            let last = out.len() - 1;
            out[last].push('\n');
            out[last].push_str(line);
        } else {
            out.push(line.to_string());
        }
    }
    out
}

/// Every text a reader must find in both outputs for a record: keys,
/// scalar values (their first line), the message, nested error members.
fn must_show(r: &Map<String, Value>, out: &mut Vec<String>) {
    for (k, v) in r {
        match k.as_str() {
            "level" | "time" | "pid" | "hostname" => continue,
            // Shown as `(ns)` by one, `ns: "…"` by the other.
            "msg" | "ns" => {}
            _ => out.push(k.clone()),
        }
        match v {
            Value::String(s) => out.push(s.lines().next().unwrap_or_default().trim().to_string()),
            Value::Number(n) => out.push(n.to_string()),
            Value::Bool(b) => out.push(b.to_string()),
            Value::Object(m) if k == "err" => {
                for (ek, ev) in m {
                    if ek != "type" && ek != "message" && ek != "stack" {
                        out.push(ek.clone());
                    }
                    if let Value::String(s) = ev {
                        out.extend(s.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()));
                    }
                }
            }
            _ => {}
        }
    }
    out.retain(|s| !s.is_empty());
}

#[test]
fn pino_pretty_and_logjet_pretty_show_the_same_fields() {
    let pp = find_pino_pretty();
    let (mut input, _) = logjet_sample(false);
    // pino's own shapes: level names, ISO times, a Node error with a
    // stack and a cause, nested objects.
    for line in [
        r#"{"level":"warn","time":"2024-11-21T14:40:01.500Z","pid":7,"hostname":"h","msg":"named level","user":{"id":7,"tags":["a","b"]}}"#,
        r#"{"level":50,"time":1732200002000,"pid":7,"hostname":"h","err":{"type":"TypeError","message":"cannot read x","stack":"TypeError: cannot read x\n    at f (/app/x.js:1:2)\n    at g (/app/y.js:3:4)","code":"E_X"},"msg":"failed"}"#,
        r#"{"level":30,"time":1732200003000,"msg":"no pid","count":3,"ratio":0.25,"on":true,"none":null}"#,
    ] {
        input.extend_from_slice(line.as_bytes());
        input.push(b'\n');
    }
    let ours = pretty(&["--no-color", "--time", "utc"], &input);
    let theirs =
        String::from_utf8(run_with(Command::new(&pp).args(["--no-colorize", "-i", "pid,hostname"]), &input)).unwrap();
    let records: Vec<Map<String, Value>> =
        input.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect();
    let ours = blocks(&ours, |l| !l.starts_with(' '));
    let theirs = blocks(&theirs, |l| l.starts_with('['));
    assert_eq!(ours.len(), records.len(), "{ours:#?}");
    assert_eq!(theirs.len(), records.len(), "{theirs:#?}");
    let mut checked = 0;
    for ((r, o), t) in records.iter().zip(&ours).zip(&theirs) {
        // The same time and level label.
        let head = |b: &str| b.split(']').next().unwrap().to_string();
        assert_eq!(head(o), head(t));
        let label = r["level"].as_u64().map_or_else(
            || r["level"].as_str().unwrap().to_uppercase(),
            |n| Level::from_number(n as u8).unwrap().as_str().to_uppercase(),
        );
        assert!(o.contains(&label) && t.contains(&label), "{label}: {o} / {t}");
        let mut texts = Vec::new();
        must_show(r, &mut texts);
        for text in texts {
            // Either may quote a string or a key (as JSON); the text is there.
            let json = serde_json::to_string(&text).unwrap();
            let shows = |b: &str| b.contains(&text) || b.contains(&json[1..json.len() - 1]);
            assert!(shows(o), "logjet-pretty lacks {text:?}:\n{o}");
            assert!(shows(t), "pino-pretty lacks {text:?}:\n{t}");
            checked += 1;
        }
    }
    assert!(checked > 80, "{checked}");
}
