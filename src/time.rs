//! Timestamps: taken by the caller as nanoseconds, formatted by the writer.

use chrono::{DateTime, Local, TimeZone, Utc};

use crate::record::Out;

/// How the `time` key is written.
///
/// ```
/// use logjet::{Logger, TimeFormat};
///
/// let (log, _guard) = Logger::builder()
///     .time(TimeFormat::Rfc3339)          // "time":"2026-11-21T20:22:00.123Z"
///     .sink(logjet::sink::Writer::new(std::io::sink()))
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeFormat {
    /// Milliseconds since the Unix epoch, as a number: pino's default.
    #[default]
    EpochMillis,
    /// RFC 3339 in UTC with milliseconds, as a string: `"2026-11-21T20:22:00.123Z"`.
    Rfc3339,
    /// RFC 3339 in the local time zone with its offset: `"2026-11-21T21:22:00.123+01:00"`.
    Rfc3339Local,
    /// No `time` key at all (the caller does not read the clock either).
    Omit,
}

/// Formats timestamps on the writer thread, caching the part of an RFC 3339
/// string that only changes once a second.
#[derive(Clone)]
pub(crate) struct TimeFormatter {
    format: TimeFormat,
    cached_sec: u64,
    /// `"2026-11-21T20:22:00` (with the opening quote).
    cached_prefix: Vec<u8>,
    /// `Z"` or `+01:00"`.
    cached_suffix: Vec<u8>,
    /// The epoch milliseconds last written, and `,"time":`, their digits
    /// and the member suffix (records come in bursts within the same
    /// millisecond): the member and what follows it are one piece of the
    /// line.
    last_ms: u64,
    last_ms_text: Vec<u8>,
    /// Where the digits end in `last_ms_text`.
    last_ms_end: usize,
    /// What [`write_json_member`](TimeFormatter::write_json_member) writes
    /// after the member (the NDJSON line's constant `pid` and `hostname`).
    member_suffix: Box<[u8]>,
}

/// `,"time":`, the member's text before the milliseconds' digits.
const TIME_KEY: &[u8; 8] = b",\"time\":";
/// Where the digits start in `TimeFormatter::last_ms_text`.
const MS_AT: usize = TIME_KEY.len();

impl TimeFormatter {
    pub(crate) fn new(format: TimeFormat) -> TimeFormatter {
        TimeFormatter {
            format,
            cached_sec: u64::MAX,
            cached_prefix: Vec::new(),
            cached_suffix: Vec::new(),
            last_ms: u64::MAX,
            last_ms_text: TIME_KEY.to_vec(),
            last_ms_end: MS_AT,
            member_suffix: Box::default(),
        }
    }

    /// The same formatter, writing `suffix` after each time member.
    pub(crate) fn with_member_suffix(mut self, suffix: &[u8]) -> TimeFormatter {
        self.member_suffix = suffix.into();
        self.last_ms = u64::MAX;
        self
    }

    /// What [`write_json_member`](TimeFormatter::write_json_member) writes
    /// after the member.
    #[inline]
    pub(crate) fn member_suffix(&self) -> &[u8] {
        &self.member_suffix
    }

    /// Appends `,"time":…` for a time in nanoseconds (nothing under
    /// [`TimeFormat::Omit`]), then the member suffix
    /// ([`with_member_suffix`](TimeFormatter::with_member_suffix)).
    #[inline]
    pub(crate) fn write_json_member<O: Out + ?Sized>(&mut self, out: &mut O, nanos: u64) {
        match self.format {
            TimeFormat::EpochMillis => {
                self.update_ms(nanos);
                out.extend(&self.last_ms_text);
            }
            TimeFormat::Omit => out.extend(&self.member_suffix),
            TimeFormat::Rfc3339 | TimeFormat::Rfc3339Local => {
                out.extend(TIME_KEY);
                self.write_rfc3339(out, nanos);
                out.extend(&self.member_suffix);
            }
        }
    }

