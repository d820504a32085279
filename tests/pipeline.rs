//! The pipeline: counts and order under concurrency, overflow policies,
//! flush and shutdown semantics, failing sinks, pipes.

mod common;

use std::io::{self, Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::{parse_lines, read_lines, Gate, Mem, TempDir};
use logjet::{sink, Level, Logger, Overflow};

#[test]
fn four_threads_250k_each_exact_counts_and_per_thread_order() {
    const THREADS: u64 = 4;
    const PER: u64 = 250_000;
    let dir = TempDir::new("mt");
    let path = dir.join("logs/mt.log");
    let (log, guard) = Logger::builder().sink(sink::File::append(&path).unwrap()).capacity(4096).build().unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let log = log.clone();
            s.spawn(move || {
                let child = log.child(logjet::fields!(thread = t));
                for seq in 0..PER {
                    logjet::info!(child, "record", seq = seq, pad = "some text to make lines longer");
                }
            });
        }
    });
    guard.flush().unwrap();
    let lines = read_lines(&path);
    assert_eq!(lines.len() as u64, THREADS * PER);
    let mut next = vec![0u64; THREADS as usize];
    for l in &lines {
        let t = l["thread"].as_u64().unwrap() as usize;
        let seq = l["seq"].as_u64().unwrap();
        assert_eq!(seq, next[t], "thread {t} out of order");
        next[t] += 1;
    }
    assert!(next.iter().all(|&n| n == PER));
    let stats = log.stats();
    assert_eq!(stats.written, THREADS * PER);
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.bytes_written, std::fs::metadata(&path).unwrap().len());
    assert!(stats.queue_high_water <= 4096);
}

#[test]
fn drop_mode_counts_every_loss_and_reports_it_in_the_log() {
    const LOGGED: u64 = 10_000;
    let gate = Gate::new();
    let (log, guard) =
        Logger::builder().capacity(8).overflow(Overflow::Drop).sink(sink::Writer::new(gate.clone())).build().unwrap();
    for i in 0..LOGGED {
        logjet::info!(log, "burst", i = i);
    }
    gate.open();
    guard.flush().unwrap();
    let stats = log.stats();
    assert!(stats.dropped > 0, "a closed sink and 8 slots must drop: {stats:?}");
    assert_eq!(stats.written + stats.dropped, LOGGED, "{stats:?}");
    assert_eq!(stats.queue_high_water, 8);
    let lines = gate.mem.lines();
    let (notices, records): (Vec<_>, Vec<_>) = lines.iter().partition(|l| l.get("dropped").is_some());
    assert_eq!(records.len() as u64, stats.written);
    assert!(!notices.is_empty());
    let mut reported = 0;
    for n in &notices {
        let count = n["dropped"].as_u64().unwrap();
        assert_eq!(n["level"], 40);
        assert_eq!(n["msg"], format!("logjet dropped {count} records"));
        reported += count;
    }
    assert_eq!(reported, stats.dropped);
    // The records that made it keep their order.
    let is: Vec<u64> = records.iter().map(|l| l["i"].as_u64().unwrap()).collect();
    assert!(is.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn block_mode_loses_nothing_behind_a_stalled_sink() {
    let gate = Gate::new();
    let (log, guard) =
        Logger::builder().capacity(4).overflow(Overflow::Block).sink(sink::Writer::new(gate.clone())).build().unwrap();
    let producer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 0..1000u32 {
                logjet::info!(log, "waits", i = i);
            }
        })
    };
    gate.open();
    producer.join().unwrap();
    guard.flush().unwrap();
    let lines = gate.mem.lines();
    assert_eq!(lines.len(), 1000);
    assert!(lines.iter().enumerate().all(|(i, l)| l["i"] == i as u64));
    assert_eq!(log.stats().dropped, 0);
}

#[test]
fn flush_returns_only_once_records_are_on_the_sink() {
    let gate = Gate::new();
    let (log, guard) = Logger::builder().sink(sink::Writer::new(gate.clone())).build().unwrap();
    for i in 0..100 {
        logjet::info!(log, "pending", i = i);
    }
    let err = guard.flush_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(gate.mem.text().is_empty());
    gate.open();
    guard.flush().unwrap();
    assert_eq!(gate.mem.lines().len(), 100);

    // A flush covers records other threads logged before it.
    let (tx, rx) = std::sync::mpsc::channel();
    let other = log.clone();
    std::thread::spawn(move || {
        for i in 0..1000 {
            logjet::info!(other, "other thread", i = i);
        }
        tx.send(()).unwrap();
    });
    rx.recv().unwrap();
    log.flush().unwrap();
    assert_eq!(gate.mem.lines().len(), 1100);
}

