//! The caller's handle: [`Logger`], the record being built ([`Event`]) and
//! bound context ([`Fields`], [`Logger::child`]).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::builder::Builder;
use crate::control::Msg;
use crate::error::Error;
use crate::level::Level;
use crate::record::{Capture, FieldList, ItemWriter, Key, Measure, Record, RecordItems, Site, UNSIZED};
use crate::send::Core;
use crate::stats::Stats;
use crate::value::Value;

/// A handle to log through. Cheap to clone (`Arc`), `Send + Sync`, usable
/// from any thread.
///
/// Build one with [`Logger::builder`]; log with the macros
/// ([`info!`](crate::info) and friends); bind context with
/// [`child`](Logger::child).
///
/// ```
/// use logjet::{Level, Logger};
///
/// let (log, guard) = Logger::builder()
///     .level(Level::Info)
///     .sink(logjet::sink::Writer::new(std::io::sink()))
///     .build()?;
/// logjet::info!(log, "request handled", method = "GET", status = 200, latency_ms = 3.25);
/// let req = log.child(logjet::fields!(request_id = 42));
/// logjet::warn!(req, "slow query", table = "users", ms = 812);
/// guard.flush()?;
/// # Ok::<(), logjet::Error>(())
/// ```
#[derive(Clone)]
pub struct Logger {
    pub(crate) core: Arc<Core>,
    pub(crate) bindings: Option<Arc<Bindings>>,
}

/// The bound fields of a child logger, captured once at `child()`: as an
/// NDJSON fragment, which the NDJSON formatter copies, and as captured
/// items, which every other formatter reads like the call's fields.
pub(crate) struct Bindings {
    /// The bindings item every record of the logger carries
    /// (`Capture::bindings_item`), copied in one piece.
    item: Vec<u8>,
    /// Where the fragment `,"k":v,"k2":v2` and the items lie in `item`.
    json: Range<usize>,
    items: Range<usize>,
    /// Each key, the range of its `,"k":v` entry in the fragment and that
    /// of its item among the items. (A key given as `&'static str` is not
    /// copied.)
    entries: Vec<Entry>,
}

/// A bound field: its key, the range of its `,"k":v` entry in the
/// fragment and that of its item among the items.
type Entry = (Cow<'static, [u8]>, Range<usize>, Range<usize>);

/// A bound field being assembled: its key, its `,"k":v` entry, its item.
type Piece<'a> = (Cow<'static, [u8]>, &'a [u8], &'a [u8]);

impl Bindings {
    /// `,"k":v,"k2":v2`
    pub(crate) fn json(&self) -> &[u8] {
        &self.item[self.json.clone()]
    }

    /// The fields as captured items.
    fn items(&self) -> &[u8] {
        &self.item[self.items.clone()]
    }

    /// The parent's fields that `fresh` (captured items) does not bind
    /// again, then the last of each key of `fresh`, in order; `None` when
    /// that is no field at all.
    fn merge(parent: Option<&Bindings>, fresh: &[u8]) -> Option<Bindings> {
        // Each field of `fresh` bound (the last of its key): its key, its
        // item and its `,"k":v` entry in `fresh_json`.
        let mut new: Vec<(&[u8], Range<usize>)> = Vec::new();
        let mut it = crate::record::Items::new(fresh);
        loop {
            let start = fresh.len() - it.remaining();
            let Some(item) = it.next() else { break };
            if let crate::record::Item::Field(k, ..) = item {
                new.push((k, start..fresh.len() - it.remaining()));
            }
        }
        let mut fresh_json = Vec::new();
        let mut kept_new = Vec::new();
        for (n, (k, r)) in new.iter().enumerate() {
            if new[n + 1..].iter().any(|(later, _)| later == k) {
                continue;
            }
            let start = fresh_json.len();
            if let Some(crate::record::Item::Field(k, v, _)) = crate::record::Items::new(&fresh[r.clone()]).next() {
                crate::format::json::write_field_key(&mut fresh_json, k);
                crate::format::json::write_val(&mut fresh_json, v);
            }
            kept_new.push((*k, r.clone(), start..fresh_json.len()));
        }
        let mut pieces: Vec<Piece<'_>> = Vec::new();
        if let Some(p) = parent {
            for (k, j, i) in &p.entries {
                if !new.iter().any(|(nk, _)| *nk == &**k) {
                    pieces.push((k.clone(), &p.json()[j.clone()], &p.items()[i.clone()]));
                }
            }
        }
        for (k, r, j) in kept_new {
            pieces.push((Cow::Owned(k.to_vec()), &fresh_json[j], &fresh[r]));
        }
        (!pieces.is_empty()).then(|| Bindings::of_pieces(pieces))
    }