    /// Appends the time's value alone (a number or a quoted string), or
    /// nothing under [`TimeFormat::Omit`]: for a line whose time key is
    /// written with the level (see [`crate::Keys`]).
    #[inline]
    pub(crate) fn write_json_value<O: Out + ?Sized>(&mut self, out: &mut O, nanos: u64) {
        match self.format {
            TimeFormat::EpochMillis => self.write_ms(out, nanos),
            TimeFormat::Omit => {}
            TimeFormat::Rfc3339 | TimeFormat::Rfc3339Local => self.write_rfc3339(out, nanos),
        }
    }

    /// Appends the epoch milliseconds of a time in nanoseconds.
    #[inline(always)]
    fn write_ms<O: Out + ?Sized>(&mut self, out: &mut O, nanos: u64) {
        self.update_ms(nanos);
        out.extend(&self.last_ms_text[MS_AT..self.last_ms_end]);
    }

    /// Makes `last_ms_text` hold the digits of a time in nanoseconds.
    #[inline(always)]
    fn update_ms(&mut self, nanos: u64) {
        let ms = nanos / 1_000_000;
        if ms != self.last_ms {
            let mut b = itoa::Buffer::new();
            let digits = b.format(ms).as_bytes();
            self.last_ms_text.truncate(MS_AT);
            self.last_ms_text.extend_from_slice(digits);
            self.last_ms_end = self.last_ms_text.len();
            self.last_ms_text.extend_from_slice(&self.member_suffix);
            self.last_ms = ms;
        }
    }

    /// Whether a time is written at all.
    pub(crate) fn writes_time(&self) -> bool {
        self.format != TimeFormat::Omit
    }

    /// Appends the quoted RFC 3339 string for a time in nanoseconds.
    fn write_rfc3339<O: Out + ?Sized>(&mut self, out: &mut O, nanos: u64) {
        let sec = nanos / 1_000_000_000;
        if sec != self.cached_sec {
            self.refresh(sec);
        }
        let ms = (nanos / 1_000_000 % 1000) as usize;
        out.extend(&self.cached_prefix);
        out.extend(&[b'.', b'0' + (ms / 100) as u8, b'0' + (ms / 10 % 10) as u8, b'0' + (ms % 10) as u8]);
        out.extend(&self.cached_suffix);
    }

    #[cold]
    fn refresh(&mut self, sec: u64) {
        self.cached_sec = sec;
        self.cached_prefix.clear();
        self.cached_suffix.clear();
        let secs = i64::try_from(sec).unwrap_or(i64::MAX);
        let utc: DateTime<Utc> = DateTime::from_timestamp(secs, 0).unwrap_or_default();
        match self.format {
            TimeFormat::Rfc3339Local => {
                let local = Local.from_utc_datetime(&utc.naive_utc());
                self.cached_prefix = format!("\"{}", local.format("%Y-%m-%dT%H:%M:%S")).into_bytes();
                self.cached_suffix = format!("{}\"", local.format("%:z")).into_bytes();
            }
            _ => {
                self.cached_prefix = format!("\"{}", utc.format("%Y-%m-%dT%H:%M:%S")).into_bytes();
                self.cached_suffix = b"Z\"".to_vec();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(format: TimeFormat, nanos: u64) -> String {
        let mut f = TimeFormatter::new(format);
        let mut out = Vec::new();
        f.write_json_member(&mut out, nanos);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats() {
        let t = 1_732_200_000_123_456_789;
        assert_eq!(member(TimeFormat::EpochMillis, t), r#","time":1732200000123"#);
        assert_eq!(member(TimeFormat::Rfc3339, t), r#","time":"2024-11-21T14:40:00.123Z""#);
        assert_eq!(member(TimeFormat::Omit, t), "");
        let local = member(TimeFormat::Rfc3339Local, t);
        let parsed = DateTime::parse_from_rfc3339(local.trim_start_matches(",\"time\":").trim_matches('"')).unwrap();
        assert_eq!(parsed.timestamp_millis(), 1_732_200_000_123);
    }

    #[test]
    fn cache_follows_the_second() {
        let mut f = TimeFormatter::new(TimeFormat::Rfc3339);
        let mut out = Vec::new();
        f.write_rfc3339(&mut out, 999_000_000);
        out.push(b' ');
        f.write_rfc3339(&mut out, 1_000_000_000);
        assert_eq!(String::from_utf8(out).unwrap(), r#""1970-01-01T00:00:00.999Z" "1970-01-01T00:00:01.000Z""#);
    }
}
