//! Messages for the operator on stderr, and which threads are logjet's own.

use std::cell::Cell;
use std::fmt;
use std::io::{self, Write};
use std::time::Instant;

use crate::tunables::REPORT_EVERY;

/// Writes a message for the operator on stderr. Never panics.
pub(crate) fn report(args: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "logjet: {args}");
}

/// Keeps a sink's messages on stderr to one per [`REPORT_EVERY`], counting
/// what it holds back and saying so in the next message.
#[derive(Default)]
pub(crate) struct Reports {
    last: Option<Instant>,
    pub(crate) suppressed: u64,
}

impl Reports {
    /// Reports unless a report about this sink went out less than
    /// [`REPORT_EVERY`] ago. Returns whether it did.
    pub(crate) fn say(&mut self, sink: &str, what: fmt::Arguments<'_>) -> bool {
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < REPORT_EVERY) {
            self.suppressed += 1;
            return false;
        }
        self.force(sink, what);
        true
    }

    pub(crate) fn force(&mut self, sink: &str, what: fmt::Arguments<'_>) {
        self.last = Some(Instant::now());
        match std::mem::take(&mut self.suppressed) {
            0 => report(format_args!("{sink}: {what}")),
            n => report(format_args!("{sink}: {what} ({n} earlier messages about it suppressed)")),
        }
    }
}

/// The message of a panic payload.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

thread_local! {
    /// Set on the writer and output threads, so that a sink that logs (or a
    /// panic in a sink) never waits for logjet itself.
    static LOGJET_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Keeps panics inside sinks out of the process's panic hook: logjet catches
/// them, counts them and reports them on stderr at a bounded rate, so the
/// hook (which prints a message, and a backtrace with `RUST_BACKTRACE`)
/// would only flood stderr. Installed once, when the first logger starts,
/// around the hook in place then; every other thread's panics go to that
/// hook as before. A hook the application sets later replaces this one.
pub(crate) fn quiet_panics_on_logjet_threads() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !on_logjet_thread() {
                previous(info);
            }
        }));
    });
}

/// Marks the current thread as one of logjet's own (writer or output).
pub(crate) fn mark_logjet_thread() {
    LOGJET_THREAD.with(|c| c.set(true));
}

/// Whether the current thread is logjet's writer or output thread.
pub(crate) fn on_logjet_thread() -> bool {
    LOGJET_THREAD.try_with(|c| c.get()).unwrap_or(false)
}
