//! Every number that shapes logjet's behaviour, in one place, with why it
//! has the value it has. The two that users set per logger (the capacity
//! and the shutdown timeout) are public defaults of [`Builder`](crate::Builder);
//! the others are internal, measured choices (`docs/performance.md`).
//!
//! Names of the two background threads, used everywhere (thread names,
//! docs, reports): the **writer** (`logjet-writer`) drains the queues in
//! time order and formats; the **output** thread (`logjet-output`) writes
//! to the sinks.

use std::time::Duration;

// ---- the caller's queue (ring.rs, send.rs) ----

/// The capacity of each thread's queue when none is set, in records: the
/// most a queue grows to.
pub const DEFAULT_CAPACITY: usize = 16_384;

/// A queue holds `capacity` records of this many 8-byte words (128 bytes:
/// a record with a handful of fields; larger ones take more).
pub(crate) const WORDS_PER_RECORD: usize = 16;

/// The size of a thread's first ring, in 8-byte words (8 KiB, about 64
/// records): a thread that logs a few records costs this much, and its first
/// record allocates only this. The queue doubles when it fills, up to
/// `capacity × WORDS_PER_RECORD` words.
pub(crate) const INITIAL_RING_WORDS: usize = 1024;

/// The room a `tracing` event reserves in its thread's ring to be
/// written there in place, in bytes (`TracingLayer`; its size is known only
/// once its fields are visited): a usual event takes 100 to 300. A larger
/// one is captured and copied instead. At most a quarter of the first
/// ring, so that any ring can hold it.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) const TRACING_EVENT_ROOM: usize = 512;

/// The most bytes a thread keeps of the buffers `TracingLayer` merges an
/// event's span fields into (kept between events, so that they are neither
/// allocated nor zeroed per event): an event in spans with more than this
/// gets buffers of its own, freed after it.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) const MERGED_SPAN_FIELDS_KEPT: usize = 64 * 1024;

/// Queues the writer keeps made in advance (allocated and touched on its
/// own thread: 8 KiB each), so that a thread's first record takes one
/// instead of allocating and page-faulting a ring on the caller (about
/// 10 µs in a VM). A thread that takes one of the last half wakes the
/// writer to make more, so a burst of new threads rarely finds none.
pub(crate) const SPARE_QUEUES: usize = 16;

/// A caller waiting for room (`Overflow::Block`) sleeps this long first,
/// doubling up to [`BLOCK_PAUSE_MAX`] while it keeps waiting.
pub(crate) const BLOCK_PAUSE_MIN: Duration = Duration::from_micros(1);
/// The longest a waiting caller sleeps before it looks again. The writer
/// serves the oldest record first, so a waiting caller's records are next.
pub(crate) const BLOCK_PAUSE_MAX: Duration = Duration::from_micros(200);

/// Control messages (flush, shutdown, records of exiting threads) that can
/// wait at once before a sender waits.
pub(crate) const CONTROL_CAPACITY: usize = 1024;

// ---- the writer thread (writer.rs, merge.rs) ----

/// Records stamped less than this long ago wait for the next pass, so that
/// a record another thread stamped just before (and has not published yet)
/// can come out first: the output is in time order except for a record
/// whose thread was paused for longer than this between reading the clock
/// and publishing the record (a few instructions). A flush, and a queue
/// more than half full, do not wait (a step back of at most this window).
pub(crate) const ORDER_WINDOW: Duration = Duration::from_micros(100);

/// The longest the writer sleeps between polls while records keep coming.
pub(crate) const MAX_POLL: Duration = Duration::from_millis(1);
/// The shortest poll, under heavy load.
pub(crate) const MIN_POLL: Duration = Duration::from_micros(20);
/// Idle this long and the writer asks callers to wake it instead of polling.
pub(crate) const DEEP_AFTER: Duration = Duration::from_millis(10);
/// A deep sleep still ends after this long (a safety net, and deadlines).
pub(crate) const DEEP_MAX: Duration = Duration::from_millis(100);
/// The writer gives room back to a queue after this many records: a caller
/// waiting on a full queue waits for this, not for a whole batch.
pub(crate) const RELEASE_EVERY: usize = 32;
/// Drop notices are coalesced over this long (unless a flush is waiting).
pub(crate) const DROP_REPORT_EVERY: Duration = Duration::from_millis(100);

