//! Configuring and starting a logger.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::error::Error;
use crate::filter::Namespaces;
use crate::format::json::{BaseValue, JsonFormat};
use crate::guard::Guard;
use crate::level::Level;
use crate::logger::Logger;
use crate::preformat::Preformat;
use crate::send::{Core, Overflow};
use crate::shared::Shared;
use crate::sink::private::{Format, Sealed, Target};
use crate::sink::{Sink, Stdout};
use crate::time::{TimeFormat, TimeFormatter};
use crate::tunables::{CONTROL_CAPACITY, WORDS_PER_RECORD};
pub use crate::tunables::{DEFAULT_CAPACITY, DEFAULT_SHUTDOWN_TIMEOUT};
use crate::writer::Writer;

/// Configures a logger; [`build`](Builder::build) starts its two threads.
///
/// | setting | default |
/// |---|---|
/// | [`level`](Builder::level) | `Info` |
/// | [`sink`](Builder::sink) | [`sink::Stdout`](crate::sink::Stdout) when none is given |
/// | [`capacity`](Builder::capacity) | 16,384 records: the most a logging thread's queue grows to (2 MiB; it starts at 8 KiB) |
/// | [`overflow`](Builder::overflow) | [`Overflow::Block`] |
/// | [`time`](Builder::time) | [`TimeFormat::EpochMillis`] (or the keys' preset's) |
/// | [`keys`](Builder::keys) | [`Keys::pino`](crate::Keys::pino) |
/// | [`pid`](Builder::pid), [`hostname`](Builder::hostname) | written |
/// | [`shutdown_timeout`](Builder::shutdown_timeout) | 5 s |
/// | [`flush_on_panic`](Builder::flush_on_panic) | off |
/// | [`flush_on_signals`](Builder::flush_on_signals) (Unix) | off |
/// | [`debug_env`](Builder::debug_env), [`debug`](Builder::debug) | namespaces from `$DEBUG` |
/// | `reopen_on_sighup` (unix) | off |
///
/// ```no_run
/// use logjet::{sink, Level, Logger, Overflow};
///
/// let (log, guard) = Logger::builder()
///     .level(Level::Info)
///     .sink(sink::File::append("logs/app.log")?)
///     .capacity(65_536)
///     .overflow(Overflow::Block)
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a Builder does nothing until build() is called"]
pub struct Builder {
    level: Level,
    sinks: Vec<(Level, Target)>,
    capacity: usize,
    overflow: Overflow,
    time: Option<TimeFormat>,
    keys: crate::Keys,
    pid: bool,
    hostname: Option<Option<String>>,
    shutdown_timeout: Duration,
    flush_on_panic: bool,
    #[cfg(unix)]
    flush_on_signals: bool,
    debug_env: String,
    debug_spec: Option<String>,
    #[cfg(unix)]
    reopen_on_sighup: bool,
    redact: Option<crate::Redact>,
    sample: Option<(Level, f64)>,
    limit_clock: Option<Arc<AtomicU64>>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    pub(crate) fn new() -> Builder {
        Builder {
            level: Level::Info,
            sinks: Vec::new(),
            capacity: DEFAULT_CAPACITY,
            overflow: Overflow::Block,
            time: None,
            keys: crate::Keys::pino(),
            pid: true,
            hostname: Some(None),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            flush_on_panic: false,
            #[cfg(unix)]
            flush_on_signals: false,
            debug_env: "DEBUG".to_string(),
            debug_spec: None,
            #[cfg(unix)]
            reopen_on_sighup: false,
            redact: None,
            sample: None,
            limit_clock: None,
        }
    }

    /// The minimum level written (default `Info`); changeable later with
    /// [`Logger::set_level`].
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Adds a sink that takes every record the logger's level lets through.
    /// Several sinks can be added; each gets every record it takes.
    pub fn sink(self, sink: impl Sink) -> Self {
        self.sink_at(Level::Trace, sink)
    }

    /// Adds a sink that only takes records at `min` or above (like pino's
    /// multistream levels).
    ///
    /// ```
    /// use logjet::{sink, Level, Logger};
    /// let (log, _guard) = Logger::builder()
    ///     .sink(sink::Writer::new(std::io::sink()))
    ///     .sink_at(Level::Error, sink::Writer::new(std::io::sink()).name("alerts"))
    ///     .build()?;
    /// # Ok::<(), logjet::Error>(())
    /// ```
    pub fn sink_at(mut self, min: Level, sink: impl Sink) -> Self {
        self.sinks.push((min, sink.into_target()));
        self
    }