    /// The bindings of `pieces`: each key, its `,"k":v` entry and its item.
    fn of_pieces(pieces: Vec<Piece<'_>>) -> Bindings {
        let mask = pieces.iter().fold(0, |m, (k, ..)| m | crate::record::key_bit(k));
        let len: usize = pieces.iter().map(|(_, j, i)| j.len() + i.len()).sum();
        let mut item = Vec::with_capacity(17 + len);
        let (json, items) = Capture::bindings_item(
            &mut item,
            mask,
            |o| pieces.iter().for_each(|(_, j, _)| o.extend_from_slice(j)),
            |o| pieces.iter().for_each(|(_, _, i)| o.extend_from_slice(i)),
        );
        let (mut j, mut i) = (0, 0);
        let entries = pieces
            .into_iter()
            .map(|(k, js, is)| {
                let e = (k, j..j + js.len(), i..i + is.len());
                (j, i) = (j + js.len(), i + is.len());
                e
            })
            .collect();
        Bindings { item, json, items, entries }
    }

    /// Adds these fields to a record.
    #[inline(always)]
    pub(crate) fn capture<W: ItemWriter>(&self, rec: &mut W) {
        rec.item(&self.item);
    }

    /// The bindings item every record of the logger carries.
    #[inline(always)]
    pub(crate) fn item(&self) -> &[u8] {
        &self.item
    }

    /// The bindings of the fields `f` captures (for tests: what a child
    /// made with the same fields carries).
    #[cfg(test)]
    pub(crate) fn of(f: impl FnOnce(&mut Capture)) -> Bindings {
        let mut c = Capture::new(Level::Info, 0);
        f(&mut c);
        Bindings::merge(None, c.bytes()).expect("some fields")
    }
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("level", &self.level())
            .field("bindings", &self.bindings.as_ref().map(|b| String::from_utf8_lossy(b.json())))
            .finish()
    }
}

