//! DEBUG namespaces: the exact rules of npm `debug` 4.4 (checked against
//! tables that tests/debug/generate.js produced by running the real
//! module), debug handles on a live logger, and the debug console format.

mod common;

use common::Mem;
use logjet::{sink, Level, Logger, Namespaces};
use serde_json::Value;

fn table(name: &str) -> (String, Vec<Value>) {
    let path = format!("{}/tests/debug/{name}", env!("CARGO_MANIFEST_DIR"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["generated_by"], "tests/debug/generate.js");
    (v["debug_version"].as_str().unwrap().to_string(), v["cases"].as_array().unwrap().clone())
}

#[test]
fn matches_npm_debug_on_every_generated_case() {
    let (version, cases) = table("enabled.json");
    assert!(version.starts_with("4.4."), "{version}");
    assert!(cases.len() >= 150);
    let mut failures = Vec::new();
    for c in &cases {
        let (spec, ns, want) = (c[0].as_str().unwrap(), c[1].as_str().unwrap(), c[2].as_bool().unwrap());
        if Namespaces::parse(spec).enabled(ns) != want {
            failures.push(format!("spec {spec:?} namespace {ns:?}: debug says {want}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn live_handles_follow_the_table_too() {
    let (_, cases) = table("enabled.json");
    let (log, _guard) = Logger::builder().sink(Mem::new().sink()).debug("").build().unwrap();
    let mut handles: Vec<(String, logjet::DebugLogger)> = Vec::new();
    for c in cases.iter().step_by(7) {
        let (spec, ns, want) = (c[0].as_str().unwrap(), c[1].as_str().unwrap(), c[2].as_bool().unwrap());
        log.enable_debug(spec);
        // A handle made before the change and one made after agree.
        let fresh = log.debug_ns(ns);
        assert_eq!(fresh.enabled(), want, "{spec:?} {ns:?}");
        for (name, h) in &handles {
            assert_eq!(h.enabled(), Namespaces::parse(spec).enabled(name), "{spec:?} {name:?}");
        }
        handles.push((ns.to_string(), fresh));
        handles.truncate(20);
    }
}

#[test]
fn disable_returns_the_normalized_spec_like_debug() {
    let (_, cases) = table("disable.json");
    let (log, _guard) = Logger::builder().sink(Mem::new().sink()).build().unwrap();
    for c in &cases {
        let (spec, want) = (c[0].as_str().unwrap(), c[1].as_str().unwrap());
        log.enable_debug(spec);
        assert_eq!(log.disable_debug(), want, "spec {spec:?}");
        assert!(log.debug_namespaces().is_empty());
        assert_eq!(Namespaces::parse(spec).to_string(), want);
    }
}

#[test]
fn colours_are_debugs() {
    let (_, cases) = table("colors.json");
    let basic = Mem::new();
    let wide = Mem::new();
    let (log, guard) = Logger::builder()
        .sink(sink::DebugConsole::writer(basic.clone()).colors(true).colors_256(false))
        .sink(sink::DebugConsole::writer(wide.clone()).colors(true).colors_256(true))
        .debug("*")
        .build()
        .unwrap();
    for c in &cases {
        logjet::debug!(log.debug_ns(c[0].as_str().unwrap()), "x");
    }
    guard.flush().unwrap();
    let code = |line: &str| -> u64 {
        // "  \x1b[3<c>;1m<ns> ..." or "  \x1b[38;5;<c>;1m<ns> ..."
        let rest = line.strip_prefix("  \x1b[3").unwrap();
        let rest = rest.strip_prefix("8;5;").unwrap_or(rest);
        rest.split(';').next().unwrap().parse().unwrap()
    };
    let basic = basic.text();
    let wide = wide.text();
    let (b, w): (Vec<&str>, Vec<&str>) = (basic.lines().collect(), wide.lines().collect());
    assert_eq!(b.len(), cases.len());
    for (i, c) in cases.iter().enumerate() {
        assert_eq!(code(b[i]), c[1].as_u64().unwrap(), "basic colour of {}", c[0]);
        assert_eq!(code(w[i]), c[2].as_u64().unwrap(), "256 colour of {}", c[0]);
    }
}

#[test]
fn namespace_enabled_writes_even_above_the_loggers_level() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().level(Level::Warn).sink(mem.sink()).debug("app:*,-app:db").build().unwrap();
    let http = log.debug_ns("app:http");
    let db = log.debug_ns("app:db");
    logjet::debug!(http, "on by DEBUG", n = 1);
    logjet::trace!(http, "trace too");
    logjet::info!(http, "info on by DEBUG");
    logjet::debug!(db, "excluded");
    logjet::info!(db, "info below the logger level");
    logjet::warn!(db, "warn passes the logger level");
    logjet::debug!(log, "plain debug stays off");
    guard.flush().unwrap();
    let lines = mem.lines();
    let got: Vec<(&str, &str, u64)> = lines
        .iter()
        .map(|l| (l["ns"].as_str().unwrap(), l["msg"].as_str().unwrap(), l["level"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("app:http", "on by DEBUG", 20),
            ("app:http", "trace too", 10),
            ("app:http", "info on by DEBUG", 30),
            ("app:db", "warn passes the logger level", 40),
        ]
    );
    assert_eq!(common::keys(&lines[0]), ["level", "time", "pid", "hostname", "ns", "n", "msg"]);
}

#[test]
fn runtime_changes_reach_existing_handles_and_clones_at_once() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).debug("").build().unwrap();
    let db = log.debug_ns("app:db");
    let clone = db.clone();
    let pool = db.extend("pool");
    let dotted = db.extend_with("cache", ".");
    assert_eq!(pool.namespace(), "app:db:pool");
    assert_eq!(dotted.namespace(), "app:db.cache");
    assert!(!db.enabled() && !clone.enabled() && !pool.enabled());
    logjet::debug!(db, "off");
    log.enable_debug("app:*,-app:db");
    assert!(!db.enabled() && !clone.enabled());
    assert!(pool.enabled() && dotted.enabled());
    log.enable_debug("app:db");
    assert!(db.enabled() && clone.enabled() && !pool.enabled());
    let bound = db.child(logjet::fields!(conn = 7));
    logjet::debug!(bound, "on");
    let other = std::thread::spawn(move || logjet::debug!(clone, "from another thread"));
    other.join().unwrap();
    assert_eq!(log.disable_debug(), "app:db");
    assert!(!db.enabled());
    logjet::debug!(db, "off again");
    guard.flush().unwrap();
    let lines = mem.lines();
    let msgs: Vec<&str> = lines.iter().map(|l| l["msg"].as_str().unwrap()).collect();
    assert_eq!(msgs, ["on", "from another thread"]);
    assert_eq!(lines[0]["conn"], 7);
    assert_eq!(common::keys(&lines[0]), ["level", "time", "pid", "hostname", "ns", "conn", "msg"]);
}

#[test]
fn debug_console_on_a_terminal_and_off_it() {
    let tty = Mem::new();
    let plain = Mem::new();
    let json = Mem::new();
    let (log, guard) = Logger::builder()
        .sink_at(Level::Info, json.sink())
        .sink(sink::DebugConsole::writer(tty.clone()).colors(true).colors_256(false))
        .sink(sink::DebugConsole::writer(plain.clone()).colors(false).hide_date(false))
        .debug("worker")
        .build()
        .unwrap();
    let w = log.debug_ns("worker");
    logjet::debug!(w, "job {} started", 1, queue = "emails");
    logjet::debug!(w, "job done\nsecond line", ms = 12);
    logjet::info!(log, "not a debug record");
    guard.flush().unwrap();

    let colour = 5; // debug's basic colour for "worker" (tests/debug/colors.json)
    let tty = tty.text();
    let lines: Vec<&str> = tty.lines().collect();
    assert_eq!(lines.len(), 3, "{tty:?}");
    let prefix = format!("  \x1b[3{colour};1mworker \x1b[0m");
    assert_eq!(lines[0], format!("{prefix}job 1 started queue=\"emails\" \x1b[3{colour}m+0ms\x1b[0m"));
    assert_eq!(lines[1], format!("{prefix}job done"));
    let last = lines[2].strip_prefix(&format!("{prefix}second line ms=12 \x1b[3{colour}m+")).unwrap();
    let diff = last.strip_suffix("ms\x1b[0m").unwrap();
    assert!(diff.parse::<u64>().unwrap() < 1000, "{last}");

    let plain = plain.text();
    let first = plain.lines().next().unwrap();
    let (date, rest) = first.split_once(' ').unwrap();
    let t = chrono::DateTime::parse_from_rfc3339(date).unwrap();
    assert!(date.ends_with('Z') && date.len() == 24, "{date}");
    assert!(chrono::Utc::now().signed_duration_since(t).num_seconds() < 60);
    assert_eq!(rest, "worker job 1 started queue=\"emails\"");
    assert_eq!(plain.lines().count(), 3);

    // The NDJSON sink (info and up) got only the info record.
    let json = json.lines();
    assert_eq!(json.len(), 1);
    assert_eq!(json[0]["msg"], "not a debug record");
}
