//! The error type of logger set-up, flush and shutdown.

use std::fmt;
use std::io;
use std::time::Duration;

/// Why building, flushing or shutting down a logger failed.
///
/// Logging itself never fails: a record that cannot be written is counted
/// (see [`Stats`](crate::Stats)) and reported, never returned to the caller.
///
/// ```
/// use std::time::Duration;
///
/// let (log, guard) = logjet::Logger::builder()
///     .sink(logjet::sink::Writer::new(std::io::sink()))
///     .build()?;
/// logjet::info!(log, "ready");
/// guard.shutdown()?;
/// let err = log.flush_timeout(Duration::from_secs(1)).unwrap_err();
/// assert!(err.is_closed());
/// # Ok::<(), logjet::Error>(())
/// ```
#[derive(Debug)]
pub struct Error {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Spawn(io::Error),
    Config(String),
    Timeout(Duration),
    Closed,
    Lost(u64),
    WriterThread,
    Reopen(String),
}

impl Error {
    pub(crate) fn spawn(e: io::Error) -> Error {
        Error { kind: Kind::Spawn(e) }
    }

    pub(crate) fn config(msg: impl Into<String>) -> Error {
        Error { kind: Kind::Config(msg.into()) }
    }

    pub(crate) fn timeout(d: Duration) -> Error {
        Error { kind: Kind::Timeout(d) }
    }

    pub(crate) fn closed() -> Error {
        Error { kind: Kind::Closed }
    }

    pub(crate) fn lost(n: u64) -> Error {
        Error { kind: Kind::Lost(n) }
    }

    pub(crate) fn reopen(why: String) -> Error {
        Error { kind: Kind::Reopen(why) }
    }

    pub(crate) fn from_writer_thread() -> Error {
        Error { kind: Kind::WriterThread }
    }

    /// The sinks did not take the records before the timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, Kind::Timeout(_))
    }

    /// The logger has been shut down; nothing more can be written.
    pub fn is_closed(&self) -> bool {
        matches!(self.kind, Kind::Closed)
    }

    /// How many records were dropped, when the error is that a sink kept
    /// failing until the shutdown deadline or lost its reader (`EPIPE`).
    pub fn lost_records(&self) -> Option<u64> {
        match self.kind {
            Kind::Lost(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Spawn(e) => write!(f, "cannot start the logjet writer thread: {e}"),
            Kind::Config(m) => write!(f, "invalid logjet configuration: {m}"),
            Kind::Timeout(d) => write!(f, "the sinks did not take the queued records within {d:?}"),
            Kind::Closed => f.write_str("the logger has been shut down"),
            Kind::Lost(n) => write!(
                f,
                "{n} records did not reach every sink and were dropped (a sink kept failing until the shutdown \
                 deadline, or its reader is gone)"
            ),
            Kind::Reopen(why) => write!(f, "a file sink could not reopen its file: {why}"),
            Kind::WriterThread => f.write_str(
                "flush or shutdown called on the logjet writer thread (from inside a sink) would wait for itself",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Spawn(e) => Some(e),
            _ => None,
        }
    }
}
