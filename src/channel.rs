//! What travels from callers to the writer, the overflow policy, the
//! counters, and the protocol that lets a steady stream of records reach the
//! writer without a single syscall on the caller's side.
//!
//! # Waking the writer
//!
//! The writer does not block on the channel (a blocked receiver makes every
//! send pay a futex wake). It sleeps on its own terms instead: after a batch
//! it parks for a short poll interval (adapted to the load, at most
//! [`MAX_POLL`](crate::worker)), so a record logged meanwhile simply waits in
//! the queue. Only after a long idle spell does it announce a deep sleep by
//! setting [`Shared::parked`]; a caller that sees the flag after its send
//! wakes it (one syscall for the first record after an idle spell). A caller
//! that finds the queue full nudges the writer at once, at most once per
//! writer wake-up.
//!
//! Ordering: the writer stores `parked = true` (SeqCst) and then checks that
//! the channel is empty; a caller completes its send (whose tail update is a
//! SeqCst read-modify-write inside crossbeam) and then loads `parked`
//! (SeqCst). One of the two sees the other. The deep sleep is also bounded
//! by a timeout, so even a missed wake-up would only delay the writer.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use crossbeam_utils::CachePadded;

use crate::error::Error;
use crate::filter::Namespaces;
use crate::record::Record;
use crate::ring::{Producer, Ring};
use crate::stats::Stats;

/// What callers do when their thread's queue is full.
///
/// ```
/// use logjet::{Logger, Overflow};
///
/// let (log, _guard) = Logger::builder()
///     .overflow(Overflow::Drop) // never wait; count and report losses
///     .sink(logjet::sink::Writer::new(std::io::sink()))
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overflow {
    /// The caller waits for room: nothing is ever lost while the sinks work.
    #[default]
    Block,
    /// The caller never waits: a record that finds its queue full is dropped
    /// and counted, and once there is room again the writer writes one
    /// warning record `logjet dropped N records`.
    Drop,
}

/// A message to the writer. Records travel inline (no allocation per
/// record), which makes the other variants small in comparison on purpose.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    /// A record from a thread that could not use its own queue.
    Record(Record),
    /// Complete the ticket once every earlier record (every queue up to its
    /// snapshot, and the channel before this message) is on the sinks.
    Flush(FlushTicket, Snapshot),
    /// The same, then close the sinks.
    Shutdown(FlushTicket, Snapshot),
}

thread_local! {
    /// Set on the writer and output threads, so that a sink that logs (or a
    /// panic in a sink) never waits for logjet itself.
    static IN_WRITER: Cell<bool> = const { Cell::new(false) };
}

pub(crate) fn mark_writer_thread() {
    IN_WRITER.with(|c| c.set(true));
}

pub(crate) fn in_writer() -> bool {
    IN_WRITER.with(|c| c.get())
}

/// Counters the writer updates (once per batch, on their own cache line).
#[derive(Default)]
pub(crate) struct WriterCounters {
    pub(crate) written: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    /// Records the writer gave up on (a sink still failing at shutdown).
    pub(crate) lost: AtomicU64,
    pub(crate) high_water: AtomicU64,
}

/// State shared by the callers and the writer thread.
pub(crate) struct Shared {
    /// The writer is in a deep sleep and wants a wake-up after each send.
    pub(crate) parked: CachePadded<AtomicBool>,
    /// A caller found the queue full and has already unparked the writer.
    pub(crate) nudged: CachePadded<AtomicBool>,
    /// Records dropped by callers (full queue under `Drop`, or logged after
    /// shutdown).
    pub(crate) dropped: CachePadded<AtomicU64>,
    pub(crate) counters: CachePadded<WriterCounters>,
    pub(crate) writer: OnceLock<Thread>,
    /// The output thread, woken when a deadline is set.
    pub(crate) output: OnceLock<Thread>,
    pub(crate) capacity: usize,
    /// When set, the writer stops retrying failed sinks at this instant.
    pub(crate) deadline: Mutex<Option<Instant>>,
    late_warned: AtomicBool,
    /// Every thread's queue, for the writer and for flush snapshots.
    pub(crate) rings: Mutex<Vec<Arc<Ring>>>,
    /// Changes whenever a queue is added.
    pub(crate) rings_gen: AtomicU64,
    /// The writer thread has exited: nothing will be read any more.
    pub(crate) writer_gone: AtomicBool,
}

impl Shared {
    pub(crate) fn new(capacity: usize) -> Shared {
        Shared {
            parked: CachePadded::new(AtomicBool::new(false)),
            nudged: CachePadded::new(AtomicBool::new(false)),
            dropped: CachePadded::new(AtomicU64::new(0)),
            counters: CachePadded::new(WriterCounters::default()),
            writer: OnceLock::new(),
            output: OnceLock::new(),
            capacity,
            deadline: Mutex::new(None),
            late_warned: AtomicBool::new(false),
            rings: Mutex::new(Vec::new()),
            rings_gen: AtomicU64::new(0),
            writer_gone: AtomicBool::new(false),
        }
    }

