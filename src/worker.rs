//! The writer thread: drains the queues in batches, formats each record for
//! its sinks, hands full batches to the output thread (which writes them,
//! see [`crate::output`]), reports drops.
//!
//! It owns every sink's formatter and the batch being formatted; callers
//! never touch them.

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
use crate::output::{Batch, Output, SinkIo, BATCH_BYTES};
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

/// The longest the writer sleeps between polls while records keep coming.
pub(crate) const MAX_POLL: Duration = Duration::from_millis(1);
/// The shortest poll, under heavy load.
const MIN_POLL: Duration = Duration::from_micros(20);
/// Idle this long and the writer asks callers to wake it instead of polling.
const DEEP_AFTER: Duration = Duration::from_millis(10);
/// A deep sleep still ends after this long (a safety net, and deadlines).
const DEEP_MAX: Duration = Duration::from_millis(100);
/// The writer gives room back to a queue after this many records.
const RELEASE_EVERY: usize = 32;
/// Drop notices are coalesced over this long (unless a flush is waiting).
const DROP_REPORT_EVERY: Duration = Duration::from_millis(100);

/// Writes a message for the operator on stderr. Never panics.
pub(crate) fn report(args: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "logjet: {args}");
}

/// A sink as the writer thread sees it: its formatter and its level.
struct SinkSlot {
    format: SinkFormat,
    min: Level,
}

/// What the writer thread owns.
pub(crate) struct Worker {
    rx: Receiver<Msg>,
    shared: Arc<Shared>,
    format: JsonFormat,
    sinks: Vec<SinkSlot>,
    /// One formatted line, when it goes to several sinks.
    line: OutBuf,
    /// The batch being formatted: one buffer per sink, the records in it
    /// and the flushes waiting for them.
    batch: Batch,
    batch_bytes: usize,
    /// Writes the batches.
    output: Output,
    /// A shutdown request, answered once the records before it are written.
    shutdown: Option<FlushTicket>,
    /// Shut down: sinks closed, records counted as dropped.
    closed: bool,
    /// Every handle is gone.
    disconnected: bool,
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
    /// The writer of a new logger; starts its output thread with the sinks.
    pub(crate) fn new(
        rx: Receiver<Msg>,
        shared: Arc<Shared>,
        format: JsonFormat,
        sinks: Vec<(Level, Target)>,
        shutdown_timeout: Duration,
        clock: crate::clock::Source,
    ) -> io::Result<Worker> {
        let mut slots = Vec::with_capacity(sinks.len());
        let mut ios = Vec::with_capacity(sinks.len());
        for (min, t) in sinks {
            let format = match t.format {
                Format::Json => SinkFormat::Json,
                Format::Console(style) => SinkFormat::Console(ConsoleFormat::new(style)),
                #[cfg(unix)]
                Format::Syslog(spec) => SinkFormat::Syslog(Box::new(crate::encode::syslog::SyslogFormat::new(*spec))),
            };
            slots.push(SinkSlot { format, min });
            ios.push(SinkIo::new(t.name, t.out));
        }
        let (output, batch) = Output::start(shared.clone(), ios)?;
        Ok(Worker {
            rx,
            shared,
            format,
            sinks: slots,
            line: OutBuf::with_capacity(1024),
            batch,
            batch_bytes: 0,
            output,
            shutdown: None,
            closed: false,
            disconnected: false,
            reported_drops: 0,
            last_drop_report: None,
            poll: MAX_POLL,
            idle_since: None,
            shutdown_timeout,
            clock: crate::clock::Converter::new(clock),
            consumers: Vec::new(),
            rings_seen: u64::MAX,
        })
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
            let lost = std::mem::take(&mut self.batch.records);
            self.shared.counters.lost.fetch_add(lost, Ordering::Relaxed);
            for t in self.batch.tickets.drain(..) {
                t.complete(FlushOutcome::Lost(lost));
            }
            if let Some(t) = self.shutdown.take() {
                t.complete(FlushOutcome::Lost(lost));
            }
            self.output.finish();
            self.closed = true;
        }
        // What was handed over is written and the sinks are closed.
        self.output.finish();
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
            let force = !self.batch.tickets.is_empty() || self.shutdown.is_some() || self.disconnected;
            self.report_drops(force);
            if let Some(t) = self.shutdown.take() {
                self.close(t);
                continue;
            }
            self.write_batch();
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
                self.batch.records += 1;
            }
            if n % RELEASE_EVERY == 0 {
                // Give room back as we go, not only per batch: a caller
                // waiting on a full queue waits for this, not for a batch.
                c.release();
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
                // A thread whose queue is gone (it is exiting) sent this
                // after the records in its queue: those go first.
                let before = self.shared.snapshot();
                self.drain_snapshot(&before);
                rec.time = self.clock.to_nanos(rec.time);
                self.format_record(&rec.as_ref());
                self.batch.records += 1;
            }
            Msg::Flush(t, snapshot) => {
                self.drain_snapshot(&snapshot);
                if self.closed {
                    t.complete(FlushOutcome::Gone);
                } else {
                    self.batch.tickets.push(t);
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

    /// Everything before the shutdown request is formatted: the output
    /// thread writes it, closes the sinks and answers. This thread stays to
    /// count (as dropped) what is still logged and to answer flushes, until
    /// the last handle is gone.
    fn close(&mut self, ticket: FlushTicket) {
        self.batch.close = Some(ticket);
        self.hand_over();
        self.output.finish();
        self.closed = true;
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
        if let ([SinkSlot { format: SinkFormat::Json, min }], [buf]) =
            (self.sinks.as_slice(), self.batch.bufs.as_mut_slice())
        {
            // The common case: one NDJSON sink, formatted in place.
            if level >= *min {
                let before = buf.len();
                self.format.format(rec, buf);
                self.batch_bytes += buf.len() - before;
            }
            return;
        }
        let mut line_ready = false;
        for (s, buf) in self.sinks.iter_mut().zip(self.batch.bufs.iter_mut()) {
            if level < s.min {
                continue;
            }
            let before = buf.len();
            match &mut s.format {
                SinkFormat::Json => {
                    if !line_ready {
                        self.line.clear();
                        self.format.format(rec, &mut self.line);
                        line_ready = true;
                    }
                    buf.extend(self.line.as_slice());
                }
                SinkFormat::Console(c) => c.format(rec, buf),
                #[cfg(unix)]
                SinkFormat::Syslog(f) => f.format(&mut self.format, rec, buf),
            }
            self.batch_bytes += buf.len() - before;
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

    /// Hands the batch to the output thread when it holds anything to
    /// write or answer.
    fn write_batch(&mut self) {
        if !self.batch.is_empty() {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        self.output.swap(&mut self.batch);
        self.batch_bytes = 0;
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
