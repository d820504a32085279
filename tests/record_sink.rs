//! User record sinks (`sink::Records`): every record arrives typed, on the
//! output thread, in order; a flush answers only after the sink took and
//! flushed every earlier record; errors and panics are retried without
//! losing or repeating a record; built-in sinks beside it get the same
//! records.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use logjet::sink::{FieldValue, RecordSink, RecordView, Records};
use logjet::{Level, Logger};

/// A record as the test keeps it.
#[derive(Debug, Clone, PartialEq)]
struct Got {
    level: Level,
    nanos: u64,
    message: String,
    namespace: Option<String>,
    fields: Vec<(String, Val)>,
    thread: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Str(String),
    I64(i64),
    U64(u64),
    I128(i128),
    F64(f64),
    Bool(bool),
    Null,
    Bytes(Vec<u8>),
    Json(serde_json::Value),
}

fn own(v: &FieldValue<'_>) -> Val {
    match v {
        FieldValue::Str(s) => Val::Str(s.to_string()),
        FieldValue::I64(n) => Val::I64(*n),
        FieldValue::U64(n) => Val::U64(*n),
        FieldValue::I128(n) => Val::I128(*n),
        FieldValue::U128(n) => Val::Str(n.to_string()),
        FieldValue::F64(n) => Val::F64(*n),
        FieldValue::Bool(b) => Val::Bool(*b),
        FieldValue::Null => Val::Null,
        FieldValue::Bytes(b) => Val::Bytes(b.to_vec()),
        FieldValue::Json(j) => Val::Json(serde_json::from_str(j).expect("valid JSON")),
        _ => panic!("a new kind of value: {v:?}"),
    }
}

#[derive(Default)]
struct Log {
    records: Vec<Got>,
    /// How many records the sink had when each flush came.
    flushes: Vec<usize>,
}

/// Keeps what it gets; fails or panics where told (each once).
struct Keep {
    log: Arc<Mutex<Log>>,
    /// Refuse the record with this message once.
    fail_on: Option<String>,
    /// Panic on the record with this message once.
    panic_on: Option<String>,
    /// Fail this many flushes first.
    flush_failures: u64,
}

impl Keep {
    fn new(log: &Arc<Mutex<Log>>) -> Keep {
        Keep { log: log.clone(), fail_on: None, panic_on: None, flush_failures: 0 }
    }
}

impl RecordSink for Keep {
    fn write(&mut self, rec: &RecordView<'_>) -> io::Result<()> {
        if self.fail_on.as_deref() == Some(rec.message()) {
            self.fail_on = None;
            return Err(io::Error::other("not now"));
        }
        if self.panic_on.as_deref() == Some(rec.message()) {
            self.panic_on = None;
            panic!("the record sink broke");
        }
        let got = Got {
            level: rec.level(),
            nanos: rec.unix_nanos(),
            message: rec.message().to_owned(),
            namespace: rec.namespace().map(str::to_owned),
            fields: rec.fields().map(|(k, v)| (k.into_owned(), own(&v))).collect(),
            thread: std::thread::current().name().map(str::to_owned),
        };
        assert_eq!(rec.time(), std::time::UNIX_EPOCH + std::time::Duration::from_nanos(got.nanos));
        self.log.lock().unwrap().records.push(got);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.flush_failures > 0 {
            self.flush_failures -= 1;
            return Err(io::Error::other("flush not now"));
        }
        let mut log = self.log.lock().unwrap();
        let n = log.records.len();
        log.flushes.push(n);
        Ok(())
    }
}

#[derive(serde::Serialize)]
struct Point {
    x: i32,
    tags: Vec<&'static str>,
}

#[test]
fn every_record_arrives_typed_on_the_output_thread() {
    let log_ = Arc::new(Mutex::new(Log::default()));
    let line = Arc::new(Mutex::new(Vec::new()));
    let (log, guard) = Logger::builder()
        .level(Level::Trace)
        .sink(Records::new(Keep::new(&log_)).name("keep"))
        .sink(logjet::sink::Writer::new(SharedVec(line.clone())))
        .debug("app:*")
        .build()
        .unwrap();
    let child = log.child(logjet::fields!(svc = "api", level = "bound", shared = 1));
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    logjet::info!(
        child,
        "all kinds",
        s = "text",
        i = -7,
        u = u64::MAX,
        big = i128::MIN,
        f = 0.5,
        t = true,
        n = Option::<u8>::None,
        bytes = &b"\xffok"[..],
        p = &Point { x: 3, tags: vec!["a"] },
        shared = 2
    );
    let err = io::Error::other("boom");
    logjet::error!(log, "failed", err = &err);
    logjet::trace!(log, "formatted {}", 42);
    let db = log.debug_ns("app:db");
    logjet::debug!(db, "query", ms = 3);
    guard.flush().unwrap();
    let after = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let got = log_.lock().unwrap().records.clone();
    assert_eq!(got.len(), 4, "{got:#?}");
    for g in &got {
        assert_eq!(g.thread.as_deref(), Some("logjet-output"));
        assert!(g.nanos >= before && g.nanos <= after);
    }
    assert_eq!(got[0].level, Level::Info);
    assert_eq!(got[0].message, "all kinds");
    assert_eq!(got[0].namespace, None);
    assert_eq!(
        got[0].fields,
        vec![
            ("svc".into(), Val::Str("api".into())),
            ("level".into(), Val::Str("bound".into())),
            ("s".into(), Val::Str("text".into())),
            ("i".into(), Val::I64(-7)),
            ("u".into(), Val::U64(u64::MAX)),
            ("big".into(), Val::I128(i128::MIN)),
            ("f".into(), Val::F64(0.5)),
            ("t".into(), Val::Bool(true)),
            ("n".into(), Val::Null),
            ("bytes".into(), Val::Bytes(b"\xffok".to_vec())),
            ("p".into(), Val::Json(serde_json::json!({"x": 3, "tags": ["a"]}))),
            ("shared".into(), Val::I64(2)),
        ]
    );
    assert_eq!(got[1].level, Level::Error);
    let Val::Json(e) = &got[1].fields[0].1 else { panic!("err as JSON: {:?}", got[1]) };
    assert_eq!(got[1].fields[0].0, "err");
    assert_eq!(e["message"], "boom");
    assert_eq!((got[2].level, got[2].message.as_str()), (Level::Trace, "formatted 42"));
    assert_eq!(got[3].namespace.as_deref(), Some("app:db"));
    assert_eq!(got[3].fields, vec![("ms".into(), Val::I64(3))]);
    // The NDJSON sink beside it has the same records.
    let text = String::from_utf8(line.lock().unwrap().clone()).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(text.lines().next().unwrap().contains("\"_level\":\"bound\""), "{text}");
    assert_eq!(log.stats().written, 4);
}

