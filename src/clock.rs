//! The caller's clock.
//!
//! Reading the system clock costs about 25 ns here (`clock_gettime` through
//! the vDSO); reading the CPU's counter about 10 ns
//! (`cargo bench --bench hot_path`, and `docs/performance.md`). So on x86_64
//! and aarch64 the caller stores the raw counter that the `quanta` crate
//! reads (`Clock::raw`: `rdtsc` on x86_64 with an invariant TSC,
//! `cntvct_el0` on aarch64, else the monotonic clock) and the writer thread
//! converts it to wall-clock time with a calibration of its own, kept
//! fresh. Elsewhere, and with `LOGJET_CLOCK=system`, the caller reads the
//! system clock.
//!
//! `quanta`'s read costs what the hand-written `rdtsc` it replaced cost
//! (11.20 against 11.19 ns, `cargo bench --bench clock`), so the clock
//! needs no `unsafe` code of logjet's own.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch from the system clock (0 for a clock
/// set before 1970).
#[inline]
pub(crate) fn system_nanos() -> u64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        Err(_) => 0,
    }
}

/// What the caller stores in a record's `time`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source {
    /// Raw counter ticks (`quanta::Clock::raw`), converted by the writer.
    Counter(&'static quanta::Clock),
    /// Nanoseconds since the Unix epoch.
    System,
}

impl PartialEq for Source {
    fn eq(&self, other: &Source) -> bool {
        matches!((self, other), (Source::Counter(_), Source::Counter(_)) | (Source::System, Source::System))
    }
}

impl Eq for Source {}

/// The process's one `quanta` clock: made (and calibrated by quanta, about
/// 0.6 ms here) when the first logger starts.
static COUNTER: OnceLock<quanta::Clock> = OnceLock::new();

impl Source {
    /// The CPU's counter where `quanta` reads one (x86_64, aarch64), else
    /// the system clock. `LOGJET_CLOCK=system` forces the system clock.
    pub(crate) fn detect() -> Source {
        if std::env::var("LOGJET_CLOCK").is_ok_and(|v| v == "system") {
            return Source::System;
        }
        if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
            Source::Counter(COUNTER.get_or_init(quanta::Clock::new))
        } else {
            Source::System
        }
    }

    /// Reads the clock.
    #[inline(always)]
    pub(crate) fn now(self) -> u64 {
        match self {
            Source::Counter(clock) => clock.raw(),
            Source::System => system_nanos(),
        }
    }
}

/// Converts a record's `time` to nanoseconds since the epoch, on the writer
/// thread (and on a caller that formats its own record, with a copy).
#[derive(Clone)]
pub(crate) struct Converter {
    source: Source,
    /// The first calibration point: (ticks, nanos).
    first: (u64, u64),
    /// The latest calibration point.
    base: (u64, u64),
    /// Nanoseconds per tick.
    scale: f64,
    last_refresh: std::time::Instant,
}

impl Converter {
    /// Measures the counter's rate over about a millisecond; the writer
    /// refines it as time goes by.
    pub(crate) fn new(source: Source) -> Converter {
        let first = sample(source);
        let mut c = Converter { source, first, base: first, scale: 1.0, last_refresh: std::time::Instant::now() };
        if let Source::Counter(_) = source {
            let start = std::time::Instant::now();
            while start.elapsed() < crate::tunables::CLOCK_FIRST_CALIBRATION {
                std::hint::spin_loop();
            }
            c.refresh();
        }
        c
    }

    /// Takes a new calibration point, at most every 100 ms: the rate from
    /// the first point (a baseline that grows, so the rate gets more exact)
    /// and the base from the newest one (so that clock adjustments are
    /// followed).
    /// Returns whether it took one.
    pub(crate) fn maybe_refresh(&mut self) -> bool {
        if matches!(self.source, Source::Counter(_))
            && self.last_refresh.elapsed() >= crate::tunables::CLOCK_RECALIBRATE_EVERY
        {
            self.refresh();
            return true;
        }
        false
    }

    fn refresh(&mut self) {
        let now = sample(self.source);
        let dt = now.0.wrapping_sub(self.first.0);
        if dt > 0 && now.1 > self.first.1 {
            self.scale = (now.1 - self.first.1) as f64 / dt as f64;
        }
        self.base = now;
        self.last_refresh = std::time::Instant::now();
    }

    /// Reads the clock the callers read, in its own units.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.source.now()
    }

    /// `d` in the clock's units (ticks or nanoseconds).
    pub(crate) fn units(&self, d: std::time::Duration) -> u64 {
        let nanos = d.as_nanos() as f64;
        match self.source {
            Source::System => nanos as u64,
            Source::Counter(_) => (nanos / self.scale) as u64,
        }
    }

    /// Nanoseconds since the epoch for a value from [`Source::now`] (0
    /// stays 0: no time).
    #[inline]
    pub(crate) fn to_nanos(&self, t: u64) -> u64 {
        if t == 0 || self.source == Source::System {
            return t;
        }
        // Counter values within ±2^63 ticks of each other (centuries).
        let delta = t.wrapping_sub(self.base.0) as i64;
        // The offset from the calibration, in nanoseconds: small (the
        // clock is calibrated again every `CLOCK_RECALIBRATE_EVERY`), so
        // exact in an f64, where the time since the epoch would be rounded
        // to 256 ns.
        let offset = (delta as f64 * self.scale) as i64;
        self.base.1.saturating_add_signed(offset)
    }
}

/// A (ticks, nanos) pair read as close together as possible.
fn sample(source: Source) -> (u64, u64) {
    // The pair whose two counter reads are closest brackets the clock read.
    let mut best = (u64::MAX, 0, 0);
    for _ in 0..5 {
        let a = source.now();
        let n = system_nanos();
        let b = source.now();
        let width = b.wrapping_sub(a);
        if width < best.0 {
            best = (width, a + width / 2, n);
        }
    }
    (best.1, best.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converted_ticks_track_the_system_clock() {
        let source = Source::detect();
        let conv = Converter::new(source);
        for _ in 0..100 {
            let t = source.now();
            let sys = system_nanos();
            let ours = conv.to_nanos(t);
            let diff = ours.abs_diff(sys);
            assert!(diff < 1_000_000, "{source:?}: {ours} vs {sys} ({diff} ns apart)");
        }
        assert_eq!(conv.to_nanos(0), 0);
        assert!(system_nanos() > 1_700_000_000_000_000_000);
    }
}