    /// The most each logging thread's queue grows to, in records (default
    /// 16,384).
    ///
    /// Every thread that logs through the logger gets its own queue at its
    /// first record: an 8 KiB ring, which doubles whenever it fills, up to
    /// `capacity × 128` bytes (rounded up to a power of two): 2 MiB at the
    /// default. A thread that logs a few records costs 8 KiB; a queue grows
    /// only while its thread logs faster than the writer takes its records.
    /// A full-grown queue holds about `capacity` records of 128 bytes (a
    /// record with a handful of fields takes 100 to 150 bytes), more when
    /// they are smaller, fewer when they are larger; a record larger than a
    /// quarter of the largest ring waits in a side queue, allocated for it,
    /// keeping its place. Raise the capacity when one thread's bursts or
    /// the sinks' stalls fill its queue
    /// ([`queue_high_water`](crate::Stats::queue_high_water) reaches the
    /// capacity); [`Stats::queue_bytes`](crate::Stats::queue_bytes) says
    /// what the queues hold now.
    pub fn capacity(mut self, records: usize) -> Self {
        self.capacity = records;
        self
    }

    /// What callers do when their queue is full (default [`Overflow::Block`]).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// How `time` is written (default epoch milliseconds, like pino, or
    /// what the [`keys`](Builder::keys) preset asks for; this setting wins
    /// over the preset's).
    pub fn time(mut self, time: TimeFormat) -> Self {
        self.time = Some(time);
        self
    }

    /// The names of the keys of the NDJSON line and how the level and time
    /// are written (default [`Keys::pino`](crate::Keys::pino)): presets for
    /// Elastic Common Schema, Google Cloud Logging and OpenTelemetry, or
    /// any key renamed. Decided once here; the console, pretty and syslog
    /// headers are not affected (a syslog JSON body is this line's object).
    ///
    /// ```
    /// let (log, _guard) = logjet::Logger::builder()
    ///     .keys(logjet::Keys::ecs())
    ///     .sink(logjet::sink::Writer::new(std::io::sink()))
    ///     .build()?;
    /// # Ok::<(), logjet::Error>(())
    /// ```
    pub fn keys(mut self, keys: crate::Keys) -> Self {
        self.keys = keys;
        self
    }

    /// Whether every record carries `pid` (default `true`).
    pub fn pid(mut self, yes: bool) -> Self {
        self.pid = yes;
        self
    }

    /// Whether every record carries `hostname` (default `true`, read from
    /// the system once at build time).
    pub fn hostname(mut self, yes: bool) -> Self {
        self.hostname = if yes { Some(None) } else { None };
        self
    }

    /// Writes this `hostname` instead of the system's.
    pub fn hostname_value(mut self, name: impl Into<String>) -> Self {
        self.hostname = Some(Some(name.into()));
        self
    }

    /// How long the guard's drop, `fatal!` and the panic hook wait for the
    /// sinks, and how long a failing sink is retried once the logger shuts
    /// down (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Installs a panic hook that writes the panic as a `fatal` record and
    /// flushes before the previous hook runs (see [`crate::flush_on_panic`]).
    pub fn flush_on_panic(mut self, yes: bool) -> Self {
        self.flush_on_panic = yes;
        self
    }

    /// Makes SIGTERM, SIGINT and SIGQUIT write a record naming the signal
    /// and flush before the process ends by that signal (see
    /// [`crate::flush_on_signals`]; Unix only). Off by default: a service
    /// with its own graceful shutdown on these signals leaves it off.
    ///
    /// ```no_run
    /// let (log, _guard) = logjet::Logger::builder()
    ///     .sink(logjet::sink::File::append("logs/app.log")?)
    ///     .flush_on_signals(true)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(unix)]
    pub fn flush_on_signals(mut self, yes: bool) -> Self {
        self.flush_on_signals = yes;
        self
    }

    /// The environment variable read at build time for the debug namespaces
    /// (default `DEBUG`), with npm `debug`'s syntax: `app:*,-app:db`.
    ///
    /// ```
    /// let (log, _guard) = logjet::Logger::builder()
    ///     .debug_env("MYAPP_DEBUG")
    ///     .sink(logjet::sink::Writer::new(std::io::sink()))
    ///     .build()?;
    /// # Ok::<(), logjet::Error>(())
    /// ```
    pub fn debug_env(mut self, var: impl Into<String>) -> Self {
        self.debug_env = var.into();
        self
    }

