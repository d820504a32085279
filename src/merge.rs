//! The writer's side of the queues: every thread's queue, read in time
//! order.
//!
//! # One pass
//!
//! 1. The clock is read (`now`), *then* every queue's tail is loaded. A
//!    record stamped at or before `now − ORDER_WINDOW` is *due*; younger
//!    records wait for a later pass, unless their queue is more than half
//!    full (its thread may be about to wait) or a flush covers them.
//!    (A record's time is read as it is queued, nanoseconds before it is
//!    published; a caller that formats its own line stamps it again if it
//!    was paused while formatting, see `crate::preformat`.)
//! 2. The due records are merged by their time (a min-heap of each
//!    queue's oldest due record; ties go to queues in an order that rotates
//!    every pass). The writer takes a run of records from one queue while
//!    they are no newer than the next queue's oldest, so with one busy
//!    thread a record costs one comparison.
//! 3. The pass ends when nothing is due or the caller's batch is full.
//!
//! Why this order holds: a record from another thread with an older time
//! than one already written must have been published after the tails were
//! loaded, that is more than `ORDER_WINDOW` after it was stamped (its
//! thread was paused in the few instructions between reading the clock and
//! publishing). A task that moves between threads keeps its order exactly:
//! its earlier record was published before its later one was stamped, so
//! whenever the later one is due the earlier one is visible too.
//!
//! Fairness follows from the order: the oldest record goes first, so every
//! queue is served in turn, and a thread waiting for room has the oldest
//! records of all.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::record::RecordRef;
use crate::ring::Consumer;
use crate::shared::{Shared, Snapshot};
use crate::tunables::{RELEASE_EVERY, WORDS_PER_RECORD};

/// Which records a merge may take.
#[derive(Clone, Copy)]
pub(crate) enum Due {
    /// A normal pass: records stamped at or before `before` (clock units),
    /// records stamped after `now` (the clock stepped back: never held), and
    /// every record of a queue more than half full.
    Aged { before: u64, now: u64 },
    /// Only records below each queue's flush position (set by
    /// [`Merge::set_flush`]), whatever their time.
    Flush,
}

/// What a merge did.
#[derive(Default, Clone, Copy)]
pub(crate) struct Merged {
    /// Records taken.
    pub(crate) records: usize,
    /// The most records (estimated from words) waiting in one queue.
    pub(crate) most_waiting: usize,
    /// Records are waiting that were not due yet.
    pub(crate) held: bool,
    /// The callback asked to stop (its batch is full).
    pub(crate) stopped: bool,
}

/// A queue as the merge sees it.
struct Slot {
    consumer: Consumer,
    /// Records below this position are taken whatever their time (a flush
    /// waits for them).
    flush_upto: usize,
    /// The queue was more than half full at the start of the pass.
    pressed: bool,
}

impl Slot {
    /// Whether the record at the head, stamped `time`, may go now.
    fn due(&self, time: u64, due: Due) -> bool {
        if self.consumer.head() < self.flush_upto {
            return true;
        }
        match due {
            Due::Flush => false,
            Due::Aged { before, now } => time <= before || time > now || self.pressed,
        }
    }
}

/// Every thread's queue, read in time order (owned by the writer thread).
pub(crate) struct Merge {
    shared: Arc<Shared>,
    slots: Vec<Slot>,
    /// The `queues_gen` the slots reflect.
    seen_gen: u64,
    /// (time, rank) of each queue's oldest due record.
    heap: BinaryHeap<Reverse<(u64, usize)>>,
    /// Rotates which queue wins ties.
    turn: usize,
}

impl Merge {
    pub(crate) fn new(shared: Arc<Shared>) -> Merge {
        Merge { shared, slots: Vec::new(), seen_gen: u64::MAX, heap: BinaryHeap::new(), turn: 0 }
    }

    /// Picks up the queues of threads that started logging, and lets go of
    /// those of threads that exited and were read to the end. `force`
    /// looks even when no queue was added.
    ///
    /// Only the writer removes queues from the shared list, so its slots
    /// mirror the list's first entries, in order, and new queues are the
    /// entries past them.
    pub(crate) fn refresh_queues(&mut self, force: bool) {
        let gen = self.shared.queues_gen();
        if gen != self.seen_gen {
            // Threads are starting to log: have queues ready for the next.
            self.shared.spares.refill();
        }
        let all_alive = self.slots.iter_mut().all(|s| !s.consumer.finished());
        if !force && gen == self.seen_gen && all_alive {
            return;
        }
        let keep: Vec<bool> = self.slots.iter_mut().map(|s| !s.consumer.finished()).collect();
        self.seen_gen = gen;
        let slots = &mut self.slots;
        self.shared.with_queues(|queues| {
            let mut i = 0;
            queues.retain(|_| {
                i += 1;
                keep.get(i - 1).copied().unwrap_or(true)
            });
            let mut i = 0;
            slots.retain(|_| {
                i += 1;
                keep[i - 1]
            });
            for q in queues.iter().skip(slots.len()) {
                slots.push(Slot { consumer: Consumer::new(q.clone()), flush_upto: 0, pressed: false });
            }
        });
    }

    /// Whether a queue holds records the writer has not taken.
    pub(crate) fn pending(&mut self) -> bool {
        self.shared.queues_gen() != self.seen_gen || self.slots.iter_mut().any(|s| s.consumer.refresh())
    }

    /// Marks where a flush's snapshot ends in each queue: a
    /// [`Due::Flush`] merge takes everything below it.
    pub(crate) fn set_flush(&mut self, snapshot: &Snapshot) {
        self.refresh_queues(true);
        for (queue, pos) in snapshot {
            if let Some(s) = self.slots.iter_mut().find(|s| Arc::ptr_eq(&s.consumer.queue, queue)) {
                s.flush_upto = s.flush_upto.max(*pos);
            }
        }
    }

