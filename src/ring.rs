//! Per-thread queues: each logging thread's queue for a logger is a chain
//! of bounded single-producer single-consumer rings of 64-bit words that
//! starts small and grows on demand up to the logger's capacity.
//!
//! A caller writes its record straight into its own thread's ring (a
//! macro's record, `Producer::push_in_place`) or copies a captured one in
//! (`Producer::push`), with plain stores, and publishes it with one
//! release store of the ring's tail:
//! no compare-and-swap, no lock, no record-sized moves through a shared
//! channel, and no cache line shared with other producers. The writer
//! thread drains every ring and releases the space with one store of the
//! head per few dozen records. (Measured against the crossbeam channel of
//! 256-byte records it replaces: see `docs/performance.md`.)
//!
//! # Growing
//!
//! A thread's first ring holds [`INITIAL_RING_WORDS`] words (8 KiB), so a
//! thread that logs a few records costs kilobytes and its first record a
//! small allocation. When a record finds the ring full (or too small for
//! it) and the ring is smaller than the capacity, the producer makes a ring
//! twice as large, links it as the old ring's `next` and writes there from
//! then on. Positions are global to the chain (the new ring starts at the
//! old ring's final tail), so a flush snapshot is one number per queue
//! whichever ring it falls in. The consumer reads the old ring to its end,
//! then follows `next`; the old ring is freed when both sides have moved
//! on. Rings only grow: a thread that once had a burst keeps its larger
//! ring until it exits.
//!
//! Entry layout, in words:
//!
//! ```text
//! [header: payload bytes (u32) | level (u8) | kind (u8)] [time] [payload, 8 bytes a word, zero padded]
//! ```
//!
//! `kind` is a record, padding to the end of the ring (the next entry starts
//! at word 0), or a marker for a record too large for the largest ring,
//! which waits in the ring's `big` queue (so that one thread's records stay
//! in order). A marker carries its record's time, so the writer can merge
//! by time without looking into the side queue.
//!
//! # Memory ordering, and the crate's only `unsafe`
//!
//! The words are atomics. Headers, times and padding markers are relaxed
//! atomic stores and loads; a record's payload is written in place through
//! a byte slice of its reserved words (a macro's record) or copied in with
//! one plain `memcpy` (a captured one), and read by the writer in place, as
//! a byte slice of the ring (no copy out). Both are published the same way: by the release store of
//! `tail`, which the consumer's acquire load of `tail` pairs with, and
//! symmetrically the consumer gives space back with a release store of
//! `head`, which the producer's acquire load pairs with before it writes
//! there again. So every plain write of a payload happens before every
//! plain read of it, and every read before the next write of the same
//! words: no data race, given three invariants this module keeps:
//!
//! 1. one [`Producer`] per queue (made only by [`Queue::new`], not
//!    `Clone`), writing only words it reserved between the head it loaded
//!    and the ring's end;
//! 2. one reading [`Consumer`] per queue, ever: the queue's `reader` flag
//!    is taken by the first `Consumer::new`; any later one is inert (reads
//!    nothing, gives nothing back, reports itself finished);
//! 3. a popped record's bytes borrow the consumer (`&mut self`), so the
//!    consumer cannot give their words back (`release`, `refresh`) while
//!    they are read.
//!
//! The three `unsafe` blocks (the slice in `Producer::push_in_place`, the
//! copy in `Producer::write`, the slice in `Consumer::pop`) are the crate's
//! only ones; the rest of the crate denies `unsafe_code`. They pay: see
//! docs/performance.md, "The ring read in place" and "Records written in
//! place".
//!
//! A ring's `next` is set (release, through `OnceLock`) only after its last
//! tail store, so a consumer that sees `next` and then finds the ring empty
//! has read all of it.

#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crossbeam_utils::CachePadded;

use crate::level::Level;
use crate::record::{Capture, RecordRef};
use crate::sync::lock;
pub(crate) use crate::tunables::INITIAL_RING_WORDS;
use crate::tunables::SPARE_QUEUES;

