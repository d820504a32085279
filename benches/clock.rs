//! The caller's clock read: the hand-written `rdtsc` logjet used until issue 12
//! against the `quanta` crate it reads now, side by side in one run, each value through
//! `black_box` (issue 12, item 7; the numbers are in docs/performance.md).
//!
//! ```text
//! cargo bench --bench clock
//! ```

use std::hint::black_box;
use std::time::Instant;

/// What src/clock.rs did on x86_64 before it read the counter through quanta.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[inline(always)]
fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` only reads the time-stamp counter into registers.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn rdtsc() -> u64 {
    0
}

/// Nanoseconds per call of `f`, the best of `rounds` rounds of `n` calls.
fn ns_per<T>(n: u64, rounds: u32, mut f: impl FnMut() -> T) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..n {
            black_box(f());
        }
        best = best.min(start.elapsed().as_nanos() as f64 / n as f64);
    }
    best
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = 2_000_000;
    let rounds = 7;
    let clock = quanta::Clock::new();
    // Interleaved, so that a busy neighbour on the shared machine hits all alike.
    let mut rows: Vec<(&str, f64)> = Vec::new();
    for _ in 0..3 {
        rows.push(("hand-written rdtsc", ns_per(n, rounds, rdtsc)));
        rows.push(("quanta Clock::raw", ns_per(n, rounds, || clock.raw())));
        rows.push(("quanta Clock::now (scaled)", ns_per(n, rounds, || clock.now())));
        rows.push(("SystemTime::now (vDSO)", ns_per(n, rounds, logjet_system_nanos)));
    }
    println!("clock read, ns per read (best of {rounds} x {n}, 3 interleaved passes: min over passes)");
    let mut names: Vec<&str> = rows.iter().map(|r| r.0).collect();
    names.dedup();
    names.truncate(4);
    for name in names {
        let best = rows.iter().filter(|r| r.0 == name).map(|r| r.1).fold(f64::MAX, f64::min);
        println!("{name:32} {best:6.2} ns");
    }
}

fn logjet_system_nanos() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
