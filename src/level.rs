//! Log levels with pino's numbers.

use std::fmt;
use std::str::FromStr;

/// The severity of a record, numbered as pino numbers it.
///
/// The number is what the NDJSON output carries in its `level` key, so tools
/// built for pino (pino-pretty, log collectors with pino presets) read it
/// unchanged.
///
/// ```
/// use logjet::Level;
///
/// assert_eq!(Level::Info.number(), 30);
/// assert!(Level::Warn > Level::Info);
/// assert_eq!("error".parse::<Level>()?, Level::Error);
/// assert_eq!("60".parse::<Level>()?, Level::Fatal);
/// # Ok::<(), logjet::ParseLevelError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Very fine detail (10).
    Trace = 10,
    /// Debugging detail (20).
    Debug = 20,
    /// Normal operation (30).
    Info = 30,
    /// Something unexpected that the program survives (40).
    Warn = 40,
    /// An operation failed (50).
    Error = 50,
    /// The program cannot go on (60). `fatal!` flushes before it returns.
    Fatal = 60,
}

impl Level {
    /// Every level, from the least to the most severe.
    pub const ALL: [Level; 6] = [Level::Trace, Level::Debug, Level::Info, Level::Warn, Level::Error, Level::Fatal];

    /// The pino number of this level: 10, 20, 30, 40, 50 or 60.
    #[inline]
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// The lower-case name: `"trace"` … `"fatal"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }

    /// The level with this pino number, if there is one.
    pub const fn from_number(n: u8) -> Option<Level> {
        match n {
            10 => Some(Level::Trace),
            20 => Some(Level::Debug),
            30 => Some(Level::Info),
            40 => Some(Level::Warn),
            50 => Some(Level::Error),
            60 => Some(Level::Fatal),
            _ => None,
        }
    }

    /// Index 0..6, for tables indexed by level.
    #[inline]
    pub(crate) const fn index(self) -> usize {
        (self as u8 / 10 - 1) as usize
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string names no level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseLevelError {
    input: String,
}

impl fmt::Display for ParseLevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown log level {:?}: expected trace, debug, info, warn, error, fatal or 10, 20, 30, 40, 50, 60",
            self.input
        )
    }
}

impl std::error::Error for ParseLevelError {}

impl FromStr for Level {
    type Err = ParseLevelError;

    /// Parses a name (`"info"`, any case, `"warning"` too) or a pino number (`"30"`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let level = match t.to_ascii_lowercase().as_str() {
            "trace" => Some(Level::Trace),
            "debug" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warn),
            "error" => Some(Level::Error),
            "fatal" => Some(Level::Fatal),
            other => other.parse::<u8>().ok().and_then(Level::from_number),
        };
        level.ok_or_else(|| ParseLevelError { input: s.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_round_trip() {
        for l in Level::ALL {
            assert_eq!(Level::from_number(l.number()), Some(l));
            assert_eq!(l.as_str().parse::<Level>().unwrap(), l);
            assert_eq!(l.to_string().to_uppercase().parse::<Level>().unwrap(), l);
            assert_eq!(Level::ALL[l.index()], l);
        }
        assert_eq!(Level::from_number(35), None);
        let err = "loud".parse::<Level>().unwrap_err();
        assert!(err.to_string().contains("\"loud\""));
    }
}