const KIND_RECORD: u64 = 0;
const KIND_PAD: u64 = 1;
const KIND_BIG: u64 = 2;
/// A finished NDJSON line that the caller formatted (see `crate::preformat`).
const KIND_LINE: u64 = 3;

/// Words an entry takes before its payload.
const HEAD_WORDS: usize = 2;

/// One ring of a thread's queue.
pub(crate) struct Ring {
    words: Box<[AtomicU64]>,
    mask: usize,
    /// Next position the producer writes; published with Release.
    tail: CachePadded<AtomicUsize>,
    /// Next position the consumer reads; released with Release.
    head: CachePadded<AtomicUsize>,
    /// Records too large for the ring, in order (each announced by a BIG
    /// entry in the ring).
    big: Mutex<VecDeque<Capture>>,
    /// The larger ring the producer moved on to, set after its last record
    /// here was published.
    next: OnceLock<Arc<Ring>>,
}

impl Ring {
    /// A ring of at least `words` words (rounded up to a power of two, at
    /// least 64) whose positions start at `start`.
    fn new(words: usize, start: usize) -> Ring {
        let n = words.max(64).next_power_of_two();
        Ring {
            words: (0..n).map(|_| AtomicU64::new(0)).collect(),
            mask: n - 1,
            tail: CachePadded::new(AtomicUsize::new(start)),
            head: CachePadded::new(AtomicUsize::new(start)),
            big: Mutex::new(VecDeque::new()),
            next: OnceLock::new(),
        }
    }

    fn len(&self) -> usize {
        self.mask + 1
    }
}

/// One thread's queue for one logger: the ring it writes now, and the
/// states both sides need.
pub(crate) struct Queue {
    /// The ring the producer writes (changed only when it grows).
    current: Mutex<Arc<Ring>>,
    /// The first ring, until the consumer takes it (the producer may have
    /// grown the queue before the writer first looks).
    first: Mutex<Option<Arc<Ring>>>,
    /// The producing thread has exited: once read to the end, the queue
    /// can go.
    closed: AtomicBool,
    /// The logger's writer has exited: producers forget the queue.
    orphaned: AtomicBool,
    /// Bytes of ring the queue holds now (for `Stats` and the tests).
    bytes: AtomicUsize,
    /// Taken by the queue's one reading [`Consumer`] (invariant 2 above).
    reader: AtomicBool,
}

impl Queue {
    /// A queue and its producer; the queue's rings grow up to `max_words`.
    pub(crate) fn new(max_words: usize) -> (Arc<Queue>, Producer) {
        let max_words = max_words.max(64).next_power_of_two();
        let first = Arc::new(Ring::new(INITIAL_RING_WORDS.min(max_words), 0));
        let queue = Arc::new(Queue {
            bytes: AtomicUsize::new(first.len() * 8),
            current: Mutex::new(first.clone()),
            first: Mutex::new(Some(first.clone())),
            closed: AtomicBool::new(false),
            orphaned: AtomicBool::new(false),
            reader: AtomicBool::new(false),
        });
        let producer = Producer { queue: queue.clone(), ring: first, tail: 0, head: 0, max_words };
        (queue, producer)
    }

    /// Marks the queue as no longer read (its logger is gone).
    pub(crate) fn orphan(&self) {
        self.orphaned.store(true, Ordering::Release);
    }

    pub(crate) fn is_orphaned(&self) -> bool {
        self.orphaned.load(Ordering::Acquire)
    }

    /// The published end of the queue (for flush snapshots).
    pub(crate) fn tail(&self) -> usize {
        lock(&self.current).tail.load(Ordering::Acquire)
    }

    /// Bytes of ring memory the queue holds.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// Queues made in advance by the writer thread for threads that log their
/// first record: taking one is a lock and a pop, where making one costs an
/// allocation and the page faults of its first ring on the caller.
pub(crate) struct Spares {
    max_words: usize,
    ready: Mutex<Vec<(Arc<Queue>, Producer)>>,
}

impl Spares {
    /// Spares for queues that grow up to `max_words`.
    pub(crate) fn new(max_words: usize) -> Spares {
        Spares { max_words, ready: Mutex::new(Vec::with_capacity(SPARE_QUEUES)) }
    }

