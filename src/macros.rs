//! The logging macros. The level check comes first: when the level is
//! disabled, nothing else is evaluated, not even the field values.

/// Logs a record at a level given at run time.
///
/// ```text
/// log!(logger, level, "message" [, key = value]*)
/// log!(logger, level, "format {} string", args... [, key = value]*)
/// log!(level, "message" [, key = value]*)        // the global logger
/// ```
///
/// Without a handle, the record goes to the global logger
/// ([`Logger::set_global`](crate::Logger::set_global), [`init`](crate::init)),
/// at the same cost as with a handle; before one is set, nowhere (one
/// atomic load). The same holds for [`info!`](crate::info!), [`warn!`](crate::warn!) and the others:
/// `logjet::info!("request handled", status = 200)`.
///
/// The message is a format string (as for `format!`, with inline captures
/// like `"{name}"`); a plain literal is copied, not formatted. Keys are
/// identifiers or string literals. A value is captured by its type:
/// strings, numbers and booleans directly; errors with their source chain;
/// anything `serde::Serialize` as JSON. `%value` writes a value's `Display`
/// output and `?value` its `Debug` output.
///
/// ```
/// use logjet::Level;
/// # let (log, guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
/// let user = "ada";
/// let addr: std::net::SocketAddr = "10.0.0.1:443".parse().unwrap();
/// logjet::log!(log, Level::Info, "user {user} logged in", "user.id" = 7, peer = %addr, tags = ?["a", "b"]);
/// logjet::log!(log, Level::Warn, "retry {} of {}", 2, 5, backoff_ms = 250);
/// # guard.flush()?;
/// # Ok::<(), logjet::Error>(())
/// ```
///
/// A call site can be rate-limited: `limit = (n, per)` before the message
/// lets at most `n` records through per `per` (a `Duration`) at this call
/// site, and when the next window opens writes one record
/// `suppressed N records` (fields `suppressed`, `suppressed_msg`: the
/// call site's message, `call_site`: file and line) before its next
/// record. Held-back records are counted in
/// [`Stats::suppressed`](crate::Stats::suppressed); call sites without
/// `limit` cost nothing more. See docs/sampling.md.
///
/// ```
/// use std::time::Duration;
/// use logjet::Level;
/// # let (log, guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
/// for i in 0..100 {
///     logjet::log!(log, Level::Warn, limit = (10, Duration::from_secs(1)), "queue full", attempt = i);
/// }
/// guard.flush()?;
/// assert_eq!(log.stats().suppressed, 90);
/// # Ok::<(), logjet::Error>(())
/// ```
#[macro_export]
macro_rules! log {
    // No handle: the global logger (`Logger::set_global`, `logjet::init`).
    ($level:expr, $msg:literal $($rest:tt)*) => {{
        if let ::core::option::Option::Some(__logjet_global) = $crate::Logger::global() {
            $crate::log!(__logjet_global, $level, $msg $($rest)*);
        }
    }};
    ($level:expr, limit = $lim:tt, $msg:literal $($rest:tt)*) => {{
        if let ::core::option::Option::Some(__logjet_global) = $crate::Logger::global() {
            $crate::log!(__logjet_global, $level, limit = $lim, $msg $($rest)*);
        }
    }};
    // A rate-limited call site: its own `static` state.
    ($logger:expr, $level:expr, limit = ($n:expr, $per:expr $(,)?), $msg:literal $($rest:tt)*) => {{
        static __LOGJET_LIMIT: $crate::__private::RateLimit = $crate::__private::RateLimit::new();
        #[allow(unused_imports)]
        use $crate::__private::LogTarget as _;
        let __logjet_target = &$logger;
        let __logjet_level = $level;
        if __logjet_target.__logjet_enabled(__logjet_level) {
            if let ::core::option::Option::Some(__logjet_held) =
                __logjet_target.__logjet_limit(&__LOGJET_LIMIT, $n, $per)
            {
                if __logjet_held > 0 {
                    __logjet_target.__logjet_suppressed(
                        __logjet_level,
                        __logjet_held,
                        $msg,
                        ::core::concat!(::core::file!(), ":", ::core::line!()),
                    );
                }
                $crate::__logjet_event!(@start __logjet_target, __logjet_level, $msg $($rest)*);
            }
        }
    }};
    ($logger:expr, $level:expr, $($rest:tt)+) => {{
        #[allow(unused_imports)]
        use $crate::__private::LogTarget as _;
        let __logjet_target = &$logger;
        let __logjet_level = $level;
        if __logjet_target.__logjet_enabled(__logjet_level) {
            $crate::__logjet_event!(@start __logjet_target, __logjet_level, $($rest)+);
        }
    }};
}