/// How long the writer measures the time-stamp counter's rate at start-up
/// before its first calibration (clock.rs).
pub(crate) const CLOCK_FIRST_CALIBRATION: Duration = Duration::from_millis(1);
/// How often the writer takes a new calibration point of the counter
/// against the system clock (and publishes it to callers that format).
pub(crate) const CLOCK_RECALIBRATE_EVERY: Duration = Duration::from_millis(100);

// ---- the output thread (output.rs) ----

/// The writer hands a batch to the output thread once this many bytes wait
/// in its sink buffers (and after every pass over the queues): one
/// `write(2)` per sink per batch.
pub(crate) const BATCH_BYTES: usize = 128 * 1024;
/// A sink buffer that grew beyond this (a huge record) is given back.
pub(crate) const KEEP_BYTES: usize = 4 * BATCH_BYTES;
/// Batches in circulation: one being formatted, the others being written
/// or waiting to be. When all are in flight the writer waits, the queues
/// fill and the overflow policy applies.
pub(crate) const POOL: usize = 3;
/// Backoff between retries of a failing sink.
pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(1);
/// The longest backoff.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one stderr report per failing sink per this long.
pub(crate) const REPORT_EVERY: Duration = Duration::from_secs(10);

// ---- file sinks (sink/file.rs, sink/rotation.rs) ----

/// A file sink that watches its path (`FileOptions::watch`, on by default)
/// compares the device and inode of its open file with the path's at most
/// this often, on a write: one `stat(2)` per second costs nothing next to
/// the writes, and a file renamed or deleted behind the sink's back is
/// reopened within a second (its records until then are in the renamed
/// file, or lost with the deleted one).
pub(crate) const WATCH_EVERY: Duration = Duration::from_secs(1);
/// After a rotation failed (a rename or the new file's open), the sink
/// writes on in its current file (past the size limit if need be) and
/// tries to rotate again this much later, not on every batch.
pub(crate) const ROTATE_RETRY: Duration = Duration::from_secs(1);
/// The gzip level of rotated files (feature `compression`). 1 is the
/// fastest: NDJSON logs still shrink 6-10x, and the compressing thread
/// takes the least CPU from the application on a small machine (level 6,
/// gzip's default, shrinks them about 20% more for about 3x the CPU).
#[cfg(feature = "compression")]
pub(crate) const GZIP_LEVEL: u32 = 1;
/// The buffers the compressing thread reads and writes with.
#[cfg(feature = "compression")]
pub(crate) const COMPRESS_BUFFER: usize = 256 * 1024;

// ---- DEBUG for `tracing` and `log` targets (debug.rs) ----

/// Targets whose `DEBUG` answer a thread keeps per logger. Past this many
/// distinct targets the thread forgets them all and starts again (each
/// answer costs one lookup under a read lock), so a service that makes
/// targets at run time cannot grow the cache without bound. The debug
/// console keeps as many namespaces' colours and `+ms` clocks
/// (format/console.rs).
pub(crate) const DEBUG_TARGETS_CACHED: usize = 1024;
/// Loggers a thread keeps `DEBUG` answers for; past this many (loggers made
/// and dropped), the thread forgets them all.
#[cfg(any(feature = "tracing", feature = "log"))]
pub(crate) const DEBUG_LOGGERS_CACHED: usize = 8;

// ---- syslog transports (sink/syslog.rs) ----

/// The longest a syslog sink waits to connect to its collector.
pub(crate) const SYSLOG_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest one write to a syslog stream may block before it counts as
/// failed (and is retried).
pub(crate) const SYSLOG_WRITE_TIMEOUT: Duration = Duration::from_secs(5);

