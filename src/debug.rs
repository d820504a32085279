//! Debug handles: `log.debug_ns("app:db")`, the equivalent of npm's
//! `require('debug')('app:db')`, switched on by `DEBUG`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::filter::Namespaces;
use crate::level::Level;
use crate::logger::{Event, Fields, Logger};

/// A logger bound to a debug namespace, made by [`Logger::debug_ns`].
///
/// Its records carry `"ns":"<namespace>"`. Whether they are written:
///
/// - at any level, when `DEBUG` (or [`Logger::enable_debug`]) enables the
///   namespace, even if the logger's level is above `debug`: that is the
///   point of `DEBUG` in production;
/// - otherwise, at `info` and above when the logger's level lets that level
///   through, as for any record. `debug!` and `trace!` through a handle
///   whose namespace is off are never written.
///
/// Sinks keep their own minimum levels either way. The enabled state is
/// cached in the handle and invalidated at once for every handle when the
/// namespaces change, so a disabled call costs a couple of loads.
///
/// ```
/// # let (log, guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
/// let db = log.debug_ns("app:db");                          // like require('debug')('app:db')
/// logjet::debug!(db, "connected", host = "db1", pool = 8); // written only when DEBUG enables app:db
/// let pool = db.extend("pool");                             // app:db:pool, like debug's extend()
/// assert_eq!(pool.namespace(), "app:db:pool");
/// log.enable_debug("app:*,-app:db");                        // at run time, applies to existing handles at once
/// assert!(!db.enabled() && pool.enabled());
/// # guard.flush()?;
/// # Ok::<(), logjet::Error>(())
/// ```
pub struct DebugLogger {
    logger: Logger,
    ns: Arc<str>,
    /// `(generation << 1) | enabled`, or `u64::MAX` before the first check.
    cache: AtomicU64,
}

impl Clone for DebugLogger {
    fn clone(&self) -> Self {
        DebugLogger {
            logger: self.logger.clone(),
            ns: self.ns.clone(),
            cache: AtomicU64::new(self.cache.load(Ordering::Relaxed)),
        }
    }
}

impl fmt::Debug for DebugLogger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DebugLogger").field("namespace", &self.ns).field("enabled", &self.enabled()).finish()
    }
}

impl DebugLogger {
    pub(crate) fn new(logger: Logger, ns: Arc<str>) -> DebugLogger {
        DebugLogger { logger, ns, cache: AtomicU64::new(u64::MAX) }
    }

    /// The namespace, such as `"app:db"`.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The logger this handle writes through.
    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    /// Whether the namespace is enabled by the `DEBUG` spec in force.
    #[inline]
    pub fn enabled(&self) -> bool {
        let gen = self.logger.core.debug_gen.load(Ordering::Acquire);
        let c = self.cache.load(Ordering::Relaxed);
        if c >> 1 == gen {
            c & 1 == 1
        } else {
            self.refresh(gen)
        }
    }

    #[cold]
    #[inline(never)]
    fn refresh(&self, gen: u64) -> bool {
        let on = match self.logger.core.debug.read() {
            Ok(spec) => spec.enabled(&self.ns),
            Err(poisoned) => poisoned.into_inner().enabled(&self.ns),
        };
        self.cache.store((gen << 1) | u64::from(on), Ordering::Relaxed);
        on
    }

    /// Whether a record at `level` through this handle would be written.
    #[inline]
    pub fn enabled_at(&self, level: Level) -> bool {
        (self.enabled() && level as u8 >= self.logger.core.floor)
            || (level > Level::Debug && self.logger.enabled(level))
    }

    /// Starts a record at `level` carrying this namespace, or `None` when it
    /// would not be written. See [`Logger::event`].
    #[inline]
    pub fn event(&self, level: Level) -> Option<Event<'_>> {
        if self.enabled_at(level) {
            Some(Event::new(&self.logger, level, Some(&self.ns)))
        } else {
            None
        }
    }

    /// A handle for `<namespace>:<sub>`, like debug's `extend(sub)`.
    pub fn extend(&self, sub: &str) -> DebugLogger {
        self.extend_with(sub, ":")
    }

    /// A handle for `<namespace><delimiter><sub>`, like debug's
    /// `extend(sub, delimiter)`.
    pub fn extend_with(&self, sub: &str, delimiter: &str) -> DebugLogger {
        let ns = format!("{}{delimiter}{sub}", self.ns);
        DebugLogger::new(self.logger.clone(), ns.into())
    }

    /// The same namespace on a child logger with `fields` bound.
    pub fn child(&self, fields: Fields) -> DebugLogger {
        DebugLogger::new(self.logger.child(fields), self.ns.clone())
    }
}

impl Logger {
    /// A debug handle for `namespace`, like `require('debug')(namespace)`.
    /// See [`DebugLogger`] for when its records are written.
    pub fn debug_ns(&self, namespace: &str) -> DebugLogger {
        DebugLogger::new(self.clone(), namespace.into())
    }

    /// Replaces the `DEBUG` spec in force (like `debug.enable(spec)`); every
    /// existing debug handle follows at once.
    ///
    /// ```
    /// # let (log, _g) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
    /// let http = log.debug_ns("app:http");
    /// log.enable_debug("app:*");
    /// assert!(http.enabled());
    /// assert_eq!(log.disable_debug(), "app:*");
    /// assert!(!http.enabled());
    /// # Ok::<(), logjet::Error>(())
    /// ```
    pub fn enable_debug(&self, spec: &str) {
        self.set_namespaces(Namespaces::parse(spec));
    }