    /// A new queue: a spare when there is one, else made now. The flag
    /// says the spares run low (the writer should make more).
    pub(crate) fn take(&self) -> ((Arc<Queue>, Producer), bool) {
        let (spare, left) = {
            let mut ready = lock(&self.ready);
            (ready.pop(), ready.len())
        };
        let low = left < SPARE_QUEUES / 2;
        match spare {
            Some(q) => (q, low),
            None => (Queue::new(self.max_words), low),
        }
    }

    /// Makes spares until there are [`SPARE_QUEUES`] (on the writer thread).
    pub(crate) fn refill(&self) {
        while lock(&self.ready).len() < SPARE_QUEUES {
            let q = Queue::new(self.max_words);
            lock(&self.ready).push(q);
        }
    }
}

/// The producing thread's side of a queue (kept in a thread-local).
pub(crate) struct Producer {
    pub(crate) queue: Arc<Queue>,
    ring: Arc<Ring>,
    /// Our tail (the ring's, without a load).
    tail: usize,
    /// The head as last seen: refreshed only when the ring looks full.
    head: usize,
    /// The largest ring this queue may have, in words.
    max_words: usize,
}

impl Producer {
    /// Copies the record into the ring, with `time` as its time, and
    /// publishes it, growing the queue when the ring is full and smaller
    /// than the capacity. Returns false when there is no room now.
    #[inline]
    pub(crate) fn push(&mut self, rec: &Capture, time: u64) -> bool {
        let bytes = rec.bytes();
        let n = HEAD_WORDS + bytes.len().div_ceil(8);
        if n > self.ring.len() / 4 {
            return self.push_large(rec, time, n);
        }
        let Some(at) = self.reserve(n) else {
            return self.grow_and_push(rec, time, n);
        };
        self.write(at, KIND_RECORD, rec.level, time, bytes);
        true
    }

    /// Whether the writer is behind: the queue is at its largest and more
    /// than half full (the head is loaded only when our stale copy says so).
    #[inline]
    pub(crate) fn behind(&mut self) -> bool {
        let half = self.ring.len() / 2;
        if self.ring.len() < self.max_words || self.tail - self.head <= half {
            return false;
        }
        self.head = self.ring.head.load(Ordering::Acquire);
        self.tail - self.head > half
    }

    /// Queues a line the caller formatted. Returns false when there is no
    /// room, or when the line is too large for an entry (the caller then
    /// queues the record itself).
    pub(crate) fn push_line(&mut self, level: Level, time: u64, line: &[u8]) -> bool {
        let n = HEAD_WORDS + line.len().div_ceil(8);
        if n > self.ring.len() / 4 {
            return false;
        }
        let Some(at) = self.reserve(n) else { return false };
        self.write(at, KIND_LINE, level, time, line);
        true
    }

