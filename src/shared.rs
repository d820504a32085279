//! What the callers, the writer thread and the output thread share: the
//! counters, the writer's sleep flags, every thread's queue, the deadline.
//!
//! # Waking the writer
//!
//! The writer does not block on a queue (a blocked receiver makes every
//! send pay a futex wake). It sleeps on its own terms instead: after a pass
//! it parks for a short poll interval (adapted to the load, at most
//! [`MAX_POLL`](crate::tunables::MAX_POLL)), so a record logged meanwhile
//! simply waits in its queue. Only after a long idle spell does it announce
//! a deep sleep by setting [`Shared::parked`]; a caller that sees the flag
//! after its push wakes it (one syscall for the first record after an idle
//! spell). A caller that finds its queue full nudges the writer at once, at
//! most once per writer wake-up.
//!
//! Ordering: the writer stores `parked = true` (SeqCst) and then checks the
//! queues; a caller publishes its record (a Release store of its ring's
//! tail) and then loads `parked` (SeqCst). In a rare interleaving the
//! caller's load can miss the flag; the deep sleep is bounded
//! ([`DEEP_MAX`](crate::tunables::DEEP_MAX)), so a missed wake-up only
//! delays the writer. Flushes and shutdowns wake it explicitly.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use std::time::Instant;

use crossbeam_utils::CachePadded;

use crate::report::report;
use crate::ring::{Queue, Spares};
use crate::stats::Stats;
use crate::sync::lock;

/// Counters the writer and output threads update (once per batch, on their
/// own cache line).
#[derive(Default)]
pub(crate) struct WriterCounters {
    pub(crate) written: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    /// Records given up on (a sink still failing at shutdown, or logged
    /// after it).
    pub(crate) lost: AtomicU64,
    pub(crate) high_water: AtomicU64,
}

/// State shared by the callers and logjet's two threads.
pub(crate) struct Shared {
    /// The writer is in a deep sleep and wants a wake-up after each push.
    pub(crate) parked: CachePadded<AtomicBool>,
    /// A caller found its queue full and has already unparked the writer.
    pub(crate) nudged: CachePadded<AtomicBool>,
    /// Records dropped by callers (full queue under `Drop`, or logged after
    /// shutdown).
    pub(crate) dropped: CachePadded<AtomicU64>,
    /// Records not written on purpose: sampled out, or held back by a
    /// call site's rate limit (`crate::limit`).
    pub(crate) suppressed: CachePadded<AtomicU64>,
    pub(crate) counters: CachePadded<WriterCounters>,
    pub(crate) writer: OnceLock<Thread>,
    /// The output thread, woken when a deadline is set.
    pub(crate) output: OnceLock<Thread>,
    /// Each queue's capacity, in records.
    pub(crate) capacity: usize,
    /// When set, the output thread stops retrying failed sinks at this
    /// instant.
    deadline: Mutex<Option<Instant>>,
    late_warned: AtomicBool,
    /// Every thread's queue, for the writer and for flush snapshots.
    queues: Mutex<Vec<Arc<Queue>>>,
    /// Queues made in advance for threads that start logging.
    pub(crate) spares: Spares,
    /// Changes whenever a queue is added.
    queues_gen: AtomicU64,
    /// The writer thread has exited: nothing will be read any more.
    pub(crate) writer_gone: AtomicBool,
    /// The writer's clock calibration, for callers that format their own
    /// records (`crate::preformat`), and its generation.
    clock: Mutex<Option<crate::clock::Converter>>,
    pub(crate) clock_gen: AtomicU64,
}

/// Where every queue ended when a flush was asked for: (queue, position).
pub(crate) type Snapshot = Vec<(Arc<Queue>, usize)>;

impl Shared {
    /// Shared state for queues that grow up to `queue_words` words.
    pub(crate) fn new(capacity: usize, queue_words: usize) -> Shared {
        Shared {
            parked: CachePadded::new(AtomicBool::new(false)),
            nudged: CachePadded::new(AtomicBool::new(false)),
            dropped: CachePadded::new(AtomicU64::new(0)),
            suppressed: CachePadded::new(AtomicU64::new(0)),
            counters: CachePadded::new(WriterCounters::default()),
            writer: OnceLock::new(),
            output: OnceLock::new(),
            capacity,
            deadline: Mutex::new(None),
            late_warned: AtomicBool::new(false),
            queues: Mutex::new(Vec::new()),
            spares: Spares::new(queue_words),
            queues_gen: AtomicU64::new(0),
            writer_gone: AtomicBool::new(false),
            clock: Mutex::new(None),
            clock_gen: AtomicU64::new(0),
        }
    }

    /// Registers a thread's new queue with the writer.
    pub(crate) fn add_queue(&self, queue: Arc<Queue>) {
        lock(&self.queues).push(queue);
        self.queues_gen.fetch_add(1, Ordering::Release);
    }

    /// Changes whenever a queue is added.
    pub(crate) fn queues_gen(&self) -> u64 {
        self.queues_gen.load(Ordering::Acquire)
    }

    /// Runs `f` on the list of queues (the writer adds the new ones to its
    /// consumers and removes the finished ones).
    pub(crate) fn with_queues<R>(&self, f: impl FnOnce(&mut Vec<Arc<Queue>>) -> R) -> R {
        f(&mut lock(&self.queues))
    }

    /// Where every queue ends now.
    pub(crate) fn snapshot(&self) -> Snapshot {
        lock(&self.queues).iter().map(|q| (q.clone(), q.tail())).collect()
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

    /// Wakes the writer because a queue is full, once per writer wake-up.
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

    /// Sets (or brings forward) the instant after which failing sinks are
    /// no longer retried, and wakes both threads.
    pub(crate) fn set_deadline(&self, at: Instant) {
        {
            let mut d = lock(&self.deadline);
            *d = Some(d.map_or(at, |old| old.min(at)));
        }
        self.unpark();
        if let Some(t) = self.output.get() {
            t.unpark();
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        *lock(&self.deadline)
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
            report(format_args!("a record was logged after the logger was shut down; it is dropped and counted"));
        }
    }

    /// The writer's clock calibration and its generation, once published.
    pub(crate) fn calibration(&self) -> Option<(crate::clock::Converter, u64)> {
        // The generation changes under the same lock: the pair is consistent.
        let c = lock(&self.clock);
        Some((c.clone()?, self.clock_gen.load(Ordering::Acquire)))
    }

    /// Publishes the writer's calibration for callers that format their
    /// own records.
    pub(crate) fn publish_calibration(&self, c: &crate::clock::Converter) {
        let mut mine = lock(&self.clock);
        *mine = Some(c.clone());
        self.clock_gen.fetch_add(1, Ordering::Release);
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        let (queues, queue_bytes) = {
            let q = lock(&self.queues);
            (q.len() as u64, q.iter().map(|q| q.bytes() as u64).sum())
        };
        Stats {
            written: c.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed) + c.lost.load(Ordering::Relaxed),
            suppressed: self.suppressed.load(Ordering::Relaxed),
            bytes_written: c.bytes.load(Ordering::Relaxed),
            write_errors: c.write_errors.load(Ordering::Relaxed),
            queue_high_water: c.high_water.load(Ordering::Relaxed),
            queue_capacity: self.capacity as u64,
            queues,
            queue_bytes,
        }
    }
}
