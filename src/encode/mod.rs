//! Encoders: JSON text for values and whole NDJSON lines.

pub(crate) mod console;
pub(crate) mod json;
pub mod pretty;
pub(crate) mod ser;
#[cfg(unix)]
pub(crate) mod syslog;
pub(crate) mod unique_keys;
