//! The names of the keys logjet writes in an NDJSON line, and how the level
//! and time are written: pino's by default, or the names a log platform
//! reads (Elastic Common Schema, Google Cloud Logging, OpenTelemetry).

use crate::level::Level;
use crate::time::TimeFormat;

/// How the level is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LevelStyle {
    /// pino's number: `"level":30`.
    Number,
    /// The lower-case label: `"level":"info"`.
    Label,
    /// Cloud Logging's severity names: `DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL`.
    Gcp,
    /// OpenTelemetry: the key holds `TRACE` … `FATAL` and the `SeverityNumber`
    /// key the OpenTelemetry number (1, 5, 9, 13, 17, 21).
    Otel,
}

/// The names of the keys of an NDJSON line and how the level and time are
/// written, decided once at build ([`Builder::keys`](crate::Builder::keys)).
///
/// The default is pino's ([`Keys::pino`]). The presets name the keys the
/// way a log platform reads them; any preset can be changed key by key.
/// Whatever the names, the order stays pino's: the level, the time, the
/// pid and host name, the constant fields, the record's fields, the
/// message last. The record's fields stay at the top level.
///
/// A user field named like one of the logger's keys is written with one
/// more leading underscore (`message` → `_message`), as pino's keys are;
/// pino's names (`level`, `time`, `pid`, `hostname`, `msg`, `ns`) stay
/// reserved under every preset.
///
/// ```
/// use logjet::{Keys, Logger, TimeFormat};
///
/// let (log, _guard) = Logger::builder()
///     .keys(Keys::pino().message("message").time("ts").time_format(TimeFormat::Rfc3339).level_label(true))
///     .sink(logjet::sink::Writer::new(std::io::sink()))
///     .build()?;
/// // {"level":"info","ts":"2026-11-21T20:22:00.123Z","pid":…,"hostname":…,"message":"hello"}
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    level: String,
    level_style: LevelStyle,
    time: String,
    time_format: Option<TimeFormat>,
    message: String,
    pid: String,
    hostname: String,
    constants: Vec<(String, String)>,
}

impl Default for Keys {
    fn default() -> Self {
        Keys::pino()
    }
}

/// The `ecs.version` the [`Keys::ecs`] preset writes.
pub const ECS_VERSION: &str = "8.11.0";

impl Keys {
    /// pino's keys, the default: `{"level":30,"time":1732200000123,"pid":…,"hostname":…,…,"msg":…}`.
    pub fn pino() -> Keys {
        Keys {
            level: "level".into(),
            level_style: LevelStyle::Number,
            time: "time".into(),
            time_format: None,
            message: "msg".into(),
            pid: "pid".into(),
            hostname: "hostname".into(),
            constants: Vec::new(),
        }
    }

    /// Elastic Common Schema: `log.level` as a label, `@timestamp` in RFC 3339,
    /// `process.pid`, `host.hostname`, `ecs.version` ([`ECS_VERSION`]) and `message`.
    pub fn ecs() -> Keys {
        Keys {
            level: "log.level".into(),
            level_style: LevelStyle::Label,
            time: "@timestamp".into(),
            time_format: Some(TimeFormat::Rfc3339),
            message: "message".into(),
            pid: "process.pid".into(),
            hostname: "host.hostname".into(),
            constants: vec![("ecs.version".into(), ECS_VERSION.into())],
        }
    }

    /// Google Cloud Logging's structured payload: `severity` (`DEBUG` for
    /// trace and debug, `INFO`, `WARNING`, `ERROR`, `CRITICAL` for fatal),
    /// `time` in RFC 3339 and `message`.
    pub fn gcp() -> Keys {
        Keys {
            level: "severity".into(),
            level_style: LevelStyle::Gcp,
            time: "time".into(),
            time_format: Some(TimeFormat::Rfc3339),
            message: "message".into(),
            ..Keys::pino()
        }
    }

    /// The OpenTelemetry log data model's field names: `SeverityText`
    /// (`TRACE` … `FATAL`), `SeverityNumber` (1, 5, 9, 13, 17, 21),
    /// `Timestamp` in RFC 3339 and `Body`. The record's fields stay at the
    /// top level (not nested under `Attributes`).
    pub fn otel() -> Keys {
        Keys {
            level: "SeverityText".into(),
            level_style: LevelStyle::Otel,
            time: "Timestamp".into(),
            time_format: Some(TimeFormat::Rfc3339),
            message: "Body".into(),
            ..Keys::pino()
        }
    }

    /// The message's key (pino: `msg`).
    pub fn message(mut self, key: impl Into<String>) -> Self {
        self.message = key.into();
        self
    }

