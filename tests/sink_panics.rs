//! A sink that panics is caught, counted and reported at a bounded rate:
//! its panics do not run the process's panic hook, which would print each
//! one (with a backtrace under `RUST_BACKTRACE=1`). (Its own test binary:
//! the panic hook is global; the noisy part runs in a child process whose
//! stderr the test reads.)

mod common;

use std::io;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use logjet::{sink, Logger};

const CHILD_ENV: &str = "LOGJET_SINK_PANICS_CHILD";
const PANICS: u64 = 60;

/// Panics on every other call, so that each batch is retried once and the
/// next one can come.
struct PanicsEveryOtherTime(Arc<AtomicU64>);

impl io::Write for PanicsEveryOtherTime {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
            panic!("the sink broke");
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_panicking_sink_does_not_flood_stderr() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let calls = Arc::new(AtomicU64::new(0));
        let (log, guard) =
            Logger::builder().sink(sink::Writer::new(PanicsEveryOtherTime(calls.clone()))).build().unwrap();
        for i in 0..PANICS {
            logjet::info!(log, "record", i = i);
            guard.flush().unwrap();
        }
        assert!(calls.load(Ordering::Relaxed) >= 2 * PANICS, "the sink panicked on every other call");
        assert_eq!(log.stats().written, PANICS);
        // The application's own panics still reach its hook.
        let own = std::thread::spawn(|| panic!("the application's own panic")).join();
        assert!(own.is_err());
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_panicking_sink_does_not_flood_stderr", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed:\n{stderr}");
    assert!(!stderr.contains("panicked at") || stderr.matches("panicked at").count() == 1, "{stderr}");
    assert!(stderr.contains("the application's own panic"), "the application's hook still runs:\n{stderr}");
    assert!(stderr.contains("the sink panicked: the sink broke"), "logjet reports the sink's panic:\n{stderr}");
    let lines = stderr.lines().count();
    assert!(lines < 60, "{PANICS} sink panics printed {lines} lines on stderr:\n{stderr}");
}
