//! A `tracing-subscriber` Layer: `tracing` events become logjet records,
//! with the same nonblocking pipeline and the same output.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::ops::Range;

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::format::escape::write_str;
use crate::format::json::write_field_key;
use crate::level::Level;
use crate::logger::Logger;
use crate::record::{Capture, ItemWriter, Key, Out, RecordItems};
use crate::tracing_site::Callsite;
use crate::tunables::{MERGED_SPAN_FIELDS_KEPT, TRACING_EVENT_ROOM};

/// How the fields of the spans around an event are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanFields {
    /// The fields of every span in scope, outermost first, merged into the
    /// record itself; an inner span's field replaces an outer one's of the
    /// same name, and the event's own field replaces both:
    /// `{"request_id":42,"method":"GET","status":200,...}`.
    #[default]
    Merge,
    /// Each span as an object in a `spans` array, outermost first, with its
    /// name: `"spans":[{"name":"request","request_id":42}]` (the shape of
    /// `tracing-subscriber`'s JSON format). A span field itself called
    /// `name` is written `_name` (and `_name` as `__name`), so no key repeats.
    Nested,
    /// No span fields.
    Omit,
}

/// A `tracing-subscriber` [`Layer`] that writes `tracing` events through a
/// logjet [`Logger`]: the caller writes the event's fields raw straight into
/// its thread's queue (no `String` per field, span fields pre-encoded once
/// when the span is created) and the writer thread does the rest, as for
/// logjet's own macros. An event that does not fit the room it reserves
/// (512 bytes), or needs what only a capture holds (an error value, the
/// spans' names, nested spans), is captured and copied instead; its fields
/// are then visited twice, so a `Debug` or `Display` impl with side effects
/// runs twice for it.
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// let (log, guard) = logjet::Logger::builder()
///     .sink(logjet::sink::Writer::new(std::io::sink()))
///     .build()?;
/// let subscriber = tracing_subscriber::registry().with(logjet::TracingLayer::new(&log));
/// tracing::subscriber::with_default(subscriber, || {
///     let span = tracing::info_span!("request", request_id = 42, method = "GET");
///     let _e = span.enter();
///     tracing::info!(status = 200, latency_ms = 3.25, "request handled");
/// });
/// // {"level":30,...,"target":"rust_out","request_id":42,"method":"GET","status":200,"latency_ms":3.25,"msg":"request handled"}
/// guard.flush()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// - Levels map to pino's numbers: `TRACE` 10 … `ERROR` 50.
/// - The event's `message` becomes `msg`; `target` is written first; its
///   fields keep their JSON types (`i64`, `u64`, `i128`, `u128`, `f64`,
///   `bool`, strings); values recorded only through `Debug` become strings;
///   errors recorded with `record_error` are written like pino's `err`.
/// - Filtering: the logger's level applies, and `DEBUG` namespaces match
///   targets (`DEBUG=myapp::db*` writes the debug events of `myapp::db`
///   and below even when the level is `info`). The layer never disables a
///   call site for other layers; put an `EnvFilter` in front of it, or give
///   it a per-layer filter, to skip events earlier.
/// - With the `opentelemetry` feature, an event inside a span that
///   `tracing-opentelemetry` (0.34) tracks gets `trace_id` and `span_id`
///   (W3C lowercase hex, 32 and 16 digits) after `target`, so logs join
///   traces. They are asked of tracing-opentelemetry once per span (its
///   `get_otel_context`, which starts the OpenTelemetry span if it was not
///   yet) and kept in the span's extensions; later events copy them.
/// - `target`, `file`, `line` and `spans` are the layer's own keys: a field
///   with one of these names (or underscores and one of them) gets one more
///   leading underscore, as for logjet's reserved keys.
#[derive(Clone, Debug)]
pub struct TracingLayer {
    logger: Logger,
    span_fields: SpanFields,
    span_names: bool,
    file_line: bool,
    /// A per-layer filter in front of it decides (`logjet::init`): every
    /// event that reaches the layer is written, whatever the logger's level.
    filtered: bool,
    /// The dispatcher the layer is part of, to ask tracing-opentelemetry
    /// for a span's context (set when the subscriber becomes a `Dispatch`).
    #[cfg(feature = "opentelemetry")]
    dispatch: std::sync::OnceLock<tracing_core::dispatcher::WeakDispatch>,
}