    /// Turns every namespace off and returns the spec that was in force,
    /// normalized (like `debug.disable()`), so it can be restored with
    /// [`enable_debug`](Logger::enable_debug).
    pub fn disable_debug(&self) -> String {
        self.set_namespaces(Namespaces::default()).to_string()
    }

    /// The `DEBUG` namespaces in force.
    pub fn debug_namespaces(&self) -> Namespaces {
        match self.core.debug.read() {
            Ok(ns) => ns.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_namespaces(&self, ns: Namespaces) -> Namespaces {
        let any = !ns.is_empty();
        let old = match self.core.debug.write() {
            Ok(mut cur) => std::mem::replace(&mut *cur, ns),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), ns),
        };
        self.core.debug_any.store(any, Ordering::Relaxed);
        self.core.debug_gen.store(next_generation(), Ordering::Release);
        #[cfg(feature = "log")]
        crate::log_bridge::sync_max_level(self);
        old
    }

    /// Whether `DEBUG` enables a target (of a `tracing` event or a `log`
    /// record), cached per thread by the target's text: no lock in the
    /// steady state. (Not by the address of a call site's metadata: `log`
    /// targets and the metadata tracing-log makes live on the stack or the
    /// heap, and a freed address comes back holding another target.)
    #[cfg(any(feature = "tracing", feature = "log"))]
    pub(crate) fn target_debug_enabled(&self, target: &str) -> bool {
        if !self.core.debug_any.load(Ordering::Relaxed) {
            return false;
        }
        let gen = self.core.debug_gen.load(Ordering::Acquire);
        let core = self.core.id;
        let lookup = |targets: &mut TargetCache| -> bool {
            let loggers = &mut targets.loggers;
            if let Some(&(g, on)) = loggers.get(&core).and_then(|t| t.get(target)) {
                if g == gen {
                    return on;
                }
            }
            let on = match self.core.debug.read() {
                Ok(ns) => ns.enabled(target),
                Err(poisoned) => poisoned.into_inner().enabled(target),
            };
            if !loggers.contains_key(&core) && loggers.len() >= crate::tunables::DEBUG_LOGGERS_CACHED {
                loggers.clear();
            }
            let answers = loggers.entry(core).or_default();
            if answers.len() >= crate::tunables::DEBUG_TARGETS_CACHED && !answers.contains_key(target) {
                answers.clear();
            }
            answers.insert(Box::from(target), (gen, on));
            on
        };
        TARGETS
            .try_with(|cache| match cache.try_borrow_mut() {
                Ok(mut c) => lookup(&mut c),
                // Asked again from inside a lookup (never today): no cache.
                Err(_) => lookup(&mut TargetCache::default()),
            })
            // The thread is exiting: no cache.
            .unwrap_or_else(|_| lookup(&mut TargetCache::default()))
    }

    /// The number of targets this thread keeps answers for, per logger (for
    /// tests of the cache's bound).
    #[cfg(all(test, any(feature = "tracing", feature = "log")))]
    fn cached_targets(&self) -> usize {
        let core = self.core.id;
        TARGETS.with(|c| c.borrow().loggers.get(&core).map_or(0, |t| t.len()))
    }
}

/// A generation number no logger has used before: a change of namespaces
/// in one logger never looks current to a cache filled for another.
pub(crate) fn next_generation() -> u64 {
    static GENERATION: AtomicU64 = AtomicU64::new(1);
    GENERATION.fetch_add(1, Ordering::Relaxed)
}

/// A thread's `DEBUG` answers for targets: logger id → target →
/// (generation, enabled), bounded by the tunables `DEBUG_LOGGERS_CACHED`
/// and `DEBUG_TARGETS_CACHED`.
#[cfg(any(feature = "tracing", feature = "log"))]
#[derive(Default)]
struct TargetCache {
    loggers: std::collections::HashMap<u64, std::collections::HashMap<Box<str>, (u64, bool)>>,
}

#[cfg(any(feature = "tracing", feature = "log"))]
thread_local! {
    static TARGETS: std::cell::RefCell<TargetCache> = std::cell::RefCell::new(TargetCache::default());
}

#[cfg(all(test, any(feature = "tracing", feature = "log")))]
mod tests {
    use crate::{sink, Logger};

    #[test]
    fn target_answers_are_bounded_and_right() {
        let (log, _guard) = Logger::builder().sink(sink::Writer::new(std::io::sink())).debug("t:1*").build().unwrap();
        for i in 0..5 * crate::tunables::DEBUG_TARGETS_CACHED {
            let target = format!("t:{i}");
            assert_eq!(log.target_debug_enabled(&target), target.starts_with("t:1"), "{target}");
            assert!(log.cached_targets() <= crate::tunables::DEBUG_TARGETS_CACHED);
        }
        // Answers follow a change of namespaces.
        log.enable_debug("t:2*");
        assert!(log.target_debug_enabled("t:2"));
        assert!(!log.target_debug_enabled("t:1"));
    }
}
