//! The output thread: writes the batches the writer thread formats, in
//! order, retrying failing sinks with backoff, then answers the flush
//! requests that waited for them.
//!
//! Formatting and `write(2)` run on two threads so that one overlaps the
//! other: while a batch is being written, the next is being formatted.
//! Batches travel in a small fixed pool (see [`POOL`]): when every batch is
//! waiting to be written, the writer waits for one to come back, exactly as
//! it used to wait for a slow sink, so the queues in front of it fill and
//! the overflow policy applies.
//!
//! This thread owns every sink. It is marked as a writer thread: a sink
//! that logs never waits on the queues it is draining.

use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::control::{FlushOutcome, FlushTicket};
use crate::record::OutBuf;
use crate::report::{mark_logjet_thread, panic_message, report, Reports};
use crate::shared::Shared;
use crate::sink::private::SinkOut;
use crate::tunables::{BACKOFF_MAX, BACKOFF_MIN, BATCH_BYTES, KEEP_BYTES, POOL};

/// Formatted records on their way to the sinks, and the requests to answer
/// once they are written.
pub(crate) struct Batch {
    /// One buffer per sink, in the order of the sinks.
    pub(crate) bufs: Vec<OutBuf>,
    /// How many records the buffers hold (each in every sink that takes it).
    pub(crate) records: u64,
    /// Flushes waiting for these records.
    pub(crate) tickets: Vec<FlushTicket>,
    /// Reopens waiting for these records: every sink reopens its file
    /// after them (records formatted later are in the next batch), then
    /// each is answered.
    pub(crate) reopens: Vec<FlushTicket>,
    /// A shutdown waiting for these records: the sinks are closed after
    /// them, then it is answered.
    pub(crate) close: Option<FlushTicket>,
}

impl Batch {
    fn new(sinks: usize) -> Batch {
        Batch {
            bufs: (0..sinks).map(|_| OutBuf::with_capacity(BATCH_BYTES + BATCH_BYTES / 4)).collect(),
            records: 0,
            tickets: Vec::new(),
            reopens: Vec::new(),
            close: None,
        }
    }

    /// Whether there is anything to write or answer.
    pub(crate) fn is_empty(&self) -> bool {
        self.records == 0
            && self.tickets.is_empty()
            && self.reopens.is_empty()
            && self.close.is_none()
            && self.bufs.iter().all(OutBuf::is_empty)
    }

    /// Empties the buffers, giving memory back after a huge record.
    fn reset(&mut self) {
        for b in &mut self.bufs {
            b.clear();
            b.shrink_to(KEEP_BYTES, BATCH_BYTES + BATCH_BYTES / 4);
        }
        self.records = 0;
    }
}

/// A sink as the output thread sees it.
pub(crate) struct SinkIo {
    pub(crate) name: String,
    pub(crate) out: Box<dyn SinkOut>,
    failing: bool,
    /// Failed attempts since the sink last worked.
    failures: u64,
    /// The reader is gone for good (`EPIPE`).
    broken: bool,
    /// The current failure was reported, so its recovery will be too.
    failure_reported: bool,
    reports: Reports,
}

impl SinkIo {
    pub(crate) fn new(name: String, out: Box<dyn SinkOut>) -> SinkIo {
        SinkIo {
            name,
            out,
            failing: false,
            failures: 0,
            broken: false,
            failure_reported: false,
            reports: Reports::default(),
        }
    }
}

/// The writer thread's end: hands batches over and takes empty ones back.
pub(crate) struct Output {
    /// `None` once the output thread is told to finish.
    tx: Option<Sender<Batch>>,
    back: Receiver<Batch>,
    thread: Option<thread::JoinHandle<()>>,
    sinks: usize,
    shared: Arc<Shared>,
}

impl Output {
    /// Starts the output thread with the sinks. Fails only when the thread
    /// cannot be started.
    pub(crate) fn start(shared: Arc<Shared>, sinks: Vec<SinkIo>) -> io::Result<(Output, Batch)> {
        let n = sinks.len();
        let (tx, rx) = crossbeam_channel::bounded::<Batch>(POOL);
        let (back_tx, back) = crossbeam_channel::bounded::<Batch>(POOL);
        for _ in 1..POOL {
            // Cannot fail: the channel has room for the pool.
            let _ = back_tx.send(Batch::new(n));
        }
        let mut io = OutputThread { shared: shared.clone(), sinks, gave_up: false, lost_since_flush: 0 };
        let thread = thread::Builder::new().name("logjet-output".into()).spawn(move || io.run(rx, back_tx))?;
        let _ = shared.output.set(thread.thread().clone());
        Ok((Output { tx: Some(tx), back, thread: Some(thread), sinks: n, shared }, Batch::new(n)))
    }

