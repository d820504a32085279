//! An HTTP access log for tower services (axum, hyper, tonic): one record
//! per request, a request id on every record logged while handling it.

use crate::record::ItemWriter as _;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH};
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::level::Level;
use crate::logger::Logger;
use crate::record::Record;

/// The request id header, read from requests and set on responses (a
/// static: `from_static` checks its text once, at compile time).
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest `x-request-id` taken from a request, in bytes; a longer one
/// (or an empty one, or one with other bytes than visible ASCII) is
/// replaced by a generated id.
const MAX_REQUEST_ID: usize = 128;

/// A tower [`Layer`] that writes one record per HTTP request through a
/// logjet [`Logger`] (feature `tower`), and gives every record logged while
/// handling the request the request's id.
///
/// ```
/// use axum::{routing::get, Extension, Router};
///
/// async fn hello(Extension(log): Extension<logjet::Logger>) -> &'static str {
///     logjet::info!(log, "saying hello"); // carries "request_id"
///     "hello"
/// }
///
/// let (log, guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
/// let app: Router = Router::new().route("/hello", get(hello)).layer(logjet::AccessLog::new(&log));
/// // axum::serve(listener, app).await?;
/// // {"level":30,...,"request_id":"5f0c9a27d1e4b8a30000000000000001","method":"GET","path":"/hello","status":200,"latency_ms":0.041,"bytes":5,"msg":"request completed"}
/// # drop(app);
/// guard.flush()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Each request:
///
/// - gets an id: the request's `x-request-id` header when it has a usable
///   one (1 to 128 visible ASCII characters), else a generated one (32
///   lowercase hex digits: a random 64-bit prefix drawn once per process,
///   then a counter), which is also set on the request, so a handler
///   forwarding it to other services finds it in the request's headers.
///   The response's `x-request-id` header is set to the id (replacing one
///   the service set).
/// - gets a child of the logger with `request_id` bound, in its extensions:
///   `req.extensions().get::<logjet::Logger>()`, or axum's
///   `Extension<logjet::Logger>` extractor. Records logged through it carry
///   `"request_id"`.
/// - with the `tracing` feature, makes the child's bindings current on the
///   thread while it calls and polls the inner service, so `tracing` events
///   of the handler written by a [`TracingLayer`](crate::TracingLayer)
///   carry `"request_id"` too, without a `tracing` span per request (a task
///   the handler spawns does not inherit it). With
///   [`span(true)`](AccessLog::span) it runs inside an `info` span named
///   `request` with a `request_id` field instead, for other layers to see
///   (`fmt`, OpenTelemetry).
/// - is logged once its response (its head) is ready, through the child,
///   with `method`, `path` (without the query string, which may hold
///   secrets), `status`, `latency_ms` (from the call to the response head,
///   as a float of milliseconds) and `bytes`: the response's
///   `Content-Length`, else the body's exact size hint (axum knows it for
///   every fixed body). A streamed body of unknown size has no `bytes` and
///   its `latency_ms` does not include sending the body.
///
/// Levels: `info` for 1xx to 3xx, `warn` for 4xx, `error` for 5xx
/// ([`levels`](AccessLog::levels) changes them). A service error (tower's
/// `Err`, which axum's services never return) is logged at the 5xx level as
/// `"request failed"` without `status`; a request whose future is dropped
/// before its response is ready (the client went away) is logged at the
/// 4xx level as `"request cancelled"`, with its `latency_ms`.
#[derive(Clone, Debug)]
pub struct AccessLog {
    logger: Logger,
    levels: Levels,
    /// Whether the inner service runs inside a `request` span.
    span: bool,
}

/// The request's bindings while they are not current on a thread (feature
/// `tracing`: [`crate::scope`]).
#[cfg(feature = "tracing")]
type Scope = Option<std::sync::Arc<crate::logger::Bindings>>;
#[cfg(not(feature = "tracing"))]
type Scope = ();

/// Runs `f` with the request's bindings current on this thread.
#[cfg(feature = "tracing")]
#[inline]
fn within<R>(scope: &mut Scope, f: impl FnOnce() -> R) -> R {
    crate::scope::within(scope, f)
}

#[cfg(not(feature = "tracing"))]
#[inline(always)]
fn within<R>(_: &mut Scope, f: impl FnOnce() -> R) -> R {
    f()
}

/// The level of each kind of outcome.
#[derive(Clone, Copy, Debug)]
struct Levels {
    ok: Level,
    client_error: Level,
    server_error: Level,
}

impl Levels {
    /// The highest of the three: a logger that does not take it takes
    /// none, and nothing is captured.
    fn highest(&self) -> Level {
        self.ok.max(self.client_error).max(self.server_error)
    }
}

impl AccessLog {
    /// An access log writing through `logger` (a clone is kept; a child's
    /// bound fields are written on every record).
    pub fn new(logger: &Logger) -> AccessLog {
        AccessLog {
            logger: logger.clone(),
            levels: Levels { ok: Level::Info, client_error: Level::Warn, server_error: Level::Error },
            span: false,
        }
    }

