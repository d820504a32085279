//! The writer thread (`logjet-writer`): on every pass it reads the control
//! channel first (flushes, shutdowns, records of exiting threads), then
//! takes the due records from every thread's queue in time order
//! ([`crate::merge`]), formats each for its sinks into the batch, and hands
//! full batches to the output thread ([`crate::output`]), which writes
//! them. It also writes the drop notices.
//!
//! A pass formats at most one batch ([`BATCH_BYTES`]), so a control message
//! waits at most one batch of formatting before it is read, whatever the
//! load. A flush then takes the records queued before it was asked for (and
//! only those, in time order), so it is answered in time proportional to
//! what was queued, never to how long the load lasts.

use crate::record::ItemWriter as _;
use std::io;
use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use crossbeam_channel::{Receiver, TryRecvError};

use crate::control::{FlushOutcome, FlushTicket, Msg};
use crate::format::json::JsonFormat;
use crate::format::Formats;
use crate::level::Level;
use crate::merge::{Due, Merge};
use crate::output::{Batch, Output, SinkIo};
use crate::record::{Capture, RecordRef};
use crate::report::{mark_logjet_thread, panic_message, report};
use crate::shared::{Shared, Snapshot};
use crate::sink::private::Target;
use crate::tunables::{BATCH_BYTES, DEEP_AFTER, DEEP_MAX, DROP_REPORT_EVERY, MAX_POLL, MIN_POLL, ORDER_WINDOW};

/// Formats records into the batch: what the merge hands each record to.
struct Formatter {
    shared: Arc<Shared>,
    /// Every sink's formatter.
    formats: Formats,
    /// The batch being formatted: one buffer per sink, the records in it
    /// and the flushes waiting for them.
    batch: Batch,
    batch_bytes: usize,
    /// Turns the caller's clock readings into wall-clock time.
    clock: crate::clock::Converter,
    /// Shut down: records are counted as dropped instead.
    closed: bool,
    /// Redaction, when paths are configured (`crate::redact`): applied
    /// once per record, before every sink's format.
    redact: Option<Box<crate::redact::RedactState>>,
}