    /// Hands `batch` to the output thread and puts an empty one in its
    /// place, waiting for one if every batch is still being written.
    pub(crate) fn swap(&mut self, batch: &mut Batch) {
        let Some(tx) = &self.tx else { return self.lose(batch) };
        let empty = Batch { bufs: Vec::new(), records: 0, tickets: Vec::new(), reopens: Vec::new(), close: None };
        let full = std::mem::replace(batch, empty);
        if let Err(e) = tx.send(full) {
            self.tx = None;
            *batch = e.into_inner();
            return self.lose(batch);
        }
        *batch = match self.back.recv() {
            Ok(b) => b,
            // The output thread is gone (it never exits before `finish`;
            // this is a safety net): keep formatting into a fresh batch.
            Err(_) => Batch::new(self.sinks),
        };
    }

    /// A batch that can no longer be written: its records are lost.
    fn lose(&self, b: &mut Batch) {
        let n = b.records;
        self.shared.counters.lost.fetch_add(n, Ordering::Relaxed);
        for t in b.tickets.drain(..) {
            t.complete(FlushOutcome::Lost(n));
        }
        // Nothing can reopen any more: answered as closed.
        b.reopens.clear();
        if let Some(t) = b.close.take() {
            t.complete(FlushOutcome::Lost(n));
        }
        b.reset();
    }

    /// Lets the output thread write what it has, close the sinks and exit;
    /// waits for it.
    pub(crate) fn finish(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.finish();
    }
}

struct OutputThread {
    shared: Arc<Shared>,
    sinks: Vec<SinkIo>,
    /// Once a deadline passed with a sink still failing, the remaining
    /// records are given up at once instead of retried.
    gave_up: bool,
    /// Records lost since the last flush was answered: the next flush
    /// reports them.
    lost_since_flush: u64,
}

impl OutputThread {
    fn run(&mut self, rx: Receiver<Batch>, back: Sender<Batch>) {
        mark_logjet_thread();
        loop {
            // A sink that batches by time (the OTLP exporter) is flushed
            // when its oldest record reaches its delay, batch or not.
            let next = match self.sinks.iter().filter_map(|s| s.out.due()).min() {
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(due) => rx.recv_deadline(due),
            };
            let mut batch = match next {
                Ok(b) => b,
                Err(RecvTimeoutError::Timeout) => {
                    self.flush_due();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.write(&mut batch))) {
                // A bug here must not leave flushes unanswered.
                report(format_args!(
                    "internal error in the output thread ({}); a batch of records is lost. Please report this bug.",
                    panic_message(&*panic)
                ));
                let n = batch.records;
                self.shared.counters.lost.fetch_add(n, Ordering::Relaxed);
                for t in batch.tickets.drain(..) {
                    t.complete(FlushOutcome::Lost(n));
                }
                for t in batch.reopens.drain(..) {
                    t.complete(FlushOutcome::Failed("internal error in the output thread".into()));
                }
                if let Some(t) = batch.close.take() {
                    self.sinks.clear();
                    t.complete(FlushOutcome::Lost(n));
                }
            }
            batch.reset();
            if back.send(batch).is_err() {
                break;
            }
        }
        // Every handle is gone: what sinks hold goes out, then they close
        // here (files, sockets).
        for i in 0..self.sinks.len() {
            self.flush_sink(i);
        }
        self.sinks.clear();
    }

    /// Flushes the sinks whose held records reached their delay.
    fn flush_due(&mut self) {
        let now = Instant::now();
        for i in 0..self.sinks.len() {
            if self.sinks[i].out.due().is_some_and(|d| d <= now) {
                self.flush_sink(i);
            }
        }
    }

    /// Flushes sink `i` with the usual retries, moving what it dropped to
    /// the lost count.
    fn flush_sink(&mut self, i: usize) {
        let _ = self.write_sink(i, &[], true);
        self.count_dropped(i);
    }

