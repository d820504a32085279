//! The loggers under test ("peers"), each configured for a lossless
//! asynchronous path to a file on disk, and each logging the same record.
//!
//! A peer is built by [`setup`], which returns the call site (something
//! [`Sut`]) and the closure that ends the run: flush, shutdown, guard drop.
//! The harness times from the first call until that closure returns.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Every peer, in table order.
pub const PEERS: [&str; 9] =
    ["baseline-json", "baseline-const", "logjet", "logjet-tracing", "tracing", "slog", "ftlog", "fast_log", "spdlog"];

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
            "hand-written lower bound: the line encoded by hand (itoa/ryu) into a thread-local buffer, \
             64 KiB chunks over a crossbeam bounded(64) channel to a thread that writes each chunk with one write(2)"
        }
        "baseline-const" => {
            "a pre-formatted constant line copied into the same thread-local buffer and shipped through the \
             same channel: pure transport cost (its request_id is constant, so only line count, JSON and message are verified)"
        }
        "logjet" => {
            "`logjet::info!` with `Logger::builder().sink(sink::File::append(path)).overflow(Overflow::Block)`, \
             defaults otherwise; ends with `guard.shutdown()`"
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
            "`log::info!` with the fields formatted as JSON members into the message (fast_log ignores log's key-values; \
             it always runs `record.args().to_string()` on the calling thread); a custom `RecordFormat` wraps them \
             into the line on its format thread; default unbounded channel (`chan_len(None)`), `Config::file`; ends with \
             `log::logger().flush()` (waits for the file appender)"
        }
        "spdlog" => {
            "`spdlog::info!(logger: .., \"request handled\", kv: {..})` into an `AsyncPoolSink` (`OverflowPolicy::Block`, \
             own `ThreadPool` with default capacity 8192 and one thread) over a `FileSink` with spdlog's `JsonFormatter` \
             (fields nested under `kv`, message as `payload`); ends with `logger.flush()` and dropping the logger and pool (joins the pool)"
        }
        _ => "",
    }
}

/// One peer, set up and ready: the call site and the end of the run.
/// `log` is called from one or two producer threads; `thread_done` once by
/// each producer thread after its last call; `finish` returns once the
/// file is complete (flush, shutdown, guard drop).
pub trait Peer: Sync + Sized {
    /// Logs the record with `request_id = n`.
    fn log(&self, n: u64);
    /// The producer thread is done (the baselines ship their partial chunk).
    fn thread_done(&self) {}
    /// Ends the run; the file is complete when this returns.
    fn finish(self);
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

/// Appends `s` as a JSON string (quotes included).
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
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

    /// The constant line of `baseline-const` (the floor of logjet's latency bench).
    const LINE: &[u8] = b"{\"level\":30,\"time\":1732200000000,\"pid\":4242,\"hostname\":\"web-1\",\"method\":\"GET\",\"path\":\"/api/v1/users/12345\",\"status\":200,\"latency_ms\":3.25,\"cached\":false,\"request_id\":42,\"msg\":\"request handled\"}\n";

