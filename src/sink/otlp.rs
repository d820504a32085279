//! The OTLP/HTTP logs exporter (feature `otlp`): records become the
//! official `opentelemetry-proto` messages on the output thread, batched
//! by size and delay, sent as protobuf or JSON, gzip optional, retried
//! with backoff (honouring `Retry-After`) through the output thread's
//! usual retry loop.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write as _};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;

use super::private::{Format, Sealed, Target};
use super::records::{Consumer, FieldValue, RecordView, RecordsOut};
use super::Sink;
use crate::error::Error;
use crate::level::Level;
use crate::report::Reports;
use crate::tunables::{OTLP_MAX_BATCH, OTLP_MAX_DELAY, OTLP_RETRY_AFTER_MAX, OTLP_RETRY_AFTER_STEP, OTLP_TIMEOUT};

/// The body of an OTLP/HTTP request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpEncoding {
    /// Binary protobuf (`application/x-protobuf`), the OTLP default.
    #[default]
    Protobuf,
    /// OTLP's JSON mapping of the same messages (`application/json`).
    Json,
}

/// Sends records to an OpenTelemetry collector over OTLP/HTTP (feature
/// `otlp`).
///
/// Each record becomes an OTLP `LogRecord` (the official
/// `opentelemetry-proto` types): severity number and text from the level,
/// the body from the message, attributes from the fields and bound fields
/// (nested values as OTLP maps and arrays), `trace_id` and `span_id`
/// fields (hex, as [`TracingLayer`](crate::TracingLayer) writes them with
/// feature `opentelemetry`) as the record's trace and span ids. The
/// resource carries `service.name`, `host.name` and `process.pid`.
///
/// Everything happens on the logger's output thread: the caller never sees
/// the exporter. Records are sent in requests of at most
/// [`max_batch`](Otlp::max_batch) records, at the latest
/// [`max_delay`](Otlp::max_delay) after the oldest of them was taken, and
/// at once when a flush or shutdown waits for them. A request that fails
/// (no connection, a timeout, HTTP 429, 502, 503 or 504) is retried with
/// the output thread's backoff (1 ms doubling to 1 s, and no sooner than a
/// `Retry-After` in seconds allows, up to 30 s): meanwhile the exporter
/// takes no more records, so under [`Overflow::Block`](crate::Overflow)
/// callers wait once the queues are full and nothing is lost, and under
/// `Overflow::Drop` the queues drop (counted). Any other answer (a 400, a
/// 401, a 404, ...) is final, as OTLP says: the request's records are
/// counted as lost and reported on stderr; so are the records a collector
/// reports as rejected in a partial success. Delivery is at least once: a
/// request whose answer was lost with its connection is sent again.
///
/// Plain `http://` only: point it at a collector or agent on the host or
/// the local network (with TLS to the backend from there).
///
/// ```no_run
/// use logjet::{sink, Logger, Overflow};
///
/// let (log, guard) = Logger::builder()
///     .sink(sink::Otlp::http("http://localhost:4318")?.service_name("checkout").gzip(true))
///     .overflow(Overflow::Block)
///     .build()?;
/// logjet::info!(log, "order placed", order_id = 1234, total = 99.5);
/// guard.flush()?; // returns once the collector has answered for every earlier record
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Otlp {
    name: String,
    url: String,
    encoding: OtlpEncoding,
    gzip: bool,
    max_batch: usize,
    max_delay: Duration,
    timeout: Duration,
    service_name: Option<String>,
    resource: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl fmt::Debug for Otlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Otlp")
            .field("url", &self.url)
            .field("encoding", &self.encoding)
            .field("gzip", &self.gzip)
            .field("max_batch", &self.max_batch)
            .field("max_delay", &self.max_delay)
            .finish_non_exhaustive()
    }
}