impl Logger {
    /// Starts configuring a logger.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_core(core: Arc<Core>) -> Logger {
        Logger { core, bindings: None }
    }

    /// Whether a record at `level` would be written. This is the check the
    /// macros make before evaluating anything else: one atomic load. (A
    /// level the [sampler](crate::Builder::sample) samples is enabled; the
    /// macros then keep only a fraction of its records.)
    #[inline(always)]
    pub fn enabled(&self, level: Level) -> bool {
        level as u8 >= self.core.threshold.load(Ordering::Relaxed)
    }

    /// For a record a debug handle lets through: the sampler's decision
    /// when it samples `level` (counted when it says no).
    #[inline(always)]
    pub(crate) fn keep_sampled(&self, level: Level) -> bool {
        match &self.core.sampler {
            Some(s) if level as u8 <= s.level => self.core.keep_sampled(),
            _ => true,
        }
    }

    /// The macros' check: [`enabled`](Logger::enabled), and for a level the
    /// sampler samples, its decision (counted when it says no). Without a
    /// sampler, or for a level it does not sample, the same one load and
    /// comparison as `enabled`.
    #[inline(always)]
    pub(crate) fn enabled_sampled(&self, level: Level) -> bool {
        let c = &*self.core;
        let l = level as u8;
        l >= c.fast.load(Ordering::Relaxed) || (l >= c.sample_floor.load(Ordering::Relaxed) && c.keep_sampled())
    }

    /// The configured minimum level.
    pub fn level(&self) -> Level {
        Level::from_number(self.core.level.load(Ordering::Relaxed)).unwrap_or(Level::Info)
    }

    /// Changes the minimum level of this logger, its clones and children, at
    /// once, from any thread.
    ///
    /// ```
    /// # let (log, _g) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
    /// use logjet::Level;
    /// log.set_level(Level::Debug);
    /// assert!(log.enabled(Level::Debug));
    /// log.set_level(Level::Warn);
    /// assert!(!log.enabled(Level::Info));
    /// # Ok::<(), logjet::Error>(())
    /// ```
    pub fn set_level(&self, level: Level) {
        let c = &self.core;
        c.level.store(level as u8, Ordering::Relaxed);
        c.set_threshold((level as u8).max(c.floor));
        #[cfg(feature = "log")]
        crate::log_bridge::sync_max_level(self);
    }

    /// Starts a record at `level`, or returns `None` when the level is
    /// disabled. The macros use this; call it directly for keys known only
    /// at run time.
    ///
    /// ```
    /// # let (log, guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
    /// use logjet::Level;
    /// let key = String::from("dynamic-key");
    /// if let Some(mut ev) = log.event(Level::Info) {
    ///     ev.str(&key, "value").u64("n", 7);
    ///     ev.emit("built by hand");
    /// }
    /// # guard.flush()?;
    /// # Ok::<(), logjet::Error>(())
    /// ```
    #[inline(always)]
    pub fn event(&self, level: Level) -> Option<Event<'_>> {
        if self.enabled_sampled(level) {
            Some(Event::new(self, level, None))
        } else {
            None
        }
    }

    /// A logger that adds `fields` to every record, after the parent's own
    /// bound fields (a key bound again replaces the parent's value). The
    /// fields are encoded once, here, not at each call.
    ///
    /// ```
    /// # let (log, guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
    /// let req = log.child(logjet::fields!(request_id = 42, user = "ada"));
    /// let db = req.child(logjet::fields!(component = "db"));
    /// logjet::info!(db, "query"); // carries request_id, user and component
    /// # guard.flush()?;
    /// # Ok::<(), logjet::Error>(())
    /// ```
    pub fn child(&self, fields: Fields) -> Logger {
        let parent = self.bindings.as_deref();
        Logger { core: self.core.clone(), bindings: Bindings::merge(parent, fields.cap.bytes()).map(Arc::new) }
    }

    /// A child with one string field bound, the same as
    /// `child(fields!(key = value))` with less work: the access log makes one
    /// per request.
    #[cfg(feature = "tower")]
    pub(crate) fn child_str(&self, key: &'static str, value: &str) -> Logger {
        let parent = self.bindings.as_deref();
        let mut single = Capture::new(Level::Info, 0);
        single.str(key, value);
        let new_item = single.bytes();
        let kept = || {
            parent.into_iter().flat_map(|p| {
                p.entries
                    .iter()
                    .filter(|(k, ..)| **k != *key.as_bytes())
                    .map(move |(k, j, i)| (k, &p.json()[j.clone()], &p.items()[i.clone()]))
            })
        };
        let mask = kept().fold(crate::record::key_bit(key.as_bytes()), |m, (k, ..)| m | crate::record::key_bit(k));
        // Room for the escaper's fast path (the string and 18 bytes), so
        // that the buffer is allocated once.
        let room = parent.map_or(0, |p| p.item.len()) + 2 * key.len() + value.len() + new_item.len() + 64;
        let mut item = Vec::with_capacity(room);
        let (json, items) = Capture::bindings_item(
            &mut item,
            mask,
            |o| {
                kept().for_each(|(_, j, _)| o.extend_from_slice(j));
                crate::format::json::write_field_key(o, key.as_bytes());
                crate::format::escape::write_str(o, value.as_bytes());
            },
            |o| {
                kept().for_each(|(_, _, i)| o.extend_from_slice(i));
                o.extend_from_slice(new_item);
            },
        );
        let mut entries = Vec::with_capacity(parent.map_or(0, |p| p.entries.len()) + 1);
        let (mut j, mut i) = (0, 0);
        for (k, js, is) in kept() {
            entries.push((k.clone(), j..j + js.len(), i..i + is.len()));
            (j, i) = (j + js.len(), i + is.len());
        }
        entries.push((Cow::Borrowed(key.as_bytes()), j..json.len(), i..items.len()));
        Logger { core: self.core.clone(), bindings: Some(Arc::new(Bindings { item, json, items, entries })) }
    }

    /// Waits until every record logged before this call (from any thread)
    /// has been written to the sinks (handed to the OS: `write(2)`, not
    /// `fsync`).
    ///
    /// Without a deadline this waits as long as a failing sink keeps
    /// failing; [`flush_timeout`](Logger::flush_timeout) bounds the wait.
    /// It returns an error with [`Error::lost_records`] when records were
    /// dropped by the writer since the previous flush answered (a sink whose
    /// reader is gone, or one that kept failing until a shutdown deadline),
    /// and [`Error::is_closed`] once the logger is shut down.
    pub fn flush(&self) -> Result<(), Error> {
        self.core.control(Msg::Flush, None)
    }

    /// Like [`flush`](Logger::flush), giving up after `timeout` with an
    /// error for which [`Error::is_timeout`] is true.
    pub fn flush_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.core.control(Msg::Flush, Some(timeout))
    }

    /// Makes every [`File`](crate::sink::File) sink close its file and open
    /// its path again, as logrotate's `create` mode expects after renaming
    /// the file (`postrotate kill -HUP`; see also
    /// [`Builder::reopen_on_sighup`](crate::Builder::reopen_on_sighup)).
    ///
    /// Ordered like a flush: every record logged before this call (from
    /// any thread) goes to the old file, and the call returns once every
    /// file sink reopened its path; records logged after it go to the new
    /// file. Other sinks are unaffected. An error says which sink could
    /// not reopen (it writes on to the file it had open); it is also
    /// reported on stderr.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("logjet-doc-reopen-{}", std::process::id()));
    /// let (log, guard) = logjet::Logger::builder().sink(logjet::sink::File::append(dir.join("app.log"))?).build()?;
    /// logjet::info!(log, "before");
    /// std::fs::rename(dir.join("app.log"), dir.join("app.log.1"))?; // what logrotate does
    /// log.reopen()?;
    /// logjet::info!(log, "after");
    /// guard.flush()?;
    /// assert!(std::fs::read_to_string(dir.join("app.log.1"))?.contains("before"));
    /// assert!(std::fs::read_to_string(dir.join("app.log"))?.contains("after"));
    /// # drop(guard);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reopen(&self) -> Result<(), Error> {
        self.core.control(Msg::Reopen, None)
    }

    /// Like [`flush`](Logger::flush), as a future that never blocks the
    /// runtime's worker thread (feature `tokio`; await it inside a tokio
    /// runtime). Bound it with `tokio::time::timeout` if a sink may fail.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), logjet::Error> {
    /// let (log, guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
    /// logjet::info!(log, "from a task");
    /// log.flush_async().await?;
    /// guard.shutdown_async().await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn flush_async(&self) -> Result<(), Error> {
        self.core.control_async(Msg::Flush, None).await
    }

    /// A new record of this logger: the namespace of a debug handle, then
    /// the bindings. Its time is read when it is queued (`Core::send`).
    #[inline(always)]
    pub(crate) fn start(&self, level: Level, ns: Option<&str>) -> Record {
        let mut rec = Capture::new(level, 0);
        self.begin(&mut rec, ns);
        rec
    }

    /// What [`start`](Logger::start) adds to a record made in place.
    #[inline(always)]
    pub(crate) fn begin<W: ItemWriter>(&self, rec: &mut W, ns: Option<&str>) {
        if let Some(ns) = ns {
            rec.ns(ns);
        }
        if let Some(b) = &self.bindings {
            b.capture(rec);
        }
    }

    /// A macro call site's record, its message the site's literal: written
    /// straight into this thread's queue when it can be (its fields
    /// measured, the room reserved, the same fields written there: see
    /// `record::item_writer`), else captured and sent. `fatal` records and
    /// a debug handle's are always captured (the first are flushed after).
    #[inline(always)]
    pub(crate) fn log_site<F: FieldList>(&self, level: Level, ns: Option<&str>, site: &'static Site, fields: &F) {
        let id = site.id();
        if level != Level::Fatal && ns.is_none() {
            // One copy of the writing code without bindings, one with.
            let done = match self.bindings.as_deref() {
                None => self.log_in_place::<F, false>(level, site, id, &[], fields),
                Some(b) => self.log_in_place::<F, true>(level, site, id, b.item(), fields),
            };
            if done {
                return;
            }
        }
        // `begin` has put the bindings first.
        self.log_captured(level, ns, |rec| SiteRecord::<F, false> { bound: &[], id, fields }.write_items(rec))
    }

    /// Writes call site `site`'s record (id `id`; after the bindings item
    /// `bound`, when `BOUND`) straight into this thread's queue; false when
    /// it cannot be (see `Core::send_in_place`).
    #[inline(always)]
    fn log_in_place<F: FieldList, const BOUND: bool>(
        &self,
        level: Level,
        site: &'static Site,
        id: u32,
        bound: &[u8],
        fields: &F,
    ) -> bool {
        let rec = SiteRecord::<F, BOUND> { bound, id, fields };
        let mut size = Measure::default();
        rec.write_items(&mut size);
        size.0 < UNSIZED && self.core.send_in_place(level, size.0, site, &rec)
    }

    /// A record captured by `write` after what [`start`](Logger::start)
    /// puts first, then sent.
    #[inline(never)]
    pub(crate) fn log_captured(&self, level: Level, ns: Option<&str>, write: impl FnOnce(&mut Capture)) {
        let mut rec = Capture::new(level, 0);
        self.begin(&mut rec, ns);
        write(&mut rec);
        self.send(&rec)
    }

    /// A record whose size is known only once it is written (a `tracing`
    /// event): `rec` writes it after what [`start`](Logger::start) puts
    /// first, straight into this thread's queue within `bound` bytes when
    /// it can (see `Core::send_bounded`); else into a capture, which is
    /// sent. So `rec` must write the same items each time.
    #[cfg(feature = "tracing")]
    pub(crate) fn log_bounded(&self, level: Level, bound: usize, rec: &impl RecordItems) {
        if level != Level::Fatal
            && self.core.send_bounded(level, bound, |w| {
                self.begin(w, None);
                rec.write_items(w);
            })
        {
            return;
        }
        self.log_captured(level, None, |c| rec.write_items(c));
    }

    /// Sends a record started by [`start`](Logger::start).
    #[inline(always)]
    pub(crate) fn send(&self, rec: &Record) {
        send(&self.core, rec)
    }

    /// The logger's counters: records written and dropped, bytes, write
    /// errors, queue high-water mark.
    pub fn stats(&self) -> Stats {
        self.core.shared.stats()
    }
}

