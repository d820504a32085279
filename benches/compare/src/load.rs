//! The under-load modes: N producer threads log at full speed for a fixed
//! time while a flusher thread asks the peer to flush now and then; then,
//! the load still running, the child prints its `RESULT`, logs a fatal
//! record and ends the process with `std::process::exit`. The parent looks
//! for the fatal record's marker in the file.
//!
//! Each call is timed with two `Instant::now()` reads. The producers and
//! the flusher publish their progress after every call (relaxed stores to
//! their own cache line), so the main thread reads it while the load goes
//! on, including how long a call that has not returned has been running.
//! Nothing here waits on the peer without a bound: a flush still running
//! [`patience`] after the load counts with its time so far, and a fatal
//! record whose call has not returned after [`patience`] is reported as
//! hung.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::harness::{self, Fatal, Meter};
use crate::peers::Peer;
use crate::workload::Request;

/// Flushes per run, spread evenly over the load.
pub const FLUSHES: u32 = 5;

/// How long the child waits, after the load, for a flush still running,
/// and then for the fatal record's call: three times the load, from 1 s to
/// 10 s.
pub fn patience(load: Duration) -> Duration {
    (load * 3).clamp(Duration::from_secs(1), Duration::from_secs(10))
}

/// Marks "no call running" in [`Progress::running_since`].
const IDLE: u64 = u64::MAX;

/// A thread's own count of its calls and its longest call, ns.
#[derive(Default)]
struct Tally {
    calls: u64,
    longest: u64,
}

/// One thread's progress (a producer's or the flusher's), published after
/// each call.
#[repr(align(128))]
struct Progress {
    /// Calls that returned.
    calls: AtomicU64,
    /// The longest call that returned, ns.
    longest: AtomicU64,
    /// When the running call began, ns since the start; [`IDLE`] between
    /// calls.
    running_since: AtomicU64,
}

impl Progress {
    fn new() -> Progress {
        Progress { calls: AtomicU64::new(0), longest: AtomicU64::new(0), running_since: AtomicU64::new(IDLE) }
    }

    /// Runs `call`, timing it and publishing the progress in `tally`.
    #[inline]
    fn time<R>(&self, start: Instant, tally: &mut Tally, call: impl FnOnce() -> R) -> R {
        let t = Instant::now();
        self.running_since.store(t.duration_since(start).as_nanos() as u64, Relaxed);
        let r = call();
        let ns = t.elapsed().as_nanos() as u64;
        self.running_since.store(IDLE, Relaxed);
        if ns > tally.longest {
            tally.longest = ns;
            self.longest.store(ns, Relaxed);
        }
        tally.calls += 1;
        self.calls.store(tally.calls, Relaxed);
        r
    }

    /// The longest call so far at `now` (ns since the start), a running one
    /// with its time so far; and whether that one is still running.
    fn longest_at(&self, now: u64) -> (u64, bool) {
        let done = self.longest.load(Relaxed);
        match self.running_since.load(Relaxed) {
            IDLE => (done, false),
            since => {
                let running = now.saturating_sub(since);
                (done.max(running), running > done)
            }
        }
    }
}

/// Sets the flag when dropped: the producers stop if the main thread
/// panics (instead of keeping the scope, and the child, alive).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Relaxed);
    }
}

/// Runs `producers` threads logging through `peer` for `duration` while
/// the flusher flushes [`FLUSHES`] times, then prints the `RESULT` line
/// (measured by `meter`, started just before), logs the fatal record,
/// prints the `FATAL` line and exits the process.
pub fn run<P: Peer>(peer: &P, producers: usize, duration: Duration, meter: Meter) -> ! {
    let progress: Vec<Progress> = (0..producers).map(|_| Progress::new()).collect();
    let flusher = Progress::new();
    let flush_supported = AtomicBool::new(true);
    let flushes_done = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let start = meter.start;
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        for (me, slot) in progress.iter().enumerate() {
            let stop = &stop;
            s.spawn(move || produce(peer, me, producers, slot, start, stop));
        }
        s.spawn(|| {
            let mut tally = Tally::default();
            for k in 1..=FLUSHES {
                sleep_until(start + duration * k / (FLUSHES + 1));
                if !flusher.time(start, &mut tally, || peer.flush()) {
                    flush_supported.store(false, Relaxed);
                    break;
                }
            }
            flushes_done.store(true, Relaxed);
        });
        sleep_until(start + duration);
        let give_up = Instant::now() + patience(duration);
        while !flushes_done.load(Relaxed) && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut sample = meter.sample();
        let now = start.elapsed().as_nanos() as u64;
        let calls: Vec<u64> = progress.iter().map(|p| p.calls.load(Relaxed)).collect();
        let logged: u64 = calls.iter().sum();
        let share = |c: Option<&u64>| *c.expect("a producer") as f64 / logged.max(1) as f64;
        sample.logged = logged as f64;
        sample.share_min = share(calls.iter().min());
        sample.share_max = share(calls.iter().max());
        sample.max = progress.iter().map(|p| p.longest_at(now).0).max().unwrap_or(0) as f64;
        if flush_supported.load(Relaxed) {
            let (worst, running) = flusher.longest_at(now);
            sample.flush = worst as f64;
            sample.flush_open = f64::from(u8::from(running));
        } else {
            sample.flush = f64::NAN;
        }
        harness::print_result(&sample);
        fatal(peer, patience(duration));
    });
    unreachable!("the child exits inside the scope")
}

/// Logs the peer's fatal record and exits, printing `FATAL sent` or `FATAL
/// none` (the peer has no such record), or `FATAL hung` when the call has
/// not returned after `patience`.
fn fatal<P: Peer>(peer: &P, patience: Duration) -> ! {
    static DECIDED: AtomicBool = AtomicBool::new(false);
    let decide = |fatal: Fatal| {
        if !DECIDED.swap(true, Relaxed) {
            harness::print_fatal(fatal);
            std::process::exit(0);
        }
    };
    std::thread::spawn(move || {
        std::thread::sleep(patience);
        decide(Fatal::Hung);
    });
    let sent = peer.fatal(&harness::fatal_marker(std::process::id()));
    decide(if sent { Fatal::Sent } else { Fatal::NotSent });
    // The watchdog decided first and is exiting.
    loop {
        std::thread::park();
    }
}

/// One producer: logs request after request until `stop`. Producer `me` of
/// `producers` logs the request ids `me`, `me + producers`, …
fn produce<P: Peer>(peer: &P, me: usize, producers: usize, progress: &Progress, start: Instant, stop: &AtomicBool) {
    let mut tally = Tally::default();
    let mut n = me as u64;
    while !stop.load(Relaxed) {
        let r = Request::arrive(n);
        progress.time(start, &mut tally, || peer.log(&r));
        n += producers as u64;
    }
}

/// Sleeps until `at` (at once if it has passed).
fn sleep_until(at: Instant) {
    std::thread::sleep(at.saturating_duration_since(Instant::now()));
}
