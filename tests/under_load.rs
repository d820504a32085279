//! Under sustained load: what the pipeline promises must still hold while
//! producers log at full speed and keep the writer's batches full.
//!
//! - a flush answers while the load goes on (it does not wait for the load
//!   to end), and covers the record logged just before it;
//! - `fatal!` followed by `process::exit`, and a panic with the panic hook,
//!   leave the fatal record in the file, every time (child processes);
//! - two equal producers under `Overflow::Block` both make progress;
//! - tokio tasks that hop between worker threads keep their own order;
//! - 500 logging threads do not cost a full default queue each (child
//!   process, peak RSS).
//!
//! The tests assert semantics. Time appears only as generous bounds that
//! turn a hang into a failure (a load that stops by itself after
//! [`LOAD_LIMIT`], a flush under that load bounded by half of it, other
//! flushes by [`FLUSH_BOUND`], children killed after `CHILD_BOUND`);
//! output is synchronized on flushes, never on sleeps.
//! Each test saturates the machine, so they run one at a time ([`serial`]).
//!
//! The child-process tests re-execute this test binary (see
//! `common/child.rs`): the same test function then plays the child's part.

mod common;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::child::{child_role, run_child, tail};
use common::TempDir;
use logjet::{sink, Logger};

/// A load thread stops by itself after this long, so that a flush waiting
/// for the load to end cannot hang the test (it fails instead).
const LOAD_LIMIT: Duration = Duration::from_secs(20);
/// The longest a flush asked while the load runs may take: half the load's
/// limit, so that a flush that returns returned while the load still ran.
const FLUSH_UNDER_LOAD: Duration = Duration::from_secs(10);
/// The longest any other wait in these tests may take.
const FLUSH_BOUND: Duration = Duration::from_secs(30);
/// A load thread reports that it is logging after this many records (well
/// below the default queue's capacity, so even a starved thread gets there).
const READY_AFTER: u64 = 1000;
/// How many times each child-process test runs; every run must pass.
const RUNS: usize = 20;

/// Each test saturates both cores: they take turns.
fn serial() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Threads logging at full speed through one logger until stopped or until
/// their time limit passes. Dropping it stops and joins them (also when a
/// test fails), so no load outlives its test.
struct Load {
    stop: Arc<AtomicBool>,
    /// Each returns how many records it logged.
    threads: Vec<JoinHandle<u64>>,
}

impl Load {
    /// Starts `n` load threads and returns once each has logged
    /// [`READY_AFTER`] records.
    fn start(log: &Logger, n: u64, limit: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let until = Instant::now() + limit;
        let (ready_tx, ready) = mpsc::channel();
        let threads = (0..n)
            .map(|id| {
                let (log, stop, ready) = (log.clone(), stop.clone(), ready_tx.clone());
                thread::Builder::new()
                    .name(format!("load-{id}"))
                    .spawn(move || produce(&log, id, &stop, until, &ready))
                    .unwrap()
            })
            .collect();
        drop(ready_tx);
        let load = Load { stop, threads };
        for _ in 0..n {
            ready.recv_timeout(FLUSH_BOUND).expect("every load thread starts logging");
        }
        load
    }

    /// Whether every load thread is still logging.
    fn all_running(&self) -> bool {
        self.threads.iter().all(|t| !t.is_finished())
    }

    /// Stops the threads; how many records each logged.
    fn stop(mut self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.drain(..).map(|t| t.join().expect("a load thread panicked")).collect()
    }

    /// Waits for the threads to reach their time limit; how many records
    /// each logged.
    fn run_out(mut self) -> Vec<u64> {
        self.threads.drain(..).map(|t| t.join().expect("a load thread panicked")).collect()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// One load thread: logs as fast as it can (the clock is read every 256
/// records).
fn produce(log: &Logger, id: u64, stop: &AtomicBool, until: Instant, ready: &mpsc::Sender<()>) -> u64 {
    let mut seq = 0u64;
    loop {
        for _ in 0..256 {
            if stop.load(Ordering::Relaxed) {
                return seq;
            }
            logjet::info!(log, "load", thread = id, seq = seq);
            seq += 1;
            if seq == READY_AFTER {
                let _ = ready.send(());
            }
        }
        if Instant::now() >= until {
            return seq;
        }
    }
}

/// Calls `f` with every complete line of a log file as long as it is now,
/// reading it in a stream (under load the file is large, keeps growing,
/// and its last line may still be partial).
fn for_each_line(path: &Path, mut f: impl FnMut(&str)) {
    let file = File::open(path).unwrap();
    let len = file.metadata().unwrap().len();
    let mut r = BufReader::with_capacity(1 << 20, file.take(len));
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).unwrap() == 0 || !line.ends_with(b"\n") {
            return;
        }
        f(std::str::from_utf8(&line).expect("output is UTF-8"));
    }
}