    /// Registers a thread's new queue with the writer.
    fn add_ring(&self, ring: Arc<Ring>) {
        match self.rings.lock() {
            Ok(mut r) => r.push(ring),
            Err(p) => p.into_inner().push(ring),
        }
        self.rings_gen.fetch_add(1, Ordering::Release);
    }

    /// Where every queue ends now.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let rings = match self.rings.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        rings.iter().map(|r| (r.clone(), r.tail())).collect()
    }

    /// Wakes the writer if it announced a deep sleep.
    #[inline]
    pub(crate) fn wake_if_parked(&self) {
        if self.parked.load(Ordering::SeqCst) {
            self.wake_parked();
        }
    }

    #[cold]
    fn wake_parked(&self) {
        if self.parked.swap(false, Ordering::SeqCst) {
            self.unpark();
        }
    }

    /// Wakes the writer because the queue is full, once per writer wake-up.
    #[cold]
    pub(crate) fn nudge(&self) {
        if !self.nudged.swap(true, Ordering::AcqRel) {
            self.unpark();
        }
    }

    /// Wakes the writer now.
    pub(crate) fn unpark(&self) {
        if let Some(t) = self.writer.get() {
            t.unpark();
        }
    }

    /// Sets (or brings forward) the instant after which the writer stops
    /// retrying failing sinks, and wakes it.
    pub(crate) fn set_deadline(&self, at: Instant) {
        if let Ok(mut d) = self.deadline.lock() {
            *d = Some(d.map_or(at, |old| old.min(at)));
        }
        self.unpark();
        if let Some(t) = self.output.get() {
            t.unpark();
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline.lock().ok().and_then(|d| *d)
    }

    /// A record that cannot be queued because the writer thread is gone.
    #[cold]
    pub(crate) fn lost_after_shutdown(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.warn_late();
    }

    /// Says once that records are being dropped because the logger was
    /// shut down.
    pub(crate) fn warn_late(&self) {
        if !self.late_warned.swap(true, Ordering::Relaxed) {
            crate::worker::report(format_args!(
                "a record was logged after the logger was shut down; it is dropped and counted"
            ));
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            written: c.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed) + c.lost.load(Ordering::Relaxed),
            bytes_written: c.bytes.load(Ordering::Relaxed),
            write_errors: c.write_errors.load(Ordering::Relaxed),
            queue_high_water: c.high_water.load(Ordering::Relaxed),
            queue_capacity: self.capacity as u64,
        }
    }
}

/// The caller's side of a logger: the sender, the level and the policy.
/// Every `Logger` clone and child shares one `Core`; when the last one goes,
/// the channel disconnects and the writer finishes.
pub(crate) struct Core {
    /// Identifies the logger in each thread's list of queues.
    pub(crate) id: u64,
    /// The size of each thread's queue, in 8-byte words.
    pub(crate) ring_words: usize,
    /// The lowest level number a record needs to be queued: the larger of
    /// the configured level and the lowest level any sink takes.
    pub(crate) threshold: AtomicU8,
    /// The configured level.
    pub(crate) level: AtomicU8,
    /// The lowest level any sink takes.
    pub(crate) floor: u8,
    pub(crate) overflow: Overflow,
    /// The clock callers read, or `None` when the logger writes no time.
    pub(crate) clock: Option<crate::clock::Source>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) tx: Sender<Msg>,
    pub(crate) shared: Arc<Shared>,
    /// The `DEBUG` namespaces in force.
    pub(crate) debug: RwLock<Namespaces>,
    /// Changed (to a number never used before) at each change of `debug`,
    /// which invalidates every debug handle's cached answer at once.
    pub(crate) debug_gen: AtomicU64,
    /// `debug` has at least one inclusion.
    pub(crate) debug_any: AtomicBool,
    /// `log` records flow through this logger (`init_log`).
    #[cfg(feature = "log")]
    pub(crate) log_bridge: AtomicBool,
}

thread_local! {
    /// This thread's queue for each logger it logs through: (logger id,
    /// producer).
    static PRODUCERS: RefCell<Vec<(u64, Producer)>> = const { RefCell::new(Vec::new()) };
}

/// What a push into this thread's queue came to.
enum Pushed {
    Done,
    Full,
    /// This thread has no usable queue (it is exiting, or is already inside
    /// a push): the record went through the channel instead.
    ViaChannel,
}

impl Core {
    /// Queues a record under the overflow policy.
    #[inline]
    pub(crate) fn send(&self, rec: &Record) {
        match self.push(rec) {
            Pushed::Done => self.shared.wake_if_parked(),
            Pushed::Full => {
                self.full(rec, None);
            }
            Pushed::ViaChannel => {}
        }
    }