    /// Writes a record of at most `len` payload bytes in place: `fill`
    /// writes them straight into the reserved words (a slice of `len`
    /// bytes, at most `u32::MAX`) and returns how many it wrote (a macro's
    /// record: exactly `len`, measured before; a `tracing` event: what it
    /// took of a bound), and the record is published only when it returns
    /// a count. Returns false, having published nothing, when `fill`
    /// returns `None`, when the ring has no room for `len` bytes now, or
    /// when they are more than a quarter of the ring (the caller then
    /// queues a captured copy, which grows the queue or waits).
    #[inline(always)]
    pub(crate) fn push_in_place(
        &mut self,
        level: Level,
        time: u64,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> bool {
        let n = HEAD_WORDS + len.div_ceil(8);
        if n > self.ring.len() / 4 || len > u32::MAX as usize {
            return false;
        }
        let Some(at) = self.reserve(n) else { return false };
        let w = &self.ring.words;
        let Some(dst) = w.get(at + HEAD_WORDS..at + n) else { return false };
        let len = len.min(dst.len() * 8);
        // SAFETY: `dst` is a bounds-checked slice of this ring's words
        // holding at least `len` bytes (`AtomicU64` has the layout of `u64`
        // and its bytes are initialized; the atomics are `UnsafeCell`s, so
        // writing through a pointer derived from a shared reference is
        // allowed). Nothing else accesses these words while the slice
        // lives: they lie in the space `reserve` found free, which the one
        // consumer gave back with its release store of `head` (loaded with
        // acquire) and will not read before the release store of `tail`
        // below (invariants 1 and 2 in the module docs); the slice borrows
        // `self`, the queue's only producer, and ends with `fill`.
        let bytes = unsafe { std::slice::from_raw_parts_mut(dst.as_ptr() as *mut u8, len) };
        let Some(used) = fill(bytes) else { return false };
        // What was written, in whole words (`fill` cannot say more than it
        // was given; the words past them were reserved, not published).
        let used = used.min(len);
        let header = (used as u64 & 0xFFFF_FFFF) | ((level as u64) << 32) | (KIND_RECORD << 40);
        w[at].store(header, Ordering::Relaxed);
        w[at + 1].store(time, Ordering::Relaxed);
        self.tail = self.tail + HEAD_WORDS + used.div_ceil(8);
        self.ring.tail.store(self.tail, Ordering::Release);
        true
    }

    /// Writes an entry of `bytes` at `at` (from
    /// [`reserve`](Producer::reserve)) and publishes it (what follows them
    /// in their last word is never read).
    #[inline(always)]
    fn write(&mut self, at: usize, kind: u64, level: Level, time: u64, bytes: &[u8]) {
        let len = bytes.len();
        let n = HEAD_WORDS + len.div_ceil(8);
        let w = &self.ring.words;
        let header = (len as u64 & 0xFFFF_FFFF) | ((level as u64) << 32) | (kind << 40);
        w[at].store(header, Ordering::Relaxed);
        w[at + 1].store(time, Ordering::Relaxed);
        let dst = &w[at + HEAD_WORDS..at + n];
        let count = len.min(dst.len() * 8);
        // SAFETY: `dst` is a bounds-checked slice of this ring's words and
        // `count` bytes fit in it; `bytes` is a separate buffer (no
        // overlap). Writing through a pointer derived from `&[AtomicU64]` is
        // allowed (the atomics are `UnsafeCell`s, with the layout of `u64`).
        // No other access to these words races with the copy: they lie in
        // the space `reserve` found free, which the one consumer gave back
        // with its release store of `head` (loaded with acquire) and will
        // not read before the release store of `tail` below (invariants 1
        // and 2 in the module docs).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.as_ptr() as *mut u8, count) };
        self.tail += n;
        self.ring.tail.store(self.tail, Ordering::Release);
    }

    /// Finds room for an entry of `n` words (writing padding to the end of
    /// the ring when it would wrap); returns the index of its first word.
    #[inline]
    fn reserve(&mut self, n: usize) -> Option<usize> {
        let ring = &*self.ring;
        let size = ring.len();
        let idx = self.tail & ring.mask;
        let to_end = size - idx;
        let need = if n > to_end { to_end + n } else { n };
        if size - (self.tail - self.head) < need {
            self.head = ring.head.load(Ordering::Acquire);
            if size - (self.tail - self.head) < need {
                return None;
            }
        }
        if n > to_end {
            ring.words[idx].store((to_end as u64) | (KIND_PAD << 40), Ordering::Relaxed);
            self.tail += to_end;
            return Some(0);
        }
        Some(idx)
    }

    /// The ring is full: grow it if it may grow, then push.
    #[cold]
    #[inline(never)]
    fn grow_and_push(&mut self, rec: &Capture, time: u64, n: usize) -> bool {
        if self.ring.len() >= self.max_words {
            return false;
        }
        self.grow(n);
        self.push(rec, time)
    }

    /// A record larger than a quarter of the ring: a larger ring when the
    /// queue may grow, else the side queue.
    #[cold]
    #[inline(never)]
    fn push_large(&mut self, rec: &Capture, time: u64, n: usize) -> bool {
        if self.ring.len() < self.max_words {
            self.grow(n);
            if n <= self.ring.len() / 4 {
                return self.push(rec, time);
            }
        }
        self.push_big(rec, time)
    }

    /// Moves on to a ring at least twice as large (and at least four times
    /// `n` words), up to the capacity.
    fn grow(&mut self, n: usize) {
        let words = (self.ring.len() * 2).max((4 * n).next_power_of_two()).min(self.max_words);
        let next = Arc::new(Ring::new(words, self.tail));
        // The consumer reads this ring to its end before it follows `next`;
        // `set` fails only if `next` was set, which only this producer does.
        let _ = self.ring.next.set(next.clone());
        *lock(&self.queue.current) = next.clone();
        self.queue.bytes.store(next.len() * 8, Ordering::Relaxed);
        self.ring = next;
        self.head = self.tail;
    }

    /// A record larger than a quarter of the largest ring: it waits in the
    /// ring's `big` queue, announced in order by a marker entry.
    fn push_big(&mut self, rec: &Capture, time: u64) -> bool {
        let Some(at) = self.reserve(HEAD_WORDS) else { return false };
        let mut copy = rec.to_owned_capture();
        copy.time = time;
        lock(&self.ring.big).push_back(copy);
        self.ring.words[at].store(KIND_BIG << 40, Ordering::Relaxed);
        self.ring.words[at + 1].store(time, Ordering::Relaxed);
        self.tail += HEAD_WORDS;
        self.ring.tail.store(self.tail, Ordering::Release);
        true
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.queue.closed.store(true, Ordering::Release);
    }
}

/// The consumer's side of a queue (owned by the writer thread).
pub(crate) struct Consumer {
    pub(crate) queue: Arc<Queue>,
    ring: Arc<Ring>,
    head: usize,
    /// The tail as last loaded.
    tail: usize,
    big: Option<Capture>,
    /// This consumer took the queue's `reader` flag: it is the queue's one
    /// reader. Otherwise it is inert (invariant 2 in the module docs).
    reader: bool,
}

impl Consumer {
    /// The queue's reader, starting at its first ring. A queue has one
    /// reader, ever: a consumer made for a queue that already has one reads
    /// nothing and is [`finished`](Consumer::finished) at once (the writer
    /// makes one per queue, so this does not happen; it keeps the in-place
    /// reads sound whatever the callers do).
    pub(crate) fn new(queue: Arc<Queue>) -> Consumer {
        let reader = !queue.reader.swap(true, Ordering::AcqRel);
        let first = lock(&queue.first).take();
        let ring = first.unwrap_or_else(|| lock(&queue.current).clone());
        let head = ring.head.load(Ordering::Acquire);
        Consumer { queue, ring, head, tail: head, big: None, reader }
    }

