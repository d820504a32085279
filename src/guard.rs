//! The guard that flushes on drop and shuts the writer down on request.

use std::time::Duration;

use crate::control::Msg;
use crate::error::Error;
use crate::logger::Logger;
use crate::tunables::{SHUTDOWN_MARGIN_DIVISOR, SHUTDOWN_MARGIN_MAX};

/// Returned by [`Builder::build`](crate::Builder::build) next to the logger.
/// Keep it alive until the end of `main`: dropping it flushes every queued
/// record to the sinks (waiting at most the
/// [shutdown timeout](crate::Builder::shutdown_timeout)).
///
/// Dropping the guard does not stop logging: the writer thread lives as long
/// as any `Logger` handle does. [`shutdown`](Guard::shutdown) stops it
/// explicitly and closes the sinks.
///
/// ```
/// let (log, guard) = logjet::Logger::builder()
///     .sink(logjet::sink::Writer::new(std::io::sink()))
///     .build()?;
/// logjet::info!(log, "started");
/// guard.flush()?;      // returns once "started" is on the sink
/// guard.shutdown()?;   // flush, stop the writer, close the sinks
/// # Ok::<(), logjet::Error>(())
/// ```
#[must_use = "dropping the guard flushes the logger now; bind it: `let (log, _guard) = ...`"]
pub struct Guard {
    logger: Logger,
    /// Until `shutdown`.
    open: bool,
    /// The SIGHUP handler, while the guard lives (`Builder::reopen_on_sighup`).
    #[cfg(unix)]
    pub(crate) sighup: Option<crate::signals::Sighup>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("open", &self.open).finish()
    }
}

impl Guard {
    pub(crate) fn new(logger: Logger) -> Guard {
        Guard {
            logger,
            open: true,
            #[cfg(unix)]
            sighup: None,
        }
    }

    /// Waits until every record logged before this call is on the sinks.
    /// See [`Logger::flush`].
    pub fn flush(&self) -> Result<(), Error> {
        self.logger.flush()
    }

    /// Like [`flush`](Guard::flush), giving up after `timeout`.
    pub fn flush_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.logger.flush_timeout(timeout)
    }

    /// Reopens every file sink's path after the records logged before this
    /// call. See [`Logger::reopen`].
    pub fn reopen(&self) -> Result<(), Error> {
        self.logger.reopen()
    }

    /// The logger this guard belongs to.
    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    /// Flushes, then closes the sinks, waiting at most the configured
    /// shutdown timeout. Records logged afterwards are dropped and counted
    /// (with a one-time warning on stderr); `flush` then returns an error for
    /// which [`Error::is_closed`] is true.
    pub fn shutdown(self) -> Result<(), Error> {
        let timeout = self.logger.core.shutdown_timeout;
        self.shutdown_timeout(timeout)
    }

    /// Like [`shutdown`](Guard::shutdown) with its own timeout. A sink that
    /// keeps failing is retried until then; what it did not take is counted
    /// as dropped and reported in the error.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Result<(), Error> {
        self.open = false;
        shut_down(&self.logger, timeout)
    }

    /// Shuts the logger down (every queued record written, the sinks
    /// closed, waiting at most the shutdown timeout) and then ends the
    /// process with `code`, like pino's `final`: for code that would call
    /// [`std::process::exit`], which runs no destructors and so would drop
    /// whatever is still queued. A shutdown that fails is reported on
    /// stderr before the exit.
    ///
    /// ```no_run
    /// let (log, guard) = logjet::Logger::builder()
    ///     .sink(logjet::sink::File::append("logs/app.log")?)
    ///     .build()?;
    /// logjet::error!(log, "cannot read the configuration; exiting");
    /// guard.exit(78); // EX_CONFIG: the record is on disk first
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn exit(self, code: i32) -> ! {
        if let Err(e) = self.shutdown() {
            crate::report::report(format_args!("shutdown before exit({code}) failed: {e}"));
        }
        std::process::exit(code)
    }
}

/// Shuts `logger` down: every record queued before this call written, the
/// sinks closed, waiting at most `timeout` (what `Guard::shutdown` and a
/// handled signal do). Records logged afterwards are dropped and counted,
/// so nothing is being written when the process ends right after.
pub(crate) fn shut_down(logger: &Logger, timeout: Duration) -> Result<(), Error> {
    set_deadline(logger, timeout);
    shutdown_result(logger.core.control(Msg::Shutdown, Some(timeout)))
}

/// Sets the writer's deadline for failing sinks a little before the
/// timeout, so that its answer (and the count of what it gave up) arrives
/// in time. The writer thread stays (parked) to count what is logged from
/// now on, until the last handle is gone.
fn set_deadline(logger: &Logger, timeout: Duration) {
    let margin = (timeout / SHUTDOWN_MARGIN_DIVISOR).min(SHUTDOWN_MARGIN_MAX);
    if let Some(at) = std::time::Instant::now().checked_add(timeout - margin) {
        logger.core.shared.set_deadline(at);
    }
}

/// A shutdown that finds the logger already shut down is a success.
fn shutdown_result(r: Result<(), Error>) -> Result<(), Error> {
    match r {
        Err(e) if e.is_closed() => Ok(()),
        r => r,
    }
}

#[cfg(feature = "tokio")]
impl Guard {
    /// Like [`flush`](Guard::flush), as a future that never blocks the
    /// runtime's worker thread (see [`Logger::flush_async`]).
    pub async fn flush_async(&self) -> Result<(), Error> {
        self.logger.flush_async().await
    }

    /// Like [`shutdown`](Guard::shutdown), as a future that never blocks the
    /// runtime's worker thread; it waits at most the shutdown timeout. It
    /// needs no timer from the runtime (a runtime built without
    /// `enable_time` works too).
    pub async fn shutdown_async(mut self) -> Result<(), Error> {
        let core = self.logger.core.clone();
        let timeout = core.shutdown_timeout;
        self.open = false;
        set_deadline(&self.logger, timeout);
        shutdown_result(core.control_async(Msg::Shutdown, Some(timeout)).await)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let timeout = self.logger.core.shutdown_timeout;
        match self.logger.flush_timeout(timeout) {
            Ok(()) => {}
            Err(e) if e.is_closed() => {}
            Err(e) => crate::report::report(format_args!("flush on drop of the guard failed: {e}")),
        }
    }
}
