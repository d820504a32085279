//! Per-thread queues: one bounded single-producer single-consumer ring of
//! 64-bit words per logging thread and logger.
//!
//! A caller copies its captured record into its own thread's ring with
//! plain stores and publishes it with one release store of the ring's tail:
//! no compare-and-swap, no lock, no record-sized moves through a shared
//! channel, and no cache line shared with other producers. The writer
//! thread drains every ring and releases the space with one store of the
//! head per few dozen records. (Measured against the crossbeam channel of 256-byte
//! records it replaces: see `docs/performance.md`.)
//!
//! Entry layout, in words:
//!
//! ```text
//! [header: payload bytes (u32) | level (u8) | kind (u8)] [time] [payload, 8 bytes a word, zero padded]
//! ```
//!
//! `kind` is a record, padding to the end of the ring (the next entry starts
//! at word 0), or a marker for a record too large for the ring, which waits
//! in the ring's `big` queue (so that one thread's records stay in order).
//!
//! Everything here is safe Rust: the words are atomics; the producer's
//! stores are relaxed and published by the release store of `tail`, which
//! the consumer's acquire load of `tail` pairs with (and symmetrically for
//! `head`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use crossbeam_utils::CachePadded;

use crate::level::Level;
use crate::record::{Capture, RecordRef};

const KIND_RECORD: u64 = 0;
const KIND_PAD: u64 = 1;
const KIND_BIG: u64 = 2;

/// Words an entry takes before its payload.
const HEAD_WORDS: usize = 2;

pub(crate) struct Ring {
    words: Box<[AtomicU64]>,
    mask: usize,
    /// Next word the producer writes; published with Release.
    tail: CachePadded<AtomicUsize>,
    /// Next word the consumer reads; released with Release.
    head: CachePadded<AtomicUsize>,
    /// Records too large for the ring, in order (each announced by a BIG
    /// entry in the ring).
    big: Mutex<VecDeque<Capture>>,
    /// The producing thread has exited: once empty, the ring can go.
    closed: AtomicBool,
    /// The logger's writer has exited: producers forget the ring.
    orphaned: AtomicBool,
}

impl Ring {
    /// A ring of at least `words` words (rounded up to a power of two,
    /// at least 64).
    pub(crate) fn new(words: usize) -> Ring {
        let n = words.max(64).next_power_of_two();
        Ring {
            words: (0..n).map(|_| AtomicU64::new(0)).collect(),
            mask: n - 1,
            tail: CachePadded::new(AtomicUsize::new(0)),
            head: CachePadded::new(AtomicUsize::new(0)),
            big: Mutex::new(VecDeque::new()),
            closed: AtomicBool::new(false),
            orphaned: AtomicBool::new(false),
        }
    }

    /// Marks the ring as no longer read (its logger is gone).
    pub(crate) fn orphan(&self) {
        self.orphaned.store(true, Ordering::Release);
    }

    pub(crate) fn is_orphaned(&self) -> bool {
        self.orphaned.load(Ordering::Acquire)
    }

    fn len(&self) -> usize {
        self.mask + 1
    }

    /// The published tail (for flush snapshots).
    pub(crate) fn tail(&self) -> usize {
        self.tail.load(Ordering::Acquire)
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Closed by its thread and fully read: nothing will ever come again.
    pub(crate) fn finished(&self) -> bool {
        self.closed.load(Ordering::Acquire) && self.head.load(Ordering::Acquire) == self.tail.load(Ordering::Acquire)
    }
}

/// The producing thread's side of a ring (kept in a thread-local).
pub(crate) struct Producer {
    pub(crate) ring: std::sync::Arc<Ring>,
    /// Our tail (the ring's, without a load).
    tail: usize,
    /// The head as last seen: refreshed only when the ring looks full.
    head: usize,
}

impl Producer {
    pub(crate) fn new(ring: std::sync::Arc<Ring>) -> Producer {
        Producer { ring, tail: 0, head: 0 }
    }

