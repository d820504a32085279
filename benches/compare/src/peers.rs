//! The loggers under test ("peers"), each configured for a lossless
//! asynchronous path to a file on disk, and each logging the same record.
//!
//! [`with_peer`] sets a peer up and hands it, as something [`Peer`], to the
//! harness: the call site, and the end of the run (flush, shutdown, guard
//! drop). The harness times from the first call until the end returns.
//!
//! Every peer logs the [`Request`] the harness hands it, its values read at
//! run time (see `workload.rs`). Under load a peer also flushes while the
//! producers go on, and logs a last record before the process exits, as far
//! as it offers either (see [`under_load`]).

use std::cell::RefCell;
use std::io::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::workload::{Request, MSG};

/// Every peer, in table order.
pub const PEERS: [&str; 10] = [
    "baseline-json",
    "baseline-const",
    "logjet",
    "logjet-rotating",
    "logjet-tracing",
    "tracing",
    "slog",
    "ftlog",
    "fast_log",
    "spdlog",
];

/// The peer the ratios are computed against.
pub const BASELINE: &str = "baseline-json";

/// The crates whose versions the report lists (as named in Cargo.lock).
pub const CRATES: [&str; 12] = [
    "tracing",
    "tracing-subscriber",
    "tracing-appender",
    "slog",
    "slog-async",
    "slog-json",
    "ftlog",
    "fast_log",
    "spdlog-rs",
    "crossbeam-channel",
    "hdrhistogram",
    "serde_json",
];

/// One line per peer for the report: how it is configured.
pub fn describe(peer: &str) -> &'static str {
    match peer {
        "baseline-json" => {
            "hand-written lower bound: the line encoded by hand (itoa/ryu, strings escaped) into a thread-local \
             buffer, 64 KiB chunks over a crossbeam bounded(64) channel to a thread that writes each chunk with one \
             write(2)"
        }
        "baseline-const" => {
            "a constant line, by definition: the `baseline-json` line of one request, encoded once at setup, copied \
             into the same thread-local buffer and shipped through the same channel; it ignores each call's values: \
             pure transport cost (its request_id is constant, so only line count, JSON and message are verified)"
        }
        "logjet" => {
            "`logjet::info!` with `Logger::builder().sink(sink::File::append(path)).overflow(Overflow::Block)`, \
             defaults otherwise; ends with `guard.shutdown()`"
        }
        "logjet-rotating" => {
            "`logjet` with `sink::File::options().rotate_size(16 MiB)`: a new file every 16 MiB (about 9 rotations \
             per million records), cut at record boundaries; the verification reads every file"
        }
        "logjet-tracing" => {
            "`tracing::info!` through `tracing_subscriber::registry().with(logjet::TracingLayer::new(&log))` \
             (global default), same logger as `logjet`; ends with `guard.shutdown()`"
        }
        "tracing" => {
            "`tracing::info!` through `tracing_subscriber::fmt().json()` writing to \
             `tracing_appender::non_blocking` (`NonBlockingBuilder::default().lossy(false)`, default 128,000 lines) \
             over the `File`; ends by dropping the `WorkerGuard`. Fields are nested under `fields`"
        }
        "slog" => {
            "`slog::info!` into `slog_async::Async` (`OverflowStrategy::Block`, default channel 128, \
             `build_with_guard`) over `slog_json::Json` (newlines on) writing to a `BufWriter<File>`; keys level/time/pid/hostname/msg \
             added with `add_key_value`; ends by dropping the logger and the `AsyncGuard`"
        }
        "ftlog" => {
            "`log::info!(k = v, ...; \"request handled\")` (log's key-values) into ftlog (`bounded(100_000, true)`, \
             i.e. ftlog's default size, blocking; `FileAppender`); a custom `FtLogFormat` encodes the fields as JSON on \
             the calling thread; ftlog always prefixes each line with `<time> <delay>ms `, so the time format is \
             `{\"time\":[unix_timestamp precision:millisecond],\"delay\":\"` and the line stays one JSON object with an extra \
             `delay` key; ends by dropping the `LoggerGuard` (flush and wait)"
        }
        "fast_log" => {
            "`log::info!` with the fields formatted as JSON members into the message (strings escaped; fast_log ignores \
             log's key-values; it always runs `record.args().to_string()` on the calling thread); a custom `RecordFormat` \
             wraps them into the line on its format thread; default unbounded channel (`chan_len(None)`), `Config::file`; \
             ends with `log::logger().flush()` (waits for the file appender)"
        }
        "spdlog" => {
            "`spdlog::info!(logger: .., \"request handled\", kv: {..})` into an `AsyncPoolSink` (`OverflowPolicy::Block`, \
             own `ThreadPool` with default capacity 8192 and one thread) over a `FileSink` with spdlog's `JsonFormatter` \
             (fields nested under `kv`, message as `payload`); ends with `logger.flush()` and dropping the logger and pool (joins the pool)"
        }
        _ => "",
    }
}