// ---- stream sinks (sink/stream.rs, sink/tcp.rs) ----

/// The longest `sink::Tcp` waits to connect to one address of its collector
/// (and for the TLS handshake) by default: a collector on the network
/// answers in milliseconds; one that does not answer in 5 s is reported and
/// tried again with backoff while the records wait in the queues.
pub(crate) const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest one write to `sink::Tcp` may block by default before it
/// counts as failed (the connection is dropped and opened again): long
/// enough for a collector that is busy, short enough that a peer gone
/// silent (a dead host, a lost route) is noticed.
pub(crate) const TCP_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The default replay window of `sink::Tcp`: the last this many bytes of
/// whole lines are sent again after a connection ends unexpectedly. 1 MiB
/// covers what a collector typically holds unread (its socket's receive
/// buffer under a steady stream) at the cost of that much memory; a
/// collector that falls behind by more loses the excess when it stops.
pub(crate) const TCP_REPLAY_BYTES: usize = 1 << 20;
/// The replay window keeps whole messages in chunks of about this size,
/// forgotten a chunk at a time (so it holds at most one chunk more than
/// its limit).
pub(crate) const REPLAY_CHUNK: usize = 64 * 1024;
/// The longest a TLS connection's goodbye (`close_notify`) may block when
/// the sink closes: a courtesy to the collector, which must not hold a
/// shutdown up when the collector does not read.
#[cfg(feature = "rustls")]
pub(crate) const TLS_CLOSE_TIMEOUT: Duration = Duration::from_millis(100);
// ---- the OTLP exporter (sink/otlp.rs, feature `otlp`) ----

/// The most records in one OTLP request by default: OpenTelemetry's batch
/// processor's `maxExportBatchSize`, which collectors and backends are
/// sized for.
#[cfg(feature = "otlp")]
pub(crate) const OTLP_MAX_BATCH: usize = 512;
/// The longest a record waits for others to share its request by default:
/// OpenTelemetry's batch processor's `scheduledDelayMillis`.
#[cfg(feature = "otlp")]
pub(crate) const OTLP_MAX_DELAY: Duration = Duration::from_secs(1);
/// The longest one request may take by default (OTLP exporters' default).
#[cfg(feature = "otlp")]
pub(crate) const OTLP_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest `Retry-After` honoured: a collector asking for more is
/// asked again after this long.
#[cfg(feature = "otlp")]
pub(crate) const OTLP_RETRY_AFTER_MAX: Duration = Duration::from_secs(30);
/// While a `Retry-After` runs, the exporter sleeps at most this long per
/// attempt and then lets the output thread look at its shutdown deadline.
#[cfg(feature = "otlp")]
pub(crate) const OTLP_RETRY_AFTER_STEP: Duration = Duration::from_secs(1);

// ---- waiting by contract (guard.rs, logger.rs) ----

/// How long the guard's drop, `fatal!` and the panic hook wait for the
/// sinks by default.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// `Guard::shutdown` sets the output thread's deadline for failing sinks
/// this fraction of the timeout early (at most [`SHUTDOWN_MARGIN_MAX`]),
/// so that its answer, with the count of what it gave up, arrives in time.
pub(crate) const SHUTDOWN_MARGIN_DIVISOR: u32 = 10;
/// The largest margin before a shutdown's timeout.
pub(crate) const SHUTDOWN_MARGIN_MAX: Duration = Duration::from_millis(100);

// ---- redaction and rate limits (redact.rs, limit.rs) ----

/// The most redact paths a logger takes: the paths alive at a level of a
/// value are a 64-bit mask, so matching allocates nothing. pino services
/// configure a handful; more than this is a build error.
pub(crate) const REDACT_MAX_PATHS: usize = 64;
/// The most segments in one redact path. The walk of a nested value
/// recurses once per segment (never deeper than the longest path), so
/// this bounds its stack whatever the value's depth.
pub(crate) const REDACT_MAX_SEGMENTS: usize = 32;