/// Logs at level `trace` (10). See [`log!`] for the syntax.
#[macro_export]
macro_rules! trace {
    (limit = $lim:tt, $msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Trace, limit = $lim, $msg $($rest)*) };
    ($msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Trace, $msg $($rest)*) };
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Trace, $($rest)+) };
}

/// Logs at level `debug` (20). See [`log!`] for the syntax.
#[macro_export]
macro_rules! debug {
    (limit = $lim:tt, $msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Debug, limit = $lim, $msg $($rest)*) };
    ($msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Debug, $msg $($rest)*) };
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Debug, $($rest)+) };
}

/// Logs at level `info` (30). See [`log!`] for the syntax.
///
/// ```
/// # let (log, guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
/// logjet::info!(log, "request handled", method = "GET", status = 200, latency_ms = 3.25, cached = false);
/// # guard.flush()?;
/// # Ok::<(), logjet::Error>(())
/// ```
#[macro_export]
macro_rules! info {
    (limit = $lim:tt, $msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Info, limit = $lim, $msg $($rest)*) };
    ($msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Info, $msg $($rest)*) };
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Info, $($rest)+) };
}

/// Logs at level `warn` (40). See [`log!`] for the syntax.
#[macro_export]
macro_rules! warn {
    (limit = $lim:tt, $msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Warn, limit = $lim, $msg $($rest)*) };
    ($msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Warn, $msg $($rest)*) };
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Warn, $($rest)+) };
}

/// Logs at level `error` (50). See [`log!`] for the syntax.
///
/// ```
/// # let (log, guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
/// let io_error = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "db1:5432");
/// logjet::error!(log, "db failed", err = &io_error); // {"type":...,"message":"db1:5432"}
/// # guard.flush()?;
/// # Ok::<(), logjet::Error>(())
/// ```
#[macro_export]
macro_rules! error {
    (limit = $lim:tt, $msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Error, limit = $lim, $msg $($rest)*) };
    ($msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Error, $msg $($rest)*) };
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Error, $($rest)+) };
}

/// Logs at level `fatal` (60), then flushes before returning.
///
/// The record is queued even under [`Overflow::Drop`](crate::Overflow::Drop);
/// queueing and flushing each wait at most the logger's
/// [shutdown timeout](crate::Builder::shutdown_timeout). See [`log!`] for
/// the syntax.
#[macro_export]
macro_rules! fatal {
    (limit = $lim:tt, $msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Fatal, limit = $lim, $msg $($rest)*) };
    ($msg:literal $($rest:tt)*) => { $crate::log!($crate::Level::Fatal, $msg $($rest)*) };
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Fatal, $($rest)+) };
}

/// A debug handle on the global logger for namespace `ns` (a string
/// literal), made once per call site: like `require('debug')('app:db')` in
/// Node. It is an `Option<&'static DebugLogger>`, `None` until a global
/// logger is set; the logging macros take it as a handle and write nothing
/// while it is `None`.
///
/// ```
/// let (log, guard) = logjet::Logger::builder()
///     .sink(logjet::sink::Writer::new(std::io::sink()))
///     .debug("app:*")
///     .build()?;
/// # let _ = log.set_global();
/// let db = logjet::debug_ns!("app:db");
/// logjet::debug!(db, "connected", host = "db1");
/// assert!(db.is_some_and(|h| h.enabled()));
/// guard.flush()?;
/// # Ok::<(), logjet::Error>(())
/// ```
#[macro_export]
macro_rules! debug_ns {
    ($ns:literal) => {{
        static __LOGJET_HANDLE: ::std::sync::OnceLock<$crate::DebugLogger> = ::std::sync::OnceLock::new();
        $crate::__private::debug_handle(&__LOGJET_HANDLE, $ns)
    }};
}

