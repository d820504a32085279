//! [`Pretty`]: every record in a readable form for a developer's terminal.

use std::fmt;
use std::io::{self, IsTerminal};

use super::private::{Format, Sealed, Target};
use super::{Sink, StderrOut, StdoutOut};
use crate::pretty::{Style, Time};

/// Every record in the pretty format ([`logjet::pretty`](crate::pretty)),
/// for reading logs during development without pino-pretty: the time, the
/// level in pino-pretty's colours, the namespace of a debug handle's
/// record, the message, the fields as `key=value`, and errors (type,
/// message, source chain, stack) on indented lines.
///
/// ```text
/// [14:40:00.123] INFO  request handled method=GET status=200 latency_ms=3.25 request_id=42
/// [14:40:00.125] ERROR db failed table=users
///     err: std::io::error::Error: connection reset
///       caused by: broken pipe
/// ```
///
/// Colours are on when the stream is a terminal and `NO_COLOR` is unset
/// (or empty); [`colors`](Pretty::colors) decides instead. The time is the
/// local time of day with milliseconds unless [`time`](Pretty::time) says
/// otherwise. Control characters in records are written escaped, so a
/// record cannot forge a line or drive the terminal.
///
/// ```
/// use logjet::{sink, Level, Logger};
///
/// // Pretty lines on the terminal while developing, NDJSON for the tools.
/// let (log, _guard) = Logger::builder()
///     .level(Level::Debug)
///     .sink(sink::Pretty::stderr())
///     .sink(sink::Writer::new(std::io::sink()).name("collector"))
///     .build()?;
/// logjet::info!(log, "listening", port = 8080);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pretty {
    name: String,
    out: Box<dyn io::Write + Send>,
    terminal: bool,
    colors: Option<bool>,
    time: Time,
}

impl fmt::Debug for Pretty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pretty").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Pretty {
    /// Standard output; colours when it is a terminal.
    pub fn stdout() -> Pretty {
        Pretty::with("stdout (pretty)", Box::new(StdoutOut), io::stdout().is_terminal())
    }

    /// Standard error; colours when it is a terminal.
    pub fn stderr() -> Pretty {
        Pretty::with("stderr (pretty)", Box::new(StderrOut), io::stderr().is_terminal())
    }

    /// Any writer, treated as not a terminal (no colours unless asked).
    pub fn writer(w: impl io::Write + Send + 'static) -> Pretty {
        Pretty::with("pretty", Box::new(w), false)
    }

    fn with(name: &str, out: Box<dyn io::Write + Send>, terminal: bool) -> Pretty {
        Pretty { name: name.into(), out, terminal, colors: None, time: Time::default() }
    }

    /// Forces colours on or off, whatever the terminal and `NO_COLOR` say.
    pub fn colors(mut self, yes: bool) -> Pretty {
        self.colors = Some(yes);
        self
    }

    /// How the time is shown (default [`Time::Local`], `HH:MM:SS.mmm`).
    pub fn time(mut self, time: Time) -> Pretty {
        self.time = time;
        self
    }

    /// Names the sink in error reports.
    pub fn name(mut self, name: impl Into<String>) -> Pretty {
        self.name = name.into();
        self
    }

    fn style(&self, env: &dyn Fn(&str) -> Option<String>) -> Style {
        let colors = self.colors.unwrap_or_else(|| self.terminal && env("NO_COLOR").is_none_or(|v| v.is_empty()));
        Style::new().colors(colors).time(self.time)
    }
}

impl Sink for Pretty {}
impl Sealed for Pretty {
    fn into_target(self) -> Target {
        let style = self.style(&|k| std::env::var(k).ok());
        Target { name: self.name, out: Box::new(self.out), format: Format::Pretty(style) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_terminal_and_no_color() {
        let style = |p: Pretty, no_color: Option<&str>| {
            p.style(&|k| (k == "NO_COLOR").then_some(no_color).flatten().map(String::from))
        };
        let tty = || Pretty { terminal: true, ..Pretty::writer(io::sink()) };
        assert!(style(tty(), None).has_colors());
        assert!(style(tty(), Some("")).has_colors());
        assert!(!style(tty(), Some("1")).has_colors());
        assert!(!style(Pretty::writer(io::sink()), None).has_colors());
        assert!(style(Pretty::writer(io::sink()).colors(true), Some("1")).has_colors());
        assert!(!style(tty().colors(false), None).has_colors());
        assert_eq!(style(tty().time(Time::Utc), None).time_format(), Time::Utc);
    }
}
