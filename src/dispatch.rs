//! The machinery the logging macros expand to (not part of the API): how
//! each field's value is written, chosen at compile time; a call's fields
//! as one list, evaluated once; and the targets a call logs through.
//!
//! For each `key = value` the macros pick the first way that applies to
//! the value's type, by "autoref specialization": a [`Value`] (raw: numbers,
//! strings, booleans...), an error, a pointer to an error trait object,
//! anything `serde::Serialize`. `%value` and `?value` are written from
//! `Display` and `Debug`. Each way yields a field ([`ValueField`],
//! [`ErrorField`]...), and the call's fields are a list of them
//! (`(field, (field, ()))`, a [`FieldList`]) that any
//! [`ItemWriter`] can write: measured, then written in place in the
//! thread's queue (`Logger::log_site`), or captured.

use std::fmt;

use crate::record::{Capture, FieldList, ItemWriter, Key, Site};
use crate::value::{capture_error, capture_serde, Value};

/// Holds a field value while the macros choose how to write it.
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

/// A field's key as the macros pass it: a [`SiteKey`] (a call site's plain
/// key: its index is in the type, nothing at run time) or a [`Key`].
pub trait FieldKey: Copy {
    /// The key.
    fn key(self) -> Key<'static>;
}

impl FieldKey for Key<'static> {
    #[inline(always)]
    fn key(self) -> Key<'static> {
        self
    }
}

/// Key number `I` of its call site's list (see [`Site`]): the writer
/// takes its text from the site.
#[derive(Clone, Copy)]
pub struct SiteKey<const I: u8>;

impl<const I: u8> FieldKey for SiteKey<I> {
    #[inline(always)]
    fn key(self) -> Key<'static> {
        Key::site("", I as usize)
    }
}

/// Chooses a logging call's key type at compile time: with `SITE` (a
/// plain key among the call site's first 256), [`SiteKey<I>`]; else a
/// [`Key`] carrying its text, for the writer to check.
pub struct KeyChoice<const SITE: bool, const I: u8>;

/// See [`KeyChoice`].
pub trait MakeKey {
    /// The key type chosen.
    type Key: FieldKey;
    /// The key named `name`.
    fn make(name: &'static str) -> Self::Key;
}

impl<const I: u8> MakeKey for KeyChoice<true, I> {
    type Key = SiteKey<I>;
    #[inline(always)]
    fn make(_name: &'static str) -> SiteKey<I> {
        SiteKey
    }
}

impl<const I: u8> MakeKey for KeyChoice<false, I> {
    type Key = Key<'static>;
    #[inline(always)]
    fn make(name: &'static str) -> Key<'static> {
        Key::runtime(name)
    }
}

/// Whether key `name`, field number `i` of a call site, is carried as its
/// index in the site's list: a plain key among the first 256.
pub const fn in_site(i: usize, name: &str) -> bool {
    i < 256 && crate::record::is_plain(name.as_bytes())
}

/// Field number `I`'s key named `name`: a [`SiteKey`] when `SITE` (see
/// [`in_site`]), else a [`Key`] carrying its text.
#[inline(always)]
pub fn site_key<const SITE: bool, const I: u8>(name: &'static str) -> <KeyChoice<SITE, I> as MakeKey>::Key
where
    KeyChoice<SITE, I>: MakeKey,
{
    KeyChoice::<SITE, I>::make(name)
}

/// A field whose value is a [`Value`].
pub struct ValueField<'a, K, T: ?Sized>(pub K, pub &'a T);

impl<K: FieldKey, T: Value + ?Sized> FieldList for ValueField<'_, K, T> {
    #[inline(always)]
    fn write<W: ItemWriter>(&self, w: &mut W) {
        self.1.capture(self.0.key(), w)
    }
}

/// A field whose value is an error (see `crate::value::write_error`).
pub struct ErrorField<'a, K, T: ?Sized>(pub K, pub &'a T);

impl<K: FieldKey, T: std::error::Error + ?Sized> FieldList for ErrorField<'_, K, T> {
    #[inline(always)]
    fn write<W: ItemWriter>(&self, w: &mut W) {
        capture_error(w, self.0.key(), std::any::type_name::<T>(), &self.1)
    }
}