    /// The time's key (pino: `time`).
    pub fn time(mut self, key: impl Into<String>) -> Self {
        self.time = key.into();
        self
    }

    /// How the time is written; [`Builder::time`](crate::Builder::time),
    /// when called, wins.
    pub fn time_format(mut self, format: TimeFormat) -> Self {
        self.time_format = Some(format);
        self
    }

    /// The level's key (pino: `level`).
    pub fn level(mut self, key: impl Into<String>) -> Self {
        self.level = key.into();
        self
    }

    /// The level as its lower-case label (`"info"`) instead of pino's number (`30`).
    pub fn level_label(mut self, yes: bool) -> Self {
        self.level_style = if yes { LevelStyle::Label } else { LevelStyle::Number };
        self
    }

    /// The process id's key (pino: `pid`).
    pub fn pid(mut self, key: impl Into<String>) -> Self {
        self.pid = key.into();
        self
    }

    /// The host name's key (pino: `hostname`).
    pub fn hostname(mut self, key: impl Into<String>) -> Self {
        self.hostname = key.into();
        self
    }

    /// A constant string field written in every line after the host name
    /// (as [`Keys::ecs`] writes `ecs.version`).
    pub fn constant(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.constants.push((key.into(), value.into()));
        self
    }

    /// The time format the keys ask for, if any.
    pub(crate) fn time_format_choice(&self) -> Option<TimeFormat> {
        self.time_format
    }

    /// Whether the line is pino's (what the time format is aside).
    pub(crate) fn is_pino(&self) -> bool {
        Keys { time_format: None, ..self.clone() } == Keys::pino()
    }

    pub(crate) fn time_key(&self) -> &str {
        &self.time
    }
    pub(crate) fn message_key(&self) -> &str {
        &self.message
    }
    pub(crate) fn pid_key(&self) -> &str {
        &self.pid
    }
    pub(crate) fn hostname_key(&self) -> &str {
        &self.hostname
    }
    pub(crate) fn constants(&self) -> &[(String, String)] {
        &self.constants
    }

    /// Every key name logjet writes under these keys.
    pub(crate) fn names(&self) -> Vec<&str> {
        let mut v = vec![self.level.as_str(), self.time.as_str(), self.message.as_str()];
        v.extend([self.pid.as_str(), self.hostname.as_str()]);
        if self.level_style == LevelStyle::Otel {
            v.push("SeverityNumber");
        }
        v.extend(self.constants.iter().map(|(k, _)| k.as_str()));
        v
    }

    /// Checks the names: none empty, none starting with `_` (a renamed
    /// user key starts with one), no two equal.
    pub(crate) fn check(&self) -> Result<(), String> {
        let names = self.names();
        for (i, n) in names.iter().enumerate() {
            if n.is_empty() {
                return Err("an output key is empty".into());
            }
            if n.starts_with('_') {
                return Err(format!("output key {n:?} starts with '_', which marks renamed user keys"));
            }
            if names[..i].contains(n) {
                return Err(format!("output key {n:?} is used twice"));
            }
        }
        Ok(())
    }

    /// `"key":value` of the level, without the leading `{` or comma.
    pub(crate) fn level_member(&self, level: Level) -> Vec<u8> {
        let mut v = Vec::new();
        crate::format::escape::write_str(&mut v, self.level.as_bytes());
        v.push(b':');
        match self.level_style {
            LevelStyle::Number => crate::format::number::write_int(&mut v, level.number()),
            LevelStyle::Label => crate::format::escape::write_str(&mut v, level.as_str().as_bytes()),
            LevelStyle::Gcp => {
                let name = match level {
                    Level::Trace | Level::Debug => "DEBUG",
                    Level::Info => "INFO",
                    Level::Warn => "WARNING",
                    Level::Error => "ERROR",
                    Level::Fatal => "CRITICAL",
                };
                crate::format::escape::write_str(&mut v, name.as_bytes());
            }
            LevelStyle::Otel => {
                let (text, number) = match level {
                    Level::Trace => ("TRACE", 1u8),
                    Level::Debug => ("DEBUG", 5),
                    Level::Info => ("INFO", 9),
                    Level::Warn => ("WARN", 13),
                    Level::Error => ("ERROR", 17),
                    Level::Fatal => ("FATAL", 21),
                };
                crate::format::escape::write_str(&mut v, text.as_bytes());
                v.extend_from_slice(b",\"SeverityNumber\":");
                crate::format::number::write_int(&mut v, number);
            }
        }
        v
    }
}