/// One line per peer for the under-load table: its flush while the
/// producers go on, and its last record before `std::process::exit`.
pub fn under_load(peer: &str) -> &'static str {
    match peer {
        "baseline-json" | "baseline-const" => {
            "no flush and no levels (each producer's buffer is its own): flush and fatal n/a; a reference for \
             throughput, shares and the longest call"
        }
        "logjet" | "logjet-rotating" => {
            "flush: `Logger::flush`; fatal: `logjet::fatal!`, which flushes (each wait bounded by the 5 s shutdown timeout)"
        }
        "logjet-tracing" => {
            "flush: `Guard::flush`; fatal: `tracing::error!` (tracing's highest level), then `Guard::shutdown` \
             (bounded by the 5 s shutdown timeout)"
        }
        "tracing" => {
            "flush n/a (`NonBlocking`'s `io::Write::flush` returns at once; only the `WorkerGuard`'s drop waits, once); \
             fatal: `tracing::error!`, then dropping the `WorkerGuard` (the documented way not to lose lines at exit: \
             it waits up to 100 ms to queue its shutdown, then up to 1 s)"
        }
        "slog" => {
            "flush n/a (`Logger::flush` answers `NotSupported` through slog-async 2.8); fatal: `slog::crit!`, then \
             dropping the `AsyncGuard` (flush and join the worker)"
        }
        "ftlog" => "flush: `log::logger().flush()` (waits for ftlog's thread); fatal: `log::error!`, then the same flush",
        "fast_log" => "flush: `log::logger().flush()` (waits for the file appender); fatal: `log::error!`, then the same flush",
        "spdlog" => {
            "flush n/a (`Logger::flush` only queues a flush task for the pool, it does not wait); fatal: \
             `spdlog::critical!`, then the sink's `flush_on_exit` (what spdlog runs at exit for its default logger: \
             ends the pool after its queued tasks, then flushes the file)"
        }
        _ => "",
    }
}

/// One peer, set up and ready: the call site and the end of the run.
/// `log` is called from one or more producer threads; `thread_done` once by
/// each producer thread after its last call; `finish` returns once the
/// file is complete (flush, shutdown, guard drop).
pub trait Peer: Sync + Sized {
    /// Logs the record of `r`.
    fn log(&self, r: &Request);
    /// The producer thread is done (the baselines ship their partial chunk).
    fn thread_done(&self) {}
    /// Ends the run; the file is complete when this returns.
    fn finish(self);
    /// Under load: waits until every record logged before the call is in
    /// the file, while the producers go on. `false` (at once) when the peer
    /// has no flush that waits: the table says n/a.
    fn flush(&self) -> bool {
        false
    }
    /// Under load, just before the process exits: logs one record at the
    /// peer's highest level carrying the field `marker`, then does what the
    /// peer offers to get it into the file (its flush, its guard's drop or
    /// its shutdown).
    /// `false` when the peer has no such record: the table says n/a.
    fn fatal(&self, _marker: &str) -> bool {
        false
    }
}

/// The host name as it appears in the hand-written lines.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Hands `s` as a JSON string (quotes included) to `put`, in pieces: each
/// run of bytes that needs no escaping in one piece.
fn json_escape(s: &str, mut put: impl FnMut(&str)) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut unicode = *b"\\u00XX";
    put("\"");
    let mut run = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => {
                unicode[4] = HEX[usize::from(b >> 4)];
                unicode[5] = HEX[usize::from(b & 0xf)];
                std::str::from_utf8(&unicode).expect("ASCII")
            }
            _ => continue,
        };
        // `i` is at an ASCII byte, so on a char boundary.
        put(&s[run..i]);
        put(escaped);
        run = i + 1;
    }
    put(&s[run..]);
    put("\"");
}