    /// Loads the published tail, following the chain to a newer ring once
    /// this one is read to its end; returns whether anything is waiting.
    pub(crate) fn refresh(&mut self) -> bool {
        if !self.reader {
            return false;
        }
        loop {
            self.tail = self.ring.tail.load(Ordering::Acquire);
            if self.head < self.tail {
                return true;
            }
            let Some(next) = self.ring.next.get().cloned() else { return false };
            // `next` was set after the last record here: read the tail again.
            self.tail = self.ring.tail.load(Ordering::Acquire);
            if self.head < self.tail {
                return true;
            }
            self.release();
            self.ring = next;
        }
    }

    /// Where the consumer is (a position in the queue, comparable with
    /// [`Queue::tail`]).
    pub(crate) fn head(&self) -> usize {
        self.head
    }

    /// The producer exited and everything it queued was read.
    pub(crate) fn finished(&mut self) -> bool {
        !self.reader || (self.queue.is_closed() && !self.refresh())
    }

    /// Words waiting (as of the last refresh).
    pub(crate) fn waiting_words(&self) -> usize {
        self.tail - self.head
    }

    /// Whether the ring (as of the last refresh) is more than half full:
    /// its producer may be about to wait for room.
    pub(crate) fn pressed(&self) -> bool {
        (self.tail - self.head) * 2 > self.ring.len()
    }