impl TracingLayer {
    /// A layer writing through `logger` (a clone is kept; a child's bound
    /// fields are written on every event).
    pub fn new(logger: &Logger) -> TracingLayer {
        TracingLayer {
            logger: logger.clone(),
            span_fields: SpanFields::Merge,
            span_names: false,
            file_line: false,
            filtered: false,
            #[cfg(feature = "opentelemetry")]
            dispatch: std::sync::OnceLock::new(),
        }
    }

    /// The layer behind a per-layer filter that decides alone (`init`).
    pub(crate) fn decided_by_filter(mut self) -> TracingLayer {
        self.filtered = true;
        self
    }

    /// How span fields are written (default [`SpanFields::Merge`]).
    pub fn span_fields(mut self, how: SpanFields) -> TracingLayer {
        self.span_fields = how;
        self
    }

    /// Adds `"spans":["request","query"]`, the names of the spans in scope,
    /// outermost first (with `Merge` or `Omit`; `Nested` names them anyway).
    pub fn span_names(mut self, yes: bool) -> TracingLayer {
        self.span_names = yes;
        self
    }

    /// Adds `"file"` and `"line"` of the event's call site.
    pub fn file_line(mut self, yes: bool) -> TracingLayer {
        self.file_line = yes;
        self
    }

    /// Whether the logger takes an event: its level, or `DEBUG` for the
    /// debug and trace events of enabled targets.
    fn takes(&self, meta: &Metadata<'_>) -> Option<Level> {
        let level = map_level(meta.level());
        if self.filtered || self.logger.enabled(level) {
            return Some(level);
        }
        let core = &self.logger.core;
        (level <= Level::Debug && level as u8 >= core.floor && self.logger.target_debug_enabled(meta.target()))
            .then_some(level)
    }
}

/// tracing's levels as pino numbers.
pub(crate) fn map_level(l: &tracing_core::Level) -> Level {
    match *l {
        tracing_core::Level::TRACE => Level::Trace,
        tracing_core::Level::DEBUG => Level::Debug,
        tracing_core::Level::INFO => Level::Info,
        tracing_core::Level::WARN => Level::Warn,
        tracing_core::Level::ERROR => Level::Error,
    }
}

/// The keys the layer writes itself, besides logjet's reserved keys.
fn layer_key(name: &str) -> Cow<'_, str> {
    let core = name.trim_start_matches('_');
    if matches!(core, "target" | "file" | "line" | "spans") {
        Cow::Owned(format!("_{name}"))
    } else {
        Cow::Borrowed(name)
    }
}

