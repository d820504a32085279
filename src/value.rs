//! Field values: fast paths for the common types, errors, and any
//! `serde::Serialize`.
//!
//! The macros pick, for each field, the first of three ways that applies to
//! the value's type (by "autoref specialization", resolved at compile time):
//!
//! 1. [`Value`]: strings, integers, floats, booleans, `Option`s of them,
//!    paths, OS strings and byte slices are captured raw, with no serde call
//!    and no JSON work on the caller's thread;
//! 2. any `std::error::Error`: written like pino's `err` serializer, with
//!    the `source()` chain;
//! 3. any `serde::Serialize`: written as JSON on the caller's thread.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use crate::format::escape::write_str;
use crate::format::ser::EscapeFmt;
use crate::record::{Capture, Key, Out};

/// A type with a fast path: captured as a typed value, formatted later by the
/// writer thread.
///
/// Implemented for `str`, `String`, `Cow<str>`, `char`, `bool`, every
/// integer and float type, `()`, `Option<T>`, byte slices `[u8]` (written
/// as UTF-8 text, invalid sequences replaced by U+FFFD), `Path`,
/// `PathBuf`, `OsStr`, `OsString` (also lossy) and references, boxes and
/// `Arc`/`Rc` of those. Other values go through `serde::Serialize` or, for
/// errors, the error serializer; you never need to implement this trait.
///
/// A `Vec<u8>` or `[u8; N]` is deliberately not a `Value` (an integer
/// literal like `vec![1, 2, 3]` would be inferred as bytes): it is written
/// by serde as an array of numbers. Pass `&v[..]` to write bytes as text.
pub trait Value {
    /// Captures `self` as the field `key`.
    #[doc(hidden)]
    fn capture(&self, key: Key<'_>, c: &mut Capture);
}

impl<T: Value + ?Sized> Value for &T {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        (**self).capture(key, c)
    }
}

impl<T: Value + ?Sized> Value for &mut T {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        (**self).capture(key, c)
    }
}

macro_rules! forward_value {
    ($($t:ty),*) => {$(
        impl<T: Value + ?Sized> Value for $t {
            #[inline(always)]
            fn capture(&self, key: Key<'_>, c: &mut Capture) {
                (**self).capture(key, c)
            }
        }
    )*};
}
forward_value!(Box<T>, Arc<T>, Rc<T>);

impl Value for str {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.str(key, self)
    }
}

impl Value for String {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.str(key, self)
    }
}

impl Value for Cow<'_, str> {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.str(key, self)
    }
}

impl Value for char {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.str(key, self.encode_utf8(&mut [0; 4]))
    }
}

impl Value for bool {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.bool(key, *self)
    }
}

macro_rules! signed {
    ($($t:ty),*) => {$(
        impl Value for $t {
            #[inline(always)]
            fn capture(&self, key: Key<'_>, c: &mut Capture) {
                c.i64(key, *self as i64)
            }
        }
    )*};
}
signed!(i8, i16, i32, i64, isize);

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl Value for $t {
            #[inline(always)]
            fn capture(&self, key: Key<'_>, c: &mut Capture) {
                c.u64(key, *self as u64)
            }
        }
    )*};
}
unsigned!(u8, u16, u32, u64, usize);

impl Value for i128 {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.i128(key, *self)
    }
}

impl Value for u128 {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.u128(key, *self)
    }
}

impl Value for f64 {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.f64(key, *self)
    }
}

impl Value for f32 {
    /// Written with `f32` precision (`0.1f32` is written `0.1`).
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.json_with(key, |c| {
            crate::format::number::write_f32(c, *self);
            Ok(())
        })
    }
}

impl Value for () {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.null(key)
    }
}

impl<T: Value> Value for Option<T> {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        match self {
            Some(v) => v.capture(key, c),
            None => c.null(key),
        }
    }
}

impl Value for [u8] {
    #[inline(always)]
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.bytes_lossy(key, self)
    }
}

