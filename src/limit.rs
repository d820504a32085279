//! Sampling and rate limits: records not written on purpose, decided on
//! the caller before anything is captured, and counted in
//! [`Stats::suppressed`](crate::Stats::suppressed).
//!
//! - The **level sampler** ([`Builder::sample`](crate::Builder::sample))
//!   keeps a fraction of the records at a level and below. It lives in the
//!   level check: the threshold the macros compare with is raised above the
//!   sampled levels, so a record of a level that is not sampled pays the
//!   same one load and one comparison as without a sampler; a sampled
//!   level takes the slow branch, where a per-thread xorshift generator
//!   decides (no lock, no shared write unless the record is sampled out).
//! - A **rate limit** (`info!(log, limit = (10, Duration::from_secs(1)), …)`)
//!   keeps per call site a window start, a count and the records suppressed
//!   since the last one written, in a `static` the macro makes for that call
//!   site only: call sites without `limit` expand as before.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The level sampler: records at `level` and below are kept when a
/// random 64-bit number is below `cutoff`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sampler {
    /// The most severe sampled level (its number).
    pub(crate) level: u8,
    cutoff: u64,
    /// Every record is kept (a rate of 1 or more).
    all: bool,
}

impl Sampler {
    /// Keeps about `rate` (0 to 1) of the records at `level` and below.
    pub(crate) fn new(level: crate::Level, rate: f64) -> Result<Sampler, String> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("sample rate {rate} is not between 0 and 1"));
        }
        // 2^64 × rate; a rate of 1 keeps everything.
        let cutoff = (rate * 18_446_744_073_709_551_616.0) as u64;
        Ok(Sampler { level: level as u8, cutoff, all: rate >= 1.0 })
    }

    /// Whether to keep this record.
    #[inline]
    pub(crate) fn keep(&self) -> bool {
        self.all || next_random() < self.cutoff
    }
}

thread_local! {
    /// This thread's xorshift64* state (0: not seeded yet).
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A random number from this thread's generator (xorshift64*: fast, and
/// random enough to pick records).
#[inline]
fn next_random() -> u64 {
    let step = |mut x: u64| {
        if x == 0 {
            x = seed();
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x
    };
    let x = RNG.try_with(|c| {
        let x = step(c.get());
        c.set(x);
        x
    });
    // The thread-local is being destroyed: a fresh seed each time.
    x.unwrap_or_else(|_| step(0)).wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// A seed that differs between threads and runs (never 0).
#[cold]
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(crate::clock::system_nanos());
    h.write_usize(&h as *const _ as usize);
    h.finish() | 1
}

/// Nanoseconds on a monotonic clock (since the first call).
pub(crate) fn monotonic_nanos() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    u64::try_from(BASE.get_or_init(Instant::now).elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A call site's rate limit (what `limit = (n, per)` in the macros makes,
/// one `static` per call site). Not part of the API.
#[doc(hidden)]
#[derive(Debug)]
pub struct RateLimit {
    /// When the current window opened, plus one (0: never).
    start: AtomicU64,
    /// Records let through or held back in the current window.
    count: AtomicU64,
    /// Records held back since the last one written.
    suppressed: AtomicU64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit::new()
    }
}

impl RateLimit {
    /// A call site that has logged nothing yet.
    pub const fn new() -> RateLimit {
        RateLimit { start: AtomicU64::new(0), count: AtomicU64::new(0), suppressed: AtomicU64::new(0) }
    }

    /// At time `now` (nanoseconds), with at most `n` records per `per`:
    /// `None` when this record is held back (counted here); `Some(m)` when
    /// it is written, `m` being the records held back since the last one
    /// written (to report first).
    ///
    /// Under concurrent callers the window and the count are each exact
    /// atomics; a record racing with the opening of a window may count in
    /// either window, and every record held back is reported once.
    pub(crate) fn admit(&self, now: u64, n: u32, per: Duration) -> Option<u64> {
        let per = u64::try_from(per.as_nanos()).unwrap_or(u64::MAX);
        let start = self.start.load(Ordering::Acquire);
        let expired = start == 0 || now.saturating_sub(start - 1) >= per;
        if expired
            && self.start.compare_exchange(start, now.saturating_add(1), Ordering::AcqRel, Ordering::Acquire).is_ok()
        {
            if n == 0 {
                self.count.store(0, Ordering::Release);
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            self.count.store(1, Ordering::Release);
            return Some(self.suppressed.swap(0, Ordering::AcqRel));
        }
        if self.count.fetch_add(1, Ordering::AcqRel) < u64::from(n) {
            Some(0)
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_lets_n_through_then_reports_what_it_held_back() {
        let l = RateLimit::new();
        let s = Duration::from_secs(1);
        let sec = 1_000_000_000;
        let got: Vec<Option<u64>> = (0..5).map(|i| l.admit(10 + i, 2, s)).collect();
        assert_eq!(got, [Some(0), Some(0), None, None, None]);
        assert_eq!(l.admit(sec + 9, 2, s), None, "the window is still open");
        assert_eq!(l.admit(sec + 10, 2, s), Some(4));
        assert_eq!(l.admit(sec + 11, 2, s), Some(0));
        assert_eq!(l.admit(sec + 12, 2, s), None);
        assert_eq!(l.admit(5 * sec, 2, s), Some(1));
        let zero = RateLimit::new();
        assert_eq!(zero.admit(0, 0, s), None);
        assert_eq!(zero.admit(1, 0, s), None);
    }

    #[test]
    fn sampling_keeps_about_the_rate() {
        let s = Sampler::new(crate::Level::Debug, 0.25).unwrap();
        let kept = (0..100_000).filter(|_| s.keep()).count();
        assert!((22_000..28_000).contains(&kept), "{kept}");
        assert!((0..1000).all(|_| Sampler::new(crate::Level::Debug, 1.0).unwrap().keep()));
        assert!((0..1000).all(|_| !Sampler::new(crate::Level::Debug, 0.0).unwrap().keep()));
        assert!(Sampler::new(crate::Level::Debug, 1.5).is_err());
        assert!(Sampler::new(crate::Level::Debug, f64::NAN).is_err());
    }
}
