//! The send path: how a captured record gets from the caller into its
//! thread's queue under the overflow policy, and how flushes and shutdowns
//! are asked for.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};

use crate::control::{FlushState, MakeControl, Msg};
use crate::error::Error;
use crate::filter::Namespaces;
use crate::level::Level;
use crate::preformat::{LineFormat, Own, Preformat};
use crate::record::{InPlace, Record, RecordItems, Site};
use crate::report::on_logjet_thread;
use crate::ring::Producer;
use crate::shared::Shared;
use crate::tunables::{BLOCK_PAUSE_MAX, BLOCK_PAUSE_MIN};

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
    /// Waiting callers are served oldest record first, so none starves.
    #[default]
    Block,
    /// The caller never waits: a record that finds its queue full is dropped
    /// and counted, and once there is room again the writer writes one
    /// warning record `logjet dropped N records`.
    Drop,
}

/// The caller's side of a logger: the level, the policy, the control
/// sender. Every `Logger` clone and child shares one `Core`; when the last
/// one goes, the control channel disconnects and the writer finishes.
pub(crate) struct Core {
    /// Identifies the logger in each thread's list of queues.
    pub(crate) id: u64,
    /// The lowest level number a record needs to be queued: the larger of
    /// the configured level and the lowest level any sink takes.
    pub(crate) threshold: AtomicU8,
    /// The threshold the macros compare with: `threshold`, raised above
    /// the sampled levels when a sampler is set (`crate::limit`).
    pub(crate) fast: AtomicU8,
    /// With a sampler, the lowest level that is sampled rather than
    /// refused (`threshold`); `u8::MAX` when nothing is sampled.
    pub(crate) sample_floor: AtomicU8,
    /// The level sampler (`Builder::sample`).
    pub(crate) sampler: Option<crate::limit::Sampler>,
    /// The clock of rate limits when a test drives it (nanoseconds).
    pub(crate) limit_clock: Option<Arc<AtomicU64>>,
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
    /// Set when every sink takes NDJSON: callers format their own records
    /// while the writer is behind.
    pub(crate) preformat: Option<Preformat>,
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

/// This thread's queue for one logger: (logger id, producer, the line
/// format once the thread formatted a record of its own).
type Mine = (u64, Producer, Option<Box<LineFormat>>);

thread_local! {
    /// This thread's queue for each logger it logs through.
    static PRODUCERS: RefCell<Vec<Mine>> = const { RefCell::new(Vec::new()) };
}

/// What a push into this thread's queue came to.
enum Pushed {
    Done,
    Full,
    /// This thread has no usable queue (it is exiting, or is already inside
    /// a push): the record went through the control channel instead.
    ViaChannel,
}

impl Core {
    /// Sets the level threshold (and with it the sampler's thresholds).
    pub(crate) fn set_threshold(&self, threshold: u8) {
        self.threshold.store(threshold, Ordering::Relaxed);
        let (fast, floor) = match self.sampler {
            Some(s) if threshold <= s.level => (s.level + 1, threshold),
            _ => (threshold, u8::MAX),
        };
        self.fast.store(fast, Ordering::Relaxed);
        self.sample_floor.store(floor, Ordering::Relaxed);
    }

    /// The sampler's decision for a record it samples.
    #[cold]
    #[inline(never)]
    pub(crate) fn keep_sampled(&self) -> bool {
        match &self.sampler {
            Some(s) if !s.keep() => {
                self.shared.suppressed.fetch_add(1, Ordering::Relaxed);
                false
            }
            _ => true,
        }
    }

    /// The time rate limits read, in nanoseconds.
    pub(crate) fn limit_now(&self) -> u64 {
        match &self.limit_clock {
            Some(c) => c.load(Ordering::Relaxed),
            None => crate::limit::monotonic_nanos(),
        }
    }