impl Formatter {
    /// Takes one record: formats it (or, once closed, counts it as
    /// dropped). Breaks when the batch is full.
    fn take(&mut self, rec: &RecordRef<'_>) -> ControlFlow<()> {
        if self.closed {
            self.shared.counters.lost.fetch_add(1, Ordering::Relaxed);
            self.shared.warn_late();
            return ControlFlow::Continue(());
        }
        if rec.line {
            self.copy_line(rec);
        } else {
            let rec = RecordRef { time: self.clock.to_nanos(rec.time), ..*rec };
            if self.redact.is_none() {
                self.format(&rec);
            } else {
                self.format_redacted(&rec);
            }
        }
        self.batch.records += 1;
        if self.batch_bytes >= BATCH_BYTES {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Copies a line the caller formatted to every sink that takes it.
    fn copy_line(&mut self, rec: &RecordRef<'_>) {
        self.batch_bytes += self.formats.copy_line(rec, &mut self.batch.bufs);
    }

    /// Formats a record with what the redact paths name hidden.
    #[inline(never)]
    fn format_redacted(&mut self, rec: &RecordRef<'_>) {
        if let Some(state) = self.redact.as_deref_mut() {
            self.batch_bytes += self.formats.format_redacted(state, rec, &mut self.batch.bufs);
        }
    }

    /// Formats a record (its time already converted) for every sink that
    /// takes its level.
    #[inline]
    fn format(&mut self, rec: &RecordRef<'_>) {
        self.batch_bytes += self.formats.format(rec, &mut self.batch.bufs);
    }
}

/// What the writer thread owns.
pub(crate) struct Writer {
    rx: Receiver<Msg>,
    shared: Arc<Shared>,
    /// Every thread's queue, read in time order.
    queues: Merge,
    fmt: Formatter,
    /// Writes the batches.
    output: Output,
    /// Every handle is gone.
    disconnected: bool,
    reported_drops: u64,
    last_drop_report: Option<Instant>,
    poll: std::time::Duration,
    idle_since: Option<Instant>,
    shutdown_timeout: std::time::Duration,
    /// [`ORDER_WINDOW`] in the clock's units.
    window: u64,
}

impl Writer {
    /// The writer of a new logger; starts its output thread with the sinks.
    pub(crate) fn new(
        rx: Receiver<Msg>,
        shared: Arc<Shared>,
        format: JsonFormat,
        sinks: Vec<(Level, Target)>,
        shutdown_timeout: std::time::Duration,
        clock: crate::clock::Source,
        redact: Option<Arc<crate::redact::Redactor>>,
    ) -> io::Result<Writer> {
        let mut formats = Vec::with_capacity(sinks.len());
        let mut ios = Vec::with_capacity(sinks.len());
        for (min, t) in sinks {
            formats.push((min, t.format));
            ios.push(SinkIo::new(t.name, t.out));
        }
        let (output, batch) = Output::start(shared.clone(), ios)?;
        let clock = crate::clock::Converter::new(clock);
        shared.publish_calibration(&clock);
        let window = clock.units(ORDER_WINDOW);
        Ok(Writer {
            rx,
            queues: Merge::new(shared.clone()),
            fmt: Formatter {
                shared: shared.clone(),
                formats: Formats::new(format, formats),
                batch,
                batch_bytes: 0,
                clock,
                closed: false,
                redact: redact.map(|r| Box::new(crate::redact::RedactState::new(r))),
            },
            shared,
            output,
            disconnected: false,
            reported_drops: 0,
            last_drop_report: None,
            poll: MAX_POLL,
            idle_since: None,
            shutdown_timeout,
            window,
        })
    }

    pub(crate) fn run(mut self) {
        mark_logjet_thread();
        self.shared.spares.refill();
        // A bug in logjet must not leave callers waiting on a dead queue:
        // after a panic the writer closes and goes on counting and answering.
        while let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.run_loop())) {
            report(format_args!(
                "internal error in the writer thread ({}); the sinks are closed and further records \
                 are counted as dropped. Please report this bug.",
                panic_message(&*panic)
            ));
            let batch = &mut self.fmt.batch;
            let lost = std::mem::take(&mut batch.records);
            self.shared.counters.lost.fetch_add(lost, Ordering::Relaxed);
            for t in batch.tickets.drain(..) {
                t.complete(FlushOutcome::Lost(lost));
            }
            batch.reopens.clear();
            if let Some(t) = batch.close.take() {
                t.complete(FlushOutcome::Lost(lost));
            }
            self.output.finish();
            self.fmt.closed = true;
        }
        // What was handed over is written and the sinks are closed.
        self.output.finish();
        // Nothing reads the queues from now on: callers stop waiting for
        // room and forget their queues.
        self.shared.writer_gone.store(true, Ordering::Release);
        self.queues.orphan_all();
    }

    /// One pass after another: control messages, then the due records.
    fn run_loop(&mut self) {
        loop {
            if self.fmt.clock.maybe_refresh() {
                self.shared.publish_calibration(&self.fmt.clock);
            }
            let controls = self.read_control();
            self.queues.refresh_queues(false);
            let due = if self.disconnected || self.fmt.closed {
                // Nothing new can come (or nothing is written): take all.
                Due::Aged { before: u64::MAX, now: u64::MAX }
            } else {
                let now = self.fmt.clock.now();
                Due::Aged { before: now.saturating_sub(self.window), now }
            };
            let fmt = &mut self.fmt;
            let merged = self.queues.merge(due, |r| fmt.take(r));
            if self.fmt.closed {
                if self.disconnected {
                    break;
                }
                if merged.records == 0 && controls == 0 {
                    self.wait_closed();
                }
                continue;
            }
            let most = (merged.most_waiting as u64).min(self.shared.capacity as u64);
            self.shared.counters.high_water.fetch_max(most, Ordering::Relaxed);
            self.adapt_poll(most);
            let force = !self.fmt.batch.tickets.is_empty() || self.disconnected;
            self.report_drops(force);
            self.write_batch();
            if self.disconnected && !merged.stopped {
                break;
            }
            if !merged.stopped {
                self.wait(merged.records == 0 && controls == 0, merged.held);
            }
        }
    }