    pub struct Baseline {
        tx: Sender<Vec<u8>>,
        writer: std::thread::JoinHandle<()>,
        constant: bool,
        /// `,"pid":P,"hostname":"H","method":"GET","path":"…","status":`
        prefix: Vec<u8>,
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
            let prefix =
                format!(",{},\"method\":\"GET\",\"path\":\"/api/v1/users/12345\",\"status\":", pid_host()).into_bytes();
            Baseline { tx, writer, constant, prefix }
        }
    }

    impl Peer for Baseline {
        #[inline]
        fn log(&self, n: u64) {
            BUF.with(|b| {
                let mut b = b.borrow_mut();
                if self.constant {
                    b.extend_from_slice(LINE);
                } else {
                    b.extend_from_slice(b"{\"level\":30,\"time\":");
                    b.extend_from_slice(itoa::Buffer::new().format(epoch_ms(SystemTime::now())).as_bytes());
                    b.extend_from_slice(&self.prefix);
                    b.extend_from_slice(itoa::Buffer::new().format(200).as_bytes());
                    b.extend_from_slice(b",\"latency_ms\":");
                    b.extend_from_slice(ryu::Buffer::new().format(3.25).as_bytes());
                    b.extend_from_slice(b",\"cached\":false,\"request_id\":");
                    b.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                    b.extend_from_slice(b",\"msg\":\"request handled\"}\n");
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

    fn build(path: &Path) -> (Logger, Mutex<Guard>) {
        let (log, guard) = Logger::builder()
            .sink(sink::File::append(path).expect("open the log file"))
            .overflow(Overflow::Block)
            .build()
            .expect("build the logger");
        (log, Mutex::new(guard))
    }

    pub struct Logjet {
        log: Logger,
        guard: Mutex<Guard>,
    }

    impl Logjet {
        pub fn setup(path: &Path) -> Logjet {
            let (log, guard) = build(path);
            Logjet { log, guard }
        }
    }

    impl Peer for Logjet {
        #[inline]
        fn log(&self, n: u64) {
            logjet::info!(
                self.log,
                "request handled",
                method = "GET",
                path = "/api/v1/users/12345",
                status = 200,
                latency_ms = 3.25,
                cached = false,
                request_id = n
            );
        }

        fn finish(self) {
            drop(self.log);
            let guard = self.guard.into_inner().expect("guard");
            guard.shutdown().expect("logjet shutdown");
        }
    }

    pub struct LogjetTracing {
        guard: Mutex<Guard>,
    }

    impl LogjetTracing {
        pub fn setup(path: &Path) -> LogjetTracing {
            use tracing_subscriber::layer::SubscriberExt as _;
            let (log, guard) = build(path);
            tracing::subscriber::set_global_default(
                tracing_subscriber::registry().with(logjet::TracingLayer::new(&log)),
            )
            .expect("set the global subscriber");
            LogjetTracing { guard }
        }
    }

    impl Peer for LogjetTracing {
        #[inline]
        fn log(&self, n: u64) {
            super::tracing_event(n);
        }

        fn finish(self) {
            let guard = self.guard.into_inner().expect("guard");
            guard.shutdown().expect("logjet shutdown");
        }
    }
}

/// The same event for both tracing peers.
#[inline]
fn tracing_event(n: u64) {
    tracing::info!(
        method = "GET",
        path = "/api/v1/users/12345",
        status = 200,
        latency_ms = 3.25,
        cached = false,
        request_id = n,
        "request handled"
    );
}

mod tracing_peer {
    use super::*;
    use std::sync::Mutex;
    use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

    pub struct TracingJson {
        guard: Mutex<WorkerGuard>,
    }

    impl TracingJson {
        pub fn setup(path: &Path) -> TracingJson {
            let file = std::fs::File::create(path).expect("create the log file");
            let (writer, guard) = NonBlockingBuilder::default().lossy(false).finish(file);
            let subscriber = tracing_subscriber::fmt().json().with_writer(writer).finish();
            tracing::subscriber::set_global_default(subscriber).expect("set the global subscriber");
            TracingJson { guard: Mutex::new(guard) }
        }
    }

    impl Peer for TracingJson {
        #[inline]
        fn log(&self, n: u64) {
            super::tracing_event(n);
        }

        fn finish(self) {
            // Dropping the guard sends Shutdown and waits (up to 1 s) for the
            // worker to write and flush everything before it.
            drop(self.guard);
        }
    }
}

mod slog_peer {
    use super::*;
    use slog::{o, Drain as _, FnValue, PushFnValue};
    use std::sync::Mutex;

    pub struct Slog {
        log: slog::Logger,
        guard: Mutex<slog_async::AsyncGuard>,
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
            Slog { log, guard: Mutex::new(guard) }
        }
    }

    impl Peer for Slog {
        #[inline]
        fn log(&self, n: u64) {
            slog::info!(self.log, "request handled";
                "method" => "GET",
                "path" => "/api/v1/users/12345",
                "status" => 200,
                "latency_ms" => 3.25,
                "cached" => false,
                "request_id" => n);
        }

        fn finish(self) {
            drop(self.log);
            // Sends Finish and joins the worker, which drops the drain and
            // so flushes the BufWriter.
            drop(self.guard);
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
        /// `","level":`
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
        fn log(&self, n: u64) {
            log::info!(
                method = "GET",
                path = "/api/v1/users/12345",
                status = 200,
                latency_ms = 3.25,
                cached = false,
                request_id = n;
                "request handled"
            );
        }

        fn finish(self) {
            // The guard's drop sends Flush and waits for the logger thread.
            drop(self.guard);
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
        fn log(&self, n: u64) {
            log::info!(
                "\"method\":\"{}\",\"path\":\"{}\",\"status\":{},\"latency_ms\":{},\"cached\":{},\"request_id\":{},\"msg\":\"{}\"",
                "GET",
                "/api/v1/users/12345",
                200,
                3.25,
                false,
                n,
                "request handled"
            );
        }

        fn finish(self) {
            // Sends a flush command through the format thread to the file
            // appender and waits until it has written and flushed.
            log::logger().flush();
        }
    }
}

mod spdlog_peer {
    use super::*;
    use spdlog::formatter::JsonFormatter;
    use spdlog::sink::{AsyncPoolSink, FileSink, OverflowPolicy};
    use spdlog::{Logger, ThreadPool};
    use std::sync::Arc;

    pub struct Spdlog {
        logger: Logger,
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
            let logger = Logger::builder().sink(sink).build().expect("logger");
            Spdlog { logger }
        }
    }

    impl Peer for Spdlog {
        #[inline]
        fn log(&self, n: u64) {
            spdlog::info!(logger: self.logger, "request handled", kv: {
                method = "GET",
                path = "/api/v1/users/12345",
                status = 200,
                latency_ms = 3.25,
                cached = false,
                request_id = n
            });
        }

        fn finish(self) {
            self.logger.flush();
            // The last reference to the pool: its drop processes the queued
            // tasks and joins the thread; the file sink flushes on drop.
            drop(self.logger);
        }
    }
}