    /// The next entry that is not padding (as of the last refresh): its
    /// index and header word.
    #[inline]
    fn next_entry(&mut self) -> Option<(usize, u64)> {
        loop {
            if self.head >= self.tail {
                return None;
            }
            let at = self.head & self.ring.mask;
            let header = self.ring.words[at].load(Ordering::Relaxed);
            if (header >> 40) & 0xFF != KIND_PAD {
                return Some((at, header));
            }
            self.head += (header & 0xFFFF_FFFF) as usize;
        }
    }

    /// The time of the next record (as of the last refresh), if any.
    #[inline]
    pub(crate) fn peek_time(&mut self) -> Option<u64> {
        let (at, _) = self.next_entry()?;
        Some(self.ring.words[at + 1].load(Ordering::Relaxed))
    }

    /// The time of the next record, looking at the published tail (and
    /// following the chain) when the last refresh's records are all read.
    #[inline]
    pub(crate) fn next_time(&mut self) -> Option<u64> {
        match self.peek_time() {
            Some(t) => Some(t),
            None if self.refresh() => self.peek_time(),
            None => None,
        }
    }

    /// The next record (as of the last refresh), if any.
    pub(crate) fn pop(&mut self) -> Option<RecordRef<'_>> {
        loop {
            let (at, header) = self.next_entry()?;
            let ring = &*self.ring;
            let kind = (header >> 40) & 0xFF;
            if kind == KIND_BIG {
                self.head += HEAD_WORDS;
                let Some(rec) = lock(&ring.big).pop_front() else { continue };
                let rec = self.big.insert(rec);
                return Some(rec.as_ref());
            }
            let len = (header & 0xFFFF_FFFF) as usize;
            let level = Level::from_number(((header >> 32) & 0xFF) as u8).unwrap_or(Level::Info);
            let time = ring.words[at + 1].load(Ordering::Relaxed);
            let n = HEAD_WORDS + len.div_ceil(8);
            // Only published words, and only this ring's: a header that
            // said otherwise (none does) ends the reading here.
            let Some(src) = ring.words.get(at + HEAD_WORDS..at + n).filter(|_| self.head + n <= self.tail) else {
                self.head = self.tail;
                return None;
            };
            let len = len.min(src.len() * 8);
            self.head += n;
            // SAFETY: `src` is a bounds-checked slice of this ring's words
            // holding at least `len` bytes, read as bytes (`AtomicU64` has
            // the layout of `u64`; the atomics are `UnsafeCell`s, so reading
            // through a pointer derived from a shared reference is
            // allowed). These words were published by the producer's
            // release store of `tail`, which `refresh` loaded with acquire,
            // so its plain copy happens before this read; and the producer
            // writes them again only after a release store of `head` by
            // this consumer (the queue's only reader, `self.reader`), which
            // cannot happen while the slice borrows `self` (invariants 1 to
            // 3 in the module docs). So nothing writes them while they are
            // read.
            let items = unsafe { std::slice::from_raw_parts(src.as_ptr() as *const u8, len) };
            return Some(RecordRef { level, time, items, line: kind == KIND_LINE });
        }
    }