/// A field whose value is an error trait object.
pub struct DynErrorField<'a, K>(pub K, pub &'a (dyn std::error::Error + 'a));

impl<K: FieldKey> FieldList for DynErrorField<'_, K> {
    #[inline(always)]
    fn write<W: ItemWriter>(&self, w: &mut W) {
        capture_error(w, self.0.key(), "dyn Error", self.1)
    }
}

/// A field whose value is `serde::Serialize`, written as JSON.
pub struct SerdeField<'a, K, T: ?Sized>(pub K, pub &'a T);

impl<K: FieldKey, T: serde::Serialize + ?Sized> FieldList for SerdeField<'_, K, T> {
    #[inline(always)]
    fn write<W: ItemWriter>(&self, w: &mut W) {
        capture_serde(w, self.0.key(), self.1)
    }
}

/// `%value`: the `Display` output as a string.
pub struct DisplayField<'a, K, T: ?Sized>(pub K, pub &'a T);

impl<K: FieldKey, T: fmt::Display + ?Sized> FieldList for DisplayField<'_, K, T> {
    #[inline(always)]
    fn write<W: ItemWriter>(&self, w: &mut W) {
        w.display(self.0.key(), &self.1)
    }
}

/// `?value`: the `Debug` output as a string.
pub struct DebugField<'a, K, T: ?Sized>(pub K, pub &'a T);

impl<K: FieldKey, T: fmt::Debug + ?Sized> FieldList for DebugField<'_, K, T> {
    #[inline(always)]
    fn write<W: ItemWriter>(&self, w: &mut W) {
        w.display(self.0.key(), &format_args!("{:?}", self.1))
    }
}

/// First choice: a fast-path [`Value`].
pub trait ViaValue {
    /// The field this way makes.
    type Field<K>;
    /// The field `key = value`.
    fn __logjet_field<K: FieldKey>(&self, key: K) -> Self::Field<K>;
}
impl<'a, T: Value + ?Sized> ViaValue for &&&Wrap<'a, T> {
    type Field<K> = ValueField<'a, K, T>;
    #[inline(always)]
    fn __logjet_field<K: FieldKey>(&self, key: K) -> ValueField<'a, K, T> {
        ValueField(key, self.0)
    }
}

/// Second choice: an error.
pub trait ViaError {
    /// The field this way makes.
    type Field<K>;
    /// The field `key = value`.
    fn __logjet_field<K: FieldKey>(&self, key: K) -> Self::Field<K>;
}
impl<'a, T: std::error::Error + ?Sized> ViaError for &&Wrap<'a, T> {
    type Field<K> = ErrorField<'a, K, T>;
    #[inline(always)]
    fn __logjet_field<K: FieldKey>(&self, key: K) -> ErrorField<'a, K, T> {
        ErrorField(key, self.0)
    }
}