/// Builds [`Fields`](crate::Fields) to bind to a child logger, with the same
/// `key = value` syntax as the logging macros. The values are evaluated and
/// encoded once.
///
/// ```
/// # let (log, guard) = logjet::Logger::builder().sink(logjet::sink::Writer::new(std::io::sink())).build()?;
/// let req = log.child(logjet::fields!(request_id = 42, "http.method" = "GET"));
/// logjet::info!(req, "handled");
/// # guard.flush()?;
/// # Ok::<(), logjet::Error>(())
/// ```
#[macro_export]
macro_rules! fields {
    () => { $crate::Fields::new() };
    ($($rest:tt)+) => {{
        #[allow(unused_imports)]
        use $crate::__private::{
            ViaDynError as _, ViaDynErrorLocal as _, ViaDynErrorLocalRef as _, ViaDynErrorRef as _, ViaError as _,
            ViaSerde as _, ViaValue as _,
        };
        let mut __logjet_fields = $crate::Fields::new();
        match $crate::__logjet_list!(intern, 0; $($rest)+) {
            __logjet_list => __logjet_fields.__write(&__logjet_list),
        }
        __logjet_fields
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __logjet_event {
    (@start $t:ident, $lv:ident, $msg:literal $(,)?) => {
        $crate::__logjet_event!(@send $t, $lv, $msg, [], &[], ())
    };
    (@start $t:ident, $lv:ident, $msg:literal, $($rest:tt)+) => {
        $crate::__logjet_event!(@args $t, $lv, $msg, [] $($rest)+)
    };
    (@start $t:ident, $lv:ident, $($other:tt)*) => {
        ::core::compile_error!(
            "logjet: the message must be a string literal (a format string); to log a runtime string write \"{}\", value"
        )
    };

    // Positional format arguments, until the first `key = value`.
    (@args $t:ident, $lv:ident, $msg:literal, [$($a:expr,)*]) => {
        $crate::__logjet_event!(@send $t, $lv, $msg, [$($a,)*], &[], ())
    };
    (@args $t:ident, $lv:ident, $msg:literal, [$($a:expr,)*] $k:ident = $($rest:tt)*) => {
        $crate::__logjet_event!(@send $t, $lv, $msg, [$($a,)*],
            $crate::__logjet_site_keys!([] $k = $($rest)*), $crate::__logjet_list!(site, 0; $k = $($rest)*))
    };
    (@args $t:ident, $lv:ident, $msg:literal, [$($a:expr,)*] $k:literal = $($rest:tt)*) => {
        $crate::__logjet_event!(@send $t, $lv, $msg, [$($a,)*],
            $crate::__logjet_site_keys!([] $k = $($rest)*), $crate::__logjet_list!(site, 0; $k = $($rest)*))
    };
    (@args $t:ident, $lv:ident, $msg:literal, [$($a:expr,)*] $e:expr, $($rest:tt)*) => {
        $crate::__logjet_event!(@args $t, $lv, $msg, [$($a,)* $e,] $($rest)*)
    };
    (@args $t:ident, $lv:ident, $msg:literal, [$($a:expr,)*] $e:expr) => {
        $crate::__logjet_event!(@args $t, $lv, $msg, [$($a,)* $e,])
    };

    // The call site (its message when that is the literal, and its keys:
    // registered once), then the record: its fields evaluated once, as a
    // list, then written in place or captured (`LogTarget::__logjet_log`),
    // with the message formatted when it has arguments.
    (@send $t:ident, $lv:ident, $msg:literal, [$($a:expr,)*], $keys:expr, $fields:expr) => {{
        static __LOGJET_SITE: $crate::__private::Site = $crate::__private::Site::new(
            if $crate::__private::literal_msg($msg) {
                ::core::option::Option::Some($msg)
            } else {
                ::core::option::Option::None
            },
            $keys,
        );
        #[allow(unused_imports)]
        use $crate::__private::{
            ViaDynError as _, ViaDynErrorLocal as _, ViaDynErrorLocalRef as _, ViaDynErrorRef as _, ViaError as _,
            ViaSerde as _, ViaValue as _,
        };
        match $fields {
            __logjet_fields => {
                if const { $crate::__private::literal_msg($msg) } {
                    $t.__logjet_log($lv, &__LOGJET_SITE, &__logjet_fields)
                } else {
                    $t.__logjet_log_fmt($lv, &__LOGJET_SITE, ::core::format_args!($msg $(, $a)*), &__logjet_fields)
                }
            }
        }
    }};
}

/// A call site's keys, as `,"key":` texts in the order of its fields.
#[doc(hidden)]
#[macro_export]
macro_rules! __logjet_site_keys {
    ([$($acc:expr,)*] $(,)?) => { &[$($acc,)*] };
    ([$($acc:expr,)*] $k:ident = % $v:expr $(, $($rest:tt)*)?) => {
        $crate::__logjet_site_keys!([$($acc,)* ::core::concat!(",\"", ::core::stringify!($k), "\":"),] $($($rest)*)?)
    };
    ([$($acc:expr,)*] $k:ident = ? $v:expr $(, $($rest:tt)*)?) => {
        $crate::__logjet_site_keys!([$($acc,)* ::core::concat!(",\"", ::core::stringify!($k), "\":"),] $($($rest)*)?)
    };
    ([$($acc:expr,)*] $k:ident = $v:expr $(, $($rest:tt)*)?) => {
        $crate::__logjet_site_keys!([$($acc,)* ::core::concat!(",\"", ::core::stringify!($k), "\":"),] $($($rest)*)?)
    };
    ([$($acc:expr,)*] $k:literal = % $v:expr $(, $($rest:tt)*)?) => {
        $crate::__logjet_site_keys!([$($acc,)* ::core::concat!(",\"", $k, "\":"),] $($($rest)*)?)
    };
    ([$($acc:expr,)*] $k:literal = ? $v:expr $(, $($rest:tt)*)?) => {
        $crate::__logjet_site_keys!([$($acc,)* ::core::concat!(",\"", $k, "\":"),] $($($rest)*)?)
    };
    ([$($acc:expr,)*] $k:literal = $v:expr $(, $($rest:tt)*)?) => {
        $crate::__logjet_site_keys!([$($acc,)* ::core::concat!(",\"", $k, "\":"),] $($($rest)*)?)
    };
}

/// A call's fields as a list, `(field, (field, ()))`, each value
/// evaluated once (see `crate::dispatch`).
#[doc(hidden)]
#[macro_export]
macro_rules! __logjet_list {
    // `$mode`: `intern` (keys interned, as `fields!`'s) or `site` (key
    // `$i` of the call site's list, as the logging macros').
    ($mode:ident, $i:expr;) => { () };
    ($mode:ident, $i:expr; $k:ident = % $v:expr $(, $($rest:tt)*)?) => {
        (
            $crate::__private::DisplayField($crate::__logjet_key!($mode, $i, $k), &$v),
            $crate::__logjet_list!($mode, $i + 1; $($($rest)*)?),
        )
    };
    ($mode:ident, $i:expr; $k:ident = ? $v:expr $(, $($rest:tt)*)?) => {
        (
            $crate::__private::DebugField($crate::__logjet_key!($mode, $i, $k), &$v),
            $crate::__logjet_list!($mode, $i + 1; $($($rest)*)?),
        )
    };
    ($mode:ident, $i:expr; $k:ident = $v:expr $(, $($rest:tt)*)?) => {
        (
            (&&&&$crate::__private::Wrap(&$v)).__logjet_field($crate::__logjet_key!($mode, $i, $k)),
            $crate::__logjet_list!($mode, $i + 1; $($($rest)*)?),
        )
    };
    ($mode:ident, $i:expr; $k:literal = % $v:expr $(, $($rest:tt)*)?) => {
        (
            $crate::__private::DisplayField($crate::__logjet_key!($mode, $i, $k), &$v),
            $crate::__logjet_list!($mode, $i + 1; $($($rest)*)?),
        )
    };
    ($mode:ident, $i:expr; $k:literal = ? $v:expr $(, $($rest:tt)*)?) => {
        (
            $crate::__private::DebugField($crate::__logjet_key!($mode, $i, $k), &$v),
            $crate::__logjet_list!($mode, $i + 1; $($($rest)*)?),
        )
    };
    ($mode:ident, $i:expr; $k:literal = $v:expr $(, $($rest:tt)*)?) => {
        (
            (&&&&$crate::__private::Wrap(&$v)).__logjet_field($crate::__logjet_key!($mode, $i, $k)),
            $crate::__logjet_list!($mode, $i + 1; $($($rest)*)?),
        )
    };
}

/// A field's key. Plain (no escaping, not reserved: decided at compile
/// time): with `site`, its index `$i` in the call site's list (a 1-byte
/// index in the record; the first 256 fields); with `intern` (or no mode),
/// interned once and carried as a 2-byte id. Else carried as text for the
/// writer to check.
#[doc(hidden)]
#[macro_export]
macro_rules! __logjet_key {
    (site, $i:expr, $k:ident) => {
        $crate::__private::site_key::<{ $crate::__private::in_site($i, ::core::stringify!($k)) }, { ($i % 256) as u8 }>(
            const { $crate::__private::strip_raw(::core::stringify!($k)) },
        )
    };
    (site, $i:expr, $k:literal) => {
        $crate::__private::site_key::<{ $crate::__private::in_site($i, $k) }, { ($i % 256) as u8 }>($k)
    };
    (intern, $i:expr, $k:tt) => {
        $crate::__logjet_key!($k)
    };
    ($k:ident) => {{
        if const { $crate::__private::is_plain(::core::stringify!($k).as_bytes()) } {
            static KEY: $crate::__private::StaticKey = $crate::__private::StaticKey::new(
                ::core::stringify!($k),
                ::core::concat!(",\"", ::core::stringify!($k), "\":"),
            );
            KEY.key()
        } else {
            $crate::__private::Key::runtime($crate::__private::strip_raw(::core::stringify!($k)))
        }
    }};
    ($k:literal) => {{
        if const { $crate::__private::is_plain($k.as_bytes()) } {
            static KEY: $crate::__private::StaticKey =
                $crate::__private::StaticKey::new($k, ::core::concat!(",\"", $k, "\":"));
            KEY.key()
        } else {
            $crate::__private::Key::runtime($k)
        }
    }};
}