    /// The debug namespaces to start with, instead of reading the
    /// environment (`""` turns them all off whatever `DEBUG` says).
    pub fn debug(mut self, spec: impl Into<String>) -> Self {
        self.debug_spec = Some(spec.into());
        self
    }

    /// Reopens every file sink when the process receives SIGHUP (unix),
    /// as [`Logger::reopen`] does: what logrotate's `create` mode with
    /// `postrotate kill -HUP <pid>` expects. Off by default: SIGHUP
    /// usually ends a process, and a library takes a signal only when
    /// asked.
    ///
    /// The handler (registered with the `signal-hook` crate, so other
    /// handlers of SIGHUP still run) lives as long as the [`Guard`]; a
    /// thread `logjet-sighup` waits for the signal and asks for the reopen.
    ///
    /// ```no_run
    /// let (log, _guard) = logjet::Logger::builder()
    ///     .sink(logjet::sink::File::append("/var/log/myapp/app.log")?)
    ///     .reopen_on_sighup(true)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(unix)]
    pub fn reopen_on_sighup(mut self, yes: bool) -> Self {
        self.reopen_on_sighup = yes;
        self
    }

    /// Hides values before records are written: pino's `redact` option
    /// (paths in fast-redact's syntax; see [`Redact`](crate::Redact)), for
    /// every sink's format. A bad path makes [`build`](Builder::build) fail
    /// with an error naming it. Without this, no record is looked at.
    ///
    /// ```
    /// let (log, guard) = logjet::Logger::builder()
    ///     .sink(logjet::sink::Writer::new(std::io::sink()))
    ///     .redact(logjet::Redact::paths(["password", "req.headers.authorization", "*.token"]).censor("***"))
    ///     .build()?;
    /// logjet::info!(log, "login", password = "hunter2"); // "password":"***"
    /// # guard.flush()?;
    /// assert!(logjet::Logger::builder().redact(logjet::Redact::paths(["a..b"])).build().is_err());
    /// # Ok::<(), logjet::Error>(())
    /// ```
    pub fn redact(mut self, redact: crate::Redact) -> Self {
        self.redact = Some(redact);
        self
    }

    /// Keeps about `rate` (0 to 1) of the records at `level` and below,
    /// decided at the call site before anything is captured (a per-thread
    /// random number; no lock). Records sampled out are counted in
    /// [`Stats::suppressed`](crate::Stats::suppressed). Applies to the
    /// macros and to [`Logger::event`]; records of more severe levels cost
    /// what they cost without a sampler. A rate outside 0 to 1 makes
    /// [`build`](Builder::build) fail.
    ///
    /// ```
    /// use logjet::Level;
    /// let (log, guard) = logjet::Logger::builder()
    ///     .level(Level::Trace)
    ///     .sink(logjet::sink::Writer::new(std::io::sink()))
    ///     .sample(Level::Debug, 0.1) // about 1 in 10 debug and trace records
    ///     .build()?;
    /// for i in 0..1000 {
    ///     logjet::debug!(log, "cache probe", i = i);
    /// }
    /// logjet::info!(log, "always written");
    /// guard.flush()?;
    /// let s = log.stats();
    /// assert_eq!(s.written + s.suppressed, 1001);
    /// # Ok::<(), logjet::Error>(())
    /// ```
    pub fn sample(mut self, level: Level, rate: f64) -> Self {
        self.sample = Some((level, rate));
        self
    }

    /// The clock of this logger's rate limits, in nanoseconds, set by hand
    /// (for tests: windows open only when the test moves it). Not part of
    /// the API.
    #[doc(hidden)]
    pub fn __limit_clock(mut self, clock: Arc<AtomicU64>) -> Self {
        self.limit_clock = Some(clock);
        self
    }

