//! Where records go: standard output and error, files, any writer, the
//! debug console, the pretty console, syslog, collectors over TCP, your
//! own [`RecordSink`] and (feature `otlp`) an OTLP/HTTP collector.
//!
//! A sink is handed to [`Builder::sink`](crate::Builder::sink) (or
//! [`Builder::sink_at`](crate::Builder::sink_at) with its own minimum level)
//! and from then on belongs to the logger's output thread: only that thread
//! ever writes to it, always whole lines, many records per write (the
//! writer thread formats them).
//!
//! ```no_run
//! use logjet::{sink, Level, Logger};
//!
//! let (log, _guard) = Logger::builder()
//!     .sink(sink::File::append("logs/app.log")?)   // everything from info up
//!     .sink_at(Level::Error, sink::Stderr)          // errors on the console too
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io::{self, Write};

/// Something records can be written to: [`Stdout`], [`Stderr`], [`File`],
/// [`Writer`], [`DebugConsole`], [`Pretty`], `Syslog`, [`Tcp`], [`Records`]
/// (your own [`RecordSink`]) or `Otlp`.
pub trait Sink: private::Sealed {}

pub(crate) mod private {
    use std::io;

    /// A sink as logjet's threads hold it: the format for the writer
    /// thread, the output for the output thread.
    pub struct Target {
        pub(crate) name: String,
        pub(crate) out: Box<dyn SinkOut>,
        pub(crate) format: Format,
    }

    /// What the output thread calls on a sink: `io::Write` (whole lines,
    /// many records per write, then `flush`), and `reopen` for the sinks
    /// that have a path.
    pub trait SinkOut: io::Write + Send {
        /// Opens the sink's path again (`Logger::reopen`, SIGHUP), after
        /// every record queued before the request was written. Sinks
        /// without a path have nothing to do.
        fn reopen(&mut self) -> io::Result<()> {
            Ok(())
        }

        /// After a batch that no flush, reopen or shutdown waits for: a
        /// sink that batches by time (the OTLP exporter) may hold its
        /// records until [`due`](SinkOut::due); every other sink flushes.
        fn flush_lazy(&mut self) -> io::Result<()> {
            self.flush()
        }

        /// When the sink wants `flush` called although no batch came (the
        /// oldest record it holds reached its delay).
        fn due(&self) -> Option<std::time::Instant> {
            None
        }

        /// The shutdown deadline passed with the sink still failing: drop
        /// what it holds (counted by [`take_lost`](SinkOut::take_lost),
        /// except the records of the batch being written, which that
        /// batch counts).
        fn abandon(&mut self) {}

        /// Records the sink had taken (counted as written) and has dropped
        /// since it was last asked: refused for good by their receiver, or
        /// abandoned.
        fn take_lost(&mut self) -> u64 {
            0
        }
    }

    impl SinkOut for Box<dyn io::Write + Send> {}

    /// How a sink wants its records.
    pub enum Format {
        /// NDJSON lines.
        Json,
        /// npm debug's console format, records from debug handles only.
        Console(crate::format::console::ConsoleStyle),
        /// The pretty format, every record.
        Pretty(crate::pretty::Style),
        /// Syslog messages, framed for their transport.
        #[cfg(unix)]
        Syslog(Box<crate::format::syslog::SyslogSpec>),
        /// Record frames for a record sink (`sink::Records`, `sink::Otlp`).
        Records,
    }

    pub trait Sealed {
        fn into_target(self) -> Target;
    }
}

use private::{Format, Sealed, SinkOut, Target};

mod file;
mod rotation;
pub use file::{File, FileOptions};
pub use rotation::{Naming, Period};

mod pretty;
pub use pretty::Pretty;

mod stream;
mod tcp;
pub use tcp::Tcp;
#[cfg(feature = "rustls")]
pub use tcp::TlsOptions;
pub(crate) mod records;
pub use records::{FieldValue, RecordFields, RecordSink, RecordView, Records};

#[cfg(feature = "otlp")]
mod otlp;
#[cfg(feature = "otlp")]
pub use otlp::{Otlp, OtlpEncoding};

#[cfg(unix)]
mod syslog;
#[cfg(unix)]
pub use syslog::{Facility, Framing, Syslog, SyslogBody, SyslogFormat};

/// The process's standard output, the usual way into a log collector
/// (`my-service | vector`, systemd's journal, a container runtime).
///
/// The writer takes the standard-output lock for each batch, so lines never
/// interleave with `println!` output. A closed pipe (`EPIPE`) is reported
/// as a write error; the process is not killed (Rust ignores `SIGPIPE`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stdout;

/// The process's standard error.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stderr;

struct StdoutOut;

impl Write for StdoutOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}

struct StderrOut;

impl Write for StderrOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stderr().lock().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stderr().lock().flush()
    }
}

impl SinkOut for StdoutOut {}
impl SinkOut for StderrOut {}