/// A span's fields, encoded once as `,"k":v` entries and as captured items
/// (stored in the span's extensions).
struct SpanData {
    json: Vec<u8>,
    /// The same fields as captured items (`record::Items`).
    items: Vec<u8>,
    /// Each field's name, the range of its `,"k":v` entry in `json`, the
    /// bit of its key as written (`format::unique_keys::key_bit`) and the
    /// range of its item in `items`.
    entries: Vec<(&'static str, Range<usize>, u64, Range<usize>)>,
}

impl SpanData {
    /// Adds or replaces fields.
    fn record(&mut self, visit: impl FnOnce(&mut SpanVisitor<'_>)) {
        let mut v = SpanVisitor { data: self, item: Capture::new(crate::Level::Info, 0) };
        visit(&mut v);
    }
}

/// Records span fields into [`SpanData`] as JSON and as items.
struct SpanVisitor<'a> {
    data: &'a mut SpanData,
    /// One field's item, before it is copied into the span's.
    item: Capture,
}

impl SpanVisitor<'_> {
    fn put(&mut self, field: &Field, write: impl FnOnce(&mut Vec<u8>), capture: impl FnOnce(&mut Capture, &str)) {
        let name = field.name();
        let key = layer_key(name);
        let bit = crate::format::unique_keys::key_bit(key.as_bytes());
        let d = &mut *self.data;
        if let Some(i) = d.entries.iter().position(|(k, ..)| *k == name) {
            // A field recorded again: rebuild without its old entry.
            let (_, old, _, old_item) = d.entries.remove(i);
            d.json.drain(old.clone());
            d.items.drain(old_item.clone());
            for (_, r, _, ri) in d.entries.iter_mut() {
                if r.start >= old.end {
                    *r = r.start - old.len()..r.end - old.len();
                }
                if ri.start >= old_item.end {
                    *ri = ri.start - old_item.len()..ri.end - old_item.len();
                }
            }
        }
        // Written in place: no buffer of its own per field.
        let start = d.json.len();
        write_field_key(&mut d.json, key.as_bytes());
        write(&mut d.json);
        self.item.truncate(0);
        capture(&mut self.item, &key);
        let item_start = d.items.len();
        d.items.extend_from_slice(self.item.bytes());
        d.entries.push((name, start..d.json.len(), bit, item_start..d.items.len()));
    }
}