/// Appends `s` as a JSON string (quotes included).
fn push_json_str(out: &mut String, s: &str) {
    json_escape(s, |piece| out.push_str(piece));
}

/// Appends `s` as a JSON string (quotes included).
fn push_json_bytes(out: &mut Vec<u8>, s: &str) {
    json_escape(s, |piece| out.extend_from_slice(piece.as_bytes()));
}

/// `Display`s a string as a JSON string (quotes included).
struct JsonStr<'a>(&'a str);

impl std::fmt::Display for JsonStr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut result = Ok(());
        json_escape(self.0, |piece| {
            if result.is_ok() {
                result = f.write_str(piece);
            }
        });
        result
    }
}

/// `"pid":P,"hostname":"H"` (no leading or trailing comma).
fn pid_host() -> String {
    let mut s = format!("\"pid\":{},\"hostname\":", std::process::id());
    push_json_str(&mut s, &hostname());
    s
}

/// Sets up `peer` writing to `path` and hands it to `run` (monomorphized per
/// peer: no dynamic dispatch on the call path). Panics on a setup error; the
/// parent reports the child's failure.
pub fn with_peer<R>(peer: &str, path: &Path, run: impl Runner<R>) -> R {
    match peer {
        "baseline-json" => run.run(baseline::Baseline::setup(path, false)),
        "baseline-const" => run.run(baseline::Baseline::setup(path, true)),
        "logjet" => run.run(logjet_peer::Logjet::setup(path)),
        "logjet-rotating" => run.run(logjet_peer::Logjet::setup_rotating(path)),
        "logjet-tracing" => run.run(logjet_peer::LogjetTracing::setup(path)),
        "tracing" => run.run(tracing_peer::TracingJson::setup(path)),
        "slog" => run.run(slog_peer::Slog::setup(path)),
        "ftlog" => run.run(ftlog_peer::Ftlog::setup(path)),
        "fast_log" => run.run(fast_log_peer::FastLog::setup(path)),
        "spdlog" => run.run(spdlog_peer::Spdlog::setup(path)),
        other => panic!("unknown peer {other:?}; known: {}", PEERS.join(", ")),
    }
}

/// What [`with_peer`] runs: generic over the peer's concrete type.
pub trait Runner<R> {
    /// Runs the measurement with `peer`.
    fn run<P: Peer>(self, peer: P) -> R;
}

mod baseline {
    use super::*;
    use crossbeam_channel::Sender;

    const CHUNK: usize = 64 * 1024;

    thread_local! {
        static BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(CHUNK + 512));
    }

    pub struct Baseline {
        tx: Sender<Vec<u8>>,
        writer: std::thread::JoinHandle<()>,
        /// `,"pid":P,"hostname":"H"`
        pid_host: Vec<u8>,
        /// `,"msg":"…"}` and the newline.
        end: Vec<u8>,
        /// `baseline-const`: the line every call copies.
        constant: Option<Vec<u8>>,
    }

    impl Baseline {
        pub fn setup(path: &Path, constant: bool) -> Baseline {
            let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(64);
            let mut file = std::fs::File::create(path).expect("create the log file");
            let writer = std::thread::spawn(move || {
                for chunk in rx {
                    file.write_all(&chunk).expect("write the log file");
                }
            });
            let mut end = b",\"msg\":".to_vec();
            push_json_bytes(&mut end, MSG);
            end.extend_from_slice(b"}\n");
            let pid_host = format!(",{}", pid_host()).into_bytes();
            let mut peer = Baseline { tx, writer, pid_host, end, constant: None };
            if constant {
                let mut line = Vec::new();
                peer.encode(&mut line, &Request::arrive(42));
                peer.constant = Some(line);
            }
            peer
        }

        /// Appends the line of `r`.
        #[inline]
        fn encode(&self, b: &mut Vec<u8>, r: &Request) {
            b.extend_from_slice(b"{\"level\":30,\"time\":");
            b.extend_from_slice(itoa::Buffer::new().format(epoch_ms(SystemTime::now())).as_bytes());
            b.extend_from_slice(&self.pid_host);
            b.extend_from_slice(b",\"method\":");
            push_json_bytes(b, r.method);
            b.extend_from_slice(b",\"path\":");
            push_json_bytes(b, r.path);
            b.extend_from_slice(b",\"status\":");
            b.extend_from_slice(itoa::Buffer::new().format(r.status).as_bytes());
            b.extend_from_slice(b",\"latency_ms\":");
            if r.latency_ms.is_finite() {
                b.extend_from_slice(ryu::Buffer::new().format_finite(r.latency_ms).as_bytes());
            } else {
                b.extend_from_slice(b"null");
            }
            b.extend_from_slice(if r.cached { b",\"cached\":true" } else { b",\"cached\":false" });
            b.extend_from_slice(b",\"request_id\":");
            b.extend_from_slice(itoa::Buffer::new().format(r.request_id).as_bytes());
            b.extend_from_slice(&self.end);
        }
    }

    impl Peer for Baseline {
        #[inline]
        fn log(&self, r: &Request) {
            BUF.with(|b| {
                let mut b = b.borrow_mut();
                match &self.constant {
                    Some(line) => b.extend_from_slice(line),
                    None => self.encode(&mut b, r),
                }
                if b.len() >= CHUNK {
                    let full = std::mem::replace(&mut *b, Vec::with_capacity(CHUNK + 512));
                    self.tx.send(full).expect("writer alive");
                }
            });
        }

        fn thread_done(&self) {
            BUF.with(|b| {
                let rest = std::mem::take(&mut *b.borrow_mut());
                if !rest.is_empty() {
                    self.tx.send(rest).expect("writer alive");
                }
            });
        }

        fn finish(self) {
            drop(self.tx);
            self.writer.join().expect("writer thread");
        }
    }
}