impl Otlp {
    /// Sends to `endpoint`: a collector's base URL (`http://host:4318`, to
    /// which `/v1/logs` is added) or the full URL of its logs path (any
    /// URL with a path other than `/`, used as it is).
    ///
    /// An error when `endpoint` is not an `http://` URL with a host
    /// (`https://` is not supported: no TLS).
    ///
    /// ```
    /// # #[cfg(feature = "otlp")] {
    /// use logjet::sink::Otlp;
    /// assert!(Otlp::http("http://localhost:4318").is_ok());
    /// assert!(Otlp::http("localhost:4318").is_err());
    /// assert!(Otlp::http("https://collector.example:4318").is_err());
    /// # }
    /// ```
    pub fn http(endpoint: impl Into<String>) -> Result<Otlp, Error> {
        let mut url: String = endpoint.into();
        let uri: ureq::http::Uri =
            url.parse().map_err(|e| Error::config(format!("OTLP endpoint {url:?}: not a URL ({e})")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(Error::config(format!(
                    "OTLP endpoint {url:?}: https is not supported (no TLS); send to a local collector over http"
                )))
            }
            _ => return Err(Error::config(format!("OTLP endpoint {url:?}: not an http:// URL"))),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(Error::config(format!("OTLP endpoint {url:?}: no host")));
        }
        if uri.path().is_empty() || uri.path() == "/" {
            url = format!("{}://{}/v1/logs", "http", uri.authority().map_or("", |a| a.as_str()));
            if let Some(q) = uri.query() {
                url.push('?');
                url.push_str(q);
            }
        }
        Ok(Otlp {
            name: format!("otlp {url}"),
            url,
            encoding: OtlpEncoding::Protobuf,
            gzip: false,
            max_batch: OTLP_MAX_BATCH,
            max_delay: OTLP_MAX_DELAY,
            timeout: OTLP_TIMEOUT,
            service_name: None,
            resource: Vec::new(),
            headers: Vec::new(),
        })
    }

    /// The body's encoding (default [`OtlpEncoding::Protobuf`]).
    pub fn encoding(mut self, encoding: OtlpEncoding) -> Otlp {
        self.encoding = encoding;
        self
    }

    /// Compresses request bodies with gzip (`Content-Encoding: gzip`).
    pub fn gzip(mut self, yes: bool) -> Otlp {
        self.gzip = yes;
        self
    }

    /// The most records in one request (default 512, as OpenTelemetry's
    /// batch processor; at least 1).
    pub fn max_batch(mut self, n: usize) -> Otlp {
        self.max_batch = n.max(1);
        self
    }

    /// The longest a record waits for others to share its request (default
    /// 1 s, as OpenTelemetry's batch processor). A flush or shutdown sends
    /// at once.
    pub fn max_delay(mut self, d: Duration) -> Otlp {
        self.max_delay = d;
        self
    }

    /// The longest one request may take, connecting included (default
    /// 10 s); a request that takes longer is retried.
    pub fn timeout(mut self, d: Duration) -> Otlp {
        self.timeout = d;
        self
    }

    /// The resource's `service.name` (default: the executable's name).
    pub fn service_name(mut self, name: impl Into<String>) -> Otlp {
        self.service_name = Some(name.into());
        self
    }

    /// Adds a resource attribute (`deployment.environment.name`,
    /// `service.version`, ...); a key given twice keeps the last value.
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Otlp {
        let key = key.into();
        self.resource.retain(|(k, _)| *k != key);
        self.resource.push((key, value.into()));
        self
    }

    /// Adds a header to every request (an API key, a tenant id). An error
    /// when the name or the value cannot be an HTTP header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Result<Otlp, Error> {
        let (name, value) = (name.into(), value.into());
        if ureq::http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || ureq::http::HeaderValue::from_str(&value).is_err()
        {
            return Err(Error::config(format!("OTLP header {name:?}: not a valid HTTP header name and value")));
        }
        self.headers.push((name, value));
        Ok(self)
    }

    /// Names the sink in error reports (default `"otlp URL"`).
    pub fn name(mut self, name: impl Into<String>) -> Otlp {
        self.name = name.into();
        self
    }

    fn resource(&self) -> Resource {
        let service = self.service_name.clone().unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .map_or_else(|| "unknown_service".to_owned(), |s| format!("unknown_service:{s}"))
        });
        let mut attrs = vec![
            kv("service.name", string(service)),
            kv("host.name", string(gethostname::gethostname().to_string_lossy().into_owned())),
            kv("process.pid", AnyValue { value: Some(any_value::Value::IntValue(i64::from(std::process::id()))) }),
        ];
        for (k, v) in &self.resource {
            attrs.retain(|a| a.key != *k);
            attrs.push(kv(k, string(v.clone())));
        }
        Resource { attributes: attrs, ..Default::default() }
    }
}