impl Value for OsStr {
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        c.bytes_lossy(key, self.as_encoded_bytes())
    }
}

impl Value for OsString {
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        self.as_os_str().capture(key, c)
    }
}

impl Value for Path {
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        self.as_os_str().capture(key, c)
    }
}

impl Value for PathBuf {
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        self.as_os_str().capture(key, c)
    }
}

impl Value for fmt::Arguments<'_> {
    fn capture(&self, key: Key<'_>, c: &mut Capture) {
        match self.as_str() {
            Some(s) => c.str(key, s),
            None => c.display(key, self),
        }
    }
}

/// Writes an error the way pino's `err` serializer does, plus Rust's source
/// chain: `{"type":"…","message":"…","source":["…","…"]}`.
///
/// `type` is the Rust type name of the value logged (`std::io::error::Error`),
/// or `dyn Error` for a trait object (`Box<dyn Error>`, `anyhow::Error`);
/// `message` its `Display` output; `source` the `Display` output of each
/// error in its `source()` chain, outermost first (at most 32; absent when
/// empty).
pub(crate) fn write_error<O: Out>(out: &mut O, type_name: &str, e: &(dyn std::error::Error + '_)) {
    out.extend(b"{\"type\":");
    let t = type_name.trim_start_matches('&');
    // Behind a trait object the concrete type is unknown.
    let t = if t.contains("dyn ") { "dyn Error" } else { t };
    write_str(out, t.as_bytes());
    out.extend(b",\"message\":");
    write_display(out, e);
    let mut source = e.source();
    if source.is_some() {
        out.extend(b",\"source\":[");
        let mut n = 0;
        while let Some(s) = source {
            if n == 32 {
                break;
            }
            if n > 0 {
                out.push(b',');
            }
            write_display(out, s);
            source = s.source();
            n += 1;
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// Writes a value's `Display` output as a JSON string. A `Display`
/// implementation that fails keeps what it wrote, followed by
/// `<Display failed>`.
pub(crate) fn write_display<O: Out + ?Sized>(out: &mut O, v: &(dyn fmt::Display + '_)) {
    out.push(b'"');
    if fmt::write(&mut EscapeFmt { out }, format_args!("{v}")).is_err() {
        out.extend(b"<Display failed>");
    }
    out.push(b'"');
}

/// Captures an error field.
pub(crate) fn capture_error(c: &mut Capture, key: Key<'_>, type_name: &str, e: &(dyn std::error::Error + '_)) {
    c.json_with(key, |c| {
        write_error(c, type_name, e);
        Ok(())
    })
}

/// Captures any `Serialize` value as JSON text.
pub(crate) fn capture_serde<T: serde::Serialize + ?Sized>(c: &mut Capture, key: Key<'_>, v: &T) {
    c.json_with(key, |c| crate::format::ser::to_json(c, v))
}

/// The machinery the macros expand to. Not part of the API.
#[doc(hidden)]
pub mod dispatch {
    use super::*;

    /// Holds a field value while the macros choose how to capture it.
    pub struct Wrap<'a, T: ?Sized>(pub &'a T);

    /// First choice: a fast-path [`Value`].
    pub trait ViaValue {
        fn __logjet_capture(&self, key: Key<'_>, c: &mut Capture);
    }
    impl<T: Value + ?Sized> ViaValue for &&&Wrap<'_, T> {
        #[inline(always)]
        fn __logjet_capture(&self, key: Key<'_>, c: &mut Capture) {
            self.0.capture(key, c)
        }
    }

    /// Second choice: an error.
    pub trait ViaError {
        fn __logjet_capture(&self, key: Key<'_>, c: &mut Capture);
    }
    impl<T: std::error::Error + ?Sized> ViaError for &&Wrap<'_, T> {
        fn __logjet_capture(&self, key: Key<'_>, c: &mut Capture) {
            capture_error(c, key, std::any::type_name::<T>(), &self.0)
        }
    }

    macro_rules! via_dyn_error {
        ($($trait:ident: $wrapped:ty, $target:ty, |$v:ident| $deref:expr;)*) => {$(
            /// Third choice: a pointer to an error trait object, such as
            /// `Box<dyn Error + Send + Sync>`, `Arc<dyn Error>` or
            /// `anyhow::Error`, or a reference to one.
            pub trait $trait {
                fn __logjet_capture(&self, key: Key<'_>, c: &mut Capture);
            }
            impl<B> $trait for &Wrap<'_, $wrapped>
            where
                B: std::ops::Deref<Target = $target> + ?Sized,
            {
                fn __logjet_capture(&self, key: Key<'_>, c: &mut Capture) {
                    let $v = self.0;
                    let e: &$target = $deref;
                    capture_error(c, key, "dyn Error", e)
                }
            }
        )*};
    }
    via_dyn_error! {
        ViaDynError: B, dyn std::error::Error + Send + Sync + 'static, |b| &**b;
        ViaDynErrorLocal: B, dyn std::error::Error + 'static, |b| &**b;
        ViaDynErrorRef: &B, dyn std::error::Error + Send + Sync + 'static, |b| &***b;
        ViaDynErrorLocalRef: &B, dyn std::error::Error + 'static, |b| &***b;
    }

    /// Last choice: anything `serde::Serialize`.
    pub trait ViaSerde {
        fn __logjet_capture(&self, key: Key<'_>, c: &mut Capture);
    }
    impl<T: serde::Serialize + ?Sized> ViaSerde for Wrap<'_, T> {
        fn __logjet_capture(&self, key: Key<'_>, c: &mut Capture) {
            capture_serde(c, key, self.0)
        }
    }

    /// What the macros log through: a [`Logger`](crate::Logger) or a
    /// [`DebugLogger`](crate::DebugLogger) (or a reference to one). The
    /// check, the start and the send are separate so that the record is a
    /// local of the call site, built in place and never moved.
    pub trait LogTarget {
        fn __logjet_enabled(&self, level: crate::Level) -> bool;
        /// Adds what the target puts first in each record (a debug
        /// handle's namespace, a child's bindings) to `rec`, a record the
        /// call site made in place (see [`Capture::__new`]).
        fn __logjet_begin(&self, rec: &mut Capture);
        fn __logjet_send(&self, rec: &Capture);
        /// A call site's rate limit (`limit = (n, per)`): `None` holds the
        /// record back; `Some(m)`: write it, after a notice when `m > 0`.
        fn __logjet_limit(&self, site: &crate::limit::RateLimit, n: u32, per: std::time::Duration) -> Option<u64>;
        /// The notice of a rate-limited call site: `suppressed N records`.
        #[cold]
        #[inline(never)]
        fn __logjet_suppressed(&self, level: crate::Level, n: u64, msg: &'static str, site: &'static str) {
            let mut rec = Capture::__new(level);
            self.__logjet_begin(&mut rec);
            rec.u64("suppressed", n);
            rec.str("suppressed_msg", msg);
            rec.str("call_site", site);
            rec.msg_fmt(format_args!("suppressed {n} records"));
            self.__logjet_send(&rec)
        }
    }
    impl LogTarget for crate::Logger {
        #[inline(always)]
        fn __logjet_enabled(&self, level: crate::Level) -> bool {
            self.enabled_sampled(level)
        }
        #[inline(always)]
        fn __logjet_limit(&self, site: &crate::limit::RateLimit, n: u32, per: std::time::Duration) -> Option<u64> {
            self.core.admit(site, n, per)
        }
        #[inline(always)]
        fn __logjet_begin(&self, rec: &mut Capture) {
            self.begin(rec, None)
        }
        #[inline(always)]
        fn __logjet_send(&self, rec: &Capture) {
            self.send(rec)
        }
    }
    impl LogTarget for crate::DebugLogger {
        #[inline(always)]
        fn __logjet_enabled(&self, level: crate::Level) -> bool {
            self.enabled_at(level) && self.logger().keep_sampled(level)
        }
        #[inline(always)]
        fn __logjet_limit(&self, site: &crate::limit::RateLimit, n: u32, per: std::time::Duration) -> Option<u64> {
            self.logger().core.admit(site, n, per)
        }
        #[inline(always)]
        fn __logjet_begin(&self, rec: &mut Capture) {
            self.logger().begin(rec, Some(self.namespace()))
        }
        #[inline(always)]
        fn __logjet_send(&self, rec: &Capture) {
            self.logger().send(rec)
        }
    }
    impl<T: LogTarget + ?Sized> LogTarget for &T {
        #[inline(always)]
        fn __logjet_enabled(&self, level: crate::Level) -> bool {
            (**self).__logjet_enabled(level)
        }
        #[inline(always)]
        fn __logjet_begin(&self, rec: &mut Capture) {
            (**self).__logjet_begin(rec)
        }
        #[inline(always)]
        fn __logjet_send(&self, rec: &Capture) {
            (**self).__logjet_send(rec)
        }
        #[inline(always)]
        fn __logjet_limit(&self, site: &crate::limit::RateLimit, n: u32, per: std::time::Duration) -> Option<u64> {
            (**self).__logjet_limit(site, n, per)
        }
    }
    /// A handle that may not exist yet ([`debug_ns!`](crate::debug_ns)
    /// before a global logger is set): nothing is enabled.
    impl<T: LogTarget> LogTarget for Option<T> {
        #[inline(always)]
        fn __logjet_enabled(&self, level: crate::Level) -> bool {
            self.as_ref().is_some_and(|t| t.__logjet_enabled(level))
        }
        #[inline(always)]
        fn __logjet_begin(&self, rec: &mut Capture) {
            if let Some(t) = self {
                t.__logjet_begin(rec)
            }
        }
        #[inline(always)]
        fn __logjet_send(&self, rec: &Capture) {
            if let Some(t) = self {
                t.__logjet_send(rec)
            }
        }
        #[inline(always)]
        fn __logjet_limit(&self, site: &crate::limit::RateLimit, n: u32, per: std::time::Duration) -> Option<u64> {
            self.as_ref().and_then(|t| t.__logjet_limit(site, n, per))
        }
    }
    impl<T: LogTarget + ?Sized> LogTarget for std::sync::Arc<T> {
        #[inline(always)]
        fn __logjet_enabled(&self, level: crate::Level) -> bool {
            (**self).__logjet_enabled(level)
        }
        #[inline(always)]
        fn __logjet_begin(&self, rec: &mut Capture) {
            (**self).__logjet_begin(rec)
        }
        #[inline(always)]
        fn __logjet_send(&self, rec: &Capture) {
            (**self).__logjet_send(rec)
        }
        #[inline(always)]
        fn __logjet_limit(&self, site: &crate::limit::RateLimit, n: u32, per: std::time::Duration) -> Option<u64> {
            (**self).__logjet_limit(site, n, per)
        }
    }

    /// `%value`: the `Display` output as a string.
    #[inline(always)]
    pub fn display<T: fmt::Display + ?Sized>(c: &mut Capture, key: Key<'_>, v: &T) {
        c.display(key, &v)
    }

    /// `?value`: the `Debug` output as a string.
    #[inline(always)]
    pub fn debug<T: fmt::Debug + ?Sized>(c: &mut Capture, key: Key<'_>, v: &T) {
        c.display(key, &format_args!("{v:?}"))
    }

    /// An identifier without its raw-identifier prefix (`r#type` → `type`).
    pub const fn strip_raw(ident: &'static str) -> &'static str {
        match ident.as_bytes() {
            [b'r', b'#', rest @ ..] => match std::str::from_utf8(rest) {
                Ok(s) => s,
                Err(_) => ident,
            },
            _ => ident,
        }
    }
}