macro_rules! via_dyn_error {
    ($($trait:ident: $wrapped:ty, $target:ty, |$v:ident| $deref:expr;)*) => {$(
        /// Third choice: a pointer to an error trait object, such as
        /// `Box<dyn Error + Send + Sync>`, `Arc<dyn Error>` or
        /// `anyhow::Error`, or a reference to one.
        pub trait $trait<'a> {
            /// The field `key = value`.
            fn __logjet_field<K: FieldKey>(&self, key: K) -> DynErrorField<'a, K>;
        }
        impl<'a, B> $trait<'a> for &Wrap<'a, $wrapped>
        where
            B: std::ops::Deref<Target = $target> + ?Sized,
        {
            #[inline(always)]
            fn __logjet_field<K: FieldKey>(&self, key: K) -> DynErrorField<'a, K> {
                let $v: &'a $wrapped = self.0;
                let e: &'a $target = $deref;
                DynErrorField(key, e)
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
    /// The field this way makes.
    type Field<K>;
    /// The field `key = value`.
    fn __logjet_field<K: FieldKey>(&self, key: K) -> Self::Field<K>;
}
impl<'a, T: serde::Serialize + ?Sized> ViaSerde for Wrap<'a, T> {
    type Field<K> = SerdeField<'a, K, T>;
    #[inline(always)]
    fn __logjet_field<K: FieldKey>(&self, key: K) -> SerdeField<'a, K, T> {
        SerdeField(key, self.0)
    }
}

/// What the macros log through: a [`Logger`](crate::Logger) or a
/// [`DebugLogger`](crate::DebugLogger), or a reference, an `Arc` or an
/// `Option` of one.
pub trait LogTarget {
    /// Whether a record at `level` is written.
    fn __logjet_enabled(&self, level: crate::Level) -> bool;
    /// A call site's rate limit (`limit = (n, per)`): `None` holds the
    /// record back; `Some(m)`: write it, after a notice when `m > 0`.
    fn __logjet_limit(&self, site: &crate::limit::RateLimit, n: u32, per: std::time::Duration) -> Option<u64>;
    /// The logger records go to, and the namespace they carry (a debug
    /// handle's); `None`: nowhere.
    fn __logjet_to(&self) -> Option<(&crate::Logger, Option<&str>)>;

    /// A call site's record, its message the site's literal.
    #[inline(always)]
    fn __logjet_log<F: FieldList>(&self, level: crate::Level, site: &'static Site, fields: &F) {
        if let Some((logger, ns)) = self.__logjet_to() {
            logger.log_site(level, ns, site, fields)
        }
    }

    /// A call site's record with the message of its format string and
    /// arguments.
    #[inline(always)]
    fn __logjet_log_fmt<F: FieldList>(
        &self,
        level: crate::Level,
        site: &'static Site,
        args: fmt::Arguments<'_>,
        fields: &F,
    ) {
        if let Some((logger, ns)) = self.__logjet_to() {
            logger.log_captured(level, ns, |rec| {
                rec.site_fmt(site.id(), args);
                fields.write(rec)
            })
        }
    }

    /// The notice of a rate-limited call site: `suppressed N records`.
    #[cold]
    #[inline(never)]
    fn __logjet_suppressed(&self, level: crate::Level, n: u64, msg: &'static str, site: &'static str) {
        if let Some((logger, ns)) = self.__logjet_to() {
            logger.log_captured(level, ns, |rec: &mut Capture| {
                rec.u64("suppressed", n);
                rec.str("suppressed_msg", msg);
                rec.str("call_site", site);
                rec.msg_fmt(format_args!("suppressed {n} records"));
            })
        }
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
    fn __logjet_to(&self) -> Option<(&crate::Logger, Option<&str>)> {
        Some((self, None))
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
    fn __logjet_to(&self) -> Option<(&crate::Logger, Option<&str>)> {
        Some((self.logger(), Some(self.namespace())))
    }
}
macro_rules! forward_target {
    ($($t:ty),*) => {$(
        impl<T: LogTarget + ?Sized> LogTarget for $t {
            #[inline(always)]
            fn __logjet_enabled(&self, level: crate::Level) -> bool {
                (**self).__logjet_enabled(level)
            }
            #[inline(always)]
            fn __logjet_limit(&self, site: &crate::limit::RateLimit, n: u32, per: std::time::Duration) -> Option<u64> {
                (**self).__logjet_limit(site, n, per)
            }
            #[inline(always)]
            fn __logjet_to(&self) -> Option<(&crate::Logger, Option<&str>)> {
                (**self).__logjet_to()
            }
        }
    )*};
}
forward_target!(&T, std::sync::Arc<T>);
/// A handle that may not exist yet ([`debug_ns!`](crate::debug_ns)
/// before a global logger is set): nothing is enabled.
impl<T: LogTarget> LogTarget for Option<T> {
    #[inline(always)]
    fn __logjet_enabled(&self, level: crate::Level) -> bool {
        self.as_ref().is_some_and(|t| t.__logjet_enabled(level))
    }
    #[inline(always)]
    fn __logjet_limit(&self, site: &crate::limit::RateLimit, n: u32, per: std::time::Duration) -> Option<u64> {
        self.as_ref().and_then(|t| t.__logjet_limit(site, n, per))
    }
    #[inline(always)]
    fn __logjet_to(&self) -> Option<(&crate::Logger, Option<&str>)> {
        self.as_ref().and_then(|t| t.__logjet_to())
    }
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
