//! Your own sink: [`RecordSink`] receives each record as typed data on the
//! logger's output thread, [`Records`] makes it a [`Sink`](super::Sink).
//!
//! The writer thread appends each record to the sink's buffer in a compact
//! frame (its level, its time already in Unix nanoseconds, then the items as
//! the caller captured them, interned keys by their id); the output thread
//! decodes the frames of a batch and calls the sink there. So the sink runs
//! on the same thread as every other sink, never on a caller and never on
//! the writer, and gets the same treatment: errors and panics are counted,
//! reported and retried with backoff, and a flush answers only once the sink
//! has taken and flushed every record before it.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::private::{Format, Sealed, SinkOut, Target};
use super::Sink;
use crate::format::escape::unescape_json_string;
use crate::format::unique_keys::{plan_if_repeated, Skips};
use crate::level::Level;
use crate::record::{Flat, Item, Items, KeyTable, Val};
use crate::report::panic_message;

/// A sink of your own: receives every record it takes, as typed data, on
/// the logger's output thread (never on the thread that logged, so a slow
/// sink costs the caller nothing).
///
/// The output thread calls [`write`](RecordSink::write) for each record of a
/// batch, in order, then [`flush`](RecordSink::flush) once for the batch.
/// This is where an exporter, a metrics counter or a transport of your own
/// plugs in; wrap it in [`Records`] to hand it to
/// [`Builder::sink`](crate::Builder::sink).
///
/// Errors are handled as for every sink: counted, reported on stderr at a
/// bounded rate and retried with backoff (1 ms doubling to 1 s) until they
/// succeed or the shutdown deadline passes.
/// - `write` returning an error means *this record was not taken*: the
///   records before it in the batch were, and are not offered again; this
///   one is offered again after the backoff.
/// - `flush` returning an error is retried the same way (the records
///   already written are not offered again: the sink holds them).
/// - An error of kind [`io::ErrorKind::BrokenPipe`] means the sink is gone
///   for good: its records are dropped and counted from then on.
/// - A panic is caught and treated as an error.
///
/// A record counts as written ([`Stats::written`](crate::Stats)) once
/// `write` and the batch's `flush` returned `Ok`. Under
/// [`Overflow::Block`](crate::Overflow) a failing sink slows the pipeline
/// (the queues fill and callers wait) rather than losing records.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use logjet::sink::{FieldValue, RecordSink, RecordView, Records};
/// use logjet::{Level, Logger};
///
/// /// Counts errors and sums the `bytes` field.
/// struct Counter {
///     errors: Arc<AtomicU64>,
///     bytes: Arc<AtomicU64>,
/// }
///
/// impl RecordSink for Counter {
///     fn write(&mut self, rec: &RecordView<'_>) -> std::io::Result<()> {
///         if rec.level() >= Level::Error {
///             self.errors.fetch_add(1, Ordering::Relaxed);
///         }
///         for (key, value) in rec.fields() {
///             if let ("bytes", FieldValue::U64(n)) = (&*key, &value) {
///                 self.bytes.fetch_add(*n, Ordering::Relaxed);
///             }
///         }
///         Ok(())
///     }
/// }
///
/// let (errors, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
/// let counter = Counter { errors: errors.clone(), bytes: bytes.clone() };
/// let (log, guard) = Logger::builder().sink(Records::new(counter).name("counter")).build()?;
/// logjet::info!(log, "sent", bytes = 1200u64);
/// logjet::error!(log, "failed", bytes = 300u64);
/// guard.flush()?; // returns once the sink has taken (and flushed) both records
/// assert_eq!(errors.load(Ordering::Relaxed), 1);
/// assert_eq!(bytes.load(Ordering::Relaxed), 1500);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RecordSink: Send + 'static {
    /// Takes one record. An error means the record was not taken: it is
    /// offered again after a backoff.
    fn write(&mut self, record: &RecordView<'_>) -> io::Result<()>;

    /// Called after each batch of records, and before a flush or shutdown
    /// is answered: push out anything held. An error is retried.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One record, borrowed for the duration of a [`RecordSink::write`] call.
///
/// Fields come in the order the record's NDJSON line has them: the
/// logger's bound fields (a child's, a tracing span's), then the call's;
/// where a key repeats, only the last entry is given (the rule the NDJSON
/// line follows). Keys are as given in the code (never renamed: there are
/// no reserved keys here).
pub struct RecordView<'a> {
    level: Level,
    nanos: u64,
    items: &'a [u8],
    keys: &'a KeyTable,
    message: &'a str,
    namespace: Option<&'a str>,
    plan: Option<Vec<bool>>,
}

