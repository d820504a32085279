//! Ending a process: `flush_on_signals` (SIGTERM, SIGINT) and
//! `Guard::exit`. Each run is a child process writing at full speed; the
//! parent counts what reached the file.
#![cfg(unix)]

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::child::{child_role, read_after_marker, run_child, spawn_child, tail, wait_child};
use common::TempDir;
use logjet::{sink, Logger, Overflow};
use serde_json::Value;

/// How many times each child runs; every run must pass.
const RUNS: usize = 20;
/// Producer threads in each child.
const PRODUCERS: usize = 2;

/// A child still alive this long after it started logging exits by
/// itself (status 99), so that a signal that does nothing cannot keep it
/// writing: the test then fails on the exit status.
const CHILD_LIFETIME: Duration = Duration::from_secs(20);

/// Starts producers that log `{"t":thread,"i":seq}` at full speed until the
/// process ends; returns each one's count of calls that returned.
fn produce_until_the_end(log: &Logger) -> Vec<Arc<AtomicU64>> {
    (0..PRODUCERS)
        .map(|t| {
            let done = Arc::new(AtomicU64::new(0));
            let (log, d) = (log.clone(), done.clone());
            thread::spawn(move || {
                for i in 0u64.. {
                    logjet::info!(log, "load", t = t as u64, i = i);
                    d.store(i + 1, Ordering::Release);
                }
            });
            done
        })
        .collect()
}

/// The file's lines, each parsed (a torn line fails the test), and per
/// producer the number of its records, checked to be `0..n` in order.
fn read_back(path: &std::path::Path) -> (Vec<Value>, Vec<u64>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut counts = vec![0u64; PRODUCERS];
    let mut others = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("torn or invalid line {line:?}: {e}"));
        match (v["t"].as_u64(), v["i"].as_u64()) {
            (Some(t), Some(i)) => {
                let t = t as usize;
                assert_eq!(i, counts[t], "producer {t}: record {i} after {} records", counts[t]);
                counts[t] += 1;
            }
            _ => others.push(v),
        }
    }
    (others, counts)
}

/// Each run: the child logs at full speed, prints how many calls returned,
/// the parent sends `signal`; the child must end by that signal with every
/// record logged before it in the file, and the record naming the signal.
fn every_record_logged_before_the_signal_is_written(test: &str, signal: &str, number: i32) {
    let mut failures = Vec::new();
    for run in 1..=RUNS {
        let dir = TempDir::new("signals");
        let path = dir.join("app.log");
        let mut child = spawn_child(test, &path);
        let line = read_after_marker(&mut child, "returned:");
        let returned: Vec<u64> = line.split_whitespace().map(|n| n.parse().unwrap()).collect();
        let kill = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().unwrap();
        assert!(kill.success());
        let out = wait_child(child, test);
        if out.signal != Some(number) {
            failures.push(format!(
                "run {run}: ended by {:?} / code {:?}\n{}",
                out.signal,
                out.code,
                tail(&out.stderr, 10)
            ));
            continue;
        }
        let (others, counts) = read_back(&path);
        for (t, (&got, &before)) in counts.iter().zip(&returned).enumerate() {
            if got < before {
                failures
                    .push(format!("run {run}: producer {t}: {before} calls returned before the signal, {got} written"));
            }
        }
        let named = others.iter().filter(|v| v["signal"] == signal && v["level"] == 40).count();
        if named != 1 {
            failures.push(format!("run {run}: {named} records name {signal}: {others:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {RUNS} runs failed:\n{}", failures.len(), failures.join("\n"));
}

/// The child's part: a logger with `flush_on_signals`, producers at full
/// speed, then a line saying how many calls returned, then waiting for the
/// signal.
fn log_until_signalled(path: &std::path::Path) -> ! {
    let (log, _guard) = Logger::builder()
        .sink(sink::File::append(path).unwrap())
        .overflow(Overflow::Block)
        .flush_on_signals(true)
        .build()
        .unwrap();
    let done = produce_until_the_end(&log);
    thread::sleep(Duration::from_millis(150)); // the load runs a while
    let counts: Vec<String> = done.iter().map(|d| d.load(Ordering::Acquire).to_string()).collect();
    println!("returned: {}", counts.join(" "));
    // Waiting for the parent's signal, which ends the process.
    thread::sleep(CHILD_LIFETIME);
    std::process::exit(99);
}

#[test]
fn sigterm_under_load_writes_every_record_logged_before_it() {
    const TEST: &str = "sigterm_under_load_writes_every_record_logged_before_it";
    if let Some(path) = child_role(TEST) {
        log_until_signalled(&path);
    }
    every_record_logged_before_the_signal_is_written(TEST, "SIGTERM", 15);
}

#[test]
fn sigint_under_load_writes_every_record_logged_before_it() {
    const TEST: &str = "sigint_under_load_writes_every_record_logged_before_it";
    if let Some(path) = child_role(TEST) {
        log_until_signalled(&path);
    }
    every_record_logged_before_the_signal_is_written(TEST, "SIGINT", 2);
}

#[test]
fn guard_exit_writes_everything_then_exits_with_the_code() {
    const TEST: &str = "guard_exit_writes_everything_then_exits_with_the_code";
    const EACH: u64 = 200_000;
    if let Some(path) = child_role(TEST) {
        let (log, guard) = Logger::builder().sink(sink::File::append(&path).unwrap()).build().unwrap();
        let producers: Vec<_> = (0..PRODUCERS as u64)
            .map(|t| {
                let log = log.clone();
                thread::spawn(move || {
                    for i in 0..EACH {
                        logjet::info!(log, "load", t = t, i = i);
                    }
                })
            })
            .collect();
        producers.into_iter().for_each(|p| p.join().unwrap());
        logjet::error!(log, "cannot go on; exiting");
        guard.exit(3);
    }
    for run in 1..=5 {
        let dir = TempDir::new("guard-exit");
        let path = dir.join("app.log");
        let out = run_child(TEST, &path);
        assert_eq!(out.code, Some(3), "run {run}: {}", tail(&out.stderr, 10));
        let (others, counts) = read_back(&path);
        assert_eq!(counts, vec![EACH; PRODUCERS], "run {run}");
        assert_eq!(others.len(), 1, "run {run}: {others:?}");
        assert_eq!(others[0]["msg"], "cannot go on; exiting");
    }
}