    /// Copies the record into this thread's queue, making the queue on the
    /// thread's first record.
    #[inline]
    fn push(&self, rec: &Record) -> Pushed {
        let pushed = PRODUCERS.try_with(|all| {
            let mut all = all.try_borrow_mut().ok()?;
            let i = match all.iter().position(|(id, _)| *id == self.id) {
                Some(i) => i,
                None => self.register(&mut all),
            };
            let (_, producer) = all.get_mut(i)?;
            Some(producer.push(rec))
        });
        match pushed {
            Ok(Some(true)) => Pushed::Done,
            Ok(Some(false)) => Pushed::Full,
            _ => {
                self.send_channel(rec.to_owned_capture());
                Pushed::ViaChannel
            }
        }
    }

    /// Makes this thread's queue for this logger (and forgets the queues of
    /// loggers that are gone). Returns its index.
    #[cold]
    #[inline(never)]
    fn register(&self, all: &mut Vec<(u64, Producer)>) -> usize {
        all.retain(|(_, p)| !p.ring.is_orphaned());
        let ring = Arc::new(Ring::new(self.ring_words));
        self.shared.add_ring(ring.clone());
        all.push((self.id, Producer::new(ring)));
        all.len() - 1
    }

    /// The queue is full: drop and count (`Drop`, or on the writer thread),
    /// or wait for room (`Block`, and `fatal!` until its deadline). Returns
    /// whether the record was queued.
    #[cold]
    #[inline(never)]
    fn full(&self, rec: &Record, deadline: Option<Instant>) -> bool {
        self.shared.counters.high_water.fetch_max(self.shared.capacity as u64, Ordering::Relaxed);
        if (self.overflow == Overflow::Drop && deadline.is_none()) || in_writer() {
            // A sink that logs must never wait for the writer it runs on.
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            self.shared.nudge();
            return false;
        }
        let mut pause = Duration::from_micros(1);
        loop {
            self.shared.nudge();
            if self.shared.writer_gone.load(Ordering::Acquire) {
                self.shared.lost_after_shutdown();
                return false;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(1));
            match self.push(rec) {
                Pushed::Done => {
                    self.shared.wake_if_parked();
                    return true;
                }
                Pushed::Full => {}
                Pushed::ViaChannel => return true,
            }
        }
    }

    /// The slow path, for a thread that cannot use its queue: the record
    /// goes through the control channel, under the same policy.
    #[cold]
    #[inline(never)]
    fn send_channel(&self, rec: Record) {
        match self.tx.try_send(Msg::Record(rec)) {
            Ok(()) => self.shared.unpark(),
            Err(TrySendError::Disconnected(_)) => self.shared.lost_after_shutdown(),
            Err(TrySendError::Full(m)) => {
                if self.overflow == Overflow::Drop || in_writer() {
                    self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    self.shared.nudge();
                } else {
                    self.shared.nudge();
                    if self.tx.send(m).is_err() {
                        self.shared.lost_after_shutdown();
                    }
                }
            }
        }
    }

    /// Queues a record even under `Drop` (for `fatal!`), waiting at most
    /// until `deadline`. Returns false when it could not be queued.
    pub(crate) fn send_wait(&self, rec: &Record, deadline: Instant) -> bool {
        match self.push(rec) {
            Pushed::Done => {
                self.shared.unpark();
                true
            }
            Pushed::Full => self.full(rec, Some(deadline)),
            Pushed::ViaChannel => true,
        }
    }

    /// Sends a control message (flush, shutdown) and waits for the writer
    /// to complete it, at most `timeout` when one is given. The message
    /// carries where every thread's queue ends now: the writer answers once
    /// it has written everything up to there.
    pub(crate) fn control(&self, make: MakeControl, timeout: Option<Duration>) -> Result<(), Error> {
        if in_writer() {
            return Err(Error::from_writer_thread());
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let state = Arc::new(FlushState::default());
        let msg = make(FlushTicket(Some(state.clone())), self.shared.snapshot());
        match self.tx.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Disconnected(_)) => return Err(Error::closed()),
            Err(TrySendError::Full(m)) => {
                self.shared.nudge();
                match deadline {
                    None => self.tx.send(m).map_err(|_| Error::closed())?,
                    Some(d) => self.tx.send_deadline(m, d).map_err(|e| {
                        if e.is_timeout() {
                            Error::timeout(timeout.unwrap_or_default())
                        } else {
                            Error::closed()
                        }
                    })?,
                }
            }
        }
        self.shared.unpark();
        state.wait(deadline, timeout)
    }
}

