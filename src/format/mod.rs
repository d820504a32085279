//! The formatters: one per output, behind one interface ([`Formats`]), so
//! the writer hands each record over without knowing what its sinks take.
//!
//! | file | output |
//! |---|---|
//! | `json.rs` | the NDJSON line ([`json::JsonFormat`]), also the JSON body of syslog messages |
//! | `console.rs` | npm debug's console format (`sink::DebugConsole`) |
//! | `pretty.rs` | the pretty format (`sink::Pretty`, public as `logjet::pretty`) |
//! | `syslog.rs` | RFC 5424/3164 messages, framed for their transport (`sink::Syslog`) |
//! | `frame.rs` | the record frames of user sinks (`sink::Records`, `sink::Otlp`): the items as captured |
//!
//! and what they share: `json.rs` also holds escaping and numbers (every
//! formatter writes JSON strings and numbers the same way), `ser.rs` the
//! serde `Serializer` (run by callers, for values that borrow) and
//! `unique_keys.rs` the one-value-per-key rule.
//!
//! Every formatter reads the record's items with `record::Items`, bound
//! fields (a child logger's, a span's) included: none parses JSON back.

pub(crate) mod console;
pub(crate) mod frame;
pub(crate) mod json;
pub mod pretty;
pub(crate) mod ser;
#[cfg(unix)]
pub(crate) mod syslog;
pub(crate) mod unique_keys;

use crate::level::Level;
use crate::record::{Out, OutBuf, RecordRef};
use crate::sink::private::Format;
use console::ConsoleFormat;
use json::JsonFormat;
use pretty::PrettyFormat;

/// One sink's formatter.
enum SinkFormat {
    /// The logger's NDJSON line, made once per record and copied.
    Json,
    Console(ConsoleFormat),
    Pretty(Box<PrettyFormat>),
    #[cfg(unix)]
    Syslog(Box<syslog::SyslogFormat>),
    /// Record frames ([`frame`]), decoded on the output thread.
    Records,
}

impl SinkFormat {
    fn new(f: Format) -> SinkFormat {
        match f {
            Format::Json => SinkFormat::Json,
            Format::Console(style) => SinkFormat::Console(ConsoleFormat::new(style)),
            Format::Pretty(style) => SinkFormat::Pretty(Box::new(PrettyFormat::new(style))),
            #[cfg(unix)]
            Format::Syslog(spec) => SinkFormat::Syslog(Box::new(syslog::SyslogFormat::new(*spec))),
            Format::Records => SinkFormat::Records,
        }
    }
}

/// Every sink's formatter of one logger, in the order of its sinks (the
/// writer's batch holds one buffer per sink, in that order), and the NDJSON
/// formatter they share.
pub(crate) struct Formats {
    json: JsonFormat,
    /// Each sink's least level and formatter.
    sinks: Vec<(Level, SinkFormat)>,
    /// One NDJSON line, when it goes to several sinks.
    line: OutBuf,
}

impl Formats {
    pub(crate) fn new(json: JsonFormat, sinks: impl IntoIterator<Item = (Level, Format)>) -> Formats {
        let sinks = sinks.into_iter().map(|(min, f)| (min, SinkFormat::new(f))).collect();
        Formats { json, sinks, line: OutBuf::with_capacity(1024) }
    }

    /// Formats a record (its time already converted) into `bufs` (one per
    /// sink) for every sink that takes its level. Returns the bytes added.
    ///
    /// The common case, one NDJSON sink, writes the line straight into its
    /// buffer; with several NDJSON sinks the line is made once and copied.
    #[inline]
    pub(crate) fn format(&mut self, rec: &RecordRef<'_>, bufs: &mut [OutBuf]) -> usize {
        let level = rec.level;
        if let ([(min, SinkFormat::Json)], [buf]) = (self.sinks.as_slice(), &mut *bufs) {
            if level < *min {
                return 0;
            }
            let before = buf.len();
            self.json.format(rec, buf);
            return buf.len() - before;
        }
        self.format_each(rec, bufs)
    }

    /// [`format`](Formats::format) with several sinks, or another format.
    fn format_each(&mut self, rec: &RecordRef<'_>, bufs: &mut [OutBuf]) -> usize {
        let mut added = 0;
        let mut line_ready = false;
        for ((min, f), buf) in self.sinks.iter_mut().zip(bufs.iter_mut()) {
            if rec.level < *min {
                continue;
            }
            let before = buf.len();
            match f {
                SinkFormat::Json => {
                    if !line_ready {
                        self.line.clear();
                        self.json.format(rec, &mut self.line);
                        line_ready = true;
                    }
                    buf.extend(self.line.as_slice());
                }
                SinkFormat::Console(c) => c.format(rec, buf),
                SinkFormat::Pretty(p) => p.format(rec, buf),
                #[cfg(unix)]
                SinkFormat::Syslog(s) => s.format(&mut self.json, rec, buf),
                SinkFormat::Records => frame::write(rec, buf),
            }
            added += buf.len() - before;
        }
        added
    }

    /// Formats a record with what the redact paths name hidden: with one
    /// NDJSON sink, the line is written and then checked (its keys' bits
    /// against the paths'); otherwise the record is redacted first, once
    /// for every sink. Returns the bytes added.
    #[inline(never)]
    pub(crate) fn format_redacted(
        &mut self,
        redact: &mut crate::redact::RedactState,
        rec: &RecordRef<'_>,
        bufs: &mut [OutBuf],
    ) -> usize {
        if let ([(min, SinkFormat::Json)], [buf]) = (self.sinks.as_slice(), &mut *bufs) {
            if rec.level < *min {
                return 0;
            }
            let before = buf.len();
            let mask = self.json.format(rec, buf);
            redact.check_line(mask, &mut self.json, rec, buf, before);
            return buf.len() - before;
        }
        match redact.apply(rec) {
            Some(hidden) => self.format(&hidden, bufs),
            None => self.format(rec, bufs),
        }
    }

    /// Copies a line a caller formatted (`crate::preformat`: callers
    /// format only when every sink takes NDJSON) to every sink that takes
    /// its level. Returns the bytes added.
    pub(crate) fn copy_line(&self, rec: &RecordRef<'_>, bufs: &mut [OutBuf]) -> usize {
        let mut added = 0;
        for ((min, f), buf) in self.sinks.iter().zip(bufs.iter_mut()) {
            if rec.level >= *min && matches!(f, SinkFormat::Json) {
                buf.extend(rec.items);
                added += rec.items.len();
            }
        }
        added
    }
}