/// Fails its first `fail` writes, then accepts at most `chunk` bytes per
/// write (short writes).
struct Flaky {
    mem: Mem,
    calls: u32,
    fail: u32,
    panic_on: Option<u32>,
    chunk: usize,
}

impl Write for Flaky {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if Some(self.calls) == self.panic_on {
            panic!("sink bug");
        }
        if self.calls <= self.fail {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
        }
        let n = buf.len().min(self.chunk);
        self.mem.write(&buf[..n])
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn failing_then_recovering_sink_loses_and_duplicates_nothing() {
    let mem = Mem::new();
    let flaky = Flaky { mem: mem.clone(), calls: 0, fail: 5, panic_on: Some(7), chunk: 1000 };
    let (log, guard) = Logger::builder().sink(sink::Writer::new(flaky).name("flaky")).build().unwrap();
    for i in 0..1000 {
        logjet::info!(log, "survives", i = i, text = "0123456789abcdef0123456789abcdef");
    }
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines.len(), 1000);
    assert!(lines.iter().enumerate().all(|(i, l)| l["i"] == i as u64));
    let stats = log.stats();
    assert_eq!(stats.write_errors, 6, "5 errors and 1 panic: {stats:?}");
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.written, 1000);
    // The writer is still alive and well.
    logjet::info!(log, "after");
    guard.flush().unwrap();
    assert_eq!(mem.lines().len(), 1001);
}

#[test]
fn epipe_on_a_closed_pipe_is_reported_not_fatal_and_never_blocks() {
    let (reader, writer) = io::pipe().unwrap();
    drop(reader);
    let (log, guard) = Logger::builder()
        .capacity(4)
        .overflow(Overflow::Block)
        .sink(sink::Writer::new(writer).name("closed pipe"))
        .build()
        .unwrap();
    for i in 0..10 {
        logjet::info!(log, "into the void", i = i);
    }
    let err = log.flush_timeout(Duration::from_secs(10)).unwrap_err();
    assert_eq!(err.lost_records(), Some(10), "{err}");
    assert_eq!(log.stats().write_errors, 1, "a broken pipe is not retried");
    // Its reader can never come back: under Block the callers go on anyway,
    // far beyond the queue's capacity, and every record is counted.
    for i in 0..1000 {
        logjet::info!(log, "still into the void", i = i);
    }
    // A flush reports what was lost since the previous one.
    assert_eq!(log.flush().unwrap_err().lost_records(), Some(1000));
    guard.shutdown().unwrap();
    let stats = log.stats();
    assert_eq!(stats.dropped, 1010);
    assert_eq!(stats.written, 0);
}

#[test]
fn a_child_process_reads_the_pipe_sink() {
    let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("cat is installed");
    let stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let (log, guard) = Logger::builder().sink(sink::Writer::new(stdin).name("cat")).build().unwrap();
    for i in 0..20_000 {
        logjet::info!(log, "to the collector", i = i);
    }
    guard.shutdown().unwrap(); // closes the pipe: cat sees EOF
    let out = reader.join().unwrap();
    assert!(child.wait().unwrap().success());
    let lines = parse_lines(&out);
    assert_eq!(lines.len(), 20_000);
    assert!(lines.iter().enumerate().all(|(i, l)| l["i"] == i as u64));
}

#[test]
fn after_shutdown_records_are_dropped_and_counted() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).build().unwrap();
    logjet::info!(log, "before");
    guard.shutdown().unwrap();
    assert_eq!(mem.lines().len(), 1);
    for _ in 0..5 {
        logjet::info!(log, "after");
    }
    // The answer to a flush comes after the writer has seen those records.
    assert!(log.flush().unwrap_err().is_closed());
    let stats = log.stats();
    assert_eq!(stats.written, 1);
    assert_eq!(stats.dropped, 5);
    assert_eq!(mem.lines().len(), 1);
}

#[test]
fn dropping_the_guard_flushes_and_logging_goes_on() {
    let dir = TempDir::new("guard");
    let path = dir.join("g.log");
    let (log, guard) = Logger::builder().sink(sink::File::append(&path).unwrap()).build().unwrap();
    for i in 0..5000 {
        logjet::info!(log, "before drop", i = i);
    }
    drop(guard);
    assert_eq!(read_lines(&path).len(), 5000);
    // The writer lives as long as a Logger does.
    logjet::info!(log, "after drop");
    log.flush().unwrap();
    assert_eq!(read_lines(&path).len(), 5001);
    drop(log); // the last handle: the writer finishes and exits
}

#[test]
fn fatal_is_written_before_it_returns_even_under_drop() {
    let mem = Mem::new();
    let (log, _guard) = Logger::builder().overflow(Overflow::Drop).capacity(1).sink(mem.sink()).build().unwrap();
    logjet::fatal!(log, "cannot continue", code = 3);
    let lines = mem.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["level"], 60);
    assert_eq!(lines[0]["code"], 3);
}