/// `Msg::Flush` or `Msg::Shutdown`.
pub(crate) type MakeControl = fn(FlushTicket, Snapshot) -> Msg;

/// Where each thread's queue ended when a flush was asked for.
pub(crate) type Snapshot = Vec<(Arc<Ring>, usize)>;

impl Drop for Core {
    fn drop(&mut self) {
        // The last handle is gone: the writer drains what is queued, gives
        // failing sinks until the shutdown timeout, and exits.
        self.shared.set_deadline(Instant::now() + self.shutdown_timeout);
    }
}

/// How a flush ended, as the writer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlushOutcome {
    Done,
    /// Records were given up on (a sink still failing at the deadline).
    Lost(u64),
    /// The writer exited without completing the ticket.
    Gone,
}

#[derive(Default)]
pub(crate) struct FlushState {
    done: Mutex<Option<FlushOutcome>>,
    cv: Condvar,
    /// The task awaiting the answer, for the async flush.
    #[cfg(feature = "tokio")]
    waker: Mutex<Option<std::task::Waker>>,
}

impl FlushOutcome {
    fn into_result(self) -> Result<(), Error> {
        match self {
            FlushOutcome::Done => Ok(()),
            FlushOutcome::Lost(n) => Err(Error::lost(n)),
            FlushOutcome::Gone => Err(Error::closed()),
        }
    }
}

impl FlushState {
    fn set(&self, outcome: FlushOutcome) {
        if let Ok(mut d) = self.done.lock() {
            if d.is_none() {
                *d = Some(outcome);
            }
        }
        self.cv.notify_all();
        #[cfg(feature = "tokio")]
        if let Some(w) = self.waker.lock().ok().and_then(|mut w| w.take()) {
            w.wake();
        }
    }

    fn wait(&self, deadline: Option<Instant>, timeout: Option<Duration>) -> Result<(), Error> {
        let mut d = self.done.lock().map_err(|_| Error::closed())?;
        loop {
            if let Some(outcome) = *d {
                return outcome.into_result();
            }
            d = match deadline {
                None => self.cv.wait(d).map_err(|_| Error::closed())?,
                Some(at) => {
                    let now = Instant::now();
                    if now >= at {
                        return Err(Error::timeout(timeout.unwrap_or_default()));
                    }
                    self.cv.wait_timeout(d, at - now).map_err(|_| Error::closed())?.0
                }
            };
        }
    }
}

/// Sends a control message (flush, shutdown) and waits for the answer
/// without blocking the async runtime: the wait is a future woken by the
/// writer, and only when the queue is full is the send handed to tokio's
/// blocking pool. Must run inside a tokio runtime.
#[cfg(feature = "tokio")]
pub(crate) async fn control_async(core: &Arc<Core>, make: MakeControl) -> Result<(), Error> {
    if in_writer() {
        return Err(Error::from_writer_thread());
    }
    let state = Arc::new(FlushState::default());
    let msg = make(FlushTicket(Some(state.clone())), core.shared.snapshot());
    match core.tx.try_send(msg) {
        Ok(()) => {}
        Err(TrySendError::Disconnected(_)) => return Err(Error::closed()),
        Err(TrySendError::Full(m)) => {
            core.shared.nudge();
            let tx = core.tx.clone();
            if !matches!(tokio::task::spawn_blocking(move || tx.send(m).is_ok()).await, Ok(true)) {
                return Err(Error::closed());
            }
        }
    }
    core.shared.unpark();
    FlushWait { state }.await
}

/// The answer to a flush, as a future.
#[cfg(feature = "tokio")]
struct FlushWait {
    state: Arc<FlushState>,
}

#[cfg(feature = "tokio")]
impl std::future::Future for FlushWait {
    type Output = Result<(), Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let s = &self.state;
        let done = || s.done.lock().ok().and_then(|d| *d);
        if let Some(o) = done() {
            return std::task::Poll::Ready(o.into_result());
        }
        if let Ok(mut w) = s.waker.lock() {
            *w = Some(cx.waker().clone());
        }
        // The writer may have answered between the check and the waker.
        match done() {
            Some(o) => std::task::Poll::Ready(o.into_result()),
            None => std::task::Poll::Pending,
        }
    }
}

/// The writer's side of a flush: completed by the writer, or (if dropped
/// unanswered because the writer went away) completed as `Gone`.
pub(crate) struct FlushTicket(Option<Arc<FlushState>>);

impl FlushTicket {
    pub(crate) fn complete(mut self, outcome: FlushOutcome) {
        if let Some(s) = self.0.take() {
            s.set(outcome);
        }
    }
}

impl Drop for FlushTicket {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            s.set(FlushOutcome::Gone);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_slot_is_four_cache_lines() {
        // The control messages fit in the record's niche: no tag word.
        assert_eq!(std::mem::size_of::<Msg>(), 256);
    }
}