mod logjet_peer {
    use super::*;
    use logjet::{sink, Guard, Logger, Overflow};
    use std::sync::Mutex;

    fn build(path: &Path) -> (Logger, Guard) {
        build_with(sink::File::append(path).expect("open the log file"))
    }

    fn build_with(file: sink::File) -> (Logger, Guard) {
        Logger::builder().sink(file).overflow(Overflow::Block).build().expect("build the logger")
    }

    /// Takes the guard out of its slot and shuts the logger down (once).
    fn shutdown(slot: &Mutex<Option<Guard>>) -> Result<(), logjet::Error> {
        slot.lock().expect("guard").take().map_or(Ok(()), Guard::shutdown)
    }

    pub struct Logjet {
        log: Logger,
        guard: Mutex<Option<Guard>>,
    }

    impl Logjet {
        pub fn setup(path: &Path) -> Logjet {
            let (log, guard) = build(path);
            Logjet { log, guard: Mutex::new(Some(guard)) }
        }

        /// The same logger, its file rotated every 16 MiB.
        pub fn setup_rotating(path: &Path) -> Logjet {
            let file = sink::File::options().rotate_size(16 << 20).append(path).expect("open the log file");
            let (log, guard) = build_with(file);
            Logjet { log, guard: Mutex::new(Some(guard)) }
        }
    }

    impl Peer for Logjet {
        #[inline]
        fn log(&self, r: &Request) {
            logjet::info!(
                self.log,
                "request handled",
                method = r.method,
                path = r.path,
                status = r.status,
                latency_ms = r.latency_ms,
                cached = r.cached,
                request_id = r.request_id
            );
        }

        fn finish(self) {
            drop(self.log);
            shutdown(&self.guard).expect("logjet shutdown");
        }

        fn flush(&self) -> bool {
            self.log.flush().expect("logjet flush");
            true
        }

        fn fatal(&self, marker: &str) -> bool {
            logjet::fatal!(self.log, "shutting down", marker = marker);
            true
        }
    }

    pub struct LogjetTracing {
        guard: Mutex<Option<Guard>>,
    }

    impl LogjetTracing {
        pub fn setup(path: &Path) -> LogjetTracing {
            use tracing_subscriber::layer::SubscriberExt as _;
            let (log, guard) = build(path);
            tracing::subscriber::set_global_default(
                tracing_subscriber::registry().with(logjet::TracingLayer::new(&log)),
            )
            .expect("set the global subscriber");
            LogjetTracing { guard: Mutex::new(Some(guard)) }
        }
    }

    impl Peer for LogjetTracing {
        #[inline]
        fn log(&self, r: &Request) {
            super::tracing_event(r);
        }