/// A record being built: fields are added, then [`emit`](Event::emit) sends
/// it. Obtained from [`Logger::event`]; the macros build one for you.
///
/// Dropping an `Event` without emitting it discards it.
pub struct Event<'a> {
    core: &'a Core,
    rec: Record,
}

impl<'a> Event<'a> {
    /// Starts a record: the time, then the namespace of a debug handle,
    /// then the logger's bindings.
    #[inline(always)]
    #[doc(hidden)]
    pub fn new(logger: &'a Logger, level: Level, ns: Option<&str>) -> Event<'a> {
        Event { core: &logger.core, rec: logger.start(level, ns) }
    }

    /// The record being built (the `log` bridge adds its fields through
    /// it).
    #[cfg(feature = "log")]
    #[inline]
    pub(crate) fn capture_mut(&mut self) -> &mut Capture {
        &mut self.rec
    }

    /// Adds a string field.
    #[inline]
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.rec.str(key, value);
        self
    }

    /// Adds a signed integer field.
    #[inline]
    pub fn i64(&mut self, key: &str, value: i64) -> &mut Self {
        self.rec.i64(key, value);
        self
    }

    /// Adds an unsigned integer field.
    #[inline]
    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.rec.u64(key, value);
        self
    }

    /// Adds a 128-bit signed integer field (a JSON number with all its digits).
    pub fn i128(&mut self, key: &str, value: i128) -> &mut Self {
        self.rec.i128(key, value);
        self
    }

    /// Adds a 128-bit unsigned integer field.
    pub fn u128(&mut self, key: &str, value: u128) -> &mut Self {
        self.rec.u128(key, value);
        self
    }

    /// Adds a float field (NaN and the infinities become strings).
    #[inline]
    pub fn f64(&mut self, key: &str, value: f64) -> &mut Self {
        self.rec.f64(key, value);
        self
    }

    /// Adds a boolean field.
    #[inline]
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.rec.bool(key, value);
        self
    }

    /// Adds bytes as a string field; invalid UTF-8 is replaced by U+FFFD.
    pub fn bytes(&mut self, key: &str, value: &[u8]) -> &mut Self {
        self.rec.bytes_lossy(key, value);
        self
    }

    /// Adds a field from a value's `Display` output.
    pub fn display(&mut self, key: &str, value: &dyn fmt::Display) -> &mut Self {
        self.rec.display(key, value);
        self
    }

    /// Adds an error like pino's `err` serializer: `type`, `message` and the
    /// `source()` chain.
    pub fn error<E: std::error::Error + ?Sized>(&mut self, key: &str, err: &E) -> &mut Self {
        crate::value::capture_error(&mut self.rec, Key::runtime(key), std::any::type_name::<E>(), &err);
        self
    }

    /// Adds any `serde::Serialize` value, written as JSON.
    pub fn serde<T: serde::Serialize + ?Sized>(&mut self, key: &str, value: &T) -> &mut Self {
        crate::value::capture_serde(&mut self.rec, Key::runtime(key), value);
        self
    }

    /// Adds a value of a fast-path type (see [`Value`]).
    #[inline]
    pub fn value<V: Value + ?Sized>(&mut self, key: &str, value: &V) -> &mut Self {
        value.capture(Key::runtime(key), &mut self.rec);
        self
    }

    /// Sends the record with its message.
    #[inline(always)]
    pub fn emit(mut self, msg: &str) {
        self.rec.msg(msg);
        self.send_captured();
    }

    /// Sends the record with a formatted message. Plain literals are not
    /// formatted, only copied.
    #[inline(always)]
    pub fn emit_fmt(mut self, msg: fmt::Arguments<'_>) {
        self.rec.msg_fmt(msg);
        self.send_captured();
    }

    /// Sends the record as captured (its message, if any, included).
    #[inline(always)]
    pub(crate) fn send_captured(&self) {
        send(self.core, &self.rec)
    }
}