impl Sink for Otlp {}
impl Sealed for Otlp {
    fn into_target(self) -> Target {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(self.timeout)).http_status_as_error(false).build().into();
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(self.resource()),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "logjet".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    log_records: Vec::new(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        let exporter = Exporter {
            name: self.name.clone(),
            agent,
            url: self.url,
            encoding: self.encoding,
            gzip: self.gzip,
            headers: self.headers,
            max_batch: self.max_batch,
            max_delay: self.max_delay,
            request,
            pending: Vec::with_capacity(self.max_batch),
            spare: Vec::with_capacity(self.max_batch),
            fresh: 0,
            oldest: None,
            not_before: None,
            body: Vec::new(),
            zipped: Vec::new(),
            lost: 0,
            reports: Reports::default(),
        };
        Target { name: self.name, out: Box::new(RecordsOut::new(exporter)), format: Format::Records }
    }
}

/// The exporter on the output thread.
struct Exporter {
    name: String,
    agent: ureq::Agent,
    url: String,
    encoding: OtlpEncoding,
    gzip: bool,
    headers: Vec<(String, String)>,
    max_batch: usize,
    max_delay: Duration,
    /// The request, its resource and scope made once; its records are
    /// swapped in to encode it.
    request: ExportLogsServiceRequest,
    /// Records taken and not yet sent (at most `max_batch`).
    pending: Vec<LogRecord>,
    /// Records sent, kept to be filled again (their strings and lists
    /// keep their memory).
    spare: Vec<LogRecord>,
    /// Records taken from the batch being written (not yet counted as
    /// written: the batch's flush has not returned).
    fresh: usize,
    /// When the oldest pending record was taken.
    oldest: Option<Instant>,
    /// No request before this (`Retry-After`).
    not_before: Option<Instant>,
    body: Vec<u8>,
    zipped: Vec<u8>,
    /// Records dropped after they were taken (a final refusal).
    lost: u64,
    reports: Reports,
}

impl Consumer for Exporter {
    fn write(&mut self, rec: &RecordView<'_>) -> io::Result<()> {
        if self.pending.len() >= self.max_batch {
            // Full: this record waits (is offered again) until they are sent.
            self.send()?;
        }
        let mut r = self.spare.pop().unwrap_or_default();
        fill(&mut r, rec);
        self.pending.push(r);
        self.fresh += 1;
        self.oldest.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()?;
        self.fresh = 0;
        Ok(())
    }

    fn flush_lazy(&mut self) -> io::Result<()> {
        let full = self.pending.len() >= self.max_batch;
        if full || self.due().is_some_and(|d| d <= Instant::now()) {
            self.send()?;
        }
        // The batch is done: its records count as written.
        self.fresh = 0;
        Ok(())
    }

    fn due(&self) -> Option<Instant> {
        self.oldest.map(|t| t + self.max_delay)
    }

    fn abandon(&mut self) {
        // The records of the batch being written are counted with it.
        self.lost += self.pending.len().saturating_sub(self.fresh) as u64;
        self.fresh = 0;
        self.sent();
    }

    fn take_lost(&mut self) -> u64 {
        std::mem::take(&mut self.lost)
    }
}

