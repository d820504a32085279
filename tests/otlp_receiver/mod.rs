//! A minimal OTLP/HTTP logs receiver for the tests and the benchmark: plain
//! HTTP/1.1 on loopback (keep-alive, `Content-Length` bodies), bodies
//! gunzipped when `Content-Encoding: gzip` and decoded with the official
//! `opentelemetry-proto` types (protobuf through prost, JSON through serde).
//! Replies can be scripted (status and `Retry-After`) to test retries; the
//! receiver can be stopped (its port closed, its connections dropped) and
//! started again on the same port.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub request: ExportLogsServiceRequest,
    pub gzip: bool,
    pub json: bool,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Received {
    pub fn records(&self) -> usize {
        self.request.resource_logs.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len()).sum()
    }
}

/// A scripted reply: the status and an optional `Retry-After` in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<u64>,
}

#[derive(Default)]
struct State {
    stop: AtomicBool,
    /// Keep every request (tests) or only count (benchmark).
    keep: bool,
    /// Count the records by walking the protobuf wire format instead of
    /// decoding into the official types (a cheaper receiver, for the
    /// benchmark; protobuf bodies without gzip only).
    walk: bool,
    requests: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    records: AtomicU64,
    /// Requests answered with a scripted failure.
    refused: AtomicU64,
    /// Bodies that did not decode.
    bad: AtomicU64,
    conns: Mutex<Vec<JoinHandle<()>>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Listens on 127.0.0.1:`port` (0: any free port).
    pub fn start(port: u16, keep: bool) -> Receiver {
        Receiver::start_with(port, keep, false)
    }

    /// A receiver that counts records by walking the wire format
    /// (protobuf without gzip), for the benchmark.
    pub fn start_walking(port: u16) -> Receiver {
        Receiver::start_with(port, false, true)
    }