impl<'a> RecordView<'a> {
    /// The record's level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// When the record was logged, in nanoseconds since the Unix epoch; 0
    /// when the logger records no time
    /// ([`TimeFormat::Omit`](crate::TimeFormat::Omit)).
    pub fn unix_nanos(&self) -> u64 {
        self.nanos
    }

    /// When the record was logged (the Unix epoch when the logger records
    /// no time).
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.nanos)
    }

    /// The message (`msg`), empty when the record has none.
    pub fn message(&self) -> &'a str {
        self.message
    }

    /// The namespace of a debug handle's record
    /// ([`Logger::debug_ns`](crate::Logger::debug_ns)).
    pub fn namespace(&self) -> Option<&'a str> {
        self.namespace
    }

    /// The record's fields: bound fields first, then the call's.
    pub fn fields(&self) -> RecordFields<'_> {
        RecordFields { items: Items::with_keys(self.items, self.keys).flat(), skips: Skips::new(self.plan.as_deref()) }
    }

    /// Decodes a frame's items.
    fn decode(frame: crate::format::frame::Frame<'a>, keys: &'a KeyTable) -> RecordView<'a> {
        let crate::format::frame::Frame { level, nanos, items } = frame;
        let (mut message, mut namespace) = ("", None);
        for item in Items::with_keys(items, keys) {
            match item {
                Item::Msg(m, _) => message = std::str::from_utf8(m).unwrap_or(""),
                Item::Ns(n) => namespace = std::str::from_utf8(n).ok(),
                _ => {}
            }
        }
        let plan = plan_if_repeated(items, keys);
        RecordView { level, nanos, items, keys, message, namespace, plan }
    }
}

impl fmt::Debug for RecordView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordView")
            .field("level", &self.level)
            .field("unix_nanos", &self.nanos)
            .field("message", &self.message)
            .field("namespace", &self.namespace)
            .field("fields", &self.fields().collect::<Vec<_>>())
            .finish()
    }
}

/// A field's value, as the caller captured it.
///
/// Values without a fast path (any `serde::Serialize`, errors) were turned
/// into JSON text on the calling thread: scalars among them come back typed
/// here (a JSON string as [`Str`](FieldValue::Str), a number as
/// [`I64`](FieldValue::I64), [`U64`](FieldValue::U64) or
/// [`F64`](FieldValue::F64)); objects and arrays come as
/// [`Json`](FieldValue::Json) text, which `serde_json::from_str` (or any
/// JSON parser) reads. An error is an object in pino's `err` shape
/// (`{"type":…,"message":…,"source":…}`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FieldValue<'a> {
    /// Text.
    Str(Cow<'a, str>),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer above `i64::MAX` or given as unsigned.
    U64(u64),
    /// A 128-bit signed integer.
    I128(i128),
    /// A 128-bit unsigned integer.
    U128(u128),
    /// A float (NaN and infinities as the caller gave them).
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// `null` (`None`, unit).
    Null,
    /// Bytes that may not be UTF-8 (the NDJSON line writes them as text,
    /// replacing invalid sequences).
    Bytes(&'a [u8]),
    /// A JSON object or array (nested values, errors).
    Json(&'a str),
}

impl<'a> FieldValue<'a> {
    fn of(v: Val<'a>) -> FieldValue<'a> {
        match v {
            Val::I64(n) => FieldValue::I64(n),
            Val::U64(n) => FieldValue::U64(n),
            Val::I128(n) => FieldValue::I128(n),
            Val::U128(n) => FieldValue::U128(n),
            Val::F64(n) => FieldValue::F64(n),
            Val::Bool(b) => FieldValue::Bool(b),
            Val::Null => FieldValue::Null,
            Val::Str(s) => FieldValue::Str(text(s)),
            Val::Bytes(b) => FieldValue::Bytes(b),
            Val::Json(j) => FieldValue::from_json(j),
        }
    }

    /// JSON text: scalars typed, objects and arrays as text.
    fn from_json(j: &'a [u8]) -> FieldValue<'a> {
        let Ok(text) = std::str::from_utf8(j) else { return FieldValue::Str(String::from_utf8_lossy(j)) };
        let text = text.trim();
        match text.as_bytes().first() {
            Some(b'"') => match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                Some(inner) if !inner.contains('\\') => FieldValue::Str(Cow::Borrowed(inner)),
                _ => match unescape_json_string(text.as_bytes()) {
                    Some(s) => FieldValue::Str(Cow::Owned(s)),
                    None => FieldValue::Json(text),
                },
            },
            Some(b'{' | b'[') | None => FieldValue::Json(text),
            _ => match text {
                "true" => FieldValue::Bool(true),
                "false" => FieldValue::Bool(false),
                "null" => FieldValue::Null,
                _ => {
                    if let Ok(n) = text.parse::<i64>() {
                        FieldValue::I64(n)
                    } else if let Ok(n) = text.parse::<u64>() {
                        FieldValue::U64(n)
                    } else if let Ok(n) = text.parse::<f64>() {
                        FieldValue::F64(n)
                    } else {
                        FieldValue::Json(text)
                    }
                }
            },
        }
    }
}

/// The fields of a [`RecordView`]: `(key, value)` pairs.
pub struct RecordFields<'a> {
    items: Flat<'a>,
    skips: Skips<'a>,
}

impl<'a> Iterator for RecordFields<'a> {
    type Item = (Cow<'a, str>, FieldValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Item::Field(k, v, _) = self.items.next()? {
                if !self.skips.skip() {
                    return Some((text(k), FieldValue::of(v)));
                }
            }
        }
    }
}

