//! The writer thread: drains the channel in batches, formats each record for
//! its sinks, writes large buffers, retries failing sinks, reports drops.
//!
//! It owns every sink and every output buffer; callers never touch them.

use std::fmt;
use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};

use crate::channel::{self, FlushOutcome, FlushTicket, Msg, Shared};
use crate::encode::console::ConsoleFormat;
use crate::encode::json::JsonFormat;
use crate::level::Level;
use crate::record::{Capture, Out, OutBuf, RecordRef};
use crate::ring::Consumer;
use crate::sink::private::{Format, Target};

/// A sink's own formatter.
enum SinkFormat {
    /// The shared NDJSON line.
    Json,
    Console(ConsoleFormat),
    #[cfg(unix)]
    Syslog(Box<crate::encode::syslog::SyslogFormat>),
}

/// Format records until this many bytes wait in the sink buffers, then write.
pub(crate) const BATCH_BYTES: usize = 128 * 1024;
/// A sink buffer that grew beyond this (a huge record) is given back.
const KEEP_BYTES: usize = 4 * BATCH_BYTES;
/// The longest the writer sleeps between polls while records keep coming.
pub(crate) const MAX_POLL: Duration = Duration::from_millis(1);
/// The shortest poll, under heavy load.
const MIN_POLL: Duration = Duration::from_micros(20);
/// Idle this long and the writer asks callers to wake it instead of polling.
const DEEP_AFTER: Duration = Duration::from_millis(10);
/// A deep sleep still ends after this long (a safety net, and deadlines).
const DEEP_MAX: Duration = Duration::from_millis(100);
/// Backoff between retries of a failing sink.
const BACKOFF_MIN: Duration = Duration::from_millis(1);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one report per failing sink per this long.
const REPORT_EVERY: Duration = Duration::from_secs(10);
/// Drop notices are coalesced over this long (unless a flush is waiting).
const DROP_REPORT_EVERY: Duration = Duration::from_millis(100);

/// Writes a message for the operator on stderr. Never panics.
pub(crate) fn report(args: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "logjet: {args}");
}

struct SinkSlot {
    name: String,
    out: Box<dyn Write + Send>,
    format: SinkFormat,
    min: Level,
    buf: OutBuf,
    /// Bytes of `buf` already written.
    done: usize,
    /// The buffer is written but the inner writer not yet flushed.
    needs_flush: bool,
    failing: bool,
    /// Failed attempts since the sink last worked.
    failures: u64,
    /// The reader is gone for good (`EPIPE`).
    broken: bool,
    /// The current failure was reported, so its recovery will be too.
    failure_reported: bool,
    reports: Reports,
}

impl SinkSlot {
    /// Empties the buffer (written or given up), giving memory back after
    /// a huge record.
    fn reset_buf(&mut self) {
        self.buf.clear();
        self.buf.shrink_to(KEEP_BYTES, BATCH_BYTES + BATCH_BYTES / 4);
        self.done = 0;
        self.needs_flush = false;
    }
}

/// Keeps a sink's messages on stderr to one per [`REPORT_EVERY`], counting
/// what it holds back and saying so in the next message.
#[derive(Default)]
struct Reports {
    last: Option<Instant>,
    suppressed: u64,
}

impl Reports {
    /// Reports unless a report about this sink went out less than
    /// [`REPORT_EVERY`] ago. Returns whether it did.
    fn say(&mut self, sink: &str, what: fmt::Arguments<'_>) -> bool {
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < REPORT_EVERY) {
            self.suppressed += 1;
            return false;
        }
        self.force(sink, what);
        true
    }

    fn force(&mut self, sink: &str, what: fmt::Arguments<'_>) {
        self.last = Some(Instant::now());
        match std::mem::take(&mut self.suppressed) {
            0 => report(format_args!("{sink}: {what}")),
            n => report(format_args!("{sink}: {what} ({n} earlier messages about it suppressed)")),
        }
    }
}