    /// Copies the record into the ring and publishes it. Returns false
    /// when there is no room now.
    #[inline]
    pub(crate) fn push(&mut self, rec: &Capture) -> bool {
        let bytes = rec.bytes();
        let payload_words = bytes.len().div_ceil(8);
        let n = HEAD_WORDS + payload_words;
        let ring = &*self.ring;
        let size = ring.len();
        if n > size / 4 {
            return self.push_big(rec);
        }
        let idx = self.tail & ring.mask;
        let to_end = size - idx;
        let need = if n > to_end { to_end + n } else { n };
        if size - (self.tail - self.head) < need {
            self.head = ring.head.load(Ordering::Acquire);
            if size - (self.tail - self.head) < need {
                return false;
            }
        }
        let w = &ring.words;
        let mut at = idx;
        if n > to_end {
            w[idx].store((to_end as u64) | (KIND_PAD << 40), Ordering::Relaxed);
            self.tail += to_end;
            at = 0;
        }
        let header = (bytes.len() as u64 & 0xFFFF_FFFF) | ((rec.level as u64) << 32) | (KIND_RECORD << 40);
        w[at].store(header, Ordering::Relaxed);
        w[at + 1].store(rec.time, Ordering::Relaxed);
        let dst = &w[at + HEAD_WORDS..at + n];
        let mut chunks = bytes.chunks_exact(8);
        for (slot, c) in dst.iter().zip(&mut chunks) {
            slot.store(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]), Ordering::Relaxed);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            dst[payload_words - 1].store(u64::from_le_bytes(last), Ordering::Relaxed);
        }
        self.tail += n;
        ring.tail.store(self.tail, Ordering::Release);
        true
    }

    /// A record larger than a quarter of the ring: it waits in the ring's
    /// `big` queue, announced in order by a marker entry.
    #[cold]
    fn push_big(&mut self, rec: &Capture) -> bool {
        let ring = &*self.ring;
        let size = ring.len();
        let idx = self.tail & ring.mask;
        let to_end = size - idx;
        let need = if HEAD_WORDS > to_end { to_end + HEAD_WORDS } else { HEAD_WORDS };
        if size - (self.tail - self.head) < need {
            self.head = ring.head.load(Ordering::Acquire);
            if size - (self.tail - self.head) < need {
                return false;
            }
        }
        let mut at = idx;
        if HEAD_WORDS > to_end {
            ring.words[idx].store((to_end as u64) | (KIND_PAD << 40), Ordering::Relaxed);
            self.tail += to_end;
            at = 0;
        }
        let copy = rec.to_owned_capture();
        match ring.big.lock() {
            Ok(mut q) => q.push_back(copy),
            Err(p) => p.into_inner().push_back(copy),
        }
        ring.words[at].store(KIND_BIG << 40, Ordering::Relaxed);
        ring.words[at + 1].store(0, Ordering::Relaxed);
        self.tail += HEAD_WORDS;
        ring.tail.store(self.tail, Ordering::Release);
        true
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.ring.close();
    }
}

/// The consumer's side of a ring (owned by the writer thread).
pub(crate) struct Consumer {
    pub(crate) ring: std::sync::Arc<Ring>,
    head: usize,
    /// The tail as last loaded.
    tail: usize,
    scratch: Vec<u8>,
    big: Option<Capture>,
}

impl Consumer {
    /// Starts where the ring was last released (a consumer made again
    /// after a writer bug must not read old entries).
    pub(crate) fn new(ring: std::sync::Arc<Ring>) -> Consumer {
        let head = ring.head.load(Ordering::Acquire);
        Consumer { ring, head, tail: head, scratch: Vec::with_capacity(512), big: None }
    }

    /// Loads the published tail; returns whether anything is waiting.
    pub(crate) fn refresh(&mut self) -> bool {
        self.tail = self.ring.tail.load(Ordering::Acquire);
        self.head < self.tail
    }

    /// Where the consumer is.
    pub(crate) fn head(&self) -> usize {
        self.head
    }

