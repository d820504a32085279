//! The global logger: what `logjet::info!("...")` without a handle writes
//! to, set once by `logjet::init` or `Logger::set_global`.

use std::sync::OnceLock;

use crate::debug::DebugLogger;
use crate::error::Error;
use crate::logger::Logger;

/// The process's global logger, once set.
static GLOBAL: OnceLock<Logger> = OnceLock::new();

impl Logger {
    /// Makes this logger the global one: the macros called without a
    /// handle (`logjet::info!("message", key = value)`) write through it,
    /// as do [`debug_ns!`](crate::debug_ns) handles. It can be set once per
    /// process (like the `log` crate's logger); a second call is an error
    /// and changes nothing. [`init`](crate::init) sets it for you.
    ///
    /// Before a global logger is set, those calls write nothing and cost
    /// one atomic load.
    ///
    /// ```
    /// let (log, guard) = logjet::Logger::builder()
    ///     .sink(logjet::sink::Writer::new(std::io::sink()))
    ///     .build()?;
    /// log.set_global()?;
    /// logjet::info!("request handled", status = 200); // no handle needed
    /// assert!(log.set_global().is_err(), "set once per process");
    /// guard.flush()?;
    /// # Ok::<(), logjet::Error>(())
    /// ```
    pub fn set_global(&self) -> Result<(), Error> {
        GLOBAL.set(self.clone()).map_err(|_| Error::config("a global logger is already set (it can be set once)"))
    }

    /// The global logger, if one was set.
    #[inline(always)]
    pub fn global() -> Option<&'static Logger> {
        GLOBAL.get()
    }
}

/// The debug handle of a call site of [`debug_ns!`](crate::debug_ns),
/// made from the global logger on first use and kept in `slot`.
#[doc(hidden)]
#[inline]
pub fn debug_handle(slot: &'static OnceLock<DebugLogger>, namespace: &str) -> Option<&'static DebugLogger> {
    match slot.get() {
        Some(h) => Some(h),
        None => Logger::global().map(|g| slot.get_or_init(|| g.debug_ns(namespace))),
    }
}
