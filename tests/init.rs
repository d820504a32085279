//! `logjet::init()`: set-up from the environment in one call. Each case is
//! a child process (a global logger, `tracing` subscriber and `log` logger
//! are set once per process) with its own environment.
#![cfg(all(feature = "tracing", feature = "log"))]

mod common;

use common::child::{child_role, spawn_child_with, tail, wait_child, ChildOutput};
use common::TempDir;
use serde_json::Value;

/// Every variable `init` reads, unset unless a case sets it.
const VARS: [&str; 5] = ["RUST_LOG", "LOG_LEVEL", "DEBUG", "LOGJET_FORMAT", "LOGJET_FILE"];

/// Runs `test`'s child with `env` (the other variables unset) and the log
/// file in `LOGJET_FILE` unless `file` is false; returns its output and
/// the messages written to the file.
fn run(test: &str, env: &[(&str, &str)], file: bool) -> (ChildOutput, Vec<Value>) {
    let dir = TempDir::new("init");
    let path = dir.join("app.log");
    let path_text = path.to_string_lossy().into_owned();
    let mut vars: Vec<(&str, Option<&str>)> = VARS.iter().map(|v| (*v, None)).collect();
    for (k, v) in env {
        vars.retain(|(name, _)| name != k);
        vars.push((k, Some(v)));
    }
    if file {
        vars.retain(|(name, _)| *name != "LOGJET_FILE");
        vars.push(("LOGJET_FILE", Some(&path_text)));
    }
    let out = wait_child(spawn_child_with(test, &path, &vars), test);
    let lines = std::fs::read_to_string(&path).unwrap_or_default();
    (out, lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect())
}

/// The child's part: every kind of record `init` routes, then the guard.
fn log_everything() {
    let guard = match logjet::init() {
        Ok(g) => g,
        Err(e) => {
            println!("init failed: {e}");
            std::process::exit(3);
        }
    };
    logjet::info!("logjet info");
    logjet::debug!("logjet debug");
    tracing::info!(target: "app::http", "tracing info");
    tracing::debug!(target: "app::http", "tracing debug app::http");
    tracing::debug!(target: "tower_http::trace", "tracing debug tower_http");
    tracing::debug!(target: "svc::db::pool", "tracing debug svc::db");
    log::info!(target: "app::http", "log info");
    log::debug!(target: "tower_http::trace", user = 7; "log debug tower_http");
    log::debug!(target: "app::http", "log debug app::http");
    drop(guard);
}

fn messages(lines: &[Value]) -> Vec<&str> {
    lines.iter().map(|l| l["msg"].as_str().unwrap()).collect()
}

#[test]
fn rust_log_decides_for_tracing_log_and_logjet_alike() {
    const TEST: &str = "rust_log_decides_for_tracing_log_and_logjet_alike";
    if child_role(TEST).is_some() {
        log_everything();
        return;
    }
    // The default: info everywhere.
    let (out, lines) = run(TEST, &[], true);
    assert_eq!(out.code, Some(0), "{}", tail(&out.stdout, 5));
    assert_eq!(messages(&lines), ["logjet info", "tracing info", "log info"]);
    // One target more verbose: its debug records pass, for tracing and log.
    let (_, lines) = run(TEST, &[("RUST_LOG", "info,tower_http=debug")], true);
    assert_eq!(
        messages(&lines),
        ["logjet info", "tracing info", "tracing debug tower_http", "log info", "log debug tower_http"]
    );
    assert_eq!(lines[4]["user"], 7, "log key-values kept");
    assert_eq!(lines[2]["target"], "tower_http::trace");
    // `RUST_LOG=debug`: debug everywhere, logjet's own macros included.
    let (_, lines) = run(TEST, &[("RUST_LOG", "debug")], true);
    assert_eq!(lines.len(), 9, "{:?}", messages(&lines));
    // LOG_LEVEL sets logjet's own level, RUST_LOG the targets'.
    let (_, lines) = run(TEST, &[("RUST_LOG", "warn,app=info"), ("LOG_LEVEL", "debug")], true);
    assert_eq!(messages(&lines), ["logjet info", "logjet debug", "tracing info", "log info"]);
}

#[test]
fn debug_namespaces_pass_the_filter_for_their_targets() {
    const TEST: &str = "debug_namespaces_pass_the_filter_for_their_targets";
    if child_role(TEST).is_some() {
        log_everything();
        return;
    }
    let (out, lines) = run(TEST, &[("DEBUG", "svc::db*,tower_http*")], true);
    assert_eq!(out.code, Some(0), "{}", tail(&out.stdout, 5));
    assert_eq!(
        messages(&lines),
        [
            "logjet info",
            "tracing info",
            "tracing debug tower_http",
            "tracing debug svc::db",
            "log info",
            "log debug tower_http"
        ]
    );
}

#[test]
fn a_bad_value_is_an_error_naming_the_variable() {
    const TEST: &str = "a_bad_value_is_an_error_naming_the_variable";
    if child_role(TEST).is_some() {
        log_everything();
        return;
    }
    for (var, value) in [
        ("LOG_LEVEL", "loud"),
        ("RUST_LOG", "my_app=loud"),
        ("RUST_LOG", "my app=info"),
        ("LOGJET_FORMAT", "xml"),
        ("LOGJET_FILE", "/proc/no/such/dir/app.log"),
    ] {
        let (out, _) = run(TEST, &[(var, value)], var != "LOGJET_FILE");
        assert_eq!(out.code, Some(3), "{var}={value}: {}", tail(&out.stderr, 5));
        let said = out.stdout.lines().find(|l| l.contains("init failed")).unwrap_or_default().to_string();
        assert!(said.contains(var), "{var}={value}: {said}");
    }
}

#[test]
fn logjet_format_pretty_writes_readable_lines_to_stdout() {
    const TEST: &str = "logjet_format_pretty_writes_readable_lines_to_stdout";
    if child_role(TEST).is_some() {
        log_everything();
        return;
    }
    let (out, _) = run(TEST, &[("LOGJET_FORMAT", "pretty"), ("NO_COLOR", "1")], false);
    assert_eq!(out.code, Some(0));
    let line = out.stdout.lines().find(|l| l.contains("tracing info")).expect("the pretty line");
    assert!(line.contains("INFO") && !line.starts_with('{'), "{line}");
    let (out, _) = run(TEST, &[("LOGJET_FORMAT", "json")], false);
    let line = out.stdout.lines().find(|l| l.contains("tracing info")).expect("the JSON line");
    let v: Value = serde_json::from_str(line.trim_start_matches(|c| c != '{')).unwrap();
    assert_eq!(v["target"], "app::http");
}