/// A sink that logs through the very logger it belongs to, and tries to
/// flush it from the writer thread.
struct Reentrant {
    log: Arc<OnceLock<Logger>>,
    mem: Mem,
    flush_result: Arc<Mutex<Option<String>>>,
    writes: u32,
}

impl Write for Reentrant {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes += 1;
        if self.writes <= 3 {
            if let Some(log) = self.log.get() {
                logjet::warn!(log, "logged from inside the sink", n = self.writes);
                let r = log.flush_timeout(Duration::from_secs(5));
                *self.flush_result.lock().unwrap() = Some(match r {
                    Ok(()) => "ok".to_string(),
                    Err(e) => e.to_string(),
                });
            }
        }
        self.mem.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_sink_that_logs_never_deadlocks_the_writer() {
    let cell = Arc::new(OnceLock::new());
    let mem = Mem::new();
    let result = Arc::new(Mutex::new(None));
    let sink = Reentrant { log: cell.clone(), mem: mem.clone(), flush_result: result.clone(), writes: 0 };
    let (log, guard) = Logger::builder().capacity(2).sink(sink::Writer::new(sink)).build().unwrap();
    cell.set(log.clone()).unwrap();
    for i in 0..50 {
        logjet::info!(log, "normal", i = i);
        guard.flush().unwrap();
    }
    let r = result.lock().unwrap().clone().unwrap();
    assert!(r.contains("writer thread"), "{r}");
    let stats = log.stats();
    let lines = mem.lines();
    let normal = lines.iter().filter(|l| l["msg"] == "normal").count();
    assert_eq!(normal, 50);
    assert_eq!(stats.written + stats.dropped, 53, "{stats:?}");
}

#[test]
fn level_can_change_while_threads_log() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().level(Level::Info).sink(mem.sink()).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let worker = {
        let log = log.clone();
        std::thread::spawn(move || {
            logjet::debug!(log, "before");
            done_tx.send(()).unwrap();
            rx.recv().unwrap();
            logjet::debug!(log, "after");
        })
    };
    done_rx.recv().unwrap();
    log.set_level(Level::Debug);
    tx.send(()).unwrap();
    worker.join().unwrap();
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["msg"], "after");
}

#[test]
fn several_appenders_on_one_file_never_interleave_inside_a_line() {
    // Two loggers open the same file separately, as two processes would.
    let dir = TempDir::new("appenders");
    let path = dir.join("shared.log");
    let a = Logger::builder().sink(sink::File::append(&path).unwrap()).build().unwrap();
    let b = Logger::builder().sink(sink::File::append(&path).unwrap()).build().unwrap();
    let long = "z".repeat(700);
    std::thread::scope(|s| {
        for (name, (log, _)) in [("a", &a), ("b", &b)] {
            let long = &long;
            s.spawn(move || {
                for i in 0..20_000u32 {
                    logjet::info!(log, "appender", who = name, i = i, long = long);
                }
            });
        }
    });
    a.1.flush().unwrap();
    b.1.flush().unwrap();
    let lines = read_lines(&path);
    assert_eq!(lines.len(), 40_000);
    for who in ["a", "b"] {
        let is: Vec<u64> = lines.iter().filter(|l| l["who"] == who).map(|l| l["i"].as_u64().unwrap()).collect();
        assert_eq!(is, (0..20_000).collect::<Vec<u64>>());
    }
}

#[test]
fn loggers_are_clone_send_sync() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<Logger>();
    fn send_sync<T: Send + Sync>() {}
    send_sync::<logjet::Guard>();
}

#[test]
fn records_logged_while_a_thread_exits_keep_their_order() {
    // A thread-local whose destructor logs: it runs after the thread's own
    // queue is gone (registered later, destroyed earlier), so those records
    // take the control channel; they must still follow the queued ones.
    struct LogsOnExit(Option<Logger>);
    impl Drop for LogsOnExit {
        fn drop(&mut self) {
            if let Some(log) = self.0.take() {
                for seq in 20_000..20_050u64 {
                    logjet::info!(log, "exiting", seq = seq);
                }
            }
        }
    }
    thread_local! {
        static ON_EXIT: std::cell::RefCell<LogsOnExit> = const { std::cell::RefCell::new(LogsOnExit(None)) };
    }
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).capacity(65_536).build().unwrap();
    let l = log.clone();
    std::thread::spawn(move || {
        // Registered before the thread's first record creates its queue.
        ON_EXIT.with(|o| o.borrow_mut().0 = Some(l.clone()));
        for seq in 0..20_000u64 {
            logjet::info!(l, "running", seq = seq);
        }
    })
    .join()
    .unwrap();
    guard.flush().unwrap();
    let seqs: Vec<u64> = mem.lines().iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (0..20_050).collect::<Vec<_>>());
}