    /// Handles every control message waiting. Returns how many there were.
    fn read_control(&mut self) -> usize {
        let mut n = 0;
        loop {
            match self.rx.try_recv() {
                Ok(msg) => {
                    n += 1;
                    self.handle(msg);
                }
                Err(TryRecvError::Empty) => return n,
                Err(TryRecvError::Disconnected) => {
                    self.begin_stop();
                    return n;
                }
            }
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Record(rec) => {
                // A thread whose queue is gone (it is exiting) sent this
                // after the records in its queue: those go first. Then it
                // is taken like any queued record (a full batch is handed
                // over at the end of the pass).
                let before = self.shared.snapshot();
                self.drain_snapshot(&before);
                let _ = self.fmt.take(&rec.as_ref());
            }
            Msg::Flush(t, snapshot) => {
                self.drain_snapshot(&snapshot);
                if self.fmt.closed {
                    t.complete(FlushOutcome::Gone);
                } else {
                    self.fmt.batch.tickets.push(t);
                }
            }
            Msg::Reopen(t, snapshot) => {
                // Like a flush, and the batch ends here: what is logged
                // after the reopen goes to the reopened files.
                self.drain_snapshot(&snapshot);
                if self.fmt.closed {
                    t.complete(FlushOutcome::Gone);
                } else {
                    self.fmt.batch.reopens.push(t);
                    self.hand_over();
                }
            }
            Msg::Shutdown(t, snapshot) => {
                self.drain_snapshot(&snapshot);
                if self.fmt.closed {
                    t.complete(FlushOutcome::Done);
                } else {
                    self.report_drops(true);
                    self.close(t);
                }
            }
        }
    }

    /// Takes every record queued before `snapshot` was made, in time order,
    /// handing full batches over as it goes.
    fn drain_snapshot(&mut self, snapshot: &Snapshot) {
        self.queues.set_flush(snapshot);
        loop {
            let fmt = &mut self.fmt;
            if !self.queues.merge(Due::Flush, |r| fmt.take(r)).stopped {
                return;
            }
            self.hand_over();
        }
    }

    /// Everything before the shutdown request is formatted: the output
    /// thread writes it, closes the sinks and answers. This thread stays to
    /// count (as dropped) what is still logged and to answer flushes, until
    /// the last handle is gone.
    fn close(&mut self, ticket: FlushTicket) {
        self.fmt.batch.close = Some(ticket);
        self.hand_over();
        self.output.finish();
        self.fmt.closed = true;
    }

    /// The closed logger's sleep: callers wake it when they log.
    fn wait_closed(&mut self) {
        self.shared.parked.store(true, Ordering::SeqCst);
        if self.rx.is_empty() && !self.queues.pending() {
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

    /// Adapts the poll interval so the queues stay well below full.
    fn adapt_poll(&mut self, waiting: u64) {
        let cap = self.shared.capacity as u64;
        if waiting > cap / 4 {
            self.poll = (self.poll / 2).max(MIN_POLL);
        } else if waiting < cap / 16 {
            self.poll = (self.poll * 2).min(MAX_POLL);
        }
    }

    /// Sleeps until the next poll, or deeply (woken by callers) when idle.
    /// Records that wait for their turn in time order (`held`) keep the
    /// writer polling: they go out at the next poll, at most
    /// [`MAX_POLL`] later.
    fn wait(&mut self, idle: bool, held: bool) {
        let now = Instant::now();
        if !idle || held {
            self.idle_since = None;
        } else if now.duration_since(*self.idle_since.get_or_insert(now)) >= DEEP_AFTER {
            self.shared.parked.store(true, Ordering::SeqCst);
            if self.rx.is_empty() && !self.queues.pending() {
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
        self.fmt.format(&rec.as_ref());
    }

    /// Hands the batch to the output thread when it holds anything to
    /// write or answer.
    fn write_batch(&mut self) {
        if !self.fmt.batch.is_empty() {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        self.output.swap(&mut self.fmt.batch);
        self.fmt.batch_bytes = 0;
    }
}
