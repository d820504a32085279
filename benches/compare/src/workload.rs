//! The workload: the one record every peer logs, and the values it carries.
//!
//! The values are defined here only. Each call's values reach the logger
//! as a service's do: from a [`Request`] that passes through
//! [`std::hint::black_box`] on its way to the call, so that the compiler
//! knows none of them (it cannot fold a constant string's escaping, a
//! number's formatting or a boolean's branch into the call site). The
//! message is the exception: it names the event, so it is a literal at
//! each call site in every peer, as in a service.

use std::hint::black_box;

/// The message of every record. The logging macros take it as a literal at
/// each call site; the verification and the hand-written lines use this.
pub const MSG: &str = "request handled";

/// One request's values, as a handler has them when it logs.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    pub method: &'static str,
    pub path: &'static str,
    pub status: u16,
    pub latency_ms: f64,
    pub cached: bool,
    /// The record's index: the verification checks that each appears once.
    pub request_id: u64,
}

/// The values of every record but `request_id`.
const TEMPLATE: Request =
    Request { method: "GET", path: "/api/v1/users/12345", status: 200, latency_ms: 3.25, cached: false, request_id: 0 };

impl Request {
    /// Request `n` as it arrives at the logging call: opaque to the
    /// compiler (`black_box`), every field included.
    #[inline(always)]
    pub fn arrive(n: u64) -> Request {
        black_box(Request { request_id: n, ..TEMPLATE })
    }

    /// The record in words, for the report.
    pub fn describe() -> String {
        let t = TEMPLATE;
        format!(
            "msg \"{MSG}\", method=\"{}\", path=\"{}\", status={}, latency_ms={}, cached={}, request_id=n",
            t.method, t.path, t.status, t.latency_ms, t.cached
        )
    }
}