    /// Hands the due records to `take` in time order, until none is due or
    /// `take` breaks.
    pub(crate) fn merge(&mut self, due: Due, mut take: impl FnMut(&RecordRef<'_>) -> ControlFlow<()>) -> Merged {
        let mut out = Merged::default();
        let n = self.slots.len();
        if n == 0 {
            return out;
        }
        self.turn = (self.turn + 1) % n;
        self.heap.clear();
        for (i, s) in self.slots.iter_mut().enumerate() {
            if !s.consumer.refresh() {
                continue;
            }
            out.most_waiting = out.most_waiting.max(s.consumer.waiting_words() / WORDS_PER_RECORD);
            s.pressed = s.consumer.pressed();
            if let Some(t) = s.consumer.peek_time() {
                if s.due(t, due) {
                    self.heap.push(Reverse((t, (i + n - self.turn) % n)));
                } else {
                    out.held = true;
                }
            }
        }
        while let Some(Reverse((_, rank))) = self.heap.pop() {
            let s = &mut self.slots[(rank + self.turn) % n];
            let bound = self.heap.peek().map(|Reverse((t, _))| *t);
            let mut taken = 0;
            while let Some(rec) = s.consumer.pop() {
                out.records += 1;
                taken += 1;
                if take(&rec).is_break() {
                    out.stopped = true;
                    break;
                }
                if taken % RELEASE_EVERY == 0 {
                    // Give room back as we go: a caller waiting on a full
                    // queue waits for this, not for a whole batch.
                    s.consumer.release();
                }
                match s.consumer.next_time() {
                    Some(t) if s.due(t, due) => {
                        if bound.is_some_and(|b| t > b) {
                            self.heap.push(Reverse((t, rank)));
                            break;
                        }
                    }
                    Some(_) => {
                        out.held = true;
                        break;
                    }
                    None => break,
                }
            }
            s.consumer.release();
            if out.stopped {
                break;
            }
        }
        out
    }

    /// Lets every queue go: nothing will read them again (the writer is
    /// exiting); producers forget them.
    pub(crate) fn orphan_all(&mut self) {
        self.shared.with_queues(|queues| {
            for q in queues.iter() {
                q.orphan();
            }
        });
        for s in &self.slots {
            s.consumer.queue.orphan();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use crate::record::{Capture, Item, ItemWriter as _, Items, Val};
    use crate::ring::Producer;

    fn shared() -> Arc<Shared> {
        Arc::new(Shared::new(1024, 1024 * 16))
    }

    fn queue(shared: &Shared) -> Producer {
        let ((queue, producer), _) = shared.spares.take();
        shared.add_queue(queue);
        producer
    }

    fn push(p: &mut Producer, time: u64) {
        let mut c = Capture::new(Level::Info, time);
        c.u64("t", time);
        assert!(p.push(&c, time));
    }

    /// Merges with `due`, returning the times taken.
    fn take(m: &mut Merge, due: Due) -> Vec<u64> {
        m.refresh_queues(false);
        let mut out = Vec::new();
        m.merge(due, |r| {
            let Some(Item::Field(_, Val::U64(t), _)) = Items::new(r.items).next() else { panic!() };
            assert_eq!(t, r.time);
            out.push(t);
            ControlFlow::Continue(())
        });
        out
    }

    const ALL: Due = Due::Aged { before: u64::MAX, now: u64::MAX };

    #[test]
    fn records_of_several_queues_come_out_oldest_first() {
        let s = shared();
        let (mut a, mut b, mut c) = (queue(&s), queue(&s), queue(&s));
        for t in [1, 4, 5, 9] {
            push(&mut a, t);
        }
        for t in [2, 3, 10] {
            push(&mut b, t);
        }
        for t in [6, 7, 8] {
            push(&mut c, t);
        }
        let mut m = Merge::new(s);
        assert_eq!(take(&mut m, ALL), (1..=10).collect::<Vec<_>>());
    }

    #[test]
    fn records_younger_than_the_window_wait_unless_their_queue_is_pressed_or_flushed() {
        let s = shared();
        let (mut a, mut b) = (queue(&s), queue(&s));
        for t in [10, 20, 30] {
            push(&mut a, t);
        }
        push(&mut b, 15);
        let mut m = Merge::new(s.clone());
        // Captured at or before 20 are due at "now" 100 with a window of 80.
        assert_eq!(take(&mut m, Due::Aged { before: 20, now: 100 }), vec![10, 15, 20]);
        assert_eq!(take(&mut m, Due::Aged { before: 20, now: 100 }), Vec::<u64>::new());
        // A time after "now": the clock stepped back; never held.
        push(&mut b, 500);
        assert_eq!(take(&mut m, Due::Aged { before: 20, now: 100 }), vec![500]);
        // A flush takes what it covers, whatever its time, and no more.
        let snapshot = s.snapshot();
        push(&mut a, 40);
        m.set_flush(&snapshot);
        assert_eq!(take(&mut m, Due::Flush), vec![30]);
        assert_eq!(take(&mut m, Due::Aged { before: 40, now: 100 }), vec![40]);
    }

    #[test]
    fn a_merge_stops_when_asked_and_goes_on_where_it_stopped() {
        let s = shared();
        let (mut a, mut b) = (queue(&s), queue(&s));
        for t in 0..100 {
            push(if t % 2 == 0 { &mut a } else { &mut b }, t);
        }
        let mut m = Merge::new(s);
        let mut got = Vec::new();
        loop {
            m.refresh_queues(false);
            let mut n = 0;
            let merged = m.merge(ALL, |r| {
                got.push(r.time);
                n += 1;
                if n == 7 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            if !merged.stopped {
                break;
            }
        }
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }
}