impl Exporter {
    /// Sends the pending records in one request. An error (to retry) keeps
    /// them; a final refusal drops and counts them.
    fn send(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Some(t) = self.not_before {
            let now = Instant::now();
            if now < t {
                std::thread::sleep((t - now).min(OTLP_RETRY_AFTER_STEP));
                if Instant::now() < t {
                    return Err(io::Error::other("waiting as the collector's Retry-After asked"));
                }
            }
            self.not_before = None;
        }
        self.encode()?;
        let content_type = match self.encoding {
            OtlpEncoding::Protobuf => "application/x-protobuf",
            OtlpEncoding::Json => "application/json",
        };
        let mut req = self.agent.post(&self.url).header("content-type", content_type);
        if self.gzip {
            req = req.header("content-encoding", "gzip");
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let body = if self.gzip { &self.zipped } else { &self.body };
        // Every transport failure is retried: never `BrokenPipe` (which
        // would mark the sink gone for good) nor `Interrupted`.
        let mut resp = req.send(&body[..]).map_err(|e| io::Error::other(format!("POST {}: {e}", self.url)))?;
        let status = resp.status().as_u16();
        let n = self.pending.len() as u64;
        match status {
            200..=299 => {
                let answer = resp.body_mut().read_to_vec().unwrap_or_default();
                self.partial_success(&answer);
                self.sent();
                Ok(())
            }
            429 | 502 | 503 | 504 => {
                let wait = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(|s| Duration::from_secs(s).min(OTLP_RETRY_AFTER_MAX));
                if let Some(wait) = wait {
                    self.not_before = Some(Instant::now() + wait);
                }
                let _ = resp.body_mut().read_to_vec();
                Err(io::Error::other(format!("the collector answered {status}; retrying")))
            }
            _ => {
                let answer = resp.body_mut().read_to_string().unwrap_or_default();
                let answer: String = answer.chars().take(200).collect();
                self.reports.force(
                    &self.name,
                    format_args!("the collector refused {n} records for good: HTTP {status} {answer}"),
                );
                self.lost += n;
                self.sent();
                Ok(())
            }
        }
    }

    /// Encodes the pending records into `body` (and `zipped`).
    fn encode(&mut self) -> io::Result<()> {
        let Some(scope) = self.request.resource_logs.first_mut().and_then(|r| r.scope_logs.first_mut()) else {
            return Err(io::Error::other("internal error: the OTLP request has no scope"));
        };
        std::mem::swap(&mut scope.log_records, &mut self.pending);
        self.body.clear();
        let encoded = match self.encoding {
            OtlpEncoding::Protobuf => self.request.encode(&mut self.body).map_err(io::Error::other),
            OtlpEncoding::Json => serde_json::to_writer(&mut self.body, &self.request).map_err(io::Error::other),
        };
        if let Some(scope) = self.request.resource_logs.first_mut().and_then(|r| r.scope_logs.first_mut()) {
            std::mem::swap(&mut scope.log_records, &mut self.pending);
        }
        encoded?;
        if self.gzip {
            self.zipped.clear();
            let mut z = flate2::write::GzEncoder::new(&mut self.zipped, flate2::Compression::fast());
            z.write_all(&self.body)?;
            z.finish()?;
        }
        Ok(())
    }

    /// The pending records are answered for (or given up): kept to be
    /// filled again.
    fn sent(&mut self) {
        self.spare.append(&mut self.pending);
        self.oldest = None;
    }

    /// A success that rejected some records: counted as lost, reported.
    fn partial_success(&mut self, answer: &[u8]) {
        if answer.is_empty() {
            return;
        }
        let resp = match self.encoding {
            OtlpEncoding::Protobuf => ExportLogsServiceResponse::decode(answer).ok(),
            OtlpEncoding::Json => serde_json::from_slice::<ExportLogsServiceResponse>(answer).ok(),
        };
        if let Some(p) = resp.and_then(|r| r.partial_success) {
            if p.rejected_log_records > 0 {
                self.lost += p.rejected_log_records as u64;
                self.reports.force(
                    &self.name,
                    format_args!(
                        "the collector rejected {} records: {}",
                        p.rejected_log_records,
                        p.error_message.chars().take(200).collect::<String>()
                    ),
                );
            }
        }
    }
}

/// The OTLP severity number of a level.
fn severity(level: Level) -> i32 {
    match level {
        Level::Trace => 1,
        Level::Debug => 5,
        Level::Info => 9,
        Level::Warn => 13,
        Level::Error => 17,
        Level::Fatal => 21,
    }
}

/// Fills `r` (a record sent before, or a new one) with `rec`, reusing its
/// strings and attribute list: in a steady stream a record costs no
/// allocation.
fn fill(r: &mut LogRecord, rec: &RecordView<'_>) {
    r.time_unix_nano = rec.unix_nanos();
    r.observed_time_unix_nano = rec.unix_nanos();
    if r.observed_time_unix_nano == 0 {
        r.observed_time_unix_nano = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }
    r.severity_number = severity(rec.level());
    set_str(&mut r.severity_text, rec.level().as_str());
    r.dropped_attributes_count = 0;
    r.flags = 0;
    r.trace_id.clear();
    r.span_id.clear();
    r.event_name.clear();
    if rec.message().is_empty() {
        r.body = None;
    } else {
        set_any(&mut r.body, FieldValue::Str(Cow::Borrowed(rec.message())));
    }
    let mut used = 0;
    let mut has_ns_field = false;
    if let Some(ns) = rec.namespace() {
        next_attr(&mut r.attributes, &mut used, "ns", FieldValue::Str(Cow::Borrowed(ns)));
    }
    for (key, value) in rec.fields() {
        match (&*key, &value) {
            ("trace_id", FieldValue::Str(hex)) if r.trace_id.is_empty() => {
                if let Some(id) = unhex::<16>(hex) {
                    r.trace_id.extend_from_slice(&id);
                    continue;
                }
            }
            ("span_id", FieldValue::Str(hex)) if r.span_id.is_empty() => {
                if let Some(id) = unhex::<8>(hex) {
                    r.span_id.extend_from_slice(&id);
                    continue;
                }
            }
            ("ns", _) => has_ns_field = true,
            _ => {}
        }
        next_attr(&mut r.attributes, &mut used, &key, value);
    }
    r.attributes.truncate(used);
    if has_ns_field && rec.namespace().is_some() {
        // A field named `ns` wins over the debug namespace (one key once).
        r.attributes.remove(0);
    }
}

/// Sets attribute `*used` (reusing the one there) and counts it.
fn next_attr(attrs: &mut Vec<KeyValue>, used: &mut usize, key: &str, value: FieldValue<'_>) {
    match attrs.get_mut(*used) {
        Some(kv) => {
            set_str(&mut kv.key, key);
            kv.key_strindex = 0;
            set_any(&mut kv.value, value);
        }
        None => attrs.push(KeyValue { key: key.to_owned(), value: Some(any(value)), ..Default::default() }),
    }
    *used += 1;
}

fn set_str(s: &mut String, v: &str) {
    s.clear();
    s.push_str(v);
}

/// Sets `slot` to `v`, reusing its string when it holds one and `v` is text.
fn set_any(slot: &mut Option<AnyValue>, v: FieldValue<'_>) {
    if let (Some(AnyValue { value: Some(any_value::Value::StringValue(s)) }), FieldValue::Str(text)) = (&mut *slot, &v)
    {
        set_str(s, text);
        return;
    }
    *slot = Some(any(v));
}

/// `N` bytes from `2N` hex digits; `None` for anything else or all zeros
/// (an invalid id in OTLP).
fn unhex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let b = hex.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        *o = (digit(b[2 * i])? * 16 + digit(b[2 * i + 1])?) as u8;
    }
    (out != [0; N]).then_some(out)
}

fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(value), ..Default::default() }
}

fn string(s: String) -> AnyValue {
    AnyValue { value: Some(any_value::Value::StringValue(s)) }
}

fn int(n: i64) -> AnyValue {
    AnyValue { value: Some(any_value::Value::IntValue(n)) }
}

/// A float; NaN and the infinities as strings, as the NDJSON line writes
/// them (OTLP's JSON encoding has no other way to carry them).
fn double(f: f64) -> AnyValue {
    if f.is_finite() {
        AnyValue { value: Some(any_value::Value::DoubleValue(f)) }
    } else {
        let name = match f {
            f if f.is_nan() => "NaN",
            f if f > 0.0 => "Infinity",
            _ => "-Infinity",
        };
        string(name.to_owned())
    }
}

/// A field's value as an OTLP value: integers beyond `i64` as decimal
/// strings (exact), bytes as text (invalid UTF-8 replaced, as the NDJSON
/// line has it), JSON objects and arrays as maps and arrays.
fn any(v: FieldValue<'_>) -> AnyValue {
    match v {
        FieldValue::Str(s) => string(s.into_owned()),
        FieldValue::I64(n) => int(n),
        FieldValue::U64(n) => i64::try_from(n).map_or_else(|_| string(n.to_string()), int),
        FieldValue::I128(n) => i64::try_from(n).map_or_else(|_| string(n.to_string()), int),
        FieldValue::U128(n) => i64::try_from(n).map_or_else(|_| string(n.to_string()), int),
        FieldValue::F64(f) => double(f),
        FieldValue::Bool(b) => AnyValue { value: Some(any_value::Value::BoolValue(b)) },
        FieldValue::Null => AnyValue { value: None },
        FieldValue::Bytes(b) => string(String::from_utf8_lossy(b).into_owned()),
        FieldValue::Json(text) => match serde_json::from_str::<Any>(text) {
            Ok(Any(v)) => v,
            Err(_) => string(text.to_owned()),
        },
    }
}