/// Call site `id`'s record: the bindings item `bound` when `BOUND`, the
/// site, the fields. One function writes it for every writer (measured, in
/// place, captured, or as a caller's line), so they agree.
struct SiteRecord<'a, F, const BOUND: bool> {
    bound: &'a [u8],
    id: u32,
    fields: &'a F,
}

impl<F: FieldList, const BOUND: bool> RecordItems for SiteRecord<'_, F, BOUND> {
    #[inline(always)]
    fn write_items<W: ItemWriter>(&self, w: &mut W) {
        if BOUND {
            w.item(self.bound);
        }
        w.site(self.id);
        self.fields.write(w);
    }
}

/// Sends a record; `fatal` ones are flushed before this returns.
#[inline(always)]
fn send(core: &Core, rec: &Record) {
    if rec.level == Level::Fatal {
        send_fatal(core, rec);
    } else {
        core.send(rec);
    }
}

/// `fatal`: queued even under `Overflow::Drop`, then flushed, waiting at
/// most the shutdown timeout for each.
#[cold]
#[inline(never)]
fn send_fatal(core: &Core, rec: &Record) {
    let timeout = core.shutdown_timeout;
    let deadline = Instant::now().checked_add(timeout);
    let queued = match deadline {
        Some(d) => core.send_wait(rec, d),
        None => {
            core.send(rec);
            true
        }
    };
    // On the writer thread (a sink that logs) there is nothing to wait for.
    if queued && !crate::report::on_logjet_thread() {
        if let Err(e) = core.control(Msg::Flush, Some(timeout)) {
            crate::report::report(format_args!("fatal record may not be written: {e}"));
        }
    }
}

