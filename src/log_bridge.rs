//! The `log` facade: `log::info!` and friends through a logjet logger.

use crate::record::ItemWriter as _;
use std::sync::atomic::{AtomicU8, Ordering};

use log::kv::{Key, Value as KvValue, VisitSource};

use crate::directives::Directives;
use crate::level::Level;
use crate::logger::Logger;
use crate::record::Capture;

/// Makes the `log` crate's macros write through `logger`: same pipeline,
/// same NDJSON. Call it once, at start-up (the `log` crate takes one logger
/// per process).
///
/// - Levels map to pino's numbers (`Trace` 10 … `Error` 50); the record's
///   target is written as `target`.
/// - Key-value pairs (`log::info!(user = 7; "logged in")`) become fields with
///   their types (integers, floats, booleans, strings; other values as
///   their `Display` output; errors like pino's `err`).
/// - `log::max_level()` follows the logger: it is set now and again at each
///   [`Logger::set_level`], [`Logger::enable_debug`] and
///   [`Logger::disable_debug`], so disabled `log` calls stay cheap. `DEBUG`
///   namespaces match targets, as for `tracing` events.
///
/// ```
/// let (log, guard) = logjet::Logger::builder()
///     .sink(logjet::sink::Writer::new(std::io::sink()))
///     .build()?;
/// logjet::init_log(&log)?;
/// log::info!(user = 7, admin = false; "logged in");
/// // {"level":30,...,"target":"rust_out","user":7,"admin":false,"msg":"logged in"}
/// guard.flush()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn init_log(logger: &Logger) -> Result<(), log::SetLoggerError> {
    init_log_filtered(logger, None)
}

/// [`init_log`], with `RUST_LOG`-style per-target levels deciding instead
/// of the logger's level (`logjet::init`).
pub(crate) fn init_log_filtered(logger: &Logger, directives: Option<Directives>) -> Result<(), log::SetLoggerError> {
    let most_verbose = directives.as_ref().and_then(|d| d.most_verbose(Some(logger.level())));
    log::set_boxed_logger(Box::new(Bridge { logger: logger.clone(), directives }))?;
    DIRECTIVES_FLOOR.store(most_verbose.map_or(0, |l| l as u8), Ordering::Relaxed);
    logger.core.log_bridge.store(true, Ordering::Relaxed);
    sync_max_level(logger);
    Ok(())
}

/// The most verbose level the bridge's directives enable (0: none).
static DIRECTIVES_FLOOR: AtomicU8 = AtomicU8::new(0);

/// Sets `log::max_level()` from the logger's level and namespaces, when this
/// logger is the `log` crate's.
pub(crate) fn sync_max_level(logger: &Logger) {
    if !logger.core.log_bridge.load(Ordering::Relaxed) {
        return;
    }
    let core = &logger.core;
    // With DEBUG namespaces on, any target may be enabled down to the
    // lowest level a sink takes; otherwise the logger's threshold decides.
    let mut lowest =
        if core.debug_any.load(Ordering::Relaxed) { core.floor } else { core.threshold.load(Ordering::Relaxed) };
    match DIRECTIVES_FLOOR.load(Ordering::Relaxed) {
        0 => {}
        d => lowest = lowest.min(d.max(core.floor)),
    }
    log::set_max_level(match Level::from_number(lowest).unwrap_or(Level::Trace) {
        Level::Trace => log::LevelFilter::Trace,
        Level::Debug => log::LevelFilter::Debug,
        Level::Info => log::LevelFilter::Info,
        Level::Warn => log::LevelFilter::Warn,
        Level::Error | Level::Fatal => log::LevelFilter::Error,
    });
}

struct Bridge {
    logger: Logger,
    /// Per-target levels (`RUST_LOG`) that replace the logger's level.
    directives: Option<Directives>,
}

impl Bridge {
    fn takes(&self, meta: &log::Metadata<'_>) -> Option<Level> {
        let level = match meta.level() {
            log::Level::Error => Level::Error,
            log::Level::Warn => Level::Warn,
            log::Level::Info => Level::Info,
            log::Level::Debug => Level::Debug,
            log::Level::Trace => Level::Trace,
        };
        let by_level = match &self.directives {
            None => self.logger.enabled(level),
            Some(d) => d.level_of(meta.target(), Some(self.logger.level())).is_some_and(|min| level >= min),
        };
        if by_level {
            return Some(level);
        }
        (level <= Level::Debug
            && level as u8 >= self.logger.core.floor
            && self.logger.target_debug_enabled(meta.target()))
        .then_some(level)
    }
}

impl log::Log for Bridge {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        self.takes(meta).is_some()
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(level) = self.takes(record.metadata()) else { return };
        // The level sampler (`Builder::sample`), as for the macros.
        if !self.logger.keep_sampled(level) {
            return;
        }
        let mut ev = crate::logger::Event::new(&self.logger, level, None);
        let cap = ev.capture_mut();
        cap.str("target", record.target());
        let _ = record.key_values().visit(&mut Kv { cap });
        cap.msg_fmt(*record.args());
        ev.send_captured();
    }

    fn flush(&self) {
        let _ = self.logger.flush_timeout(self.logger.core.shutdown_timeout);
    }
}

/// Captures `log` key-value pairs with their types.
struct Kv<'a> {
    cap: &'a mut Capture,
}

impl<'kvs> VisitSource<'kvs> for Kv<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: KvValue<'kvs>) -> Result<(), log::kv::Error> {
        let k = key.as_str();
        let k = if matches!(k.trim_start_matches('_'), "target") {
            format!("_{k}").into()
        } else {
            std::borrow::Cow::Borrowed(k)
        };
        let c = &mut *self.cap;
        if let Some(v) = value.to_i64() {
            c.i64(&*k, v);
        } else if let Some(v) = value.to_u64() {
            c.u64(&*k, v);
        } else if let Some(v) = value.to_i128() {
            c.i128(&*k, v);
        } else if let Some(v) = value.to_u128() {
            c.u128(&*k, v);
        } else if let Some(v) = value.to_f64() {
            c.f64(&*k, v);
        } else if let Some(v) = value.to_bool() {
            c.bool(&*k, v);
        } else if let Some(v) = value.to_borrowed_str() {
            c.str(&*k, v);
        } else if let Some(e) = value.to_borrowed_error() {
            crate::value::capture_error(c, crate::record::Key::runtime(&k), "dyn Error", e);
        } else {
            c.display(&*k, &value);
        }
        Ok(())
    }
}