        fn finish(self) {
            shutdown(&self.guard).expect("logjet shutdown");
        }

        fn flush(&self) -> bool {
            let guard = self.guard.lock().expect("guard");
            guard.as_ref().expect("not shut down").flush().expect("logjet flush");
            true
        }

        fn fatal(&self, marker: &str) -> bool {
            super::tracing_fatal(marker);
            // Its end-of-process call, bounded by the shutdown timeout; what
            // it could not write is reported, not our concern here.
            let _ = shutdown(&self.guard);
            true
        }
    }
}

/// The same event for both tracing peers.
#[inline]
fn tracing_event(r: &Request) {
    tracing::info!(
        method = r.method,
        path = r.path,
        status = r.status,
        latency_ms = r.latency_ms,
        cached = r.cached,
        request_id = r.request_id,
        "request handled"
    );
}

/// The last record of both tracing peers, at tracing's highest level.
fn tracing_fatal(marker: &str) {
    tracing::error!(marker, "shutting down");
}

/// Takes the guard out of its slot and drops it (its drop flushes); once.
fn drop_guard<G>(slot: &std::sync::Mutex<Option<G>>) {
    drop(slot.lock().expect("guard").take());
}

mod tracing_peer {
    use super::*;
    use std::sync::Mutex;
    use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

    pub struct TracingJson {
        guard: Mutex<Option<WorkerGuard>>,
    }

    impl TracingJson {
        pub fn setup(path: &Path) -> TracingJson {
            let file = std::fs::File::create(path).expect("create the log file");
            let (writer, guard) = NonBlockingBuilder::default().lossy(false).finish(file);
            let subscriber = tracing_subscriber::fmt().json().with_writer(writer).finish();
            tracing::subscriber::set_global_default(subscriber).expect("set the global subscriber");
            TracingJson { guard: Mutex::new(Some(guard)) }
        }
    }

    impl Peer for TracingJson {
        #[inline]
        fn log(&self, r: &Request) {
            super::tracing_event(r);
        }

        fn finish(self) {
            // Dropping the guard sends Shutdown and waits (up to 1 s) for the
            // worker to write and flush everything before it.
            drop_guard(&self.guard);
        }

        fn fatal(&self, marker: &str) -> bool {
            super::tracing_fatal(marker);
            drop_guard(&self.guard);
            true
        }
    }
}

mod slog_peer {
    use super::*;
    use slog::{o, Drain as _, FnValue, PushFnValue};
    use std::sync::Mutex;

    pub struct Slog {
        log: slog::Logger,
        guard: Mutex<Option<slog_async::AsyncGuard>>,
    }

    fn level_number(l: slog::Level) -> u64 {
        match l {
            slog::Level::Critical => 60,
            slog::Level::Error => 50,
            slog::Level::Warning => 40,
            slog::Level::Info => 30,
            slog::Level::Debug => 20,
            slog::Level::Trace => 10,
        }
    }

    impl Slog {
        pub fn setup(path: &Path) -> Slog {
            let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create the log file"));
            let json = slog_json::Json::new(file)
                .set_newlines(true)
                .add_key_value(o!(
                    "level" => FnValue(|r: &slog::Record| level_number(r.level())),
                    "time" => FnValue(|_: &slog::Record| epoch_ms(SystemTime::now())),
                    "pid" => std::process::id(),
                    "hostname" => hostname(),
                    "msg" => PushFnValue(|r: &slog::Record, ser| ser.emit(r.msg())),
                ))
                .build()
                .fuse();
            let (drain, guard) =
                slog_async::Async::new(json).overflow_strategy(slog_async::OverflowStrategy::Block).build_with_guard();
            let log = slog::Logger::root(drain.fuse(), o!());
            Slog { log, guard: Mutex::new(Some(guard)) }
        }
    }

    impl Peer for Slog {
        #[inline]
        fn log(&self, r: &Request) {
            slog::info!(self.log, "request handled";
                "method" => r.method,
                "path" => r.path,
                "status" => r.status,
                "latency_ms" => r.latency_ms,
                "cached" => r.cached,
                "request_id" => r.request_id);
        }

        fn finish(self) {
            drop(self.log);
            // Sends Finish and joins the worker, which drops the drain and
            // so flushes the BufWriter.
            drop_guard(&self.guard);
        }

