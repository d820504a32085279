//! The parent's side of one child: spawn it, kill it if it overruns its
//! timeout, read its `RESULT` line, look for a load mode's fatal record in
//! its file, clean up.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{self, Fatal, Job, Sample};

/// Runs `job` in a child process of `exe`, killed after `timeout`.
pub fn run(exe: &Path, job: &Job, timeout: Duration) -> Result<Sample, String> {
    let mut child = Command::new(exe)
        .arg("--child")
        .args(job.to_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let pid = child.id();
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            // Overrun (or cannot be waited for): killed.
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let result = outcome(job, pid, status, &stdout, &stderr, timeout);
    harness::remove_log_dir(pid);
    result
}

/// Reads a child's pipe to the end on a thread of its own.
fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The sample of a child that ended with `status` (`None`: killed after
/// `timeout`), or why there is none.
fn outcome(
    job: &Job,
    pid: u32,
    status: Option<ExitStatus>,
    stdout: &str,
    stderr: &str,
    timeout: Duration,
) -> Result<Sample, String> {
    let sample = harness::parse_result(stdout);
    let load = job.mode.load_producers().is_some();
    match (status, sample) {
        // A load mode reports before its fatal record: killed after that,
        // the fatal record (or its flush) hung.
        (None, Some(mut s)) if load => {
            s.fatal = Fatal::Hung;
            Ok(s)
        }
        (None, _) => Err(format!("timeout: killed after {:.1} s", timeout.as_secs_f64())),
        (Some(status), Some(mut s)) if status.success() => {
            if load {
                s.fatal = match harness::parse_fatal(stdout) {
                    Some(Fatal::Sent)
                        if file_contains(&harness::log_path(pid, &job.peer), &harness::fatal_marker(pid)) =>
                    {
                        Fatal::Arrived
                    }
                    Some(f) => f,
                    None => return Err("no FATAL line".into()),
                };
            }
            Ok(s)
        }
        (Some(status), _) => {
            let msg = stderr
                .lines()
                .find(|l| l.contains("panicked") || l.contains("verification"))
                .or_else(|| stderr.lines().last())
                .unwrap_or("no output");
            let msg: String = msg.chars().take(300).collect();
            Err(format!("{} ({status})", msg.trim()))
        }
    }
}

/// Whether the file holds `needle`, read in 1 MiB blocks from its end
/// (where a fatal record lands).
fn file_contains(path: &Path, needle: &str) -> bool {
    use std::os::unix::fs::FileExt as _;
    const BLOCK: u64 = 1 << 20;
    let Ok(file) = std::fs::File::open(path) else { return false };
    let Ok(len) = file.metadata().map(|m| m.len()) else { return false };
    let needle = needle.as_bytes();
    let mut buf = Vec::new();
    let mut end = len;
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        // Overlap the next block by the needle's length, less one.
        let stop = (end + needle.len() as u64 - 1).min(len);
        buf.resize((stop - start) as usize, 0);
        if file.read_exact_at(&mut buf, start).is_err() {
            return false;
        }
        if buf.windows(needle.len()).any(|w| w == needle) {
            return true;
        }
        end = start;
    }
    false
}
