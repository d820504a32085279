//! One call from the environment: `logjet::init()`.

use std::path::PathBuf;

use crate::builder::Builder;
use crate::directives::Directives;
use crate::error::Error;
use crate::guard::Guard;
use crate::level::Level;
use crate::logger::Logger;
use crate::sink::{self, Sink};

/// How `init` writes records when no sink is given: pino's NDJSON or the
/// pretty console format ([`sink::Pretty`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// NDJSON, for collectors and `jq`.
    Json,
    /// The pretty console format, for people.
    Pretty,
}

/// Sets logging up from the environment in one call and returns the guard
/// to keep until the end of `main`:
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `RUST_LOG` | `EnvFilter` directives (`info,tower_http=debug`): per-target levels for `tracing` events and `log` records; its bare level is logjet's own level too | `info` |
/// | `LOG_LEVEL` | logjet's own level (`trace` … `fatal`, `10` … `60`), over `RUST_LOG`'s bare level | |
/// | `DEBUG` | npm `debug` namespaces (`app:*,-app:db`); for `tracing` and `log`, they match targets, at `debug` and `trace` | none |
/// | `LOGJET_FORMAT` | `json` or `pretty` | `pretty` when stdout is a terminal, `json` otherwise |
/// | `LOGJET_FILE` | write NDJSON to this file (appending) instead of stdout | stdout |
///
/// It builds the logger, makes it the global logger (so
/// `logjet::info!("...")` needs no handle), and with the `tracing` feature
/// installs a `TracingLayer` behind an `EnvFilter`
/// as the global `tracing` subscriber; with the `log` feature, the `log`
/// bridge (`init_log`). One level knob: `RUST_LOG=debug`
/// writes debug events, and a namespace `DEBUG` enables passes the filter
/// for its targets. A bad value is an error naming the variable, never a
/// silent default. [`Init`] does the same with overrides.
///
/// ```no_run
/// fn main() -> Result<(), logjet::Error> {
///     let _guard = logjet::init()?;
///     logjet::info!("service started", port = 8080);
///     Ok(())
/// }
/// ```
pub fn init() -> Result<Guard, Error> {
    Init::from_env()?.install()
}

/// [`init`] with overrides: read the environment, change what the service
/// decides itself, install.
///
/// ```no_run
/// let _guard = logjet::Init::from_env()?
///     .level(logjet::Level::Debug) // whatever LOG_LEVEL says
///     .configure(|b| b.capacity(65_536).flush_on_signals(true))
///     .install()?;
/// # Ok::<(), logjet::Error>(())
/// ```
#[must_use = "nothing is set up until `install`"]
pub struct Init {
    builder: Builder,
    level: Option<Level>,
    rust_log: Option<String>,
    format: Option<LogFormat>,
    file: Option<PathBuf>,
    sink: Option<Box<dyn FnOnce(Builder) -> Builder>>,
}

impl std::fmt::Debug for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Init")
            .field("level", &self.level)
            .field("rust_log", &self.rust_log)
            .field("format", &self.format)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// A variable's value, `None` when unset or empty; an error when it is not
/// Unicode.
fn var(name: &str) -> Result<Option<String>, Error> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(Error::config(format!("{name} is not valid Unicode"))),
    }
}

impl Init {
    /// Reads `RUST_LOG`, `LOG_LEVEL`, `LOGJET_FORMAT` and `LOGJET_FILE`
    /// (`DEBUG` is read when the logger is built). Fails, naming the
    /// variable, on a value it does not understand.
    pub fn from_env() -> Result<Init, Error> {
        let level = match var("LOG_LEVEL")? {
            None => None,
            Some(v) => Some(v.parse::<Level>().map_err(|e| Error::config(format!("LOG_LEVEL={v:?}: {e}")))?),
        };
        let rust_log = var("RUST_LOG")?;
        if let Some(v) = &rust_log {
            check_rust_log(v)?;
        }
        let format = match var("LOGJET_FORMAT")?.map(|v| v.trim().to_ascii_lowercase()) {
            None => None,
            Some(v) if v == "json" => Some(LogFormat::Json),
            Some(v) if v == "pretty" => Some(LogFormat::Pretty),
            Some(v) => return Err(Error::config(format!("LOGJET_FORMAT={v:?}: expected json or pretty"))),
        };
        let file = var("LOGJET_FILE")?.map(PathBuf::from);
        Ok(Init { builder: Logger::builder(), level, rust_log, format, file, sink: None })
    }

    /// logjet's own level, whatever `LOG_LEVEL` and `RUST_LOG` say.
    pub fn level(mut self, level: Level) -> Init {
        self.level = Some(level);
        self
    }

