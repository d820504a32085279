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
use crate::record::{ItemWriter, Key, Out, DISPLAY_FAILED};

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
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W);
}

impl<T: Value + ?Sized> Value for &T {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        (**self).capture(key, c)
    }
}

impl<T: Value + ?Sized> Value for &mut T {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        (**self).capture(key, c)
    }
}

macro_rules! forward_value {
    ($($t:ty),*) => {$(
        impl<T: Value + ?Sized> Value for $t {
            #[inline(always)]
            fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
                (**self).capture(key, c)
            }
        }
    )*};
}
forward_value!(Box<T>, Arc<T>, Rc<T>);

impl Value for str {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.str(key, self)
    }
}

impl Value for String {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.str(key, self)
    }
}

impl Value for Cow<'_, str> {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.str(key, self)
    }
}

impl Value for char {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.str(key, self.encode_utf8(&mut [0; 4]))
    }
}

impl Value for bool {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.bool(key, *self)
    }
}

macro_rules! signed {
    ($($t:ty),*) => {$(
        impl Value for $t {
            #[inline(always)]
            fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
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
            fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
                c.u64(key, *self as u64)
            }
        }
    )*};
}
unsigned!(u8, u16, u32, u64, usize);

impl Value for i128 {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.i128(key, *self)
    }
}

impl Value for u128 {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.u128(key, *self)
    }
}

impl Value for f64 {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.f64(key, *self)
    }
}

impl Value for f32 {
    /// Written with `f32` precision (`0.1f32` is written `0.1`).
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.json_with(key, |c| {
            crate::format::number::write_f32(c, *self);
            Ok(())
        })
    }
}

impl Value for () {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.null(key)
    }
}

impl<T: Value> Value for Option<T> {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        match self {
            Some(v) => v.capture(key, c),
            None => c.null(key),
        }
    }
}

impl Value for [u8] {
    #[inline(always)]
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.bytes_lossy(key, self)
    }
}

impl Value for OsStr {
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        c.bytes_lossy(key, self.as_encoded_bytes())
    }
}

impl Value for OsString {
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        self.as_os_str().capture(key, c)
    }
}

impl Value for Path {
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        self.as_os_str().capture(key, c)
    }
}

impl Value for PathBuf {
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
        self.as_os_str().capture(key, c)
    }
}

impl Value for fmt::Arguments<'_> {
    fn capture<W: ItemWriter>(&self, key: Key<'_>, c: &mut W) {
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
        out.extend(DISPLAY_FAILED);
    }
    out.push(b'"');
}

/// Captures an error field (see [`write_error`]).
pub(crate) fn capture_error<W: ItemWriter>(c: &mut W, key: Key<'_>, type_name: &str, e: &(dyn std::error::Error + '_)) {
    c.json_with(key, |c| {
        write_error(c, type_name, e);
        Ok(())
    })
}

/// Captures any `Serialize` value as JSON text.
pub(crate) fn capture_serde<W: ItemWriter, T: serde::Serialize + ?Sized>(c: &mut W, key: Key<'_>, v: &T) {
    c.json_with(key, |c| crate::format::ser::to_json(c, v))
}
