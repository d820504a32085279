//! Tests that need a process of their own (an exit, a signal, a panic hook,
//! peak memory): the test binary re-executes itself with
//! `--exact <test> --nocapture` and [`CHILD_ENV`] naming the test, and the
//! same test function then plays the child's part.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Set in a child process to the name of the test whose child part it runs.
pub const CHILD_ENV: &str = "LOGJET_TEST_CHILD";
/// The log file the child writes.
pub const FILE_ENV: &str = "LOGJET_TEST_CHILD_FILE";
/// A child process still running after this long is killed, and the test fails.
pub const CHILD_BOUND: Duration = Duration::from_secs(60);

/// The log file this process writes, if it is the child of `test`.
pub fn child_role(test: &str) -> Option<PathBuf> {
    if std::env::var(CHILD_ENV).ok()? != test {
        return None;
    }
    Some(PathBuf::from(std::env::var_os(FILE_ENV).expect("the parent names the log file")))
}

/// How a child ended and what it printed.
pub struct ChildOutput {
    /// The exit code, when it exited.
    pub code: Option<i32>,
    /// The signal that ended it, when one did (Unix).
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Starts the child part of `test`, writing to `file`, with its stdout
/// and stderr piped.
pub fn spawn_child(test: &str, file: &Path) -> Child {
    spawn_child_with(test, file, &[])
}

/// [`spawn_child`] with more environment variables (set, or removed when
/// the value is `None`).
pub fn spawn_child_with(test: &str, file: &Path, env: &[(&str, Option<&str>)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .env(FILE_ENV, file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads the child's stdout up to the first line containing `marker` and
/// returns what follows the marker on that line (libtest may print the
/// test's name before it). The rest of stdout is discarded. Kills the child
/// and fails the test when no such line comes within [`CHILD_BOUND`] or the
/// child ends first.
pub fn read_after_marker(child: &mut Child, marker: &str) -> String {
    let out: ChildStdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    let marker_owned = marker.to_string();
    thread::spawn(move || {
        let mut found = None;
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if found.is_none() {
                if let Some(at) = line.find(&marker_owned) {
                    found = Some(line[at + marker_owned.len()..].trim().to_string());
                    let _ = tx.send(found.clone());
                }
            }
        }
        if found.is_none() {
            let _ = tx.send(None);
        }
    });
    match rx.recv_timeout(CHILD_BOUND) {
        Ok(Some(rest)) => rest,
        other => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child printed no line containing {marker:?} ({other:?})");
        }
    }
}

/// Waits for the child of `test` to end; kills it and fails after
/// [`CHILD_BOUND`].
pub fn wait_child(mut child: Child, test: &str) -> ChildOutput {
    let read_all = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut s);
            }
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let stdout = read_all(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = read_all(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + CHILD_BOUND;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        // Supervising the child, not waiting for its output.
        thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let Some(status) = status else {
        panic!("the child of {test} still ran after {CHILD_BOUND:?}: killed\nstderr:\n{stderr}")
    };
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    #[cfg(not(unix))]
    let signal = None;
    ChildOutput { code: status.code(), signal, stdout, stderr }
}

/// Runs the child part of `test`, writing to `file`, to its end.
pub fn run_child(test: &str, file: &Path) -> ChildOutput {
    wait_child(spawn_child(test, file), test)
}

/// The last `n` lines of a child's output, for failure messages.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