    /// Starts the logger's threads (`logjet-writer` formats,
    /// `logjet-output` writes). Returns the logger and the guard that
    /// flushes it when dropped.
    ///
    /// Fails when the capacity is zero or the thread cannot be started.
    pub fn build(self) -> Result<(Logger, Guard), Error> {
        if self.capacity == 0 {
            return Err(Error::config("capacity must be at least 1 record"));
        }
        let mut sinks = self.sinks;
        if sinks.is_empty() {
            sinks.push((Level::Trace, Stdout.into_target()));
        }
        let floor = sinks.iter().map(|(l, _)| *l as u8).min().unwrap_or(Level::Trace as u8);

        let debug_spec = match self.debug_spec {
            Some(spec) => spec,
            None => std::env::var_os(&self.debug_env).map(|v| v.to_string_lossy().into_owned()).unwrap_or_default(),
        };
        let namespaces = Namespaces::parse(&debug_spec);
        let pid = std::process::id();
        let hostname = self.hostname.map(|h| h.unwrap_or_else(system_hostname));
        self.keys.check().map_err(Error::config)?;
        let time = self.time.or(self.keys.time_format_choice()).unwrap_or_default();
        let mut base = Vec::new();
        if self.pid {
            base.push((self.keys.pid_key(), BaseValue::Int(u64::from(pid))));
        }
        if let Some(h) = &hostname {
            base.push((self.keys.hostname_key(), BaseValue::Str(h)));
        }
        for (k, v) in self.keys.constants() {
            base.push((k, BaseValue::Str(v)));
        }
        let redactor = match self.redact {
            Some(r) => Some(Arc::new(crate::redact::Redactor::new(r).map_err(Error::config)?)),
            None => None,
        };
        let sampler = match self.sample {
            Some((level, rate)) => Some(crate::limit::Sampler::new(level, rate).map_err(Error::config)?),
            None => None,
        };
        let format = JsonFormat::new(&base, TimeFormatter::new(time)).with_keys(&self.keys);
        let preformat = if sinks.iter().all(|(_, t)| matches!(t.format, Format::Json)) {
            Preformat::new(format.clone(), redactor.clone())
        } else {
            None
        };

        crate::report::quiet_panics_on_logjet_threads();
        let clock = crate::clock::Source::detect();
        // Records travel in each thread's own queue; the channel carries
        // flushes, shutdowns and the records of threads that cannot use
        // their queue (exiting threads).
        let (tx, rx) = crossbeam_channel::bounded(CONTROL_CAPACITY);
        let queue_words = self.capacity.saturating_mul(WORDS_PER_RECORD);
        let shared = Arc::new(Shared::new(self.capacity, queue_words));
        let writer = Writer::new(rx, shared.clone(), format, sinks, self.shutdown_timeout, clock, redactor)
            .map_err(Error::spawn)?;
        // Detached: the thread ends by itself once every handle is gone.
        let handle = std::thread::Builder::new()
            .name("logjet-writer".into())
            .spawn(move || writer.run())
            .map_err(Error::spawn)?;
        let _ = shared.writer.set(handle.thread().clone());

        let core = Arc::new(Core {
            id: next_logger_id(),

            threshold: AtomicU8::new(0),
            fast: AtomicU8::new(0),
            sample_floor: AtomicU8::new(u8::MAX),
            sampler,
            limit_clock: self.limit_clock,
            level: AtomicU8::new(self.level as u8),
            floor,
            overflow: self.overflow,
            clock: (time != TimeFormat::Omit).then_some(clock),
            shutdown_timeout: self.shutdown_timeout,
            tx,
            shared,
            preformat,
            debug_any: AtomicBool::new(!namespaces.is_empty()),
            debug: RwLock::new(namespaces),
            debug_gen: AtomicU64::new(crate::debug::next_generation()),
            #[cfg(feature = "log")]
            log_bridge: AtomicBool::new(false),
        });
        core.set_threshold((self.level as u8).max(floor));
        let logger = Logger::from_core(core);
        #[cfg(unix)]
        if self.flush_on_signals {
            crate::signals::flush_on_signals(&logger)?;
        }
        if self.flush_on_panic {
            crate::panic::flush_on_panic(&logger);
        }
        #[allow(unused_mut)]
        let mut guard = Guard::new(logger.clone());
        #[cfg(unix)]
        if self.reopen_on_sighup {
            let sighup = crate::signals::Sighup::install(std::sync::Arc::downgrade(&logger.core))
                .map_err(|e| Error::config(format!("cannot install the SIGHUP handler: {e}")))?;
            guard.sighup = Some(sighup);
        }
        Ok((logger, guard))
    }
}

fn next_logger_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The system's host name, from the `gethostname` crate (`gethostname(2)`
/// on Unix, `GetComputerNameExW` on Windows); when that is empty, the
/// `HOSTNAME` or `COMPUTERNAME` variable, then `localhost`.
pub(crate) fn system_hostname() -> String {
    let name = gethostname::gethostname();
    let name = name.to_string_lossy();
    let name = name.trim();
    if !name.is_empty() {
        return name.to_string();
    }
    for var in ["HOSTNAME", "COMPUTERNAME"] {
        if let Ok(s) = std::env::var(var) {
            if !s.is_empty() {
                return s;
            }
        }
    }
    "localhost".to_string()
}