/// What the writer thread owns.
pub(crate) struct Worker {
    rx: Receiver<Msg>,
    shared: Arc<Shared>,
    format: JsonFormat,
    sinks: Vec<SinkSlot>,
    /// One formatted line, when it goes to several sinks.
    line: OutBuf,
    /// Records formatted into the sink buffers and not yet written.
    batch_records: u64,
    batch_bytes: usize,
    tickets: Vec<FlushTicket>,
    /// A shutdown request, answered once the records before it are written.
    shutdown: Option<FlushTicket>,
    /// Shut down: sinks closed, records counted as dropped.
    closed: bool,
    /// Every handle is gone.
    disconnected: bool,
    /// Once a deadline passed with a sink still failing, the remaining
    /// records are given up at once instead of retried.
    gave_up: bool,
    /// Records lost since the last flush was answered: the next flush
    /// reports them.
    lost_since_flush: u64,
    reported_drops: u64,
    last_drop_report: Option<Instant>,
    poll: Duration,
    idle_since: Option<Instant>,
    shutdown_timeout: Duration,
    /// Turns the caller's clock readings into wall-clock time.
    clock: crate::clock::Converter,
    /// The reading side of every thread's queue.
    consumers: Vec<Consumer>,
    /// The `rings_gen` the consumers reflect.
    rings_seen: u64,
}

impl Worker {
    pub(crate) fn new(
        rx: Receiver<Msg>,
        shared: Arc<Shared>,
        format: JsonFormat,
        sinks: Vec<(Level, Target)>,
        shutdown_timeout: Duration,
        clock: crate::clock::Source,
    ) -> Worker {
        let sinks = sinks
            .into_iter()
            .map(|(min, t)| SinkSlot {
                name: t.name,
                out: t.out,
                format: match t.format {
                    Format::Json => SinkFormat::Json,
                    Format::Console(style) => SinkFormat::Console(ConsoleFormat::new(style)),
                    #[cfg(unix)]
                    Format::Syslog(spec) => {
                        SinkFormat::Syslog(Box::new(crate::encode::syslog::SyslogFormat::new(*spec)))
                    }
                },
                min,
                buf: OutBuf::with_capacity(BATCH_BYTES + BATCH_BYTES / 4),
                done: 0,
                needs_flush: false,
                failing: false,
                failures: 0,
                broken: false,
                failure_reported: false,
                reports: Reports::default(),
            })
            .collect();
        Worker {
            rx,
            shared,
            format,
            sinks,
            line: OutBuf::with_capacity(1024),
            batch_records: 0,
            batch_bytes: 0,
            tickets: Vec::new(),
            shutdown: None,
            closed: false,
            disconnected: false,
            gave_up: false,
            lost_since_flush: 0,
            reported_drops: 0,
            last_drop_report: None,
            poll: MAX_POLL,
            idle_since: None,
            shutdown_timeout,
            clock: crate::clock::Converter::new(clock),
            consumers: Vec::new(),
            rings_seen: u64::MAX,
        }
    }