    fn start_with(port: u16, keep: bool, walk: bool) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the receiver");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let state = Arc::new(State { keep, walk, ..State::default() });
        let st = state.clone();
        let accept = std::thread::Builder::new()
            .name("otlp-receiver".into())
            .spawn(move || {
                while !st.stop.load(Ordering::Acquire) {
                    match listener.accept() {
                        Ok((s, _)) => {
                            let st2 = st.clone();
                            let h = std::thread::Builder::new()
                                .name("otlp-receiver".into())
                                .spawn(move || serve(s, &st2))
                                .expect("a receiver thread");
                            st.conns.lock().unwrap().push(h);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
            .expect("the receiver's thread");
        Receiver { addr, state, accept: Some(accept) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replies to give, in order, before answering 200 again.
    pub fn script(&self, replies: &[Reply]) {
        self.state.script.lock().unwrap().extend(replies.iter().copied());
    }

    pub fn requests(&self) -> Vec<Received> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Records received (in requests answered 200).
    pub fn records(&self) -> u64 {
        self.state.records.load(Ordering::Acquire)
    }

    pub fn refused(&self) -> u64 {
        self.state.refused.load(Ordering::Acquire)
    }

    pub fn bad_bodies(&self) -> u64 {
        self.state.bad.load(Ordering::Acquire)
    }

    /// Closes the port and returns its number (nothing listens there now).
    pub fn stop_port(self) -> u16 {
        let port = self.addr.port();
        drop(self);
        port
    }

    /// Closes the port and every connection; returns what it received.
    pub fn stop(mut self) -> Vec<Received> {
        self.shut();
        std::mem::take(&mut *self.state.requests.lock().unwrap())
    }

    fn shut(&mut self) {
        self.state.stop.store(true, Ordering::Release);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        let conns = std::mem::take(&mut *self.state.conns.lock().unwrap());
        for c in conns {
            let _ = c.join();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shut();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Serves one connection until the client closes it or the receiver stops.
fn serve(mut s: TcpStream, st: &State) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        // A whole request in `buf`?
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let path = lines.next().unwrap_or("").split(' ').nth(1).unwrap_or("").to_owned();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let len: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let body: Vec<u8> = buf[end + 4..end + 4 + len].to_vec();
                buf.drain(..end + 4 + len);
                let gzip = header("content-encoding").is_some_and(|v| v == "gzip");
                let json = header("content-type").is_some_and(|v| v.starts_with("application/json"));
                let reply = st.script.lock().unwrap().pop_front();
                if let Some(r) = reply {
                    st.refused.fetch_add(1, Ordering::AcqRel);
                    let retry = r.retry_after.map(|s| format!("Retry-After: {s}\r\n")).unwrap_or_default();
                    let msg = format!("HTTP/1.1 {} Scripted\r\n{retry}Content-Length: 0\r\n\r\n", r.status);
                    if s.write_all(msg.as_bytes()).is_err() {
                        return;
                    }
                    continue;
                }
                if st.walk && !gzip && !json {
                    let Some(n) = count_records(&body) else {
                        st.bad.fetch_add(1, Ordering::AcqRel);
                        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                        continue;
                    };
                    st.records.fetch_add(n, Ordering::AcqRel);
                    let msg = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
                    if s.write_all(msg.as_bytes()).is_err() {
                        st.records.fetch_sub(n, Ordering::AcqRel);
                        return;
                    }
                    continue;
                }
                let decoded = decode(&body, gzip, json);
                let Some(request) = decoded else {
                    st.bad.fetch_add(1, Ordering::AcqRel);
                    let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                    continue;
                };
                let ct = if json { "application/json" } else { "application/x-protobuf" };
                let msg = format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: 0\r\n\r\n");
                // Counted before the answer goes (a client that has its
                // answer finds the records here), taken back when the
                // answer cannot be written (the client will send them again).
                let got = Received { request, gzip, json, path, headers };
                let n = got.records() as u64;
                let mut kept = st.requests.lock().unwrap();
                if st.keep {
                    kept.push(got);
                }
                st.records.fetch_add(n, Ordering::AcqRel);
                if s.write_all(msg.as_bytes()).is_err() {
                    if st.keep {
                        kept.pop();
                    }
                    st.records.fetch_sub(n, Ordering::AcqRel);
                    return;
                }
                drop(kept);
                continue;
            }
        }
        if st.stop.load(Ordering::Acquire) {
            return;
        }
        match s.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

fn decode(body: &[u8], gzip: bool, json: bool) -> Option<ExportLogsServiceRequest> {
    let mut plain = Vec::new();
    let body = if gzip {
        flate2::read::GzDecoder::new(body).read_to_end(&mut plain).ok()?;
        &plain[..]
    } else {
        body
    };
    if json {
        serde_json::from_slice(body).ok()
    } else {
        ExportLogsServiceRequest::decode(body).ok()
    }
}

/// The `LogRecord`s in an `ExportLogsServiceRequest`, counted by walking
/// the wire format: request field 1 (ResourceLogs), its field 2
/// (ScopeLogs), its field 2 (LogRecord). `None` when the body is not
/// well-formed protobuf.
fn count_records(body: &[u8]) -> Option<u64> {
    fn fields(mut b: &[u8], mut f: impl FnMut(u64, &[u8]) -> Option<()>) -> Option<()> {
        while !b.is_empty() {
            let key = prost::decode_length_delimiter(&mut b).ok()? as u64;
            match key & 7 {
                0 => {
                    prost::decode_length_delimiter(&mut b).ok()?;
                }
                1 => b = b.get(8..)?,
                5 => b = b.get(4..)?,
                2 => {
                    let len = prost::decode_length_delimiter(&mut b).ok()?;
                    let (v, rest) = b.split_at_checked(len)?;
                    f(key >> 3, v)?;
                    b = rest;
                }
                _ => return None,
            }
        }
        Some(())
    }
    let mut n = 0;
    fields(body, |tag, rl| {
        if tag == 1 {
            fields(rl, |tag, sl| {
                if tag == 2 {
                    fields(sl, |tag, _| {
                        n += u64::from(tag == 2);
                        Some(())
                    })?;
                }
                Some(())
            })?;
        }
        Some(())
    })?;
    Some(n)
}