impl Visit for SpanVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, |o| crate::format::number::write_f64(o, value), |c, k| c.f64(k, value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, |o| crate::format::number::write_int(o, value), |c, k| c.i64(k, value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, |o| crate::format::number::write_int(o, value), |c, k| c.u64(k, value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, |o| crate::format::number::write_int(o, value), |c, k| c.i128(k, value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, |o| crate::format::number::write_int(o, value), |c, k| c.u128(k, value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, |o| o.extend_from_slice(if value { b"true" } else { b"false" }), |c, k| c.bool(k, value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, |o| write_str(o, value.as_bytes()), |c, k| c.str(k, value));
    }
    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.put(field, |o| crate::format::escape::write_str_lossy(o, value), |c, k| c.bytes_lossy(k, value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(
            field,
            |o| crate::value::write_error(o, "dyn Error", value),
            |c, k| {
                c.json_with(k, |c| {
                    crate::value::write_error(c, "dyn Error", value);
                    Ok(())
                })
            },
        );
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(
            field,
            |o| crate::value::write_display(o, &format_args!("{value:?}")),
            |c, k| c.display(k, &format_args!("{value:?}")),
        );
    }
}

/// Finds the `log.target` field of an event made from a `log` record.
struct LogTarget(Option<String>);

impl Visit for LogTarget {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "log.target" {
            self.0 = Some(value.to_string());
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

/// Captures an event's fields straight into the record. When the
/// message is the first field (as `tracing`'s macros declare it), it opens
/// the record's call-site item (`tracing_site`), and the fields after it
/// whose key the callsite has are captured by their index there; others
/// (renamed or escaped by the writer) by their text.
struct EventVisitor<'a, W> {
    cap: &'a mut W,
    /// The event's callsite, registered.
    site: Callsite,
    /// No field recorded yet.
    first: bool,
    /// The record has its call-site item: keys by index.
    keyed: bool,
    /// The event comes from a `log` record: its `log.*` fields repeat the
    /// record's metadata and are left out.
    from_log: bool,
}

impl<W: ItemWriter> EventVisitor<'_, W> {
    /// Captures `field` with `put`, under its key.
    #[inline]
    fn put(&mut self, field: &Field, put: impl FnOnce(&mut W, Key<'_>)) {
        self.first = false;
        match self.indexed(field) {
            Some(key) => put(self.cap, key),
            None => {
                let k = layer_key(field.name());
                put(self.cap, Key::runtime(&k));
            }
        }
    }

    /// The key of `field` as its index in the callsite, when the record
    /// has the callsite's item and the callsite has the key: then neither
    /// its name nor whether it is the message (or a `log.*` field, which
    /// the callsite has no key for) needs a look.
    #[inline(always)]
    fn indexed(&self, field: &Field) -> Option<Key<'static>> {
        let i = field.index();
        (self.keyed && i < 256 && matches!(self.site.data.keys.get(i), Some(Some(_)))).then(|| Key::at_site(i))
    }

    /// Captures `field` by its index in the callsite when it can (see
    /// [`indexed`](EventVisitor::indexed)); returns whether it did.
    #[inline(always)]
    fn put_indexed(&mut self, field: &Field, put: impl FnOnce(&mut W, Key<'_>)) -> bool {
        let Some(key) = self.indexed(field) else { return false };
        self.first = false;
        put(self.cap, key);
        true
    }

    /// Captures the message (`msg`, or formatted from `args`): as the
    /// call-site item when it comes first.
    #[inline]
    fn message(&mut self, msg: Option<&str>, args: fmt::Arguments<'_>) {
        let first = std::mem::take(&mut self.first);
        match (first, msg) {
            (true, Some(m)) => self.cap.site_msg(self.site.id, m),
            (true, None) => self.cap.site_fmt(self.site.id, args),
            (false, Some(m)) => self.cap.msg(m),
            (false, None) => self.cap.msg_fmt(args),
        }
        self.keyed |= first;
    }

    #[inline]
    fn skip(&self, field: &Field) -> bool {
        self.from_log && field.name().starts_with("log.")
    }
}

impl<W: ItemWriter> Visit for EventVisitor<'_, W> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, |c, k| c.f64(k, value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, |c, k| c.i64(k, value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.put_indexed(field, |c, k| c.u64(k, value)) {
            return;
        }
        if !self.skip(field) {
            self.put(field, |c, k| c.u64(k, value));
        } else {
            self.first = false;
        }
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, |c, k| c.i128(k, value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, |c, k| c.u128(k, value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, |c, k| c.bool(k, value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.put_indexed(field, |c, k| c.str(k, value)) {
            return;
        }
        if field.name() == "message" {
            self.message(Some(value), format_args!(""));
        } else if !self.skip(field) {
            self.put(field, |c, k| c.str(k, value));
        } else {
            self.first = false;
        }
    }
    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.put(field, |c, k| c.bytes_lossy(k, value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, |c, k| crate::value::capture_error(c, k, "dyn Error", value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.put_indexed(field, |c, k| c.display(k, &format_args!("{value:?}"))) {
            return;
        }
        if field.name() == "message" {
            self.message(None, format_args!("{value:?}"));
        } else {
            self.put(field, |c, k| c.display(k, &format_args!("{value:?}")));
        }
    }
}

/// The `,"key":` texts of the fields of a callsite, by index, as
/// `EventVisitor` writes them: the message and (for a `log` record) the
/// `log.*` fields are not fields of the record (an empty text, which no
/// field uses); keys the layer renames are framed renamed.
fn callsite_keys(meta: &Metadata<'_>, from_log: bool) -> Vec<String> {
    meta.fields()
        .iter()
        .map(|f| {
            let name = f.name();
            if name == "message" || (from_log && name.starts_with("log.")) {
                String::new()
            } else {
                format!(",\"{}\":", layer_key(name))
            }
        })
        .collect()
}

impl<S> Layer<S> for TracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    #[cfg(feature = "opentelemetry")]
    fn on_register_dispatch(&self, subscriber: &tracing_core::Dispatch) {
        // The first dispatcher wins: a layer is part of one subscriber.
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if self.span_fields == SpanFields::Omit {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        // Another logjet layer on the same registry encoded them already
        // (the same way): inserting twice would panic in the registry.
        if ext.get_mut::<SpanData>().is_some() {
            return;
        }
        // One allocation each for the usual span: room for entries of up
        // to ~48 bytes (`,"request_id":"` and 32 hex digits fit), so the
        // JSON is not moved while it is written.
        let n = attrs.fields().len();
        let mut data = SpanData {
            json: Vec::with_capacity(16 + n * 48),
            items: Vec::with_capacity(16 + n * 32),
            entries: Vec::with_capacity(n),
        };
        data.record(|v| attrs.record(v));
        ext.insert(data);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(data) = ext.get_mut::<SpanData>() {
            data.record(|v| values.record(v));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let Some(level) = self.takes(meta) else { return };
        // The level sampler (`Builder::sample`) decides for tracing events
        // as it does for the macros (and counts what it leaves out).
        if !self.logger.keep_sampled(level) {
            return;
        }
        // A `log` record brought in by tracing-log's LogTracer carries its
        // real target in a `log.target` field.
        let from_log = meta.target() == "log" && meta.fields().field("log.target").is_some();
        let site = crate::tracing_site::callsite(meta, || callsite_keys(meta, from_log));
        let rec = EventRecord { layer: self, event, ctx: &ctx, site, from_log };
        self.logger.log_bounded(level, TRACING_EVENT_ROOM, &rec);
    }
}

/// A `tracing` event as a record's items (after the logger's bindings):
/// written straight into a thread's queue when it fits the room reserved
/// for it, else (or when it needs a capture: a field keyed by its text,
/// an error, the spans' names, nested spans) captured and sent
/// (`Logger::log_bounded`), the same items either way.
struct EventRecord<'a, 'e, 'c, S> {
    layer: &'a TracingLayer,
    event: &'a Event<'e>,
    ctx: &'a Context<'c, S>,
    site: Callsite,
    from_log: bool,
}

impl<S> RecordItems for EventRecord<'_, '_, '_, S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn write_items<W: ItemWriter>(&self, w: &mut W) {
        let (layer, event) = (self.layer, self.event);
        let meta = event.metadata();
        if self.from_log {
            let mut t = LogTarget(None);
            event.record(&mut t);
            w.str(crate::__logjet_key!(target), t.0.as_deref().unwrap_or("log"));
        } else {
            w.str(crate::__logjet_key!(target), meta.target());
        }
        if layer.file_line {
            if let Some(file) = meta.file() {
                w.str(crate::__logjet_key!(file), file);
            }
            if let Some(line) = meta.line() {
                w.u64(crate::__logjet_key!(line), u64::from(line));
            }
        }
        #[cfg(feature = "opentelemetry")]
        if let Some(span) = self.ctx.event_span(event) {
            if let Some(ids) = layer.trace_ids(&span) {
                let (trace_id, span_id) = ids.split_at(32);
                // Hex digits: always UTF-8.
                if let (Ok(t), Ok(s)) = (std::str::from_utf8(trace_id), std::str::from_utf8(span_id)) {
                    w.str(crate::__logjet_key!(trace_id), t);
                    w.str(crate::__logjet_key!(span_id), s);
                }
            }
        }
        // The request being handled on this thread (`AccessLog`), outside
        // every span.
        crate::scope::with_current(|b| b.capture(w));
        if layer.span_fields != SpanFields::Omit || layer.span_names {
            layer.write_spans(event, self.ctx, w);
        }
        event.record(&mut EventVisitor { cap: w, site: self.site, first: true, keyed: false, from_log: self.from_log });
    }
}

/// The OpenTelemetry ids of a span (its own, or those of its closest
/// ancestor with an OpenTelemetry context), as lowercase hex: the 32 digits
/// of the trace id, then the 16 of the span id. Kept in the span's
/// extensions the first time an event asks, so that later events copy 48
/// bytes.
#[cfg(feature = "opentelemetry")]
struct TraceIds(Option<[u8; 48]>);

#[cfg(feature = "opentelemetry")]
impl TracingLayer {
    /// The ids of `span`, from the span's extensions, asked of
    /// tracing-opentelemetry (`get_otel_context`) once per span.
    fn trace_ids<S>(&self, span: &tracing_subscriber::registry::SpanRef<'_, S>) -> Option<[u8; 48]>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if let Some(ids) = span.extensions().get::<TraceIds>() {
            return ids.0;
        }
        // No extensions lock is held here: tracing-opentelemetry takes it.
        let ids = self.otel_ids(span).or_else(|| span.parent().and_then(|p| self.trace_ids(&p)));
        let mut ext = span.extensions_mut();
        if ext.get_mut::<TraceIds>().is_none() {
            ext.insert(TraceIds(ids));
        }
        ids
    }

    /// Asks tracing-opentelemetry for the span's context: `None` without
    /// its layer, for a span it does not see, or an invalid context.
    fn otel_ids<S>(&self, span: &tracing_subscriber::registry::SpanRef<'_, S>) -> Option<[u8; 48]>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        use opentelemetry::trace::TraceContextExt;
        let dispatch = self.dispatch.get()?.upgrade()?;
        let cx = tracing_opentelemetry::get_otel_context(&span.id(), &dispatch)?;
        let otel_span = cx.span();
        let sc = otel_span.span_context();
        if !sc.is_valid() {
            return None;
        }
        let mut hex = [0u8; 48];
        write_hex(&sc.trace_id().to_bytes(), &mut hex[..32]);
        write_hex(&sc.span_id().to_bytes(), &mut hex[32..]);
        Some(hex)
    }
}

/// Lowercase hex of `bytes` into `out` (twice as long), as W3C trace
/// context writes ids.
#[cfg(feature = "opentelemetry")]
fn write_hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, o) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        o[0] = DIGITS[usize::from(b >> 4)];
        o[1] = DIGITS[usize::from(b & 0xf)];
    }
}

impl TracingLayer {
    /// Writes the spans in scope of `event`, outermost first, without
    /// allocating for up to [`KEYS`] span fields.
    fn write_spans<S, W: ItemWriter>(&self, event: &Event<'_>, ctx: &Context<'_, S>, cap: &mut W)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if self.span_names && self.span_fields != SpanFields::Nested {
            let Some(scope) = ctx.event_scope(event) else { return };
            cap.json_with("spans", |c| {
                c.push(b'[');
                for (i, s) in scope.from_root().enumerate() {
                    if i > 0 {
                        c.push(b',');
                    }
                    write_str(c, s.name().as_bytes());
                }
                c.push(b']');
                Ok(())
            });
        }
        match self.span_fields {
            SpanFields::Omit => {}
            SpanFields::Nested => {
                let Some(scope) = ctx.event_scope(event) else { return };
                cap.json_with("spans", |c| {
                    c.push(b'[');
                    for (i, s) in scope.from_root().enumerate() {
                        if i > 0 {
                            c.push(b',');
                        }
                        c.extend(b"{\"name\":");
                        write_str(c, s.name().as_bytes());
                        if let Some(d) = s.extensions().get::<SpanData>() {
                            for (name, range, ..) in &d.entries {
                                let entry = &d.json[range.clone()];
                                // `name` is the span's: a field `name` is
                                // written `_name`, `_name` `__name`, and so on
                                // (one-to-one, so no key repeats).
                                match name.trim_start_matches('_') {
                                    "name" => {
                                        c.extend(b",\"_");
                                        c.extend(&entry[2..]);
                                    }
                                    _ => c.extend(entry),
                                }
                            }
                        }
                        c.push(b'}');
                    }
                    c.push(b']');
                    Ok(())
                });
            }
            SpanFields::Merge => {
                // Pass 1, innermost first: which field names each depth has,
                // to know what inner spans shadow.
                let Some(scope) = ctx.event_scope(event) else { return };
                let mut seen = KeyList::default();
                let mut depth = 0u32;
                for s in scope {
                    if let Some(d) = s.extensions().get::<SpanData>() {
                        for (k, ..) in &d.entries {
                            seen.push(k, depth);
                        }
                    }
                    depth += 1;
                }
                if seen.is_empty() {
                    return;
                }
                // Pass 2, outermost first: the fields no inner span and no
                // field of the event itself replaces.
                let Some(scope) = ctx.event_scope(event) else { return };
                let fields = event.metadata().fields();
                // Whether field `name` of the span at `depth` is written.
                let kept = |name: &str, depth: u32| fields.field(name).is_none() && !seen.deeper_than(name, depth);
                // One pass: the fragment and the items aside (in this
                // thread's buffers, see `MERGED`), then one bindings item.
                let (mut json, mut items) = MERGED.try_with(Cell::take).unwrap_or_default();
                json.clear();
                items.clear();
                let mut mask = 0;
                for (i, s) in scope.from_root().enumerate() {
                    if let Some(d) = s.extensions().get::<SpanData>() {
                        for (name, range, bit, item) in &d.entries {
                            if kept(name, depth - 1 - i as u32) {
                                json.extend_from_slice(&d.json[range.clone()]);
                                items.extend_from_slice(&d.items[item.clone()]);
                                mask |= bit;
                            }
                        }
                    }
                }
                if !json.is_empty() {
                    cap.bindings(mask, &json, &items);
                }
                if json.capacity() + items.capacity() <= MERGED_SPAN_FIELDS_KEPT {
                    let _ = MERGED.try_with(|m| m.set((json, items)));
                }
            }
        }
    }
}

