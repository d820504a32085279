//! Writing panics as `fatal` records before the process goes down.

use crate::level::Level;
use crate::logger::Logger;

/// Installs a panic hook that writes each panic as a `fatal` record through
/// `logger` and flushes it, then runs the hook that was installed before
/// (which by default prints the panic to stderr).
///
/// The record: `{"level":60,...,"location":"src/main.rs:10:5","thread":"main","msg":"panicked: <message>"}`.
/// The flush waits at most the logger's shutdown timeout. A panic on the
/// writer thread itself (inside a sink) is left to the previous hook.
///
/// ```
/// let (log, guard) = logjet::Logger::builder()
///     .sink(logjet::sink::Writer::new(std::io::sink()))
///     .build()?;
/// logjet::flush_on_panic(&log);
/// # let _ = std::panic::take_hook();
/// # Ok::<(), logjet::Error>(())
/// ```
pub fn flush_on_panic(logger: &Logger) {
    let log = logger.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !crate::report::on_logjet_thread() {
            if let Some(mut ev) = log.event(Level::Fatal) {
                if let Some(loc) = info.location() {
                    ev.display("location", &format_args!("{}:{}:{}", loc.file(), loc.line(), loc.column()));
                }
                let thread = std::thread::current();
                ev.str("thread", thread.name().unwrap_or("<unnamed>"));
                let message = crate::report::panic_message(info.payload());
                ev.emit_fmt(format_args!("panicked: {message}"));
            }
        }
        previous(info);
    }));
}