    /// Whether the inner service runs inside an `info` span named
    /// `request` with a `request_id` field (feature `tracing`; default
    /// `false`). Without it, a [`TracingLayer`](crate::TracingLayer) still
    /// adds `request_id` to the handler's `tracing` events (the request's
    /// bindings are current on the thread while its future is polled);
    /// with it, other layers see the request too (`fmt` prints the span,
    /// tracing-opentelemetry makes it an OpenTelemetry span), at the cost
    /// of the span's creation, entry, exit and close in the registry:
    /// about 3,100 instructions, 1,152 against 679 ns per request on the
    /// caller with a `TracingLayer` registry on the 2-core VM (`cargo bench
    /// --bench access_log --features tower,tracing`, one run, 2026-11-27).
    ///
    /// ```
    /// # let (log, _guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
    /// let access = logjet::AccessLog::new(&log).span(true);
    /// # drop(access);
    /// # Ok::<(), logjet::Error>(())
    /// ```
    pub fn span(mut self, yes: bool) -> AccessLog {
        self.span = yes;
        self
    }

    /// The levels of the records of responses with a status below 400, of
    /// 4xx responses (and cancelled requests) and of 5xx responses (and
    /// service errors). Default: `Info`, `Warn`, `Error`.
    ///
    /// ```
    /// use logjet::Level;
    /// # let (log, _guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
    /// let access = logjet::AccessLog::new(&log).levels(Level::Debug, Level::Info, Level::Error);
    /// # drop(access);
    /// # Ok::<(), logjet::Error>(())
    /// ```
    pub fn levels(mut self, ok: Level, client_error: Level, server_error: Level) -> AccessLog {
        self.levels = Levels { ok, client_error, server_error };
        self
    }
}

impl<S> Layer<S> for AccessLog {
    type Service = AccessLogService<S>;

    fn layer(&self, inner: S) -> AccessLogService<S> {
        AccessLogService { inner, logger: self.logger.clone(), levels: self.levels, span: self.span }
    }
}

/// The service [`AccessLog`] wraps around another.
#[derive(Clone, Debug)]
pub struct AccessLogService<S> {
    inner: S,
    logger: Logger,
    levels: Levels,
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    span: bool,
}

impl<S, B, RB> Service<Request<B>> for AccessLogService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    RB: http_body::Body,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = AccessLogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> AccessLogFuture<S::Future> {
        let start = Instant::now();
        let mut buf = [0u8; 32];
        let given = req.headers().get(&X_REQUEST_ID).filter(|v| usable_id(v.as_bytes())).cloned();
        let id = match given {
            Some(v) => v,
            None => {
                let v = HeaderValue::from_bytes(generate_id(&mut buf)).unwrap_or(HeaderValue::from_static("0"));
                req.headers_mut().insert(X_REQUEST_ID.clone(), v.clone());
                v
            }
        };
        // `usable_id` and `generate_id` keep to visible ASCII.
        let id_str = id.to_str().unwrap_or_default();
        let log = self.logger.child_str("request_id", id_str);
        let rec = log.enabled(self.levels.highest()).then(|| {
            let mut rec = log.start(Level::Info, None);
            rec.str(crate::__logjet_key!(method), req.method().as_str());
            rec.str(crate::__logjet_key!(path), req.uri().path());
            rec
        });
        #[cfg(feature = "tracing")]
        let (span, mut scope) = if self.span {
            (tracing::info_span!("request", request_id = id_str), None)
        } else {
            (tracing::Span::none(), log.bindings.clone())
        };
        #[cfg(not(feature = "tracing"))]
        let (span, mut scope) = (NoSpan, ());
        req.extensions_mut().insert(log.clone());
        let inner = {
            let _entered = span.enter();
            within(&mut scope, || self.inner.call(req))
        };
        AccessLogFuture { inner, span, scope, state: Some(Pending { start, log, rec, id, levels: self.levels }) }
    }
}

#[cfg(feature = "tracing")]
type RequestSpan = tracing::Span;
#[cfg(not(feature = "tracing"))]
type RequestSpan = NoSpan;

/// Without the `tracing` feature: no span.
#[cfg(not(feature = "tracing"))]
struct NoSpan;

#[cfg(not(feature = "tracing"))]
impl NoSpan {
    #[inline(always)]
    fn enter(&self) -> NoSpan {
        NoSpan
    }
}

/// What the record of a request in flight needs.
struct Pending {
    start: Instant,
    /// The child with `request_id`.
    log: Logger,
    /// The record, with `method` and `path` captured at the call (`None`
    /// when the logger takes none of the levels).
    rec: Option<Record>,
    id: HeaderValue,
    levels: Levels,
}