/// A JSON value read straight into an OTLP value, members in their order.
struct Any(AnyValue);

impl<'de> serde::Deserialize<'de> for Any {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Any, D::Error> {
        d.deserialize_any(AnyVisitor)
    }
}

struct AnyVisitor;

impl<'de> serde::de::Visitor<'de> for AnyVisitor {
    type Value = Any;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Any, E> {
        Ok(Any(AnyValue { value: Some(any_value::Value::BoolValue(v)) }))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Any, E> {
        Ok(Any(int(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Any, E> {
        Ok(Any(any(FieldValue::U64(v))))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Any, E> {
        Ok(Any(double(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Any, E> {
        Ok(Any(string(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Any, E> {
        Ok(Any(string(v)))
    }
    fn visit_unit<E>(self) -> Result<Any, E> {
        Ok(Any(AnyValue { value: None }))
    }
    fn visit_none<E>(self) -> Result<Any, E> {
        Ok(Any(AnyValue { value: None }))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Any, A::Error> {
        let mut values = Vec::new();
        while let Some(Any(v)) = seq.next_element()? {
            values.push(v);
        }
        Ok(Any(AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values })) }))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Any, A::Error> {
        let mut values: Vec<KeyValue> = Vec::new();
        while let Some((k, Any(v))) = map.next_entry::<Cow<'de, str>, Any>()? {
            // A later member replaces an earlier one, as in the NDJSON line.
            values.retain(|e| e.key != *k);
            values.push(KeyValue { key: k.into_owned(), value: Some(v), ..Default::default() });
        }
        Ok(Any(AnyValue { value: Some(any_value::Value::KvlistValue(KeyValueList { values })) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_get_the_logs_path_only_when_they_have_no_path() {
        let url = |e: &str| Otlp::http(e).map(|o| o.url).map_err(|e| e.to_string());
        assert_eq!(url("http://localhost:4318").unwrap(), "http://localhost:4318/v1/logs");
        assert_eq!(url("http://localhost:4318/").unwrap(), "http://localhost:4318/v1/logs");
        assert_eq!(url("http://c:4318/custom/logs").unwrap(), "http://c:4318/custom/logs");
        assert_eq!(url("http://[::1]:4318").unwrap(), "http://[::1]:4318/v1/logs");
        for bad in ["", "localhost:4318", "https://c:4318", "ftp://c", "http://", "http://a b"] {
            assert!(url(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn headers_are_checked() {
        let o = || Otlp::http("http://c").unwrap();
        assert!(o().header("x-api-key", "k").is_ok());
        assert!(o().header("bad name", "k").is_err());
        assert!(o().header("x", "line\nbreak").is_err());
    }

    #[test]
    fn ids_are_hex_of_the_right_length_and_not_zero() {
        assert_eq!(unhex::<2>("0aFf"), Some([0x0a, 0xff]));
        assert_eq!(unhex::<2>("0aF"), None);
        assert_eq!(unhex::<2>("0g00"), None);
        assert_eq!(unhex::<2>("0000"), None);
    }

    #[test]
    fn nested_json_keeps_member_order_and_the_last_repeated_member() {
        let v = any(FieldValue::Json(r#"{"b":1,"a":[true,null,2.5,"x"],"b":2,"u":18446744073709551615}"#));
        let Some(any_value::Value::KvlistValue(kv)) = v.value else { panic!("a map: {v:?}") };
        let keys: Vec<&str> = kv.values.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "u"]);
        assert_eq!(kv.values[1].value, Some(int(2)));
        assert_eq!(kv.values[2].value, Some(string("18446744073709551615".into())));
    }
}