    /// `EnvFilter` directives, instead of `RUST_LOG`'s. Checked by
    /// [`install`](Init::install).
    pub fn directives(mut self, directives: impl Into<String>) -> Init {
        self.rust_log = Some(directives.into());
        self
    }

    /// The format on stdout, whatever `LOGJET_FORMAT` says.
    pub fn format(mut self, format: LogFormat) -> Init {
        self.format = Some(format);
        self
    }

    /// Writes to `sink` instead of stdout or `LOGJET_FILE`.
    pub fn sink(mut self, sink: impl Sink + 'static) -> Init {
        self.sink = Some(Box::new(move |b: Builder| b.sink(sink)));
        self
    }

    /// Anything else of the [`Builder`]: capacity, overflow, signals…
    pub fn configure(mut self, f: impl FnOnce(Builder) -> Builder) -> Init {
        self.builder = f(self.builder);
        self
    }

    /// Builds the logger, makes it the global one, installs the `tracing`
    /// subscriber and the `log` bridge (with those features), and returns
    /// the guard. Fails when a global logger, `tracing` subscriber or `log`
    /// logger is already set, or a value is not understood.
    pub fn install(self) -> Result<Guard, Error> {
        let directives = match &self.rust_log {
            Some(v) => Some(check_rust_log(v)?),
            None => None,
        };
        let level = self.level.or_else(|| directives.as_ref().and_then(|d| d.default.flatten())).unwrap_or(Level::Info);
        let mut builder = self.builder.level(level);
        builder = match (self.sink, &self.file) {
            (Some(add), _) => add(builder),
            (None, Some(path)) => builder.sink(
                sink::File::append(path)
                    .map_err(|e| Error::config(format!("LOGJET_FILE={:?}: {e}", path.display())))?,
            ),
            (None, None) => {
                let pretty = match self.format {
                    Some(f) => f == LogFormat::Pretty,
                    None => std::io::IsTerminal::is_terminal(&std::io::stdout()),
                };
                if pretty {
                    builder.sink(sink::Pretty::stdout())
                } else {
                    builder.sink(sink::Stdout)
                }
            }
        };
        let (log, guard) = builder.build()?;
        log.set_global()?;
        #[cfg(feature = "tracing")]
        install_tracing(&log, self.rust_log.as_deref().unwrap_or(level_directive(level)))?;
        #[cfg(feature = "log")]
        crate::log_bridge::init_log_filtered(&log, directives)
            .map_err(|_| Error::config("a `log` logger is already set (the log crate takes one per process)"))?;
        #[cfg(not(feature = "log"))]
        let _ = directives;
        Ok(guard)
    }
}

/// `RUST_LOG`'s text, checked: by `EnvFilter` with the `tracing` feature,
/// and by logjet's own parser (which the `log` bridge uses).
fn check_rust_log(v: &str) -> Result<Directives, Error> {
    #[cfg(feature = "tracing")]
    tracing_subscriber::EnvFilter::builder().parse(v).map_err(|e| Error::config(format!("RUST_LOG={v:?}: {e}")))?;
    Directives::parse(v).map_err(|e| Error::config(format!("RUST_LOG={v:?}: {e}")))
}

/// An `EnvFilter` directive for logjet's level (`fatal` is `error` there).
#[cfg(feature = "tracing")]
fn level_directive(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error | Level::Fatal => "error",
    }
}

/// The global `tracing` subscriber: a registry with a [`TracingLayer`]
/// behind `EnvFilter(directives)`, or behind `DEBUG` for the debug and
/// trace events of the targets its namespaces enable.
#[cfg(feature = "tracing")]
fn install_tracing(log: &Logger, directives: &str) -> Result<(), Error> {
    use tracing_subscriber::filter::{FilterExt, FilterFn, LevelFilter};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;

    let env = tracing_subscriber::EnvFilter::builder()
        .parse(directives)
        .map_err(|e| Error::config(format!("RUST_LOG={directives:?}: {e}")))?;
    let debug_log = log.clone();
    // The hint lets tracing skip debug call sites at once when no namespace
    // is on at start-up.
    let hint = if log.debug_namespaces().is_empty() { LevelFilter::OFF } else { LevelFilter::TRACE };
    let by_debug = FilterFn::new(move |meta| {
        *meta.level() >= tracing::Level::DEBUG && debug_log.target_debug_enabled(meta.target())
    })
    .with_max_level_hint(hint);
    let layer = crate::TracingLayer::new(log).decided_by_filter().with_filter(env.or(by_debug));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
        .map_err(|_| Error::config("a global `tracing` subscriber is already set"))
}