impl Pending {
    /// Logs the outcome: `status` and `bytes` when there is a response.
    fn finish(self, level: Level, status: Option<u16>, bytes: Option<u64>, msg: &str) {
        let Some(mut rec) = self.rec else { return };
        if !self.log.enabled(level) {
            return;
        }
        // Nanoseconds over 1e6: the shortest decimal is exact (no `0.0359170000000004`).
        let latency_ms = self.start.elapsed().as_nanos() as f64 / 1e6;
        rec.level = level;
        if let Some(status) = status {
            rec.u64(crate::__logjet_key!(status), u64::from(status));
        }
        rec.f64(crate::__logjet_key!(latency_ms), latency_ms);
        if let Some(bytes) = bytes {
            rec.u64(crate::__logjet_key!(bytes), bytes);
        }
        rec.msg(msg);
        self.log.send(&rec);
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`AccessLogService`]: the inner service's,
    /// polled with the request current (in its span, with `span(true)`); it logs the request once the
    /// response is ready, or when it is dropped before.
    pub struct AccessLogFuture<F> {
        #[pin]
        inner: F,
        span: RequestSpan,
        scope: Scope,
        state: Option<Pending>,
    }

    impl<F> PinnedDrop for AccessLogFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(p) = this.state.take() {
                let level = p.levels.client_error;
                p.finish(level, None, None, "request cancelled");
            }
        }
    }
}

impl<F> fmt::Debug for AccessLogFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessLogFuture").field("pending", &self.state.is_some()).finish_non_exhaustive()
    }
}

impl<F, RB, E> Future for AccessLogFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
    RB: http_body::Body,
{
    type Output = Result<Response<RB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut out = {
            let _entered = this.span.enter();
            let inner = this.inner;
            ready!(within(this.scope, || inner.poll(cx)))
        };
        if let Some(p) = this.state.take() {
            match &mut out {
                Ok(resp) => {
                    resp.headers_mut().insert(X_REQUEST_ID.clone(), p.id.clone());
                    let status = resp.status();
                    let level = if status.is_server_error() {
                        p.levels.server_error
                    } else if status.is_client_error() {
                        p.levels.client_error
                    } else {
                        p.levels.ok
                    };
                    let bytes = content_length(resp);
                    p.finish(level, Some(status.as_u16()), bytes, "request completed");
                }
                Err(_) => {
                    let level = p.levels.server_error;
                    p.finish(level, None, None, "request failed");
                }
            }
        }
        Poll::Ready(out)
    }
}

/// The response's `Content-Length`, else its body's exact size hint.
fn content_length<B: http_body::Body>(resp: &Response<B>) -> Option<u64> {
    resp.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        .and_then(|s| s.trim().parse().ok())
        .or_else(|| resp.body().size_hint().exact())
}

/// Whether a request's `x-request-id` is kept: 1 to [`MAX_REQUEST_ID`]
/// bytes of visible ASCII (no space, nothing to escape in a header).
fn usable_id(v: &[u8]) -> bool {
    !v.is_empty() && v.len() <= MAX_REQUEST_ID && v.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// A new request id in `buf`: this process's random 64-bit prefix, then a
/// counter, as 32 lowercase hex digits.
fn generate_id(buf: &mut [u8; 32]) -> &[u8] {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let prefix = *PREFIX.get_or_init(random_u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    hex(&prefix.to_be_bytes(), &mut buf[..16]);
    hex(&n.to_be_bytes(), &mut buf[16..]);
    buf
}

/// 64 random bits without a dependency: std's `RandomState` is seeded from
/// the OS's randomness; the process id and the time go in too.
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish()
}

/// Lowercase hex of `bytes` into `out` (twice as long).
fn hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, o) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        o[0] = DIGITS[usize::from(b >> 4)];
        o[1] = DIGITS[usize::from(b & 0xf)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_hex_and_unique() {
        let mut a = [0; 32];
        let mut b = [0; 32];
        let a = generate_id(&mut a).to_vec();
        let b = generate_id(&mut b).to_vec();
        assert_ne!(a, b);
        assert_eq!(a[..16], b[..16], "one prefix per process");
        for id in [&a, &b] {
            assert!(id.iter().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert!(usable_id(id));
        }
    }

    #[test]
    fn child_str_binds_like_child() {
        let (log, _guard) = Logger::builder().sink(crate::sink::Writer::new(std::io::sink())).build().unwrap();
        let parent = log.child(crate::fields!(app = "api", request_id = 1, "x\"y" = 2));
        for id in ["abc", "q\"uote\\d"] {
            let by_fields = format!("{:?}", parent.child(crate::fields!(request_id = id)));
            let by_str = format!("{:?}", parent.child_str("request_id", id));
            assert_eq!(by_str, by_fields);
            let grandchild = |l: &Logger| format!("{:?}", l.child(crate::fields!(user = 7, request_id = "z")));
            assert_eq!(
                grandchild(&parent.child_str("request_id", id)),
                grandchild(&parent.child(crate::fields!(request_id = id)))
            );
        }
    }

    #[test]
    fn usable_ids() {
        assert!(usable_id(b"abc-123_XYZ"));
        assert!(!usable_id(b""));
        assert!(!usable_id(b"has space"));
        assert!(!usable_id(&[b'a'; MAX_REQUEST_ID + 1]));
        assert!(usable_id(&[b'a'; MAX_REQUEST_ID]));
    }
}
