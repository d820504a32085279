//! # logjet: structured logging that never makes the caller wait
//!
//! A service builds one [`Logger`] at start-up and logs structured records
//! from any thread. The calling thread checks the level, captures the record
//! and copies it into its own bounded queue: no I/O, no lock, and in a
//! steady stream no syscall. Per logger, a writer thread drains every
//! thread's queue in batches and formats pino-compatible NDJSON, and an
//! output thread writes the batches to the sinks in large writes.
//!
//! ```no_run
//! use logjet::{sink, Level, Logger, Overflow};
//!
//! let (log, guard) = Logger::builder()
//!     .level(Level::Info)
//!     .sink(sink::File::append("logs/app.log")?)
//!     .capacity(65_536)
//!     .overflow(Overflow::Block)
//!     .build()?;
//!
//! logjet::info!(log, "request handled", method = "GET", status = 200, latency_ms = 3.25, cached = false);
//! let req = log.child(logjet::fields!(request_id = 42)); // bound context, like pino's child()
//! logjet::warn!(req, "slow query", table = "users", ms = 812);
//! let io_error = std::io::Error::other("connection reset");
//! logjet::error!(log, "db failed", err = &io_error);     // any std::error::Error, with its source chain
//! guard.flush()?; // returns once every earlier record is on the sink; dropping the guard does the same
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each record is one line:
//!
//! ```text
//! {"level":30,"time":1732200000000,"pid":4242,"hostname":"web-1","method":"GET","status":200,"latency_ms":3.25,"cached":false,"msg":"request handled"}
//! ```
//!
//! - Levels: [`Level`], pino's numbers; a disabled call costs one atomic load.
//! - Overflow: [`Overflow::Block`] loses nothing; [`Overflow::Drop`] never
//!   waits and counts every drop, writing `logjet dropped N records` into
//!   the log once there is room.
//! - Shutdown: the [`Guard`] flushes on drop; [`fatal!`] flushes before it
//!   returns; [`flush_on_panic`] writes panics as `fatal` records.
//! - Sinks: [`sink::Stdout`], [`sink::Stderr`], [`sink::File`] (rotation,
//!   retention, gzip, reopen on SIGHUP), [`sink::Writer`], several per
//!   logger, each with its own minimum level; [`sink::Pretty`] writes
//!   readable lines for a terminal during development (the `logjet-pretty`
//!   command prints NDJSON the same way); [`sink::Records`] hands each
//!   record as typed data to your own [`sink::RecordSink`] on the output
//!   thread; `sink::Otlp` (feature `otlp`) sends to an OpenTelemetry
//!   collector over OTLP/HTTP.
//!
//! The guides in `docs/` cover configuration, the output format, overflow
//! and shutdown in detail; `ARCHITECTURE.md` explains the inside.

#![deny(missing_docs)]
// The one module with `unsafe` code is `ring` (three blocks: see its docs).
#![deny(unsafe_code)]

#[cfg(feature = "tower")]
mod access_log;
mod builder;
mod clock;
mod control;
mod debug;
mod directives;
mod dispatch;
mod error;
mod filter;
mod format;
mod global;
mod guard;
mod init;
mod keys;
#[cfg(feature = "tracing")]
mod layer;
mod level;
mod limit;
#[cfg(feature = "log")]
mod log_bridge;
mod logger;
mod macros;
mod merge;
mod output;
mod panic;
mod preformat;
mod record;
mod redact;
mod report;
mod ring;
#[cfg(feature = "tracing")]
mod scope;
mod send;
mod shared;
#[cfg(unix)]
mod signals;
mod stats;
mod sync;
mod time;
#[cfg(feature = "tracing")]
mod tracing_site;
mod tunables;
mod value;
mod writer;

pub mod sink;

