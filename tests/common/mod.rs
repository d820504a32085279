//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod child;
#[cfg(unix)]
pub mod collector;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use serde_json::Value;

/// A port for a listener that a test stops and starts again on the same
/// port (a collector restart), free for TCP and UDP when taken. It comes
/// from below the kernel's ephemeral range (`ip_local_port_range`, 32768
/// and up by default), so that no client socket of a test running
/// meanwhile is handed it while the listener is down (a port the kernel
/// picked with `bind(0)` could be, and the restart then could not bind it).
pub fn restart_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let low: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768);
    let (from, to) = (10_000u32, low.clamp(10_000, 65_535));
    let free = |port: u16| {
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
    };
    if to - from >= 1_000 {
        // Spread by process: other processes may take ports here too.
        let base = std::process::id() % 997 * 10;
        for _ in 0..(to - from) {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let port = (from + (base + n) % (to - from)) as u16;
            if free(port) {
                return port;
            }
        }
    }
    // No room below the ephemeral range: any free port.
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if free(port) {
            return port;
        }
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "logjet-test-{}-{}-{}",
            name,
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Parses every line of NDJSON text; panics with the line on any error.
pub fn parse_lines(text: &str) -> Vec<Value> {
    assert!(text.is_empty() || text.ends_with('\n'), "output ends with a newline");
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("invalid JSON line {l:?}: {e}")))
        .collect()
}

pub fn read_lines(path: &Path) -> Vec<Value> {
    parse_lines(&std::fs::read_to_string(path).unwrap())
}

/// An in-memory sink whose contents the test can read.
#[derive(Clone, Default)]
pub struct Mem(pub Arc<Mutex<Vec<u8>>>);

impl Mem {
    pub fn new() -> Mem {
        Mem::default()
    }
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("output is UTF-8")
    }
    pub fn lines(&self) -> Vec<Value> {
        parse_lines(&self.text())
    }
    pub fn sink(&self) -> logjet::sink::Writer {
        logjet::sink::Writer::new(self.clone()).name("mem")
    }
}

impl io::Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that blocks every write until the test opens the gate.
#[derive(Clone, Default)]
pub struct Gate {
    pub mem: Mem,
    state: Arc<(Mutex<bool>, Condvar)>,
}

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }
    pub fn open(&self) {
        *self.state.0.lock().unwrap() = true;
        self.state.1.notify_all();
    }
}

impl io::Write for Gate {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut open = self.state.0.lock().unwrap();
        while !*open {
            open = self.state.1.wait(open).unwrap();
        }
        drop(open);
        self.mem.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The keys of a JSON object, in order.
pub fn keys(v: &Value) -> Vec<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

/// `line` without its `"time":…` and `"pid":…` members (the two runs
/// differ in them).
pub fn without_time_and_pid(line: &str) -> String {
    let mut line = line.to_string();
    for key in [",\"time\":", ",\"pid\":"] {
        let at = line.find(key).unwrap_or_else(|| panic!("{key} in {line}"));
        let rest = &line[at + key.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        assert!(digits > 0, "digits after {key}: {line}");
        line = format!("{}{}", &line[..at], &rest[digits..]);
    }
    line
}

/// Runs test `name`'s child role (which logs to the file it is given)
/// twice: with every caller formatting its own lines
/// (`LOGJET_CALLER_FORMAT=always`, as when the writer is behind) and with
/// none (`off`). Checks that each wrote `lines` lines of JSON and that the
/// two files are the same but for times and process ids; returns the lines
/// without those.
pub fn same_lines_whoever_formats(name: &str, lines: usize) -> Vec<String> {
    let dir = TempDir::new(name);
    let mut files = Vec::new();
    for mode in ["always", "off"] {
        let file = dir.join(&format!("{mode}.log"));
        let child = child::spawn_child_with(name, &file, &[("LOGJET_CALLER_FORMAT", Some(mode))]);
        let out = child::wait_child(child, name);
        assert_eq!(out.code, Some(0), "{mode}: {}", out.stderr);
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().count(), lines, "{mode}: every record written");
        for line in text.lines() {
            serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{mode}: {e}: {line}"));
        }
        files.push(text.lines().map(without_time_and_pid).collect::<Vec<_>>());
    }
    let off = files.pop().unwrap();
    let always = files.pop().unwrap();
    for (x, y) in always.iter().zip(&off) {
        assert_eq!(x, y);
    }
    always
}