    /// The next record (as of the last refresh), if any.
    pub(crate) fn pop(&mut self) -> Option<RecordRef<'_>> {
        let ring = &*self.ring;
        loop {
            if self.head >= self.tail {
                return None;
            }
            let at = self.head & ring.mask;
            let header = ring.words[at].load(Ordering::Relaxed);
            let kind = (header >> 40) & 0xFF;
            if kind == KIND_PAD {
                self.head += (header & 0xFFFF_FFFF) as usize;
                continue;
            }
            if kind == KIND_BIG {
                self.head += HEAD_WORDS;
                let big = match ring.big.lock() {
                    Ok(mut q) => q.pop_front(),
                    Err(p) => p.into_inner().pop_front(),
                };
                let Some(rec) = big else { continue };
                let rec = self.big.insert(rec);
                return Some(rec.as_ref());
            }
            let len = (header & 0xFFFF_FFFF) as usize;
            let level = Level::from_number(((header >> 32) & 0xFF) as u8).unwrap_or(Level::Info);
            let time = ring.words[at + 1].load(Ordering::Relaxed);
            let words = len.div_ceil(8);
            if self.scratch.len() < words * 8 {
                self.scratch.resize(words * 8, 0);
            }
            let src = &ring.words[at + HEAD_WORDS..at + HEAD_WORDS + words];
            for (dst, w) in self.scratch.chunks_exact_mut(8).zip(src) {
                dst.copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
            }
            self.head += HEAD_WORDS + words;
            return Some(RecordRef { level, time, items: &self.scratch[..len] });
        }
    }

    /// Gives the space read so far back to the producer.
    pub(crate) fn release(&mut self) {
        self.big = None;
        self.ring.head.store(self.head, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn rec(i: u64, pad: usize) -> Capture {
        let mut c = Capture::new(Level::Warn, i);
        c.u64("i", i);
        c.str("s", &"x".repeat(pad));
        c
    }

    fn decode(p: &RecordRef<'_>) -> (u64, usize) {
        let items: Vec<_> = crate::record::Items::new(p.bytes()).collect();
        let crate::record::Item::Field(_, crate::record::Val::U64(i), _) = items[0] else { panic!() };
        let crate::record::Item::Field(_, crate::record::Val::Str(s), _) = items[1] else { panic!() };
        assert_eq!(p.time, i);
        assert_eq!(p.level, Level::Warn);
        (i, s.len())
    }

    #[test]
    fn records_of_every_size_wrap_around_in_order() {
        let ring = Arc::new(Ring::new(256));
        let mut p = Producer::new(ring.clone());
        let mut c = Consumer::new(ring.clone());
        let mut next = 0u64;
        let mut sent = 0u64;
        let mut pads = std::collections::VecDeque::new();
        for round in 0..2000u64 {
            let pad = ((round * 37) % 700) as usize; // some too big for the ring
            if p.push(&rec(sent, pad)) {
                sent += 1;
                pads.push_back(pad);
            }
            if round % 3 == 0 {
                c.refresh();
                while let Some(r) = c.pop() {
                    assert_eq!(decode(&r), (next, pads.pop_front().unwrap()));
                    next += 1;
                }
                c.release();
            }
        }
        c.refresh();
        while let Some(r) = c.pop() {
            assert_eq!(decode(&r), (next, pads.pop_front().unwrap()));
            next += 1;
        }
        c.release();
        assert_eq!(next, sent);
        assert!(sent > 1000);
        drop(p);
        assert!(ring.finished());
    }

    #[test]
    fn a_full_ring_gives_the_record_back() {
        let ring = Arc::new(Ring::new(64));
        let mut p = Producer::new(ring.clone());
        let mut n = 0;
        while p.push(&rec(n, 10)) {
            n += 1;
        }
        assert!(n > 5);
        let mut c = Consumer::new(ring);
        c.refresh();
        let mut got = 0;
        while c.pop().is_some() {
            got += 1;
        }
        assert_eq!(got, n);
        c.release();
        assert!(p.push(&rec(n, 10)));
    }

    #[test]
    fn threads_hand_over_through_the_ring() {
        let ring = Arc::new(Ring::new(1024));
        let r2 = ring.clone();
        let producer = std::thread::spawn(move || {
            let mut p = Producer::new(r2);
            let mut i = 0u64;
            while i < 100_000 {
                if p.push(&rec(i, (i % 50) as usize)) {
                    i += 1;
                } else {
                    std::thread::yield_now();
                }
            }
        });
        let mut c = Consumer::new(ring.clone());
        let mut next = 0u64;
        while next < 100_000 {
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
        assert!(ring.finished());
    }
}