/// The lines of a log file whose level is `fatal` (every line starts with
/// its level), parsed.
fn fatal_records(path: &Path) -> Vec<serde_json::Value> {
    let mut found = Vec::new();
    for_each_line(path, |l| {
        if l.starts_with("{\"level\":60,") {
            found.push(serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid JSON line {l:?}: {e}")));
        }
    });
    found
}

#[test]
fn a_flush_asked_under_sustained_load_returns_while_the_load_still_runs() {
    let _serial = serial();
    let dir = TempDir::new("flush-under-load");
    let path = dir.join("load.log");
    let (log, _guard) = Logger::builder().sink(sink::File::append(&path).unwrap()).build().unwrap();
    let load = Load::start(&log, 2, LOAD_LIMIT);
    logjet::info!(log, "flush marker", marker = true);
    let flushed = log.flush_timeout(FLUSH_UNDER_LOAD);
    let load_running = load.all_running();
    assert!(
        flushed.is_ok(),
        "a flush asked under sustained load did not return within {FLUSH_UNDER_LOAD:?}, while the load kept \
         running: {flushed:?}"
    );
    assert!(load_running, "the load threads ended before the flush returned");
    let mut markers = Vec::new();
    for_each_line(&path, |l| {
        if l.contains("\"msg\":\"flush marker\"") {
            markers.push(serde_json::from_str::<serde_json::Value>(l).unwrap());
        }
    });
    let produced = load.stop();
    assert_eq!(markers.len(), 1, "the record logged before the flush is in the file when it returns");
    assert_eq!(markers[0]["marker"], true);
    assert!(produced.iter().all(|&n| n >= READY_AFTER), "{produced:?}");
}

#[test]
fn fatal_then_exit_under_load_leaves_the_fatal_record_in_the_file_every_time() {
    const TEST: &str = "fatal_then_exit_under_load_leaves_the_fatal_record_in_the_file_every_time";
    if let Some(path) = child_role(TEST) {
        // `exit` runs no destructors: the guard never flushes, only `fatal!` does.
        let (log, _guard) = Logger::builder().sink(sink::File::append(&path).unwrap()).build().unwrap();
        let load = Load::start(&log, 2, LOAD_LIMIT);
        thread::sleep(Duration::from_millis(200)); // the load runs a while
        logjet::fatal!(log, "going down", code = 7);
        std::mem::forget(load); // still logging while the process exits
        std::process::exit(1);
    }
    expect_fatal_record_every_run(TEST, "fatal-exit", Some(1), |f| f["msg"] == "going down" && f["code"] == 7);
}

/// Runs the child part of `test` [`RUNS`] times; each run must end with
/// `exit_code` and leave exactly one fatal record, which `wanted` accepts.
fn expect_fatal_record_every_run(
    test: &str,
    name: &str,
    exit_code: Option<i32>,
    wanted: impl Fn(&serde_json::Value) -> bool,
) {
    let _serial = serial();
    let mut failures = Vec::new();
    for run in 1..=RUNS {
        let dir = TempDir::new(name);
        let path = dir.join("fatal.log");
        let out = run_child(test, &path);
        if out.code != exit_code {
            failures.push(format!("run {run}: exit code {:?}\n{}", out.code, tail(&out.stderr, 20)));
            continue;
        }
        match fatal_records(&path).as_slice() {
            [f] if wanted(f) => {}
            other => failures.push(format!(
                "run {run}: fatal records in the file: {other:?}\nchild's stderr:\n{}",
                tail(&out.stderr, 5)
            )),
        }
    }
    assert!(failures.is_empty(), "{} of {RUNS} runs failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_panic_under_load_leaves_the_fatal_record_in_the_file_every_time() {
    const TEST: &str = "a_panic_under_load_leaves_the_fatal_record_in_the_file_every_time";
    if let Some(path) = child_role(TEST) {
        let (log, guard) =
            Logger::builder().flush_on_panic(true).sink(sink::File::append(&path).unwrap()).build().unwrap();
        // Only the panic hook may write the record: no guard flushes it
        // while the panic unwinds.
        std::mem::forget(guard);
        let load = Load::start(&log, 2, LOAD_LIMIT);
        thread::sleep(Duration::from_millis(200)); // the load runs a while
        std::mem::forget(load); // still logging while the panic unwinds and the process exits
        panic!("under load");
    }
    // A test that panics makes the test binary exit with 101, as a
    // panicking `main` does.
    expect_fatal_record_every_run(TEST, "panic-hook", Some(101), |f| f["msg"] == "panicked: under load");
}

#[test]
fn two_equal_producers_under_block_both_make_progress() {
    let _serial = serial();
    let dir = TempDir::new("two-producers");
    let path = dir.join("two.log");
    let (log, guard) = Logger::builder().sink(sink::File::append(&path).unwrap()).build().unwrap();
    let produced = Load::start(&log, 2, Duration::from_secs(2)).run_out();
    guard.flush_timeout(FLUSH_BOUND).unwrap();

    let mut in_file = [0u64; 2];
    for_each_line(&path, |l| {
        if l.contains("\"thread\":0,") {
            in_file[0] += 1;
        } else if l.contains("\"thread\":1,") {
            in_file[1] += 1;
        } else {
            panic!("not a load record: {l}");
        }
    });
    let counts = [produced[0], produced[1]];
    assert_eq!(in_file, counts, "the file holds every record of each producer");
    assert_eq!(log.stats().dropped, 0);
    let (least, most) = (counts[0].min(counts[1]), counts[0].max(counts[1]));
    assert!(
        least * 4 >= most,
        "two identical producers logged {counts:?} records in the same 2 s: one was starved \
         ({:.1}× the other)",
        most as f64 / least.max(1) as f64
    );
}

#[test]
fn tokio_tasks_hopping_threads_keep_their_own_order() {
    const TASKS: u64 = 1000;
    const PER_TASK: u64 = 100;
    let _serial = serial();
    let dir = TempDir::new("tokio-tasks");
    let path = dir.join("tasks.log");
    let (log, guard) = Logger::builder().sink(sink::File::append(&path).unwrap()).build().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let log = log.clone();
                tokio::spawn(async move {
                    for seq in 0..PER_TASK {
                        logjet::info!(log, "step", task = task, seq = seq, worker = ?thread::current().id());
                        // Back to the scheduler: the task may resume on another worker.
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    drop(rt);
    guard.flush_timeout(FLUSH_BOUND).unwrap();

    let lines = common::read_lines(&path);
    assert_eq!(lines.len() as u64, TASKS * PER_TASK, "every record is in the file");
    let mut next = vec![0u64; TASKS as usize];
    let mut out_of_order = HashSet::new();
    let mut workers: HashMap<u64, HashSet<String>> = HashMap::new();
    for l in &lines {
        let task = l["task"].as_u64().unwrap();
        let seq = l["seq"].as_u64().unwrap();
        if seq != next[task as usize] {
            out_of_order.insert(task);
        }
        next[task as usize] = next[task as usize].max(seq + 1);
        workers.entry(task).or_default().insert(l["worker"].as_str().unwrap().to_string());
    }
    let hopped = workers.values().filter(|w| w.len() > 1).count();
    assert!(hopped > 0, "no task changed worker thread: the test proves nothing");
    assert!(
        out_of_order.is_empty(),
        "{} of {TASKS} tasks have records out of order ({hopped} tasks ran on more than one thread), e.g. tasks {:?}",
        out_of_order.len(),
        out_of_order.iter().take(5).collect::<Vec<_>>()
    );
    assert!(next.iter().all(|&n| n == PER_TASK));
}

#[test]
fn five_hundred_logging_threads_do_not_cost_two_mib_each() {
    const TEST: &str = "five_hundred_logging_threads_do_not_cost_two_mib_each";
    const THREADS: usize = 500;
    const PER_THREAD: u64 = 10;
    const PEAK_RSS_MAX_KIB: u64 = 64 * 1024;
    if let Some(path) = child_role(TEST) {
        let (log, guard) = Logger::builder().sink(sink::File::append(&path).unwrap()).build().unwrap();
        let all_alive = Arc::new(Barrier::new(THREADS + 1));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (log, all_alive) = (log.clone(), all_alive.clone());
                thread::spawn(move || {
                    for seq in 0..PER_THREAD {
                        logjet::info!(log, "alive", thread = t, seq = seq);
                    }
                    all_alive.wait();
                })
            })
            .collect();
        all_alive.wait(); // 500 threads have logged, none has exited
        for t in threads {
            t.join().unwrap();
        }
        guard.flush_timeout(FLUSH_BOUND).unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let hwm = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).expect("VmHWM in /proc/self/status");
        let kib: u64 = hwm.trim().trim_end_matches("kB").trim().parse().unwrap();
        println!("peak_rss_kib={kib}");
        return;
    }
    let _serial = serial();
    let dir = TempDir::new("many-threads");
    let path = dir.join("threads.log");
    let out = run_child(TEST, &path);
    assert_eq!(out.code, Some(0), "the child failed:\n{}\n{}", tail(&out.stdout, 20), tail(&out.stderr, 20));
    let peak_kib: u64 = out
        .stdout
        .lines()
        .find_map(|l| l.split_once("peak_rss_kib=")) // libtest's "test ... " may precede it
        .unwrap_or_else(|| panic!("the child reports its peak RSS:\n{}", out.stdout))
        .1
        .trim()
        .parse()
        .unwrap();
    assert_eq!(common::read_lines(&path).len(), THREADS * PER_THREAD as usize, "every record is in the file");
    assert!(
        peak_kib <= PEAK_RSS_MAX_KIB,
        "{THREADS} threads that logged {PER_THREAD} records each took a peak RSS of {} MiB (at most {} MiB)",
        peak_kib / 1024,
        PEAK_RSS_MAX_KIB / 1024
    );
}