#[cfg(feature = "tower")]
pub use access_log::{AccessLog, AccessLogFuture, AccessLogService};
pub use builder::{Builder, DEFAULT_CAPACITY, DEFAULT_SHUTDOWN_TIMEOUT};
pub use debug::DebugLogger;
pub use error::Error;
pub use filter::Namespaces;
pub use format::json::RESERVED_KEYS;
pub use format::pretty;
pub use guard::Guard;
pub use init::{init, Init, LogFormat};
pub use keys::{Keys, ECS_VERSION};
#[cfg(feature = "tracing")]
pub use layer::{SpanFields, TracingLayer};
pub use level::{Level, ParseLevelError};
#[cfg(feature = "log")]
pub use log_bridge::init_log;
pub use logger::{Event, Fields, Logger};
pub use panic::flush_on_panic;
pub use redact::Redact;
pub use send::Overflow;
#[cfg(unix)]
pub use signals::flush_on_signals;
#[cfg(unix)]
pub use sink::{Facility, SyslogFormat};
pub use stats::Stats;
pub use time::TimeFormat;
pub use value::Value;

// Every ```rust snippet of README.md and docs/*.md is a doctest, so none can
// drift (`cargo test --doc`; `no_run` ones are compiled only). A file whose
// snippets need an optional feature, or unix, is compiled only with it:
// `cargo test --doc --all-features` covers them all.
#[cfg(all(doctest, unix, feature = "tracing"))]
#[doc = include_str!("../README.md")]
mod readme_snippets {}
#[cfg(doctest)]
#[doc = include_str!("../docs/configuration.md")]
mod configuration_snippets {}
#[cfg(doctest)]
#[doc = include_str!("../docs/debug.md")]
mod debug_snippets {}
#[cfg(all(
    doctest,
    feature = "tracing",
    feature = "log",
    feature = "tokio",
    feature = "tower",
    feature = "opentelemetry"
))]
#[doc = include_str!("../docs/ecosystem.md")]
mod ecosystem_snippets {}
#[cfg(all(doctest, unix))]
#[doc = include_str!("../docs/format.md")]
mod format_snippets {}
#[cfg(all(doctest, unix))]
#[doc = include_str!("../docs/files.md")]
mod files_snippets {}
#[cfg(doctest)]
#[doc = include_str!("../docs/getting-started.md")]
mod getting_started_snippets {}
#[cfg(all(doctest, unix))]
#[doc = include_str!("../docs/operations.md")]
mod operations_snippets {}
#[cfg(doctest)]
#[doc = include_str!("../docs/overflow.md")]
mod overflow_snippets {}
#[cfg(doctest)]
#[doc = include_str!("../docs/redaction.md")]
mod redaction_snippets {}
#[cfg(doctest)]
#[doc = include_str!("../docs/sampling.md")]
mod sampling_snippets {}
#[cfg(all(doctest, unix, feature = "tokio"))]
#[doc = include_str!("../docs/shutdown.md")]
mod shutdown_snippets {}
#[cfg(all(doctest, unix))]
#[doc = include_str!("../docs/syslog.md")]
mod syslog_snippets {}
#[cfg(all(doctest, feature = "rustls"))]
#[doc = include_str!("../docs/tcp.md")]
mod tcp_snippets {}
#[cfg(doctest)]
#[doc = include_str!("../docs/compare.md")]
mod compare_snippets {}
#[cfg(doctest)]
#[doc = include_str!("../docs/performance.md")]
mod performance_snippets {}
#[cfg(all(doctest, feature = "otlp"))]
#[doc = include_str!("../docs/sinks.md")]
mod sinks_snippets {}
#[cfg(all(doctest, feature = "otlp"))]
#[doc = include_str!("../docs/collectors.md")]
mod collectors_snippets {}

/// What the macros expand to. Not part of the API; may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::dispatch::*;
    pub use crate::global::debug_handle;
    pub use crate::limit::RateLimit;
    pub use crate::record::{is_plain, literal_msg, Key, Site, StaticKey};
}