/// Text the capture code wrote from a `&str` (valid UTF-8: the check is
/// the fast one; anything else is replaced, never trusted).
#[inline]
fn text(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Your [`RecordSink`] as a [`Sink`] for
/// [`Builder::sink`](crate::Builder::sink) (see [`RecordSink`] for an
/// example).
pub struct Records {
    name: String,
    sink: Box<dyn RecordSink>,
}

impl Records {
    /// Wraps a record sink. It is moved to the logger's output thread.
    pub fn new(sink: impl RecordSink) -> Records {
        Records { name: "records".into(), sink: Box::new(sink) }
    }

    /// Names the sink in error reports (default `"records"`).
    pub fn name(mut self, name: impl Into<String>) -> Records {
        self.name = name.into();
        self
    }
}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Sink for Records {}
impl Sealed for Records {
    fn into_target(self) -> Target {
        Target { name: self.name, out: Box::new(RecordsOut::new(UserSink(self.sink))), format: Format::Records }
    }
}

/// What [`RecordsOut`] feeds: a user's [`RecordSink`], or a built-in
/// exporter that also batches by time.
pub(crate) trait Consumer: Send {
    fn write(&mut self, rec: &RecordView<'_>) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
    /// See [`SinkOut::flush_lazy`].
    fn flush_lazy(&mut self) -> io::Result<()> {
        self.flush()
    }
    /// See [`SinkOut::due`].
    fn due(&self) -> Option<Instant> {
        None
    }
    /// See [`SinkOut::abandon`].
    fn abandon(&mut self) {}
    /// See [`SinkOut::take_lost`].
    fn take_lost(&mut self) -> u64 {
        0
    }
}

struct UserSink(Box<dyn RecordSink>);

impl Consumer for UserSink {
    fn write(&mut self, rec: &RecordView<'_>) -> io::Result<()> {
        self.0.write(rec)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A record sink as the output thread holds it: `write` gets the frames of
/// a batch and feeds them to the consumer.
pub(crate) struct RecordsOut<C> {
    consumer: C,
    keys: KeyTable,
    /// The consumer refused a record after taking others in the same
    /// call: the call returned what was taken, the next one returns this
    /// (so the output thread counts it and backs off before the retry).
    refused: Option<io::Error>,
}

impl<C: Consumer> RecordsOut<C> {
    pub(crate) fn new(consumer: C) -> RecordsOut<C> {
        RecordsOut { consumer, keys: KeyTable::default(), refused: None }
    }
}

impl<C: Consumer> io::Write for RecordsOut<C> {
    /// Feeds the whole frames of `buf` to the consumer. Returns how many
    /// bytes of frames it took: all of them, or those before the first
    /// record it refused (an error when it refused the first).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(e) = self.refused.take() {
            return Err(e);
        }
        self.keys.refresh();
        let mut at = 0;
        while let Some((end, frame)) = crate::format::frame::read(buf, at) {
            if let Some(view) = frame.map(|f| RecordView::decode(f, &self.keys)) {
                let consumer = &mut self.consumer;
                let refused = match catch_unwind(AssertUnwindSafe(|| consumer.write(&view))) {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    Err(panic) => Some(io::Error::other(format!("the sink panicked: {}", panic_message(&*panic)))),
                };
                if let Some(e) = refused {
                    if at == 0 {
                        return Err(e);
                    }
                    self.refused = Some(e);
                    return Ok(at);
                }
            }
            at = end;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.consumer.flush()
    }
}

impl<C: Consumer> SinkOut for RecordsOut<C> {
    fn flush_lazy(&mut self) -> io::Result<()> {
        self.consumer.flush_lazy()
    }
    fn due(&self) -> Option<Instant> {
        self.consumer.due()
    }
    fn abandon(&mut self) {
        self.consumer.abandon()
    }
    fn take_lost(&mut self) -> u64 {
        self.consumer.take_lost()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ItemWriter as _;
    use crate::record::{Capture, Out, OutBuf, RecordRef};

    fn view_of(c: &Capture, f: impl FnOnce(&RecordView<'_>)) {
        let mut out = OutBuf::with_capacity(64);
        let rec = RecordRef { level: c.level, time: 1_700_000_000_123_456_789, items: c.bytes(), line: false };
        crate::format::frame::write(&rec, &mut out);
        let keys = KeyTable::default();
        let buf = out.as_slice();
        let (_, frame) = crate::format::frame::read(buf, 0).expect("a frame");
        let view = RecordView::decode(frame.expect("a whole frame"), &keys);
        f(&view)
    }

    #[test]
    fn every_kind_of_value_comes_back_typed() {
        let mut c = Capture::new(Level::Warn, 0);
        c.ns("app:db");
        crate::logger::Bindings::of(|c| {
            c.str("svc", "api");
            c.str("level", "b");
            c.i64("n", -3);
            c.json_with("obj", |c| {
                c.extend(b"{\"a\":[1,2]}");
                Ok(())
            });
            c.str("esc", "a\"b");
        })
        .capture(&mut c);
        c.i64("i", -5);
        c.u64("u", u64::MAX);
        c.f64("f", 3.25);
        c.bool("t", true);
        c.null("z");
        c.str("s", "text");
        c.bytes_lossy("b", b"\xff");
        c.i128("big", i128::MIN);
        c.json_with("j", |c| {
            c.extend(b"\"serde \\\"str\\\"\"");
            Ok(())
        });
        c.json_with("arr", |c| {
            c.extend(b"[1,{\"x\":null}]");
            Ok(())
        });
        c.json_with("num", |c| {
            c.extend(b"2.5");
            Ok(())
        });
        c.msg("hello");
        view_of(&c, |v| {
            assert_eq!(v.level(), Level::Warn);
            assert_eq!(v.unix_nanos(), 1_700_000_000_123_456_789);
            assert_eq!(v.message(), "hello");
            assert_eq!(v.namespace(), Some("app:db"));
            let fields: Vec<(String, FieldValue<'_>)> = v.fields().map(|(k, v)| (k.into_owned(), v)).collect();
            let expect = vec![
                ("svc", FieldValue::Str("api".into())),
                ("level", FieldValue::Str("b".into())),
                ("n", FieldValue::I64(-3)),
                ("obj", FieldValue::Json("{\"a\":[1,2]}")),
                ("esc", FieldValue::Str("a\"b".into())),
                ("i", FieldValue::I64(-5)),
                ("u", FieldValue::U64(u64::MAX)),
                ("f", FieldValue::F64(3.25)),
                ("t", FieldValue::Bool(true)),
                ("z", FieldValue::Null),
                ("s", FieldValue::Str("text".into())),
                ("b", FieldValue::Bytes(b"\xff")),
                ("big", FieldValue::I128(i128::MIN)),
                ("j", FieldValue::Str("serde \"str\"".into())),
                ("arr", FieldValue::Json("[1,{\"x\":null}]")),
                ("num", FieldValue::F64(2.5)),
            ];
            let expect: Vec<(String, FieldValue<'_>)> = expect.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            assert_eq!(fields, expect);
        });
    }

    #[test]
    fn a_repeated_key_gives_only_its_last_value() {
        let mut c = Capture::new(Level::Info, 0);
        crate::logger::Bindings::of(|c| {
            c.i64("dup", 1);
            c.i64("keep", 2);
        })
        .capture(&mut c);
        c.i64("x", 0);
        c.i64("dup", 3);
        view_of(&c, |v| {
            let fields: Vec<_> = v.fields().map(|(k, v)| (k.into_owned(), v)).collect();
            assert_eq!(
                fields,
                vec![
                    ("keep".to_owned(), FieldValue::I64(2)),
                    ("x".to_owned(), FieldValue::I64(0)),
                    ("dup".to_owned(), FieldValue::I64(3))
                ]
            );
        });
    }
}