impl Sink for Stdout {}
impl Sealed for Stdout {
    fn into_target(self) -> Target {
        Target { name: "stdout".into(), out: Box::new(StdoutOut), format: Format::Json }
    }
}

impl Sink for Stderr {}
impl Sealed for Stderr {
    fn into_target(self) -> Target {
        Target { name: "stderr".into(), out: Box::new(StderrOut), format: Format::Json }
    }
}

/// Any `io::Write`: a pipe into a collector, a socket, a child process's
/// stdin, an in-memory buffer in tests.
///
/// The output thread calls `write` with whole lines (many records at a time)
/// and then `flush`, so a `BufWriter` inside never holds records back. An
/// error is counted, reported on stderr at a bounded rate and retried with
/// backoff; a panic inside the writer is caught and treated as an error.
///
/// ```
/// use std::process::{Command, Stdio};
///
/// # if cfg!(unix) {
/// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn()?;
/// let stdin = child.stdin.take().expect("piped");
/// let (log, guard) = logjet::Logger::builder()
///     .sink(logjet::sink::Writer::new(stdin).name("cat"))
///     .build()?;
/// logjet::info!(log, "to the collector");
/// guard.shutdown()?;
/// child.wait()?;
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Writer {
    name: String,
    out: Box<dyn io::Write + Send>,
}

impl Writer {
    /// Wraps a writer. It is moved to the logger's output thread.
    pub fn new(w: impl io::Write + Send + 'static) -> Writer {
        Writer { name: "writer".into(), out: Box::new(w) }
    }

    /// Names the sink in error reports (default `"writer"`).
    pub fn name(mut self, name: impl Into<String>) -> Writer {
        self.name = name.into();
        self
    }
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Sink for Writer {}
impl Sealed for Writer {
    fn into_target(self) -> Target {
        Target { name: self.name, out: Box::new(self.out), format: Format::Json }
    }
}

/// npm `debug`'s console output, for the records of debug handles
/// ([`Logger::debug_ns`](crate::Logger::debug_ns)); other records are not
/// its business.
///
/// On a terminal: the namespace in its own colour (chosen by debug's hash
/// from debug's palettes, the 256-colour one when the terminal says it
/// supports it), the message and fields, and `+NNms` since the previous
/// record of that namespace. Elsewhere: an ISO date, the namespace, the
/// message and fields. The environment decides as it does for debug:
///
/// | variable | effect |
/// |---|---|
/// | `DEBUG_COLORS` | `yes`/`on`/`true`/`enabled` or a non-zero number force colours; `no`/`off`/`false`/`disabled`/`0` turn them off |
/// | `NO_COLOR` | non-empty: no colours (unless `DEBUG_COLORS` says otherwise) |
/// | `DEBUG_HIDE_DATE` | truthy as above: no date prefix without colours |
/// | `FORCE_COLOR`, `COLORTERM`, `TERM` | choose the 256-colour palette (`FORCE_COLOR=2`/`3`, `COLORTERM=truecolor`/`24bit`, `TERM=*-256color`) |
///
/// ```
/// use logjet::{sink, Level, Logger};
///
/// // JSON for the collector on stdout (info and up), debug's format on stderr.
/// let (log, _guard) = Logger::builder()
///     .sink_at(Level::Info, sink::Stdout)
///     .sink(sink::DebugConsole::stderr())
///     .debug("app:*")
///     .build()?;
/// let db = log.debug_ns("app:db");
/// logjet::debug!(db, "connected", host = "db1");
/// # Ok::<(), logjet::Error>(())
/// ```
pub struct DebugConsole {
    name: String,
    out: Box<dyn io::Write + Send>,
    terminal: bool,
    colors: Option<bool>,
    colors_256: Option<bool>,
    hide_date: Option<bool>,
}

impl fmt::Debug for DebugConsole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DebugConsole").field("name", &self.name).finish_non_exhaustive()
    }
}

impl DebugConsole {
    /// Standard error, where debug writes; colours when it is a terminal.
    pub fn stderr() -> DebugConsole {
        use std::io::IsTerminal;
        DebugConsole {
            name: "stderr (debug console)".into(),
            out: Box::new(StderrOut),
            terminal: io::stderr().is_terminal(),
            colors: None,
            colors_256: None,
            hide_date: None,
        }
    }

    /// Any writer, treated as not a terminal (no colours unless asked).
    pub fn writer(w: impl io::Write + Send + 'static) -> DebugConsole {
        DebugConsole {
            name: "debug console".into(),
            out: Box::new(w),
            terminal: false,
            colors: None,
            colors_256: None,
            hide_date: None,
        }
    }

    /// Forces colours on or off, whatever the environment says.
    pub fn colors(mut self, yes: bool) -> DebugConsole {
        self.colors = Some(yes);
        self
    }

    /// Forces the 256-colour palette (`true`) or the basic one (`false`).
    pub fn colors_256(mut self, yes: bool) -> DebugConsole {
        self.colors_256 = Some(yes);
        self
    }

