//! The signals logjet handles, each opt-in: SIGTERM, SIGINT and SIGQUIT
//! end the process after a shutdown (`flush_on_signals`); SIGHUP reopens
//! the file sinks (`Builder::reopen_on_sighup`).
//!
//! Unix only, through the `signal-hook` crate (its registration combines
//! with other handlers; no hand-written handler): a handler only wakes a
//! thread of logjet's, which does the work outside signal context.

use std::io;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread;
use std::time::Instant;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

use crate::control::Msg;
use crate::error::Error;
use crate::level::Level;
use crate::logger::Logger;
use crate::report::report;
use crate::send::Core;

// ---- SIGTERM, SIGINT, SIGQUIT: shut down, then end by the signal ----

/// The signals [`flush_on_signals`] handles.
const SIGNALS: [i32; 3] = [SIGTERM, SIGINT, SIGQUIT];

/// Loggers to flush when a signal arrives (weak: a logger that is gone is
/// skipped, never kept alive by this list).
static LOGGERS: Mutex<Vec<Weak<Core>>> = Mutex::new(Vec::new());

/// Whether the signal thread runs (or why it could not start).
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// Makes SIGTERM, SIGINT and SIGQUIT flush `logger` before the process
/// ends: on the signal, logjet writes one record naming it (at `warn`),
/// shuts down every logger registered this way (every record logged before
/// the signal written, the sinks closed, so no write is cut in half when
/// the process ends; waiting at most the longest
/// [shutdown timeout](crate::Builder::shutdown_timeout)), then restores the
/// signal's default action and raises it again, so the process ends the way
/// its supervisor expects (killed by SIGTERM, status 143 in a shell; SIGQUIT
/// still dumps core where enabled).
///
/// The record: `{"level":40,...,"signal":"SIGTERM","msg":"received SIGTERM: flushing, then exiting"}`.
///
/// Call it once per logger, at start-up (again for the same logger does
/// nothing more); [`Builder::flush_on_signals`](crate::Builder::flush_on_signals)
/// does it at `build`. This is for services that do not handle these signals
/// themselves: a service with its own graceful shutdown (for example
/// `tokio::signal::ctrl_c()` followed by draining connections) should not
/// call it, since the process would end at the signal, before the graceful
/// path runs; it ends its graceful path with `guard.shutdown()` (or
/// `shutdown_async().await`) instead. See `docs/shutdown.md`.
///
/// Fails when the signal handler cannot be installed.
///
/// ```no_run
/// let (log, _guard) = logjet::Logger::builder()
///     .sink(logjet::sink::File::append("logs/app.log")?)
///     .build()?;
/// logjet::flush_on_signals(&log)?;
/// // `kill -TERM <pid>`: every record logged before the signal is written,
/// // then the process ends by SIGTERM.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn flush_on_signals(logger: &Logger) -> Result<(), Error> {
    let installed = INSTALLED.get_or_init(|| {
        let signals = Signals::new(SIGNALS).map_err(|e| format!("cannot install the signal handler: {e}"))?;
        thread::Builder::new()
            .name("logjet-signals".into())
            .spawn(move || wait_for_signals(signals))
            .map(|_| ())
            .map_err(|e| format!("cannot start the logjet-signals thread: {e}"))
    });
    if let Err(e) = installed {
        return Err(Error::config(e.clone()));
    }
    let mut loggers = crate::sync::lock(&LOGGERS);
    loggers.retain(|w| w.strong_count() > 0);
    let core = Arc::downgrade(&logger.core);
    if !loggers.iter().any(|w| w.ptr_eq(&core)) {
        loggers.push(core);
    }
    Ok(())
}

/// The `logjet-signals` thread: on the first signal, writes its record
/// and shuts down every registered logger, then lets the signal end the
/// process.
fn wait_for_signals(mut signals: Signals) {
    if let Some(sig) = signals.forever().next() {
        let name = signal_hook::low_level::signal_name(sig).unwrap_or("a signal");
        let loggers: Vec<Logger> =
            crate::sync::lock(&LOGGERS).iter().filter_map(Weak::upgrade).map(Logger::from_core).collect();
        // Every logger gets its record first, then the shutdowns share one
        // deadline: the longest shutdown timeout among them.
        for log in &loggers {
            if let Some(mut ev) = log.event(Level::Warn) {
                ev.str("signal", name);
                ev.emit_fmt(format_args!("received {name}: flushing, then exiting"));
            }
        }
        // Shut down, not only flushed: a write still going on when the
        // signal ends the process could leave half a line in a file.
        let longest = loggers.iter().map(|l| l.core.shutdown_timeout).max().unwrap_or_default();
        let deadline = Instant::now() + longest;
        for log in &loggers {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Err(e) = crate::guard::shut_down(log, left) {
                report(format_args!("shutdown on {name} failed: {e}"));
            }
        }
        drop(loggers);
        // The default action (terminate, or core dump for SIGQUIT), as if
        // logjet had never handled the signal.
        if let Err(e) = signal_hook::low_level::emulate_default_handler(sig) {
            report(format_args!("cannot raise {name} again ({e})"));
        }
        // Still running: the default action did not end the process (as
        // PID 1 of a container, the kernel ignores it). End it as a shell
        // reports a death by that signal.
        std::process::exit(128 + sig);
    }
}

// ---- SIGHUP: reopen every file sink ----

/// The SIGHUP handler of one logger (`Builder::reopen_on_sighup`): a
/// thread (`logjet-sighup`) that waits for the signal and asks the logger
/// to reopen its files, exactly as `Logger::reopen` does (records logged
/// before the signal arrived go to the old files). Held by the guard;
/// dropping it ends the thread and unregisters the handler.
pub(crate) struct Sighup {
    handle: Handle,
}

impl Sighup {
    pub(crate) fn install(core: Weak<Core>) -> io::Result<Sighup> {
        let mut signals = Signals::new([SIGHUP])?;
        let handle = signals.handle();
        thread::Builder::new().name("logjet-sighup".into()).spawn(move || {
            for _ in signals.forever() {
                let Some(core) = core.upgrade() else { break };
                // Bounded like a shutdown: a reopen waits behind the records
                // queued before it, and a sink may be failing.
                if let Err(e) = core.control(Msg::Reopen, Some(core.shutdown_timeout)) {
                    report(format_args!("SIGHUP: reopening the log files failed: {e}"));
                }
            }
        })?;
        Ok(Sighup { handle })
    }
}

impl Drop for Sighup {
    fn drop(&mut self) {
        self.handle.close();
    }
}