        fn flush(&self) -> bool {
            // `NotSupported` through slog-async 2.8: n/a.
            self.log.flush().is_ok()
        }

        fn fatal(&self, marker: &str) -> bool {
            slog::crit!(self.log, "shutting down"; "marker" => marker);
            drop_guard(&self.guard);
            true
        }
    }
}

/// pino's level numbers for `log`'s levels.
fn log_level_number(l: log::Level) -> u64 {
    match l {
        log::Level::Error => 50,
        log::Level::Warn => 40,
        log::Level::Info => 30,
        log::Level::Debug => 20,
        log::Level::Trace => 10,
    }
}

/// `log`'s flush, for both peers behind the `log` facade (each waits).
fn log_flush() -> bool {
    log::logger().flush();
    true
}

mod ftlog_peer {
    use super::*;
    use ftlog::appender::FileAppender;
    use ftlog::{FtLogFormat, LoggerGuard};
    use log::kv::{Error, Key, Value, VisitSource};
    use std::fmt::Display;
    use std::sync::Mutex;

    /// Encodes a record's key-values as JSON members, each followed by a comma.
    struct JsonKv<'a>(&'a mut String);

    impl<'kvs> VisitSource<'kvs> for JsonKv<'_> {
        fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), Error> {
            push_json_str(self.0, key.as_str());
            self.0.push(':');
            if let Some(b) = value.to_bool() {
                self.0.push_str(if b { "true" } else { "false" });
            } else if let Some(u) = value.to_u64() {
                self.0.push_str(itoa::Buffer::new().format(u));
            } else if let Some(i) = value.to_i64() {
                self.0.push_str(itoa::Buffer::new().format(i));
            } else if let Some(f) = value.to_f64() {
                if f.is_finite() {
                    self.0.push_str(ryu::Buffer::new().format_finite(f));
                } else {
                    self.0.push_str("null");
                }
            } else if let Some(s) = value.to_borrowed_str() {
                push_json_str(self.0, s);
            } else {
                push_json_str(self.0, &value.to_string());
            }
            self.0.push(',');
            Ok(())
        }
    }

    /// The record's part of the line, encoded on the calling thread (the
    /// key-values borrow from the call site, so they must be captured there).
    struct Line(String);

    impl Display for Line {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    struct JsonLines {
        /// `"pid":P,"hostname":"H"`
        pid_host: String,
    }

    impl FtLogFormat for JsonLines {
        fn msg(&self, record: &log::Record) -> Box<dyn Send + Sync + Display> {
            // ftlog writes `{time} {delay}ms {msg}\n`; the time format opens
            // the object and a `delay` string that this part closes.
            let mut s = String::with_capacity(192);
            s.push_str("\",\"level\":");
            s.push_str(itoa::Buffer::new().format(log_level_number(record.level())));
            s.push(',');
            s.push_str(&self.pid_host);
            s.push(',');
            let _ = record.key_values().visit(&mut JsonKv(&mut s));
            s.push_str("\"msg\":");
            match record.args().as_str() {
                Some(m) => push_json_str(&mut s, m),
                None => push_json_str(&mut s, &record.args().to_string()),
            }
            s.push('}');
            Box::new(Line(s))
        }
    }

    pub struct Ftlog {
        guard: Mutex<LoggerGuard>,
    }

    impl Ftlog {
        pub fn setup(path: &Path) -> Ftlog {
            let time_format = time::format_description::parse_owned::<1>(
                "{\"time\":[unix_timestamp precision:millisecond],\"delay\":\"",
            )
            .expect("time format");
            let guard = ftlog::builder()
                .max_log_level(log::LevelFilter::Info)
                .format(JsonLines { pid_host: pid_host() })
                .time_format(time_format)
                .utc()
                .bounded(100_000, true)
                .root(FileAppender::new(path))
                .try_init()
                .expect("init ftlog");
            Ftlog { guard: Mutex::new(guard) }
        }
    }

    impl Peer for Ftlog {
        #[inline]
        fn log(&self, r: &Request) {
            log::info!(
                method = r.method,
                path = r.path,
                status = r.status,
                latency_ms = r.latency_ms,
                cached = r.cached,
                request_id = r.request_id;
                "request handled"
            );
        }

        fn finish(self) {
            // The guard's drop sends Flush and waits for the logger thread.
            drop(self.guard);
        }

        fn flush(&self) -> bool {
            log_flush()
        }

        fn fatal(&self, marker: &str) -> bool {
            log::error!(marker = marker; "shutting down");
            log_flush()
        }
    }
}