    pub(crate) fn run(mut self) {
        channel::mark_writer_thread();
        // A bug in logjet must not leave callers waiting on a dead queue:
        // after a panic the writer closes and goes on counting and answering.
        while let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.run_loop())) {
            report(format_args!(
                "internal error in the writer thread ({}); the sinks are closed and further records \
                 are counted as dropped. Please report this bug.",
                panic_message(&*panic)
            ));
            let lost = std::mem::take(&mut self.batch_records);
            self.shared.counters.lost.fetch_add(lost, Ordering::Relaxed);
            for t in self.tickets.drain(..) {
                t.complete(FlushOutcome::Lost(lost));
            }
            if let Some(t) = self.shutdown.take() {
                t.complete(FlushOutcome::Lost(lost));
            }
            self.sinks.clear();
            self.closed = true;
        }
        // Nothing reads the queues from now on: callers stop waiting for
        // room and forget their queues.
        self.shared.writer_gone.store(true, Ordering::Release);
        if let Ok(rings) = self.shared.rings.lock() {
            for r in rings.iter() {
                r.orphan();
            }
        }
    }

    fn run_loop(&mut self) {
        loop {
            let (n, full) = self.drain();
            if self.closed {
                if self.disconnected {
                    break;
                }
                if n == 0 {
                    self.wait_closed();
                }
                continue;
            }
            let force = !self.tickets.is_empty() || self.shutdown.is_some() || self.disconnected;
            self.report_drops(force);
            self.write_batch();
            if let Some(t) = self.shutdown.take() {
                self.close(t);
                continue;
            }
            if self.disconnected && !full {
                break;
            }
            if !full {
                self.wait(n == 0);
            }
        }
    }

    /// Takes records from every thread's queue, then messages from the
    /// channel, until all are empty, a batch is full or a shutdown request
    /// arrives. Returns how many it took and whether the batch is full.
    fn drain(&mut self) -> (usize, bool) {
        self.clock.maybe_refresh();
        self.refresh_rings();
        let mut n = 0;
        let mut most = 0;
        let mut consumers = std::mem::take(&mut self.consumers);
        for c in &mut consumers {
            if self.batch_bytes >= BATCH_BYTES {
                break;
            }
            let got = self.drain_ring(c, None);
            most = most.max(got);
            n += got;
        }
        self.consumers = consumers;
        // In records, at most the nominal capacity (a queue holds more small
        // records than its capacity counts; a full one reports the capacity).
        let most = (most as u64).min(self.shared.capacity as u64);
        self.shared.counters.high_water.fetch_max(most, Ordering::Relaxed);
        self.adapt_poll(most);
        while self.batch_bytes < BATCH_BYTES {
            match self.rx.try_recv() {
                Ok(msg) => {
                    n += 1;
                    self.handle(msg);
                    if self.shutdown.is_some() {
                        // What follows the request is the closed logger's.
                        return (n, false);
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.begin_stop();
                    break;
                }
            }
        }
        (n, self.batch_bytes >= BATCH_BYTES)
    }

    /// Takes records from one queue: until the batch is full, or, with
    /// `upto`, until the queue is read up to that position (for a flush).
    /// Returns how many it took.
    fn drain_ring(&mut self, c: &mut Consumer, upto: Option<usize>) -> usize {
        if !c.refresh() {
            return 0;
        }
        let mut n = 0;
        while upto.map_or(self.batch_bytes < BATCH_BYTES, |u| c.head() < u) {
            let Some(rec) = c.pop() else { break };
            n += 1;
            if self.closed {
                self.shared.counters.lost.fetch_add(1, Ordering::Relaxed);
                self.shared.warn_late();
            } else {
                let rec = RecordRef { time: self.clock.to_nanos(rec.time), ..rec };
                self.format_record(&rec);
                self.batch_records += 1;
            }
        }
        c.release();
        n
    }

    /// Picks up the queues of threads that started logging, and lets go of
    /// those of threads that exited and were read to the end.
    fn refresh_rings(&mut self) {
        let gen = self.shared.rings_gen.load(Ordering::Acquire);
        if gen == self.rings_seen && !self.consumers.iter().any(|c| c.ring.finished()) {
            return;
        }
        self.rings_seen = gen;
        let mut rings = match self.shared.rings.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        rings.retain(|r| !r.finished());
        self.consumers.retain(|c| !c.ring.finished());
        for r in rings.iter() {
            if !self.consumers.iter().any(|c| Arc::ptr_eq(&c.ring, r)) {
                self.consumers.push(Consumer::new(r.clone()));
            }
        }
    }

    /// Reads every queue of a flush's snapshot up to where it ended.
    fn drain_snapshot(&mut self, snapshot: &crate::channel::Snapshot) {
        self.rings_seen = u64::MAX; // make sure queues new since the last look are known
        self.refresh_rings();
        let mut consumers = std::mem::take(&mut self.consumers);
        for (ring, pos) in snapshot {
            if let Some(c) = consumers.iter_mut().find(|c| Arc::ptr_eq(&c.ring, ring)) {
                while c.head() < *pos {
                    if self.drain_ring(c, Some(*pos)) == 0 {
                        break;
                    }
                }
            }
        }
        self.consumers = consumers;
    }

    /// Whether a queue holds records the writer has not taken.
    fn rings_pending(&self) -> bool {
        self.shared.rings_gen.load(Ordering::Acquire) != self.rings_seen
            || self.consumers.iter().any(|c| c.ring.tail() > c.head())
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Record(rec) if self.closed => {
                drop(rec);
                self.shared.counters.lost.fetch_add(1, Ordering::Relaxed);
                self.shared.warn_late();
            }
            Msg::Record(mut rec) => {
                rec.time = self.clock.to_nanos(rec.time);
                self.format_record(&rec.as_ref());
                self.batch_records += 1;
            }
            Msg::Flush(t, snapshot) => {
                self.drain_snapshot(&snapshot);
                if self.closed {
                    t.complete(FlushOutcome::Gone);
                } else {
                    self.tickets.push(t);
                }
            }
            Msg::Shutdown(t, snapshot) => {
                self.drain_snapshot(&snapshot);
                if self.closed {
                    t.complete(FlushOutcome::Done);
                } else {
                    self.shutdown = Some(t);
                }
            }
        }
    }

    /// Everything before the shutdown request is written: close the sinks
    /// and answer. The thread stays to count (as dropped) what is still
    /// logged and to answer flushes, until the last handle is gone.
    fn close(&mut self, ticket: FlushTicket) {
        self.sinks.clear();
        self.closed = true;
        ticket.complete(self.take_outcome());
    }

    /// The answer to a flush: done, or how many records were lost since the
    /// previous answer.
    fn take_outcome(&mut self) -> FlushOutcome {
        match std::mem::take(&mut self.lost_since_flush) {
            0 => FlushOutcome::Done,
            lost => FlushOutcome::Lost(lost),
        }
    }

    /// The closed logger's sleep: callers wake it when they log.
    fn wait_closed(&mut self) {
        self.shared.parked.store(true, Ordering::SeqCst);
        if self.rx.is_empty() && !self.rings_pending() {
            thread::park_timeout(DEEP_MAX);
        }
        self.shared.parked.store(false, Ordering::SeqCst);
    }

    /// Every handle is gone: write what is left, giving failing sinks until
    /// the shutdown timeout, then exit.
    fn begin_stop(&mut self) {
        if !self.disconnected {
            self.disconnected = true;
            self.shared.set_deadline(Instant::now() + self.shutdown_timeout);
        }
    }

    fn format_record(&mut self, rec: &RecordRef<'_>) {
        let level = rec.level;
        if let [only @ SinkSlot { format: SinkFormat::Json, .. }] = self.sinks.as_mut_slice() {
            // The common case: one NDJSON sink, formatted in place.
            if level >= only.min {
                let before = only.buf.len();
                self.format.format(rec, &mut only.buf);
                self.batch_bytes += only.buf.len() - before;
            }
            return;
        }
        let mut line_ready = false;
        for s in &mut self.sinks {
            if level < s.min {
                continue;
            }
            let before = s.buf.len();
            match &mut s.format {
                SinkFormat::Json => {
                    if !line_ready {
                        self.line.clear();
                        self.format.format(rec, &mut self.line);
                        line_ready = true;
                    }
                    s.buf.extend(self.line.as_slice());
                }
                SinkFormat::Console(c) => c.format(rec, &mut s.buf),
                #[cfg(unix)]
                SinkFormat::Syslog(f) => f.format(&mut self.format, rec, &mut s.buf),
            }
            self.batch_bytes += s.buf.len() - before;
        }
    }

    /// Adapts the poll interval so the queue stays well below full.
    fn adapt_poll(&mut self, waiting: u64) {
        let cap = self.shared.capacity as u64;
        if waiting > cap / 4 {
            self.poll = (self.poll / 2).max(MIN_POLL);
        } else if waiting < cap / 16 {
            self.poll = (self.poll * 2).min(MAX_POLL);
        }
    }

    /// Sleeps until the next poll, or deeply (woken by callers) when idle.
    fn wait(&mut self, idle: bool) {
        let now = Instant::now();
        if !idle {
            self.idle_since = None;
        } else if now.duration_since(*self.idle_since.get_or_insert(now)) >= DEEP_AFTER {
            self.shared.parked.store(true, Ordering::SeqCst);
            if self.rx.is_empty() && !self.rings_pending() {
                thread::park_timeout(DEEP_MAX);
            }
            self.shared.parked.store(false, Ordering::SeqCst);
            self.shared.nudged.store(false, Ordering::Release);
            return;
        }
        thread::park_timeout(self.poll);
        self.shared.nudged.store(false, Ordering::Release);
    }

    /// Writes a `logjet dropped N records` notice if callers dropped
    /// records since the last one (coalesced unless `force`).
    fn report_drops(&mut self, force: bool) {
        let dropped = self.shared.dropped.load(Ordering::Relaxed);
        if dropped <= self.reported_drops {
            return;
        }
        let now = Instant::now();
        if !force && self.last_drop_report.is_some_and(|t| now.duration_since(t) < DROP_REPORT_EVERY) {
            return;
        }
        let n = dropped - self.reported_drops;
        self.reported_drops = dropped;
        self.last_drop_report = Some(now);
        let mut rec = Capture::new(Level::Warn, crate::clock::system_nanos());
        rec.u64("dropped", n);
        rec.msg_fmt(format_args!("logjet dropped {n} records"));
        self.format_record(&rec.as_ref());
    }

    /// Writes every sink buffer out, retrying failures, then completes the
    /// flush tickets that were waiting for these records.
    fn write_batch(&mut self) {
        let mut all_written = true;
        for i in 0..self.sinks.len() {
            if !self.write_sink(i) {
                all_written = false;
            }
        }
        let n = std::mem::take(&mut self.batch_records);
        self.batch_bytes = 0;
        let c = &self.shared.counters;
        if all_written {
            c.written.fetch_add(n, Ordering::Relaxed);
        } else {
            // A record counts as written only when every sink that takes
            // it has it; the sink that lost it was reported already.
            c.lost.fetch_add(n, Ordering::Relaxed);
            self.lost_since_flush += n;
            if n > 0 && self.gave_up {
                report(format_args!("{n} records could not be written before the shutdown deadline and are dropped"));
            }
        }
        if !self.tickets.is_empty() {
            let outcome = self.take_outcome();
            for t in self.tickets.drain(..) {
                t.complete(outcome);
            }
        }
    }

    /// Writes one sink's buffer, retrying with backoff. Returns false when
    /// the records in it are lost: the sink's reader is gone for good
    /// (`EPIPE`), or a shutdown deadline passed with the sink still failing.
    fn write_sink(&mut self, i: usize) -> bool {
        let mut backoff = BACKOFF_MIN;
        loop {
            let s = &mut self.sinks[i];
            if s.broken {
                let had_records = !s.buf.is_empty();
                s.reset_buf();
                return !had_records;
            }
            if s.done >= s.buf.len() && !s.needs_flush {
                s.reset_buf();
                return true;
            }
            let attempt = if s.done < s.buf.len() {
                let (out, pending) = (&mut s.out, &s.buf.as_slice()[s.done..]);
                catch_unwind(AssertUnwindSafe(|| out.write(pending)))
            } else {
                let out = &mut s.out;
                catch_unwind(AssertUnwindSafe(|| out.flush().map(|()| 0)))
            };
            let err = match attempt {
                Ok(Ok(0)) if s.done < s.buf.len() => {
                    io::Error::new(io::ErrorKind::WriteZero, "the sink accepted no bytes")
                }
                Ok(Ok(n)) => {
                    if s.done < s.buf.len() {
                        s.done += n;
                        self.shared.counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
                        s.needs_flush = true;
                    } else {
                        s.needs_flush = false;
                    }
                    if s.failing {
                        s.failing = false;
                        let n = std::mem::take(&mut s.failures);
                        // A reported failure always gets its recovery line.
                        if std::mem::take(&mut s.failure_reported) {
                            s.reports.force(&s.name, format_args!("writable again after {n} failed attempts"));
                        } else {
                            s.reports.suppressed += 1;
                        }
                    }
                    backoff = BACKOFF_MIN;
                    continue;
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => e,
                Err(panic) => io::Error::other(format!("the sink panicked: {}", panic_message(&*panic))),
            };
            self.shared.counters.write_errors.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            let s = &mut self.sinks[i];
            s.failures += 1;
            if err.kind() == io::ErrorKind::BrokenPipe {
                // Nobody can ever read this pipe again: waiting for it would
                // only block the callers once the queue is full.
                s.broken = true;
                s.reports.force(
                    &s.name,
                    format_args!(
                        "{err}: the reader is gone; records for this sink are dropped and counted from now on"
                    ),
                );
                continue;
            }
            if !s.failing {
                s.failing = true;
                s.failure_reported = s.reports.say(
                    &s.name,
                    format_args!("write failed: {err}; retrying with backoff (records wait in the queue)"),
                );
            } else {
                let n = s.failures;
                s.reports.say(&s.name, format_args!("still failing: {err} ({n} failed attempts so far)"));
            }
            if self.gave_up || self.shared.deadline().is_some_and(|d| now >= d) {
                self.gave_up = true;
                s.reset_buf();
                return false;
            }
            let sleep = match self.shared.deadline() {
                Some(d) => backoff.min(d.saturating_duration_since(now)),
                None => backoff,
            };
            thread::park_timeout(sleep);
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }
}

/// The message of a panic payload.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}
