//! The record frames of user sinks (`sink::Records`, `sink::Otlp`): the
//! writer does not format for them, it appends each record's captured
//! items behind a short header, and the output thread reads the frames back
//! and decodes the items there (`sink::records`).
//!
//! ```text
//! frame := len:u32 level:u8 time:u64 items     (len counts level, time and items;
//!                                                 time in Unix nanoseconds)
//! ```

use crate::level::Level;
use crate::record::{Out, RecordRef};

/// Appends `rec` (its time already in Unix nanoseconds) to a record sink's
/// buffer. A record of 4 GiB or more is left out.
#[inline]
pub(crate) fn write<O: Out + ?Sized>(rec: &RecordRef<'_>, out: &mut O) {
    let Ok(len) = u32::try_from(rec.items.len() + 9) else { return };
    out.extend(&len.to_le_bytes());
    out.push(rec.level.number());
    out.extend(&rec.time.to_le_bytes());
    out.extend(rec.items);
}

/// A frame read back: its level, its time and its items.
pub(crate) struct Frame<'a> {
    pub(crate) level: Level,
    pub(crate) nanos: u64,
    pub(crate) items: &'a [u8],
}

/// The frame of `buf` starting at `at`: where it ends, and its parts
/// (`None` for a malformed one, which is skipped). `None` when no frame
/// starts there.
pub(crate) fn read(buf: &[u8], at: usize) -> Option<(usize, Option<Frame<'_>>)> {
    let len = buf.get(at..at.checked_add(4)?)?;
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let end = (at + 4).saturating_add(len).min(buf.len());
    let body = &buf[at + 4..end];
    let parts = (|| {
        let (&level, rest) = body.split_first()?;
        let (time, items) = rest.split_at_checked(8)?;
        let nanos = u64::from_le_bytes(time.try_into().ok()?);
        Some(Frame { level: Level::from_number(level)?, nanos, items })
    })();
    Some((end, parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::OutBuf;

    #[test]
    fn frames_read_back_in_order_and_a_malformed_one_is_skipped() {
        let mut out = OutBuf::with_capacity(64);
        let a = [1u8, 2, 3];
        write(&RecordRef { level: Level::Warn, time: 7, items: &a, line: false }, &mut out);
        out.extend(&1u32.to_le_bytes());
        out.push(99);
        write(&RecordRef { level: Level::Info, time: 8, items: &[], line: false }, &mut out);
        let buf = out.as_slice();
        let (end, f) = read(buf, 0).unwrap();
        let f = f.unwrap();
        assert_eq!((f.level, f.nanos, f.items), (Level::Warn, 7, &a[..]));
        let (end, f) = read(buf, end).unwrap();
        assert!(f.is_none(), "a frame too short for its header");
        let (end, f) = read(buf, end).unwrap();
        assert_eq!(f.map(|f| (f.level, f.nanos)), Some((Level::Info, 8)));
        assert!(read(buf, end).is_none());
    }
}