    /// A call site's rate limit: see `crate::limit::RateLimit::admit`; a
    /// record held back is counted as suppressed.
    #[inline(never)]
    pub(crate) fn admit(&self, site: &crate::limit::RateLimit, n: u32, per: Duration) -> Option<u64> {
        let r = site.admit(self.limit_now(), n, per);
        if r.is_none() {
            self.shared.suppressed.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

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

    /// Writes call site `site`'s record `rec`, of `len` payload bytes,
    /// straight into this thread's queue (see `record::InPlace`). While the
    /// writer is behind and callers format their lines (see
    /// `crate::preformat`), its line is formatted here instead: straight
    /// from the call's fields when it can be (see `format::site_line`),
    /// else from a capture of the record. Returns false, having queued
    /// nothing, whenever the common case does not hold (no queue for this
    /// thread yet, no room without growing or waiting, a write in place
    /// failing): the caller then captures the record and
    /// [`send`](Core::send)s it, which handles every case.
    #[inline(always)]
    pub(crate) fn send_in_place(&self, level: Level, len: usize, site: &'static Site, rec: &impl RecordItems) -> bool {
        self.queue_in_place(&ToQueue { level, room: len, how: SiteInPlace { site, rec } })
    }

    /// Writes a record of at most `bound` payload bytes straight into this
    /// thread's queue: `write` writes it (a `tracing` event, whose size is
    /// known only once it is written). Returns false, having queued
    /// nothing, in the cases [`send_in_place`](Core::send_in_place) does,
    /// when callers format their lines (the caller's capture then is), and
    /// when the record does not fit the bound or holds a value only a
    /// capture can (see `record::InPlace`).
    #[cfg(feature = "tracing")]
    #[inline]
    pub(crate) fn send_bounded(&self, level: Level, bound: usize, write: impl Fn(&mut InPlace<'_>)) -> bool {
        self.queue_in_place(&ToQueue { level, room: bound, how: Bounded(write) })
    }

    /// The common part of writing in place: this thread's queue for this
    /// logger (none yet: false), `rec`'s own line when callers format
    /// theirs (see [`WriteInPlace::own_line`]), else `rec` written into
    /// its room in the ring (see `ring::Producer::push_in_place`),
    /// and the writer woken when it sleeps.
    #[inline(always)]
    fn queue_in_place<W: WriteInPlace>(&self, rec: &ToQueue<W>) -> bool {
        let queued = PRODUCERS.try_with(
            #[inline(always)]
            move |all| {
                let mut all = all.try_borrow_mut().ok()?;
                let (_, producer, mine) = self.mine(&mut all)?;
                if let Some(pre) = &self.preformat {
                    if pre.caller_formats(producer) && rec.how.own_line(self, rec.level, pre, producer, mine)? {
                        return Some(true);
                    }
                }
                Some(producer.push_in_place(
                    rec.level,
                    self.now(),
                    rec.room,
                    #[inline(always)]
                    |buf| rec.how.fill(rec.room, &mut InPlace::new(buf)),
                ))
            },
        );
        if queued == Ok(Some(true)) {
            self.shared.wake_if_parked();
            return true;
        }
        false
    }

    /// The writer is behind (or callers format every record): call site
    /// `site`'s line formatted here, straight from the call's fields when
    /// it can be, else from a capture of `rec`, and queued as the line (see
    /// `crate::preformat`). False when it could not be.
    #[inline(never)]
    fn format_own_line(
        &self,
        pre: &Preformat,
        producer: &mut Producer,
        mine: &mut Option<Box<LineFormat>>,
        level: Level,
        site: &'static Site,
        rec: &impl RecordItems,
    ) -> bool {
        if let Some(data) = site.data() {
            let to = Own { shared: &self.shared, producer: &mut *producer, mine: &mut *mine };
            // Formatted but not queued (no room): capturing it would not
            // find room either.
            if let Some(queued) = pre.push_site(to, level, self.now(), data, |line| rec.write_items(line)) {
                return queued;
            }
        }
        let mut captured = Record::new(level, 0);
        rec.write_items(&mut captured);
        pre.push(Own { shared: &self.shared, producer, mine }, &captured, self.now())
    }

    /// Copies the record into this thread's queue, making the queue on the
    /// thread's first record.
    #[inline]
    fn push(&self, rec: &Record) -> Pushed {
        let pushed = PRODUCERS.try_with(|all| {
            let mut all = all.try_borrow_mut().ok()?;
            if self.mine(&mut all).is_none() {
                self.register(&mut all);
            }
            let (_, producer, mine) = self.mine(&mut all)?;
            // The time is read as the record is queued: it then reaches the
            // writer within nanoseconds, which keeps the merge in time order.
            let time = self.now();
            if let Some(pre) = &self.preformat {
                if pre.caller_formats(producer) && pre.push(Own { shared: &self.shared, producer, mine }, rec, time) {
                    return Some(true);
                }
            }
            Some(producer.push(rec, time))
        });
        match pushed {
            Ok(Some(true)) => Pushed::Done,
            Ok(Some(false)) => Pushed::Full,
            _ => {
                let mut copy = rec.to_owned_capture();
                copy.time = self.now();
                self.send_channel(copy);
                Pushed::ViaChannel
            }
        }
    }

    /// Where this logger's queue is in this thread's list, if the thread
    /// has one.
    #[inline(always)]
    fn mine<'a>(&self, all: &'a mut [Mine]) -> Option<&'a mut Mine> {
        // A thread usually logs through one logger: its queue is first.
        if all.first().is_some_and(|first| first.0 == self.id) {
            return all.first_mut();
        }
        all.iter_mut().find(|(id, ..)| *id == self.id)
    }

    /// The clock reading a record gets (0 when the logger writes no time).
    #[inline(always)]
    fn now(&self) -> u64 {
        match self.clock {
            Some(c) => c.now(),
            None => 0,
        }
    }

    /// Makes this thread's queue for this logger (and forgets the queues of
    /// loggers that are gone).
    #[cold]
    #[inline(never)]
    fn register(&self, all: &mut Vec<Mine>) {
        all.retain(|(_, p, _)| !p.queue.is_orphaned());
        let ((queue, producer), low) = self.shared.spares.take();
        self.shared.add_queue(queue);
        all.push((self.id, producer, None));
        if low {
            self.shared.unpark();
        }
    }

    /// The queue is full (at its capacity): drop and count (`Drop`, or on
    /// logjet's own threads), or wait for room (`Block`, and `fatal!` until
    /// its deadline). Returns whether the record was queued.
    ///
    /// A waiting caller sleeps briefly and looks again; the writer serves
    /// the oldest record first, so the waiting thread's records are the
    /// next to go and no producer starves.
    #[cold]
    #[inline(never)]
    fn full(&self, rec: &Record, deadline: Option<Instant>) -> bool {
        self.shared.counters.high_water.fetch_max(self.shared.capacity as u64, Ordering::Relaxed);
        if (self.overflow == Overflow::Drop && deadline.is_none()) || on_logjet_thread() {
            // A sink that logs must never wait for the writer it runs on.
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            self.shared.nudge();
            return false;
        }
        let mut pause = BLOCK_PAUSE_MIN;
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
            pause = (pause * 2).min(BLOCK_PAUSE_MAX);
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
                self.shared.nudge();
                if self.overflow == Overflow::Drop || on_logjet_thread() {
                    self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                } else if self.tx.send(m).is_err() {
                    self.shared.lost_after_shutdown();
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

    /// Makes a control message (flush, shutdown) carrying where every
    /// thread's queue ends now, and sends it if the channel has room.
    /// Returns the state to wait on, and the message back when the channel
    /// is full (the writer has been nudged).
    fn start_control(&self, make: MakeControl) -> Result<(Arc<FlushState>, Option<Msg>), Error> {
        if on_logjet_thread() {
            return Err(Error::from_writer_thread());
        }
        let (state, ticket) = FlushState::new();
        match self.tx.try_send(make(ticket, self.shared.snapshot())) {
            Ok(()) => Ok((state, None)),
            Err(TrySendError::Disconnected(_)) => Err(Error::closed()),
            Err(TrySendError::Full(m)) => {
                self.shared.nudge();
                Ok((state, Some(m)))
            }
        }
    }

    /// Sends a control message (flush, shutdown) and waits for the answer,
    /// at most `timeout` when one is given. The message carries where every
    /// thread's queue ends now: the writer answers once everything up to
    /// there is on the sinks.
    pub(crate) fn control(&self, make: MakeControl, timeout: Option<Duration>) -> Result<(), Error> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let (state, pending) = self.start_control(make)?;
        if let Some(m) = pending {
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
        self.shared.unpark();
        state.wait(deadline, timeout)
    }

    /// Like [`control`](Core::control), without blocking the async
    /// runtime: the wait is a future woken by the answering thread (bounded
    /// by `timeout` without any runtime timer), and only when the control
    /// channel is full is the send handed to tokio's blocking pool (or, on
    /// an executor that is not tokio, made here).
    #[cfg(feature = "tokio")]
    pub(crate) async fn control_async(
        self: &Arc<Self>,
        make: MakeControl,
        timeout: Option<Duration>,
    ) -> Result<(), Error> {
        let (state, pending) = self.start_control(make)?;
        if let Some(t) = timeout {
            state.time_out_after(t);
        }
        if let Some(m) = pending {
            let tx = self.tx.clone();
            let sent = match tokio::runtime::Handle::try_current() {
                Ok(rt) => matches!(rt.spawn_blocking(move || tx.send(m).is_ok()).await, Ok(true)),
                Err(_) => tx.send(m).is_ok(),
            };
            if !sent {
                return Err(Error::closed());
            }
        }
        self.shared.unpark();
        state.wait_async().await
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        // The last handle is gone: the writer drains what is queued, gives
        // failing sinks until the shutdown timeout, and exits.
        self.shared.set_deadline(Instant::now() + self.shutdown_timeout);
    }
}

/// A record [`Core::queue_in_place`] writes: its level, the room it takes
/// in the ring (in bytes: exactly, or at most) and how it is written.
struct ToQueue<W> {
    level: Level,
    room: usize,
    how: W,
}

/// How a record is written in place.
trait WriteInPlace {
    /// Writes the record into its `room` in the ring: how many bytes it
    /// took, or `None` when it could not be written there.
    fn fill(&self, room: usize, w: &mut InPlace<'_>) -> Option<usize>;

    /// While callers format their lines (the writer behind): whether this
    /// record's line was formatted and queued here (if not, the record is
    /// written in place after all); `None` when the record must not be
    /// written in place then.
    fn own_line(
        &self,
        core: &Core,
        level: Level,
        pre: &Preformat,
        producer: &mut Producer,
        mine: &mut Option<Box<LineFormat>>,
    ) -> Option<bool>;
}

/// A macro call site's record, measured: its room exactly.
struct SiteInPlace<'a, R> {
    site: &'static Site,
    rec: &'a R,
}

impl<R: RecordItems> WriteInPlace for SiteInPlace<'_, R> {
    #[inline(always)]
    fn fill(&self, room: usize, w: &mut InPlace<'_>) -> Option<usize> {
        self.rec.write_items(w);
        w.done().then_some(room)
    }

    #[inline(always)]
    fn own_line(
        &self,
        core: &Core,
        level: Level,
        pre: &Preformat,
        producer: &mut Producer,
        mine: &mut Option<Box<LineFormat>>,
    ) -> Option<bool> {
        Some(core.format_own_line(pre, producer, mine, level, self.site, self.rec))
    }
}

/// A record written into a bound by its function (see
/// [`Core::send_bounded`]).
#[cfg(feature = "tracing")]
struct Bounded<F>(F);

#[cfg(feature = "tracing")]
impl<F: Fn(&mut InPlace<'_>)> WriteInPlace for Bounded<F> {
    #[inline(always)]
    fn fill(&self, _room: usize, w: &mut InPlace<'_>) -> Option<usize> {
        (self.0)(w);
        w.written()
    }

    /// Its capture is formatted (the caller writes it again there).
    #[inline(always)]
    fn own_line(
        &self,
        _: &Core,
        _: Level,
        _: &Preformat,
        _: &mut Producer,
        _: &mut Option<Box<LineFormat>>,
    ) -> Option<bool> {
        None
    }
}