thread_local! {
    /// The spans' fields of the event being written, merged (their JSON
    /// fragment and their items), kept between a thread's events (up to
    /// `MERGED_SPAN_FIELDS_KEPT` bytes) so that neither is allocated nor
    /// cleared byte by byte per event. Taken out
    /// while in use: an event written meanwhile (none is: nothing in the
    /// merge runs user code) would get empty ones.
    static MERGED: Cell<(Vec<u8>, Vec<u8>)> = const { Cell::new((Vec::new(), Vec::new())) };
}

/// Span field names with their depth (0 = innermost), inline up to
/// [`KEYS`] and on the heap beyond.
const KEYS: usize = 32;

#[derive(Default)]
struct KeyList {
    inline: [(&'static str, u32); KEYS],
    len: usize,
    more: Vec<(&'static str, u32)>,
}

impl KeyList {
    fn push(&mut self, k: &'static str, depth: u32) {
        if self.len < KEYS {
            self.inline[self.len] = (k, depth);
            self.len += 1;
        } else {
            self.more.push((k, depth));
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `k` is a field of a span deeper (more inner) than `depth`.
    fn deeper_than(&self, k: &str, depth: u32) -> bool {
        self.inline[..self.len].iter().chain(&self.more).any(|(name, d)| *d < depth && *name == k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::InPlace;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::prelude::*;

    /// Each event's record as written in place (into the room an event
    /// reserves; `None` when it could not be) and as captured.
    type Seen = Arc<Mutex<Vec<(Option<Vec<u8>>, Vec<u8>)>>>;

    /// A layer that writes each event's record both ways, as
    /// `Logger::log_bounded` would, and keeps both.
    struct BothWays {
        layer: TracingLayer,
        seen: Seen,
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for BothWays {
        fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
            self.layer.on_new_span(attrs, id, ctx)
        }

        fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
            let meta = event.metadata();
            let site = crate::tracing_site::callsite(meta, || callsite_keys(meta, false));
            let rec = EventRecord { layer: &self.layer, event, ctx: &ctx, site, from_log: false };
            let mut room = vec![0; TRACING_EVENT_ROOM];
            let mut w = InPlace::new(&mut room);
            self.layer.logger.begin(&mut w, None);
            rec.write_items(&mut w);
            let in_place = w.written().map(|n| room[..n].to_vec());
            let mut cap = Capture::new(Level::Info, 0);
            self.layer.logger.begin(&mut cap, None);
            rec.write_items(&mut cap);
            self.seen.lock().unwrap().push((in_place, cap.bytes().to_vec()));
        }
    }

    /// Runs `events` through a `BothWays` around `layer` (of a child
    /// logger, so records carry bindings) and returns what it saw.
    fn both_ways(
        layer: impl FnOnce(TracingLayer) -> TracingLayer,
        events: impl FnOnce(),
    ) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
        let (log, _guard) = Logger::builder().sink(crate::sink::Writer::new(std::io::sink())).build().unwrap();
        let child = log.child(crate::fields!(svc = "api"));
        let seen = Seen::default();
        let both = BothWays { layer: layer(TracingLayer::new(&child)), seen: seen.clone() };
        tracing::subscriber::with_default(tracing_subscriber::registry().with(both), events);
        let seen = seen.lock().unwrap().clone();
        seen
    }

    struct Failing;

    impl fmt::Debug for Failing {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("half")?;
            Err(fmt::Error)
        }
    }

    #[test]
    fn an_event_written_in_place_has_the_items_of_its_capture() {
        let long = "x".repeat(TRACING_EVENT_ROOM);
        let err = std::io::Error::other("disk full");
        let seen = both_ways(
            |l| l.file_line(true),
            || {
                let (n, f, s) = std::hint::black_box((7u64, 3.25f64, "GET"));
                tracing::info!(method = s, status = 200u16, latency_ms = f, cached = false, request_id = n, "handled");
                tracing::warn!(min = i128::MIN, max = u128::MAX, neg = -5i64, target = 1, "from {} of {}", n, 9);
                tracing::info!(list = ?vec![1, 2], shown = %format_args!("{n} items"), bad = ?Failing, "debug values");
                // Captured: the message not first, so no call-site item
                // and the keys travel as text.
                tracing::event!(tracing::Level::INFO, a = n, message = "late message");
                let span = tracing::info_span!("request", request_id = 42, method = "GET");
                let _entered = span.enter();
                let inner = tracing::info_span!("query", table = "users", method = "POST");
                let _inner = inner.enter();
                tracing::info!(status = 200, "in spans");
                // Captured: too large for the room, a value only a capture
                // holds.
                tracing::info!(text = long.as_str(), "large");
                tracing::error!(e = &err as &(dyn std::error::Error + 'static), "an error");
            },
        );
        let in_place = [true, true, true, false, true, false, false];
        assert_eq!(seen.len(), in_place.len());
        for (i, ((written, captured), expected)) in seen.iter().zip(in_place).enumerate() {
            assert_eq!(written.is_some(), expected, "event {i} written in place");
            if let Some(bytes) = written {
                assert_eq!(bytes, captured, "event {i}");
            }
        }
        // The in-span event carries the spans' fields (the inner span's
        // `method` replaces the outer one's) as one bindings item.
        let items = &seen[4].1;
        let text = String::from_utf8_lossy(items);
        assert!(text.contains(",\"request_id\":42,\"table\":\"users\",\"method\":\"POST\""), "{text}");
    }

    #[test]
    fn what_only_a_capture_holds_is_not_written_in_place() {
        // The names of the spans are JSON text made by the capture.
        let seen = both_ways(
            |l| l.span_names(true),
            || {
                tracing::info!(a = 1, "outside spans");
                let span = tracing::info_span!("request");
                let _entered = span.enter();
                tracing::info!(a = 2, "inside");
            },
        );
        assert_eq!(seen.len(), 2);
        assert!(seen[0].0.as_ref().is_some_and(|b| *b == seen[0].1));
        assert!(seen[1].0.is_none());
    }
}
