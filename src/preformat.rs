//! Formatting on the caller's thread when the writer falls behind.
//!
//! One writer thread formats every record; under a load it cannot keep up
//! with, its speed would be every producer's ceiling. So when a caller
//! finds its own queue at its largest and more than half full, it formats
//! its record into the finished NDJSON line itself and queues the line; the
//! writer only copies it into the batch. The work spreads over the calling
//! threads exactly when the writer is the bottleneck, and stops as soon as
//! the queue drains below half. The line keeps the record's place in its
//! thread's queue and its time, so per-thread order, the merge by
//! time, flushes and the accounting are unchanged.
//!
//! A macro call site's record is written into its line straight from the
//! call's fields (`format::site_line`, [`Preformat::push_site`]); any other
//! record, or one that path cannot write, is captured and its capture
//! formatted ([`Preformat::push`]). Both write the writer's line, byte for
//! byte.
//!
//! This applies when every sink takes NDJSON (the formats of the console
//! and syslog sinks stay on the writer). For measurements,
//! `LOGJET_CALLER_FORMAT=off` turns it off and `LOGJET_CALLER_FORMAT=always`
//! makes every caller format every record.

use std::sync::atomic::Ordering;

use crate::clock::Converter;
use crate::format::json::JsonFormat;
use crate::format::site_line::SiteLine;
use crate::level::Level;
use crate::record::{OutBuf, Record, RecordRef, SiteData};
use crate::redact::{RedactState, Redactor};
use crate::ring::Producer;
use crate::shared::Shared;
use crate::tunables::ORDER_WINDOW;
use std::sync::Arc;

/// What a logger's callers need to format their own records (held by the
/// logger's `Core` when every sink takes NDJSON).
pub(crate) struct Preformat {
    /// The writer's line format, copied once per thread.
    template: JsonFormat,
    /// Callers format every record, behind or not (for measurements).
    always: bool,
    /// The redact paths, applied as the writer applies them.
    redact: Option<Arc<Redactor>>,
}

impl Preformat {
    /// `None` when the environment turns caller formatting off.
    pub(crate) fn new(template: JsonFormat, redact: Option<Arc<Redactor>>) -> Option<Preformat> {
        let mode = std::env::var("LOGJET_CALLER_FORMAT").unwrap_or_default();
        if mode == "off" {
            return None;
        }
        Some(Preformat { template, always: mode == "always", redact })
    }

    /// Whether a caller formats its record itself now: the writer is
    /// behind (its queue says so), or callers always do.
    #[inline(always)]
    pub(crate) fn caller_formats(&self, producer: &mut Producer) -> bool {
        self.always || producer.behind()
    }

    /// Formats `rec`, with `time` as its time, and queues the line. Returns
    /// false when it could not (no room, a line too large for an entry, no
    /// clock calibration yet): the caller then queues the record as usual.
    #[cold]
    #[inline(never)]
    pub(crate) fn push(&self, to: Own<'_>, rec: &Record, time: u64) -> bool {
        self.push_line(to, rec.level, time, |lf, nanos| {
            let rec = RecordRef { level: rec.level, time: nanos, items: rec.bytes(), line: false };
            let mask = lf.format.format(&rec, &mut lf.line);
            if let Some(r) = lf.redact.as_mut() {
                // Written again only when a key may match a path.
                r.check_line(mask, &mut lf.format, &rec, &mut lf.line, 0);
            }
            true
        })
        .unwrap_or(false)
    }

    /// Like [`push`](Preformat::push) for call site `site`'s record, its
    /// line written straight from the call's fields by `fields` (see
    /// `format::site_line`): no capture to decode. `None` when the record
    /// is not one that path writes, or the thread cannot format yet (the
    /// caller then captures it); else whether the line was queued.
    #[inline(never)]
    pub(crate) fn push_site(
        &self,
        to: Own<'_>,
        level: Level,
        time: u64,
        site: &'static SiteData,
        fields: impl Fn(&mut SiteLine<'_, OutBuf>),
    ) -> Option<bool> {
        if self.redact.is_some() {
            return None;
        }
        self.push_line(to, level, time, |lf, nanos| {
            lf.format.format_site(level, nanos, site, &mut lf.line, |out| {
                let mut w = SiteLine::new(out, site);
                fields(&mut w);
                w.ok()
            })
        })
    }

    /// Formats a line with `format` (into `LineFormat::line`, given the
    /// time in nanoseconds; false when it cannot) and queues it. `None`
    /// when it was not formatted (`format` failed, or no clock calibration
    /// yet), else whether it was queued (a full queue, a line too large
    /// for an entry: the caller then queues the record as usual).
    ///
    /// A record must reach the writer soon after its time was read, or it
    /// comes out after newer records of other threads (see `crate::merge`).
    /// Formatting takes a few hundred nanoseconds; if the thread was paused
    /// meanwhile (more than half of [`ORDER_WINDOW`]), the line is formatted
    /// again with a fresh time, at most twice more.
    #[inline(always)]
    fn push_line(
        &self,
        to: Own<'_>,
        level: Level,
        time: u64,
        mut format: impl FnMut(&mut LineFormat, u64) -> bool,
    ) -> Option<bool> {
        let Own { shared, producer, mine } = to;
        let lf = match mine {
            Some(lf) => lf,
            None => mine.insert(Box::new(LineFormat::new(self, shared)?)),
        };
        lf.sync_clock(shared);
        let mut time = time;
        for _ in 0..3 {
            lf.line.clear();
            let nanos = lf.clock.to_nanos(time);
            if !format(lf, nanos) {
                lf.line.clear();
                return None;
            }
            if time == 0 {
                break; // the logger writes no time
            }
            let now = lf.clock.now();
            if now.saturating_sub(time) <= lf.restamp_after {
                break;
            }
            time = now;
        }
        Some(producer.push_line(level, time, lf.line.as_slice()))
    }
}

/// Where a caller's own line goes: the logger's shared state, this
/// thread's queue for it, and the thread's line format (made on its first
/// line).
pub(crate) struct Own<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) producer: &'a mut Producer,
    pub(crate) mine: &'a mut Option<Box<LineFormat>>,
}

/// One thread's copy of the line format, the clock calibration and a line
/// buffer, made the first time the thread formats its own record.
pub(crate) struct LineFormat {
    format: JsonFormat,
    clock: Converter,
    /// The calibration's generation this copy reflects.
    clock_gen: u64,
    /// Half of [`ORDER_WINDOW`], in the clock's units.
    restamp_after: u64,
    /// The writer's kind of buffer, so that the formatter takes the same
    /// one-piece paths (a `Vec<u8>` lends no room: every piece would be an
    /// `extend_from_slice` of its own).
    line: OutBuf,
    redact: Option<RedactState>,
}

impl LineFormat {
    fn new(pre: &Preformat, shared: &Shared) -> Option<LineFormat> {
        let (clock, clock_gen) = shared.calibration()?;
        let restamp_after = clock.units(ORDER_WINDOW / 2);
        Some(LineFormat {
            format: pre.template.clone(),
            clock,
            clock_gen,
            restamp_after,
            line: OutBuf::with_capacity(512),
            redact: pre.redact.clone().map(RedactState::new),
        })
    }

    /// Takes the writer's newer calibration, if any (one atomic load when
    /// there is none).
    fn sync_clock(&mut self, shared: &Shared) {
        if shared.clock_gen.load(Ordering::Acquire) != self.clock_gen {
            if let Some((clock, gen)) = shared.calibration() {
                self.clock = clock;
                self.clock_gen = gen;
            }
        }
    }
}