    /// Gives the space read so far back to the producer.
    pub(crate) fn release(&mut self) {
        self.big = None;
        if self.reader {
            self.ring.head.store(self.head, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ItemWriter as _;

    fn rec(i: u64, pad: usize) -> Capture {
        let mut c = Capture::new(Level::Warn, i);
        c.u64("i", i);
        c.str("s", &fill(i).repeat(pad));
        c
    }

    /// The letter record `i`'s string is made of: a stale or torn read
    /// shows as another letter.
    fn fill(i: u64) -> String {
        char::from(b'a' + (i % 26) as u8).to_string()
    }

    fn decode(p: &RecordRef<'_>) -> (u64, usize) {
        let items: Vec<_> = crate::record::Items::new(p.bytes()).collect();
        assert_eq!(items.len(), 2, "record {} has only its own items", p.time);
        let crate::record::Item::Field(_, crate::record::Val::U64(i), _) = items[0] else { panic!() };
        let crate::record::Item::Field(_, crate::record::Val::Str(s), _) = items[1] else { panic!() };
        assert_eq!(p.time, i);
        assert_eq!(p.level, Level::Warn);
        assert!(s.iter().all(|&b| b == fill(i).as_bytes()[0]), "record {i} read torn or stale");
        (i, s.len())
    }

    /// Reads everything published; checks order and sizes.
    fn read_all(c: &mut Consumer, next: &mut u64, pads: &mut VecDeque<usize>) {
        c.refresh();
        loop {
            if c.peek_time().is_none() && !c.refresh() {
                break;
            }
            let expect = *next;
            assert_eq!(c.peek_time(), Some(expect));
            let Some(r) = c.pop() else { break };
            assert_eq!(decode(&r), (expect, pads.pop_front().unwrap()));
            *next += 1;
        }
        c.release();
    }

    /// Pushes records of every size (some too big for the ring) through a
    /// small ring with `push`, reading now and then; checks every record
    /// read, in order. Returns the producer, the consumer and the count.
    fn wrap_around(mut push: impl FnMut(&mut Producer, u64, usize) -> bool) -> (Producer, Consumer, u64) {
        let (queue, mut p) = Queue::new(256);
        let mut c = Consumer::new(queue.clone());
        let mut next = 0u64;
        let mut sent = 0u64;
        let mut pads = VecDeque::new();
        let rounds = if cfg!(miri) { 200 } else { 2000u64 };
        for round in 0..rounds {
            let pad = ((round * 37) % 700) as usize; // some too big for the ring
            if push(&mut p, sent, pad) {
                sent += 1;
                pads.push_back(pad);
            }
            if round % 3 == 0 {
                read_all(&mut c, &mut next, &mut pads);
            }
        }
        read_all(&mut c, &mut next, &mut pads);
        assert_eq!(next, sent);
        assert!(sent > rounds / 2);
        (p, c, sent)
    }

    #[test]
    fn records_of_every_size_wrap_around_in_order() {
        let (p, mut c, _) = wrap_around(|p, i, pad| p.push(&rec(i, pad), i));
        drop(p);
        assert!(c.finished());
    }

    #[test]
    fn a_queue_starts_small_and_grows_to_its_capacity_in_order() {
        // Smaller under Miri (`cargo +nightly miri test --lib ring::`), which
        // runs these tests to check the `unsafe` blocks.
        let max = if cfg!(miri) { 4 } else { 64 } * INITIAL_RING_WORDS;
        let (queue, mut p) = Queue::new(max);
        assert_eq!(queue.bytes(), INITIAL_RING_WORDS * 8);
        let mut c = Consumer::new(queue.clone());
        let mut pads = VecDeque::new();
        let mut sent = 0u64;
        // Nobody reads: the queue grows until it holds `max` words.
        while p.push(&rec(sent, (sent % 90) as usize), sent) {
            pads.push_back((sent % 90) as usize);
            sent += 1;
        }
        assert_eq!(queue.bytes(), max * 8);
        assert!(sent as usize > max / 20, "{sent} records in {max} words");
        let mut next = 0;
        read_all(&mut c, &mut next, &mut pads);
        assert_eq!(next, sent);
        assert_eq!(c.head(), queue.tail());
        assert!(p.push(&rec(sent, 1), sent), "room again once read");
    }

    #[test]
    fn a_large_record_grows_the_queue_instead_of_going_aside() {
        let (queue, mut p) = Queue::new(64 * INITIAL_RING_WORDS);
        assert!(p.push(&rec(0, INITIAL_RING_WORDS * 8), 0));
        assert!(queue.bytes() > INITIAL_RING_WORDS * 8);
        assert!(lock(&lock(&queue.current).big).is_empty());
        let mut c = Consumer::new(queue);
        let (mut next, mut pads) = (0, VecDeque::from([INITIAL_RING_WORDS * 8]));
        read_all(&mut c, &mut next, &mut pads);
        assert_eq!(next, 1);
    }

    #[test]
    fn a_full_queue_gives_the_record_back() {
        let (queue, mut p) = Queue::new(64);
        let mut n = 0;
        while p.push(&rec(n, 10), n) {
            n += 1;
        }
        assert!(n > 5);
        let mut c = Consumer::new(queue);
        c.refresh();
        let mut got = 0;
        while c.pop().is_some() {
            got += 1;
        }
        assert_eq!(got, n);
        c.release();
        assert!(p.push(&rec(n, 10), n));
    }

    #[test]
    fn a_queue_has_one_reader_and_a_second_consumer_is_inert() {
        let (queue, mut p) = Queue::new(64);
        assert!(p.push(&rec(0, 10), 0));
        let mut first = Consumer::new(queue.clone());
        let mut second = Consumer::new(queue.clone());
        // The second reads nothing, gives nothing back and is finished.
        assert!(!second.refresh() && second.pop().is_none() && second.next_time().is_none());
        assert!(second.finished());
        let (mut next, mut pads) = (0, VecDeque::from([10]));
        read_all(&mut first, &mut next, &mut pads);
        assert_eq!(next, 1);
        second.release();
        assert_eq!(queue.tail(), first.head());
        assert_eq!(lock(&queue.current).head.load(Ordering::Acquire), first.head(), "only the reader moves the head");
        assert!(!first.finished());
    }

    /// Record `i` written in place (the bytes of `rec(i, pad)`) into a
    /// reservation of up to 25 bytes more than it takes (as a `tracing`
    /// event reserves a bound), or, when `fail`, a fill that scribbles over
    /// its room and gives up.
    fn push_in_place(p: &mut Producer, i: u64, pad: usize, fail: bool) -> bool {
        let r = rec(i, pad);
        let len = r.bytes().len();
        p.push_in_place(Level::Warn, i, len + (i % 3) as usize * 12 + (i % 2) as usize, |b| {
            if fail {
                b.fill(b'#');
                return None;
            }
            b[..len].copy_from_slice(r.bytes());
            // Bytes past the record are reserved, never read.
            b[len..].fill(b'#');
            Some(len)
        })
    }

    #[test]
    fn records_written_in_place_wrap_around_in_order_and_a_failed_one_leaves_nothing() {
        let (mut p, mut c, sent) = wrap_around(|p, i, pad| {
            assert!(!push_in_place(p, i, pad, true), "a failed fill publishes nothing");
            push_in_place(p, i, pad, false)
        });
        // A record larger than a quarter of the ring is refused (the caller
        // then queues a captured copy, which can grow the queue).
        assert!(!push_in_place(&mut p, sent, 600, false));
        c.refresh();
        assert!(c.pop().is_none());
    }

    #[test]
    fn threads_hand_over_through_a_growing_queue() {
        const N: u64 = if cfg!(miri) { 1_000 } else { 100_000 };
        let (queue, mut p) = Queue::new(16 * INITIAL_RING_WORDS);
        let producer = std::thread::spawn(move || {
            let mut i = 0u64;
            while i < N {
                // Every other record written in place, as the macros do;
                // when the ring is full, captured (which grows the queue).
                let pad = (i % 50) as usize;
                if (i.is_multiple_of(2) && push_in_place(&mut p, i, pad, false)) || p.push(&rec(i, pad), i) {
                    i += 1;
                } else {
                    std::thread::yield_now();
                }
            }
        });
        let mut c = Consumer::new(queue.clone());
        let mut next = 0u64;
        while next < N {
            if c.refresh() {
                while let Some(r) = c.pop() {
                    let (i, len) = decode(&r);
                    assert_eq!((i, len), (next, (next % 50) as usize));
                    next += 1;
                }
                c.release();
            } else {
                std::thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert!(c.finished());
    }
}
