//! Counters of a logger.

/// A snapshot of a logger's counters, from [`Logger::stats`](crate::Logger::stats).
///
/// Every record that passed the level check is, once the queues are empty,
/// either `written`, `dropped` or `suppressed`: `written + dropped +
/// suppressed` is the number of records logged.
///
/// ```
/// let (log, guard) = logjet::Logger::builder()
///     .sink(logjet::sink::Writer::new(std::io::sink()))
///     .build()?;
/// for i in 0..10 {
///     logjet::info!(log, "tick", i = i);
/// }
/// guard.flush()?;
/// let stats = log.stats();
/// assert_eq!(stats.written + stats.dropped, 10);
/// # Ok::<(), logjet::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Records written to every sink that takes their level (logjet's own
    /// "dropped" notices are not counted).
    pub written: u64,
    /// Records lost: refused because the thread's queue was full under
    /// [`Overflow::Drop`](crate::Overflow::Drop), logged after shutdown, or
    /// given up on because a sink still failed at the shutdown deadline.
    pub dropped: u64,
    /// Records not written on purpose: sampled out by
    /// [`Builder::sample`](crate::Builder::sample), or held back by a call
    /// site's rate limit (`limit = (n, per)` in the macros). The
    /// `suppressed N records` notices a rate limit writes are records of
    /// their own, counted in `written`.
    pub suppressed: u64,
    /// Bytes handed to the sinks, all sinks together.
    pub bytes_written: u64,
    /// Failed write attempts (each retry that fails counts).
    pub write_errors: u64,
    /// The most records the writer found waiting in one thread's queue at
    /// once, at most the capacity (the capacity when a queue was ever full).
    pub queue_high_water: u64,
    /// The capacity of each thread's queue, in records: the most a queue
    /// grows to. A thread's queue starts at 8 KiB and doubles when it fills.
    pub queue_capacity: u64,
    /// Threads that have a queue for this logger now (a queue goes once
    /// its thread exited and the writer read it to the end).
    pub queues: u64,
    /// Memory the queues hold now, in bytes, all threads together.
    pub queue_bytes: u64,
}