    /// Records sink `i` had taken (counted as written) and dropped since:
    /// counted as lost instead. (A sink counts there only records of
    /// batches already counted as written: those of a batch that failed
    /// are counted with that batch.)
    fn count_dropped(&mut self, i: usize) {
        let n = self.sinks[i].out.take_lost();
        if n > 0 {
            let c = &self.shared.counters;
            let _ = c.written.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| Some(w.saturating_sub(n)));
            c.lost.fetch_add(n, Ordering::Relaxed);
            self.lost_since_flush += n;
        }
    }

    /// Writes every sink's buffer, counts the records, answers the flushes.
    fn write(&mut self, batch: &mut Batch) {
        let mut all_written = true;
        // Someone waits for these records: no sink may hold them back.
        let urgent = !batch.tickets.is_empty()
            || !batch.reopens.is_empty()
            || batch.close.is_some()
            || self.shared.deadline().is_some();
        for (i, buf) in batch.bufs.iter().enumerate() {
            if i < self.sinks.len() && !self.write_sink(i, buf.as_slice(), urgent) {
                all_written = false;
            }
        }
        let n = std::mem::take(&mut batch.records);
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
        for i in 0..self.sinks.len() {
            self.count_dropped(i);
        }
        for t in batch.tickets.drain(..) {
            t.complete(self.take_outcome());
        }
        for t in batch.reopens.drain(..) {
            let outcome = self.reopen();
            t.complete(outcome);
        }
        if let Some(t) = batch.close.take() {
            // Everything before the shutdown request is written.
            self.sinks.clear();
            t.complete(self.take_outcome());
        }
    }

    /// Every sink reopens its file (sinks without a path have nothing to
    /// do). A failure is reported on stderr and answered; the sink keeps
    /// writing where it wrote before.
    fn reopen(&mut self) -> FlushOutcome {
        let mut failed = Vec::new();
        for s in &mut self.sinks {
            let out = &mut s.out;
            let err = match catch_unwind(AssertUnwindSafe(|| out.reopen())) {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e.to_string(),
                Err(panic) => format!("the sink panicked: {}", panic_message(&*panic)),
            };
            s.reports.force(&s.name, format_args!("reopen failed: {err}; writing on to the file open before"));
            failed.push(format!("{}: {err}", s.name));
        }
        if failed.is_empty() {
            FlushOutcome::Done
        } else {
            FlushOutcome::Failed(failed.join("; ").into())
        }
    }

    /// The answer to a flush: done, or how many records were lost since the
    /// previous answer.
    fn take_outcome(&mut self) -> FlushOutcome {
        match std::mem::take(&mut self.lost_since_flush) {
            0 => FlushOutcome::Done,
            lost => FlushOutcome::Lost(lost),
        }
    }

    /// Writes `buf` to sink `i` and flushes it (`urgent`: a flush that no
    /// sink may put off, see `SinkOut::flush_lazy`), retrying with backoff.
    /// An empty `buf` with `urgent` only flushes. Returns false when the
    /// records in it are lost: the sink's reader is gone for good (`EPIPE`),
    /// or a shutdown deadline passed with the sink still failing.
    fn write_sink(&mut self, i: usize, buf: &[u8], urgent: bool) -> bool {
        let mut backoff = BACKOFF_MIN;
        let mut done = 0;
        let mut needs_flush = urgent && buf.is_empty();
        loop {
            let s = &mut self.sinks[i];
            if s.broken {
                return buf.is_empty();
            }
            if done >= buf.len() && !needs_flush {
                return true;
            }
            let attempt = if done < buf.len() {
                let (out, pending) = (&mut s.out, &buf[done..]);
                catch_unwind(AssertUnwindSafe(|| out.write(pending)))
            } else {
                let out = &mut s.out;
                match urgent {
                    true => catch_unwind(AssertUnwindSafe(|| out.flush().map(|()| 0))),
                    false => catch_unwind(AssertUnwindSafe(|| out.flush_lazy().map(|()| 0))),
                }
            };
            let err = match attempt {
                Ok(Ok(0)) if done < buf.len() => io::Error::new(io::ErrorKind::WriteZero, "the sink accepted no bytes"),
                Ok(Ok(n)) => {
                    if done < buf.len() {
                        done += n;
                        self.shared.counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
                        needs_flush = true;
                    } else {
                        needs_flush = false;
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
                let out = &mut self.sinks[i].out;
                let _ = catch_unwind(AssertUnwindSafe(|| out.abandon()));
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