    /// Forces the date prefix (used without colours) off or on.
    pub fn hide_date(mut self, yes: bool) -> DebugConsole {
        self.hide_date = Some(yes);
        self
    }

    fn style(&self, env: &dyn Fn(&str) -> Option<String>) -> crate::format::console::ConsoleStyle {
        use crate::format::console::{ConsoleStyle, ANSI256, BASIC};
        let colors = self
            .colors
            .or_else(|| env("DEBUG_COLORS").map(|v| js_truthy(&v)))
            .unwrap_or_else(|| env("NO_COLOR").is_none_or(|v| v.is_empty()) && self.terminal);
        let wide = self.colors_256.unwrap_or_else(|| terminal_has_256_colors(env));
        ConsoleStyle {
            palette: colors.then_some(if wide { &ANSI256[..] } else { &BASIC[..] }),
            hide_date: self.hide_date.or_else(|| env("DEBUG_HIDE_DATE").map(|v| js_truthy(&v))).unwrap_or(false),
        }
    }
}

/// How debug coerces `DEBUG_*` variables, then `Boolean(value)`.
fn js_truthy(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    match l.as_str() {
        "yes" | "on" | "true" | "enabled" => true,
        "no" | "off" | "false" | "disabled" | "null" => false,
        // Number(v): empty and blank are 0, unparsable is NaN; both false.
        _ => v.trim().parse::<f64>().is_ok_and(|n| n != 0.0),
    }
}

/// Whether the terminal supports 256 colours, as the `supports-color`
/// package (which debug consults) decides it, in short.
fn terminal_has_256_colors(env: &dyn Fn(&str) -> Option<String>) -> bool {
    if let Some(force) = env("FORCE_COLOR") {
        return matches!(force.as_str(), "2" | "3");
    }
    if env("COLORTERM").is_some_and(|c| c == "truecolor" || c == "24bit") {
        return true;
    }
    env("TERM").is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.ends_with("-256") || t.ends_with("-256color")
    })
}

impl Sink for DebugConsole {}
impl Sealed for DebugConsole {
    fn into_target(self) -> Target {
        let style = self.style(&|k| std::env::var(k).ok());
        Target { name: self.name, out: Box::new(self.out), format: Format::Console(style) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::console::{ANSI256, BASIC};

    fn style_with(sink: DebugConsole, vars: &[(&str, &str)]) -> crate::format::console::ConsoleStyle {
        let map: std::collections::HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        sink.style(&|k| map.get(k).cloned())
    }

    #[test]
    fn environment_decides_like_debug() {
        let tty = || DebugConsole { terminal: true, ..DebugConsole::writer(io::sink()) };
        let pipe = || DebugConsole::writer(io::sink());
        assert_eq!(style_with(tty(), &[]).palette, Some(&BASIC[..]));
        assert_eq!(style_with(pipe(), &[]).palette, None);
        assert_eq!(style_with(pipe(), &[("DEBUG_COLORS", "yes")]).palette, Some(&BASIC[..]));
        assert_eq!(style_with(pipe(), &[("DEBUG_COLORS", "1")]).palette, Some(&BASIC[..]));
        assert_eq!(style_with(tty(), &[("DEBUG_COLORS", "no")]).palette, None);
        assert_eq!(style_with(tty(), &[("DEBUG_COLORS", "0")]).palette, None);
        assert_eq!(style_with(tty(), &[("DEBUG_COLORS", "maybe")]).palette, None);
        assert_eq!(style_with(tty(), &[("NO_COLOR", "1")]).palette, None);
        assert_eq!(style_with(tty(), &[("NO_COLOR", "")]).palette, Some(&BASIC[..]));
        assert_eq!(style_with(tty(), &[("NO_COLOR", "1"), ("DEBUG_COLORS", "true")]).palette, Some(&BASIC[..]));
        assert_eq!(style_with(tty(), &[("TERM", "xterm-256color")]).palette, Some(&ANSI256[..]));
        assert_eq!(style_with(tty(), &[("COLORTERM", "truecolor")]).palette, Some(&ANSI256[..]));
        assert_eq!(style_with(tty(), &[("FORCE_COLOR", "1"), ("TERM", "xterm-256color")]).palette, Some(&BASIC[..]));
        assert_eq!(style_with(tty().colors(false), &[("DEBUG_COLORS", "1")]).palette, None);
        assert_eq!(style_with(pipe().colors(true).colors_256(true), &[]).palette, Some(&ANSI256[..]));
        assert!(!style_with(pipe(), &[]).hide_date);
        assert!(style_with(pipe(), &[("DEBUG_HIDE_DATE", "1")]).hide_date);
        assert!(style_with(pipe(), &[("DEBUG_HIDE_DATE", "on")]).hide_date);
        assert!(!style_with(pipe(), &[("DEBUG_HIDE_DATE", "off")]).hide_date);
        assert!(!style_with(pipe().hide_date(false), &[("DEBUG_HIDE_DATE", "1")]).hide_date);
    }
}
