//! Control messages from callers to the writer thread (flush, shutdown, the
//! records of exiting threads) and flush tickets: how a flush is answered,
//! blocking or as a future.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::record::Record;
use crate::shared::Snapshot;
use crate::sync::lock;

/// A message to the writer. The writer reads the control channel before
/// the queues on every pass, so a flush waits only for what was queued when
/// it was asked for, never for the load that follows.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    /// A record from a thread that could not use its own queue (it is
    /// exiting): written after everything in that thread's queue.
    Record(Record),
    /// Complete the ticket once every record queued before the snapshot is
    /// on the sinks.
    Flush(FlushTicket, Snapshot),
    /// The same, then close the sinks.
    Shutdown(FlushTicket, Snapshot),
    /// The same, then every file sink reopens its path; the ticket is
    /// completed once they did (or with the first failure). Records queued
    /// after the snapshot go to the reopened files.
    Reopen(FlushTicket, Snapshot),
}

/// `Msg::Flush`, `Msg::Shutdown` or `Msg::Reopen`.
pub(crate) type MakeControl = fn(FlushTicket, Snapshot) -> Msg;

/// How a flush ended, as logjet's threads report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FlushOutcome {
    Done,
    /// A sink could not do what was asked (reopen its file): why.
    Failed(Arc<str>),
    /// Records were given up on (a sink still failing at the deadline).
    Lost(u64),
    /// The writer exited without completing the ticket.
    Gone,
    /// Nobody answered within this long (an async wait's own timer).
    #[cfg(feature = "tokio")]
    TimedOut(Duration),
}

impl FlushOutcome {
    fn into_result(self) -> Result<(), Error> {
        match self {
            FlushOutcome::Done => Ok(()),
            FlushOutcome::Lost(n) => Err(Error::lost(n)),
            FlushOutcome::Failed(why) => Err(Error::reopen(why.to_string())),
            FlushOutcome::Gone => Err(Error::closed()),
            #[cfg(feature = "tokio")]
            FlushOutcome::TimedOut(d) => Err(Error::timeout(d)),
        }
    }
}

/// The asking side of a flush: waits for the answer.
#[derive(Default)]
pub(crate) struct FlushState {
    done: Mutex<Option<FlushOutcome>>,
    cv: Condvar,
    /// The task awaiting the answer, for the async flush.
    #[cfg(feature = "tokio")]
    waker: Mutex<Option<std::task::Waker>>,
}

impl FlushState {
    /// A new flush: the state to wait on and the ticket to send.
    pub(crate) fn new() -> (Arc<FlushState>, FlushTicket) {
        let state = Arc::new(FlushState::default());
        (state.clone(), FlushTicket(Some(state)))
    }

    fn set(&self, outcome: FlushOutcome) {
        {
            let mut d = lock(&self.done);
            if d.is_none() {
                *d = Some(outcome);
            }
        }
        self.cv.notify_all();
        #[cfg(feature = "tokio")]
        if let Some(w) = lock(&self.waker).take() {
            w.wake();
        }
    }

    /// Waits for the answer, until `deadline` when one is given (`timeout`
    /// is what the error reports).
    pub(crate) fn wait(&self, deadline: Option<Instant>, timeout: Option<Duration>) -> Result<(), Error> {
        let mut d = lock(&self.done);
        loop {
            if let Some(outcome) = d.clone() {
                return outcome.into_result();
            }
            d = match deadline {
                None => self.cv.wait(d).unwrap_or_else(|p| p.into_inner()),
                Some(at) => {
                    let now = Instant::now();
                    if now >= at {
                        return Err(Error::timeout(timeout.unwrap_or_default()));
                    }
                    self.cv.wait_timeout(d, at - now).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
    }

    /// Answers "timed out" if nobody answered within `timeout`: a small
    /// thread waits for the answer (it ends as soon as there is one). This
    /// needs no timer from the async runtime, so an async wait is bounded
    /// on a runtime without tokio's time driver too. If the thread cannot
    /// be started, the wait stays bounded by the shutdown deadline of the
    /// output thread alone.
    #[cfg(feature = "tokio")]
    pub(crate) fn time_out_after(self: &Arc<Self>, timeout: Duration) {
        let state = self.clone();
        let deadline = Instant::now().checked_add(timeout);
        let _ = std::thread::Builder::new().name("logjet-timer".into()).spawn(move || {
            if state.wait(deadline, Some(timeout)).is_err_and(|e| e.is_timeout()) {
                state.set(FlushOutcome::TimedOut(timeout));
            }
        });
    }

    /// The answer as a future, woken by the thread that answers.
    #[cfg(feature = "tokio")]
    pub(crate) fn wait_async(self: Arc<Self>) -> FlushWait {
        FlushWait { state: self }
    }
}

/// The answer to a flush, as a future.
#[cfg(feature = "tokio")]
pub(crate) struct FlushWait {
    state: Arc<FlushState>,
}

#[cfg(feature = "tokio")]
impl std::future::Future for FlushWait {
    type Output = Result<(), Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let s = &self.state;
        let done = || lock(&s.done).clone();
        if let Some(o) = done() {
            return std::task::Poll::Ready(o.into_result());
        }
        *lock(&s.waker) = Some(cx.waker().clone());
        // The answer may have come between the check and the waker.
        match done() {
            Some(o) => std::task::Poll::Ready(o.into_result()),
            None => std::task::Poll::Pending,
        }
    }
}

/// The answering side of a flush: completed by the writer or the output
/// thread, or (if dropped unanswered because they went away) completed as
/// `Gone`.
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