#[test]
fn a_flush_answers_after_the_sink_took_and_flushed_every_earlier_record() {
    let log_ = Arc::new(Mutex::new(Log::default()));
    let (log, guard) = Logger::builder().sink(Records::new(Keep::new(&log_))).build().unwrap();
    for round in 1..=20usize {
        for i in 0..50 {
            logjet::info!(log, "r", i = i);
        }
        guard.flush().unwrap();
        let l = log_.lock().unwrap();
        assert_eq!(l.records.len(), round * 50);
        assert_eq!(l.flushes.last().copied(), Some(round * 50), "flushed after the last record");
    }
}

fn numbers(log: &Arc<Mutex<Log>>) -> Vec<i64> {
    log.lock()
        .unwrap()
        .records
        .iter()
        .map(|g| match g.fields.iter().find(|(k, _)| k == "i") {
            Some((_, Val::I64(n))) => *n,
            other => panic!("field i: {other:?}"),
        })
        .collect()
}

#[test]
fn a_refused_record_is_offered_again_and_none_is_repeated() {
    let log_ = Arc::new(Mutex::new(Log::default()));
    let sink = Keep { fail_on: Some("refused once".into()), ..Keep::new(&log_) };
    let (log, guard) = Logger::builder().sink(Records::new(sink)).build().unwrap();
    for i in 0..10 {
        let msg = if i == 5 { "refused once" } else { "ok" };
        logjet::info!(log, "{}", msg, i = i);
    }
    guard.flush().unwrap();
    assert_eq!(numbers(&log_), (0..10).collect::<Vec<_>>());
    let stats = log.stats();
    assert_eq!((stats.written, stats.dropped), (10, 0));
    assert_eq!(stats.write_errors, 1);
}

#[test]
fn a_panicking_record_sink_is_retried_and_none_is_repeated() {
    let log_ = Arc::new(Mutex::new(Log::default()));
    let sink = Keep { panic_on: Some("panics once".into()), ..Keep::new(&log_) };
    let (log, guard) = Logger::builder().sink(Records::new(sink)).build().unwrap();
    for i in 0..10 {
        let msg = if i == 3 { "panics once" } else { "ok" };
        logjet::info!(log, "{}", msg, i = i);
    }
    guard.flush().unwrap();
    assert_eq!(numbers(&log_), (0..10).collect::<Vec<_>>());
    let stats = log.stats();
    assert_eq!((stats.written, stats.dropped, stats.write_errors), (10, 0, 1));
}

#[test]
fn a_failing_flush_is_retried() {
    let log_ = Arc::new(Mutex::new(Log::default()));
    let sink = Keep { flush_failures: 3, ..Keep::new(&log_) };
    let (log, guard) = Logger::builder().sink(Records::new(sink)).build().unwrap();
    logjet::info!(log, "r", i = 0);
    guard.flush().unwrap();
    assert_eq!(log_.lock().unwrap().flushes, vec![1]);
    let stats = log.stats();
    assert_eq!((stats.written, stats.write_errors), (1, 3));
}

/// A sink that only counts, from many threads.
struct Count(Arc<AtomicU64>);

impl RecordSink for Count {
    fn write(&mut self, _: &RecordView<'_>) -> io::Result<()> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn many_threads_every_record_once() {
    let n = Arc::new(AtomicU64::new(0));
    let (log, guard) = Logger::builder().sink(Records::new(Count(n.clone()))).build().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..20_000 {
                    logjet::info!(log, "r", t = t, i = i);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    guard.flush().unwrap();
    assert_eq!(n.load(Ordering::Relaxed), 80_000);
    assert_eq!(log.stats().written, 80_000);
}

#[derive(Clone)]
struct SharedVec(Arc<Mutex<Vec<u8>>>);

impl io::Write for SharedVec {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