mod fast_log_peer {
    use super::*;
    use fast_log::appender::{Command, FastLogRecord, RecordFormat};

    /// Wraps the members carried in the message into the line (on
    /// fast_log's format thread).
    struct JsonLines {
        pid_host: String,
    }

    impl RecordFormat for JsonLines {
        fn do_format(&self, arg: &mut FastLogRecord) {
            if let Command::CommandRecord = arg.command {
                let mut s = String::with_capacity(64 + self.pid_host.len() + arg.args.len());
                s.push_str("{\"level\":");
                s.push_str(itoa::Buffer::new().format(log_level_number(arg.level)));
                s.push_str(",\"time\":");
                s.push_str(itoa::Buffer::new().format(epoch_ms(arg.now)));
                s.push(',');
                s.push_str(&self.pid_host);
                s.push(',');
                s.push_str(&arg.args);
                s.push_str("}\n");
                arg.formated = s;
            }
        }
    }

    pub struct FastLog;

    impl FastLog {
        pub fn setup(path: &Path) -> FastLog {
            let path = path.to_str().expect("UTF-8 temp path");
            fast_log::init(fast_log::Config::new().format(JsonLines { pid_host: pid_host() }).file(path))
                .expect("init fast_log");
            FastLog
        }
    }

    impl Peer for FastLog {
        #[inline]
        fn log(&self, r: &Request) {
            log::info!(
                "\"method\":{},\"path\":{},\"status\":{},\"latency_ms\":{},\"cached\":{},\"request_id\":{},\"msg\":\"request handled\"",
                JsonStr(r.method),
                JsonStr(r.path),
                r.status,
                r.latency_ms,
                r.cached,
                r.request_id
            );
        }

        fn finish(self) {
            // Sends a flush command through the format thread to the file
            // appender and waits until it has written and flushed.
            log::logger().flush();
        }

        fn flush(&self) -> bool {
            log_flush()
        }

        fn fatal(&self, marker: &str) -> bool {
            log::error!("\"marker\":{},\"msg\":\"shutting down\"", JsonStr(marker));
            log_flush()
        }
    }
}

mod spdlog_peer {
    use super::*;
    use spdlog::formatter::JsonFormatter;
    use spdlog::sink::{AsyncPoolSink, FileSink, OverflowPolicy, Sink as _};
    use spdlog::{Logger, ThreadPool};
    use std::sync::Arc;

    pub struct Spdlog {
        logger: Logger,
        /// The logger's sink, for the exit flush under load.
        sink: Arc<AsyncPoolSink>,
    }

    impl Spdlog {
        pub fn setup(path: &Path) -> Spdlog {
            let file = FileSink::builder().path(path).formatter(JsonFormatter::new()).build_arc().expect("file sink");
            // Its own pool (the default one is static and never joined).
            let pool: Arc<ThreadPool> = ThreadPool::builder().build_arc().expect("thread pool");
            let sink = AsyncPoolSink::builder()
                .sink(file)
                .overflow_policy(OverflowPolicy::Block)
                .thread_pool(pool)
                .build_arc()
                .expect("async pool sink");
            let logger = Logger::builder().sink(sink.clone()).build().expect("logger");
            Spdlog { logger, sink }
        }
    }

    impl Peer for Spdlog {
        #[inline]
        fn log(&self, r: &Request) {
            spdlog::info!(logger: self.logger, "request handled", kv: {
                method = r.method,
                path = r.path,
                status = r.status,
                latency_ms = r.latency_ms,
                cached = r.cached,
                request_id = r.request_id
            });
        }

        fn finish(self) {
            self.logger.flush();
            // The last references to the pool: its drop processes the queued
            // tasks and joins the thread; the file sink flushes on drop.
            drop(self);
        }

        fn fatal(&self, marker: &str) -> bool {
            spdlog::critical!(logger: self.logger, "shutting down", kv: { marker });
            // Flush errors go to spdlog's error handler, as at exit.
            let _ = self.sink.flush_on_exit();
            true
        }
    }
}
