//! The bindings of the request being handled on this thread.
//!
//! [`AccessLog`](crate::AccessLog) (feature `tower`) puts its child
//! logger's bindings (`request_id`) here while it calls and polls the inner
//! service; [`TracingLayer`](crate::TracingLayer) adds them to every event
//! it captures. So a handler's `tracing` events carry `request_id` without
//! a `tracing` span per request, whose creation, entry, exit and close in
//! the registry cost more than the rest of the access log together
//! (docs/performance.md, "The access log").
//!
//! The bindings move between the request's future and this thread-local
//! (no reference count is touched per poll), and go back to the future
//! when the poll ends, also when it panics. A task the handler spawns does
//! not inherit them, as it would not inherit a span without `instrument`.

use std::cell::Cell;
use std::sync::Arc;

use crate::logger::Bindings;

thread_local! {
    static CURRENT: Cell<Option<Arc<Bindings>>> = const { Cell::new(None) };
}

/// Runs `f` with `slot`'s bindings as this thread's current ones; they go
/// back into `slot` afterwards, and the outer ones (a request inside a
/// request) are current again.
#[cfg(feature = "tower")]
pub(crate) fn within<R>(slot: &mut Option<Arc<Bindings>>, f: impl FnOnce() -> R) -> R {
    struct Restore<'a> {
        slot: &'a mut Option<Arc<Bindings>>,
        outer: Option<Arc<Bindings>>,
    }
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let outer = self.outer.take();
            // A thread-local being destroyed keeps nothing: the bindings
            // are dropped with it.
            *self.slot = CURRENT.try_with(|c| c.replace(outer)).unwrap_or(None);
        }
    }
    match CURRENT.try_with(|c| c.replace(slot.take())) {
        Ok(outer) => {
            let _restore = Restore { slot, outer };
            f()
        }
        Err(_) => f(),
    }
}

/// Calls `f` with this thread's current bindings, if there are any.
#[inline]
pub(crate) fn with_current(f: impl FnOnce(&Bindings)) {
    let _ = CURRENT.try_with(|c| {
        let current = c.take();
        if let Some(b) = &current {
            f(b);
        }
        c.set(current);
    });
}

#[cfg(all(test, feature = "tower"))]
mod tests {
    use super::*;
    use crate::{fields, sink, Logger};

    fn current() -> Option<Vec<u8>> {
        let mut out = None;
        with_current(|b| out = Some(b.json().to_vec()));
        out
    }

    #[test]
    fn within_makes_the_bindings_current_and_gives_them_back() {
        let (log, _guard) = Logger::builder().sink(sink::Writer::new(std::io::sink())).build().unwrap();
        let mut outer = log.child(fields!(request_id = "outer")).bindings.clone();
        let mut inner = log.child(fields!(request_id = "inner")).bindings.clone();
        assert_eq!(current(), None);
        within(&mut outer, || {
            assert_eq!(current().as_deref(), Some(&br#","request_id":"outer""#[..]));
            within(&mut inner, || {
                assert_eq!(current().as_deref(), Some(&br#","request_id":"inner""#[..]));
            });
            assert_eq!(current().as_deref(), Some(&br#","request_id":"outer""#[..]));
        });
        assert_eq!(current(), None, "nothing current after the poll");
        assert!(outer.is_some() && inner.is_some(), "the bindings went back to their futures");

        // A poll that panics gives them back too.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            within(&mut outer, || panic!("handler panicked"));
        }));
        assert!(caught.is_err());
        assert_eq!(current(), None);
        assert!(outer.is_some());
    }
}