/// Fields to bind to a child logger, made with [`fields!`](crate::fields).
///
/// ```
/// let f = logjet::fields!(request_id = 42, path = "/api");
/// assert!(!f.is_empty());
/// assert!(logjet::fields!().is_empty());
/// ```
pub struct Fields {
    cap: Capture,
}

impl Default for Fields {
    fn default() -> Self {
        Fields::new()
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut json = Vec::new();
        crate::format::json::encode_fields(self.cap.bytes(), &mut json);
        f.debug_tuple("Fields").field(&String::from_utf8_lossy(&json)).finish()
    }
}

impl Fields {
    /// No fields.
    pub fn new() -> Fields {
        Fields { cap: Capture::new(Level::Info, 0) }
    }

    /// Whether no field was added.
    pub fn is_empty(&self) -> bool {
        self.cap.bytes().is_empty()
    }

    /// Adds a field with a key known only at run time, from any
    /// `serde::Serialize` value.
    ///
    /// ```
    /// let key = format!("tenant_{}", 7);
    /// let f = logjet::Fields::new().with(&key, &"acme");
    /// assert!(format!("{f:?}").contains("tenant_7"));
    /// ```
    pub fn with<T: serde::Serialize + ?Sized>(mut self, key: &str, value: &T) -> Fields {
        crate::value::capture_serde(&mut self.cap, Key::runtime(key), value);
        self
    }

    /// Adds a call's fields, for [`fields!`](crate::fields).
    #[doc(hidden)]
    pub fn __write<L: FieldList>(&mut self, fields: &L) {
        fields.write(&mut self.cap)
    }
}
