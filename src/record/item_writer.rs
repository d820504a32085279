//! Where a record's fields are written: [`ItemWriter`], the one interface
//! through which every value type writes itself, and its writers: the
//! [`Capture`] buffer, [`Measure`] (how many bytes the fields take),
//! [`InPlace`] (the bytes straight into the words a thread's ring reserved
//! for them) and, for a caller that formats its own line,
//! `format::site_line::SiteLine`.
//!
//! A logging macro's record is written in place when it can be: its fields
//! are measured, the ring reserves exactly that many bytes, and the same
//! code writes them there, with no intermediate buffer and no per-piece
//! length kept in memory. Only what the call site's layout covers is
//! written in place: fields under the call site's keys (see `site`) with
//! raw values (numbers, booleans, strings, bytes). Anything else (a key
//! carried as text, a `Display`, `Debug`, error or `serde` value) makes
//! [`Measure`] say [`UNSIZED`], and the record is captured instead.
//!
//! A `tracing` event cannot be measured without visiting its fields twice:
//! the ring reserves a bound for it (`tunables::TRACING_EVENT_ROOM`) and
//! [`InPlace`] says how much it wrote. Then messages and `Display` values
//! are formatted straight into the room too; a record that does not fit,
//! or has a key carried as text or a value only a capture can run (JSON
//! text, an error), fails and is captured instead.

use std::fmt;

use super::capture::*;
use super::intern::Key;
use super::out::{copy_small, Out};

/// What [`Measure`] counts for a field that cannot be written in place:
/// larger than any ring, so the record is captured instead. Sums of it stay
/// far from overflowing (a record has at most a few hundred fields).
pub(crate) const UNSIZED: usize = 1 << 48;

/// Writes a record's items. The typed methods are what value types call
/// (see `crate::value::Value`); the first eight are each writer's own.
pub trait ItemWriter {
    /// An item made elsewhere (a call site's item, a child's bindings
    /// item), as it is.
    #[doc(hidden)]
    fn item(&mut self, bytes: &[u8]);

    /// `tag`, the key and a fixed-size value.
    #[doc(hidden)]
    fn keyed<const N: usize>(&mut self, tag: u8, key: Key<'_>, v: [u8; N]);

    /// `tag`, the key and a length-prefixed value.
    #[doc(hidden)]
    fn keyed_blob(&mut self, tag: u8, key: Key<'_>, s: &[u8]);

    /// `tag` and the key: a value the tag says (booleans, null).
    #[doc(hidden)]
    fn key_only(&mut self, tag: u8, key: Key<'_>);

    /// See [`json_with`](ItemWriter::json_with).
    #[doc(hidden)]
    fn keyed_json(&mut self, key: Key<'_>, f: impl FnOnce(&mut Capture) -> Result<(), String>);

    /// See [`display`](ItemWriter::display).
    #[doc(hidden)]
    fn keyed_display(&mut self, key: Key<'_>, v: &dyn fmt::Display);

    /// Text behind its length (a u32): a message's.
    #[doc(hidden)]
    fn blob(&mut self, s: &[u8]);

    /// The text of format arguments behind its length, formatted here.
    #[doc(hidden)]
    fn formatted(&mut self, args: fmt::Arguments<'_>);

    /// The namespace of a debug handle.
    #[doc(hidden)]
    #[inline(always)]
    fn ns(&mut self, ns: &str) {
        self.item(&[T_NS]);
        self.blob(ns.as_bytes());
    }

    /// Bound fields made elsewhere (a `tracing` event's span fields): the
    /// mask of their keys' bits, their NDJSON fragment (`,"k":v,...`, no
    /// key twice) and the same fields as items (see
    /// [`Capture::bindings_item`]).
    #[doc(hidden)]
    #[inline(always)]
    fn bindings(&mut self, mask: u64, json: &[u8], items: &[u8]) {
        self.item(&[T_BINDINGS]);
        self.item(&mask.to_le_bytes());
        self.blob(json);
        self.blob(items);
    }

    /// The message of a record without a call site's item.
    #[doc(hidden)]
    #[inline(always)]
    fn msg(&mut self, msg: &str) {
        self.item(&[T_MSG]);
        self.blob(msg.as_bytes());
    }

    /// The message of format arguments, formatted only when they are not
    /// a plain string.
    #[doc(hidden)]
    #[inline(always)]
    fn msg_fmt(&mut self, args: fmt::Arguments<'_>) {
        match args.as_str() {
            Some(s) => self.msg(s),
            None => {
                self.item(&[T_MSG]);
                self.formatted(args);
            }
        }
    }

    /// Call site `id` (registered without its message, as a `tracing`
    /// callsite is), with message `msg`.
    #[doc(hidden)]
    #[inline(always)]
    fn site_msg(&mut self, id: u32, msg: &str) {
        let [a, b, c, d] = id.to_le_bytes();
        self.item(&[T_SITE_FMT, a, b, c, d]);
        self.blob(msg.as_bytes());
    }

    /// Call site `id` (registered without its message), with the message
    /// of format arguments.
    #[doc(hidden)]
    #[inline(always)]
    fn site_fmt(&mut self, id: u32, args: fmt::Arguments<'_>) {
        match args.as_str() {
            Some(s) => self.site_msg(id, s),
            None => {
                let [a, b, c, d] = id.to_le_bytes();
                self.item(&[T_SITE_FMT, a, b, c, d]);
                self.formatted(args);
            }
        }
    }

    /// A field whose value is JSON text written by `f` (only a capture can
    /// run it). When `f` fails, what it wrote is cut and the value becomes
    /// a string naming the failure.
    #[doc(hidden)]
    #[inline(always)]
    fn json_with<'k>(&mut self, key: impl Into<Key<'k>>, f: impl FnOnce(&mut Capture) -> Result<(), String>) {
        self.keyed_json(key.into(), f)
    }

    /// A value written as a JSON string from its `Display` output (only a
    /// capture can run it).
    #[doc(hidden)]
    #[inline(always)]
    fn display<'k>(&mut self, key: impl Into<Key<'k>>, v: &dyn fmt::Display) {
        self.keyed_display(key.into(), v)
    }

    /// Call site `id`, whose message is its literal: the record carries
    /// the site's id instead of the message and keys.
    #[doc(hidden)]
    #[inline(always)]
    fn site(&mut self, id: u32) {
        let [a, b, c, d] = id.to_le_bytes();
        self.item(&[T_SITE, a, b, c, d]);
    }

    #[doc(hidden)]
    #[inline(always)]
    fn i64<'k>(&mut self, key: impl Into<Key<'k>>, v: i64) {
        self.keyed(T_I64, key.into(), v.to_le_bytes());
    }

    #[doc(hidden)]
    #[inline(always)]
    fn u64<'k>(&mut self, key: impl Into<Key<'k>>, v: u64) {
        self.keyed(T_U64, key.into(), v.to_le_bytes());
    }

    #[doc(hidden)]
    #[inline(always)]
    fn i128<'k>(&mut self, key: impl Into<Key<'k>>, v: i128) {
        self.keyed(T_I128, key.into(), v.to_le_bytes());
    }

    #[doc(hidden)]
    #[inline(always)]
    fn u128<'k>(&mut self, key: impl Into<Key<'k>>, v: u128) {
        self.keyed(T_U128, key.into(), v.to_le_bytes());
    }

    #[doc(hidden)]
    #[inline(always)]
    fn f64<'k>(&mut self, key: impl Into<Key<'k>>, v: f64) {
        self.keyed(T_F64, key.into(), v.to_bits().to_le_bytes());
    }

    #[doc(hidden)]
    #[inline(always)]
    fn bool<'k>(&mut self, key: impl Into<Key<'k>>, v: bool) {
        self.key_only(if v { T_TRUE } else { T_FALSE }, key.into());
    }

    #[doc(hidden)]
    #[inline(always)]
    fn null<'k>(&mut self, key: impl Into<Key<'k>>) {
        self.key_only(T_NULL, key.into());
    }

    #[doc(hidden)]
    #[inline(always)]
    fn str<'k>(&mut self, key: impl Into<Key<'k>>, v: &str) {
        self.keyed_blob(T_STR, key.into(), v.as_bytes());
    }

    /// Bytes that may not be UTF-8: the writer replaces invalid sequences.
    #[doc(hidden)]
    #[inline(always)]
    fn bytes_lossy<'k>(&mut self, key: impl Into<Key<'k>>, v: &[u8]) {
        self.keyed_blob(T_BYTES, key.into(), v);
    }
}

impl ItemWriter for Capture {
    #[inline(always)]
    fn item(&mut self, bytes: &[u8]) {
        self.extend(bytes)
    }

    #[inline(always)]
    fn keyed<const N: usize>(&mut self, tag: u8, key: Key<'_>, v: [u8; N]) {
        self.put_keyed(tag, key, v)
    }

    #[inline(always)]
    fn keyed_blob(&mut self, tag: u8, key: Key<'_>, s: &[u8]) {
        self.put_keyed_blob(tag, key, s)
    }

    #[inline(always)]
    fn key_only(&mut self, tag: u8, key: Key<'_>) {
        self.put_key(tag, key)
    }

    fn keyed_json(&mut self, key: Key<'_>, f: impl FnOnce(&mut Capture) -> Result<(), String>) {
        self.put_json_with(key, f)
    }

    fn keyed_display(&mut self, key: Key<'_>, v: &dyn fmt::Display) {
        self.put_display(key, v)
    }

    #[inline(always)]
    fn blob(&mut self, s: &[u8]) {
        self.put_blob(s)
    }

    #[inline(never)]
    fn formatted(&mut self, args: fmt::Arguments<'_>) {
        self.put_formatted(args)
    }
}

/// A whole record's items, written the same way through every writer
/// (measured, in place, captured, or as a caller's line): a call site's
/// record (`logger::SiteRecord`).
pub(crate) trait RecordItems {
    /// Writes every item, in order.
    fn write_items<W: ItemWriter>(&self, w: &mut W);
}

/// A call's fields, each evaluated once: `()` or `(field, rest)`.
pub trait FieldList {
    /// Writes every field, in order.
    fn write<W: ItemWriter>(&self, w: &mut W);
}

impl FieldList for () {
    #[inline(always)]
    fn write<W: ItemWriter>(&self, _w: &mut W) {}
}

impl<F: FieldList, R: FieldList> FieldList for (F, R) {
    #[inline(always)]
    fn write<W: ItemWriter>(&self, w: &mut W) {
        self.0.write(w);
        self.1.write(w);
    }
}

/// Counts the bytes fields take when written [`InPlace`]: [`UNSIZED`] for
/// one that cannot be.
#[derive(Default)]
pub(crate) struct Measure(pub(crate) usize);

impl ItemWriter for Measure {
    #[inline(always)]
    fn item(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }

    #[inline(always)]
    fn keyed<const N: usize>(&mut self, tag: u8, key: Key<'_>, _v: [u8; N]) {
        self.0 += key.coded(tag).map_or(UNSIZED, |(_, h)| h + N);
    }

    #[inline(always)]
    fn keyed_blob(&mut self, tag: u8, key: Key<'_>, s: &[u8]) {
        self.0 += key.coded(tag).map_or(UNSIZED, |(_, h)| h + 4 + s.len());
    }

    #[inline(always)]
    fn key_only(&mut self, tag: u8, key: Key<'_>) {
        self.0 += key.coded(tag).map_or(UNSIZED, |(_, h)| h);
    }

    #[inline(always)]
    fn keyed_json(&mut self, _key: Key<'_>, _f: impl FnOnce(&mut Capture) -> Result<(), String>) {
        self.0 += UNSIZED;
    }

    #[inline(always)]
    fn keyed_display(&mut self, _key: Key<'_>, _v: &dyn fmt::Display) {
        self.0 += UNSIZED;
    }

    #[inline(always)]
    fn blob(&mut self, s: &[u8]) {
        self.0 += 4 + s.len();
    }

    #[inline(always)]
    fn formatted(&mut self, _args: fmt::Arguments<'_>) {
        self.0 += UNSIZED;
    }
}

/// Writes fields into room in a thread's ring (see
/// `crate::ring::Producer::push_in_place`): the exact room [`Measure`]
/// counted for a macro's record, or a bound for a `tracing` event. Each
/// piece is one bounds check and a copy, the position a local. Anything it
/// cannot write there (a key carried as text, a value only a capture can
/// run), or that does not fit, marks it failed, and the record is captured
/// instead.
pub(crate) struct InPlace<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> InPlace<'a> {
    /// A writer into `buf`, at most `u32::MAX` bytes (a record's length
    /// is a u32), so that every length written fits a u32.
    #[inline(always)]
    pub(crate) fn new(buf: &'a mut [u8]) -> InPlace<'a> {
        debug_assert!(buf.len() <= u32::MAX as usize);
        InPlace { buf, pos: 0 }
    }

    /// Whether every write succeeded and filled the room exactly. (A
    /// write that fails puts the position past the end for good, and each
    /// write moves it by exactly what [`Measure`] counted for it, so the
    /// room is filled exactly only when none failed.)
    #[inline(always)]
    pub(crate) fn done(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// How many bytes were written, when every write succeeded (a record
    /// written into a bound).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    #[inline(always)]
    pub(crate) fn written(&self) -> Option<usize> {
        (self.pos <= self.buf.len()).then_some(self.pos)
    }

    /// The next `n` bytes, counted as written; `None`, and the writer
    /// failed, when they do not fit.
    #[inline(always)]
    fn room(&mut self, n: usize) -> Option<&mut [u8]> {
        let start = self.pos;
        match self.buf.get_mut(start..start.wrapping_add(n)) {
            Some(dst) => {
                self.pos = start + n;
                Some(dst)
            }
            None => {
                self.pos = usize::MAX;
                None
            }
        }
    }

    /// A write this writer cannot do: the position stays past the end, so
    /// the record is captured instead.
    #[inline(always)]
    fn fail(&mut self) {
        self.pos = usize::MAX;
    }

    /// The text of `args` behind its length, formatted straight into the
    /// room, and `failed` after it when the formatting fails; text that
    /// does not fit fails the record.
    fn text(&mut self, args: fmt::Arguments<'_>, failed: &[u8]) {
        let at = self.pos;
        if self.room(4).is_none() {
            return;
        }
        if fmt::write(&mut RoomOut(self), args).is_err() {
            // A failed `Display`, or no room (then this fails too).
            self.item(failed);
        }
        // After a failed write the position is past the end: nothing to
        // patch. Else `at + 4 <= pos <= len`, and the text is at most
        // `u32::MAX` bytes (see `new`).
        if self.pos <= self.buf.len() {
            let len = (self.pos - at - 4) as u32;
            self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
        }
    }
}

impl ItemWriter for InPlace<'_> {
    #[inline(always)]
    fn item(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.room(bytes.len()) {
            copy_small(dst, bytes);
        }
    }

    #[inline(always)]
    fn keyed<const N: usize>(&mut self, tag: u8, key: Key<'_>, v: [u8; N]) {
        let Some((head, h)) = key.coded(tag) else { return self.fail() };
        if let Some(dst) = self.room(h + N) {
            dst[..h].copy_from_slice(&head[..h]);
            dst[h..].copy_from_slice(&v);
        }
    }

    #[inline(always)]
    fn keyed_blob(&mut self, tag: u8, key: Key<'_>, s: &[u8]) {
        let Some((head, h)) = key.coded(tag) else { return self.fail() };
        if let Some(dst) = self.room(h + 4 + s.len()) {
            // Exact: the room is at most `u32::MAX` bytes (see `new`).
            dst[..h].copy_from_slice(&head[..h]);
            dst[h..h + 4].copy_from_slice(&(s.len() as u32).to_le_bytes());
            copy_small(&mut dst[h + 4..], s);
        }
    }

    #[inline(always)]
    fn key_only(&mut self, tag: u8, key: Key<'_>) {
        let Some((head, h)) = key.coded(tag) else { return self.fail() };
        if let Some(dst) = self.room(h) {
            dst.copy_from_slice(&head[..h]);
        }
    }

    #[inline(always)]
    fn keyed_json(&mut self, _key: Key<'_>, _f: impl FnOnce(&mut Capture) -> Result<(), String>) {
        self.fail()
    }

    /// As a capture writes it (a string; `<Display failed>` after what a
    /// failing `Display` impl wrote). [`Measure`] cannot size it, so only a
    /// record written into a bound has one.
    fn keyed_display(&mut self, key: Key<'_>, v: &dyn fmt::Display) {
        let Some((head, h)) = key.coded(T_STR) else { return self.fail() };
        if let Some(dst) = self.room(h) {
            dst.copy_from_slice(&head[..h]);
            self.text(format_args!("{v}"), DISPLAY_FAILED);
        }
    }

    #[inline(always)]
    fn blob(&mut self, s: &[u8]) {
        if let Some(dst) = self.room(4 + s.len()) {
            // Exact, as in `keyed_blob`.
            dst[..4].copy_from_slice(&(s.len() as u32).to_le_bytes());
            copy_small(&mut dst[4..], s);
        }
    }

    /// The text formatted straight into the room (a `Display` impl that
    /// fails keeps what it wrote, as in a capture).
    #[inline(never)]
    fn formatted(&mut self, args: fmt::Arguments<'_>) {
        self.text(args, b"");
    }
}

/// `fmt::Write` into an [`InPlace`] writer's room: text that does not fit
/// fails the record (and stops the formatting).
struct RoomOut<'w, 'a>(&'w mut InPlace<'a>);

impl fmt::Write for RoomOut<'_, '_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let dst = self.0.room(s.len()).ok_or(fmt::Error)?;
        copy_small(dst, s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    /// Every raw kind of field under call-site keys: what a macro's record
    /// writes in place.
    fn fields<W: ItemWriter>(w: &mut W, long: &str) {
        let k = |i| Key::site("", i);
        w.i64(k(0), -5);
        w.u64(k(1), u64::MAX);
        w.i128(k(2), i128::MIN);
        w.u128(k(3), u128::MAX);
        w.f64(k(4), 3.25);
        w.bool(k(5), true);
        w.bool(k(6), false);
        w.null(k(7));
        w.str(k(8), "");
        w.str(k(9), "GET");
        w.str(k(10), long);
        w.bytes_lossy(k(11), b"ok\xff end");
    }

    #[test]
    fn measured_then_written_in_place_gives_the_captured_bytes() {
        for long in ["x".repeat(16), "y".repeat(17), "é".repeat(300)] {
            let mut c = Capture::new(Level::Info, 0);
            c.site(7);
            fields(&mut c, &long);
            let mut size = Measure::default();
            size.site(7);
            fields(&mut size, &long);
            assert_eq!(size.0, c.bytes().len());

            let mut buf = vec![0; size.0];
            let mut w = InPlace::new(&mut buf);
            w.site(7);
            fields(&mut w, &long);
            assert!(w.done());
            assert_eq!(buf, c.bytes());

            // Room one byte short, or one byte long: not done.
            for n in [size.0 - 1, size.0 + 1] {
                let mut buf = vec![0; n];
                let mut w = InPlace::new(&mut buf);
                w.site(7);
                fields(&mut w, &long);
                assert!(!w.done(), "room of {n} bytes for {} bytes", size.0);
            }
        }
    }

    #[test]
    fn what_cannot_be_written_in_place_is_unsized_and_fails() {
        let writes: [fn(&mut Measure, &mut InPlace<'_>); 3] = [
            // A key carried as text (it needs escaping, or is not the call site's).
            |m, w| {
                m.str(Key::runtime("a key"), "v");
                w.str(Key::runtime("a key"), "v");
            },
            |m, w| {
                m.u64(Key::runtime("n"), 1);
                w.u64(Key::runtime("n"), 1);
            },
            // A value only a capture can write.
            |m, w| {
                m.json_with(Key::site("", 0), |_| Ok(()));
                w.json_with(Key::site("", 0), |_| Ok(()));
            },
        ];
        for write in writes {
            let mut m = Measure::default();
            let mut buf = vec![0; 64];
            let mut w = InPlace::new(&mut buf);
            w.site(1);
            write(&mut m, &mut w);
            assert!(m.0 >= UNSIZED);
            assert!(!w.done());
            w.item(&[0; 64]);
            assert!(!w.done(), "a failed writer stays failed");
            assert_eq!(w.written(), None);
        }
    }

    /// A `Display` that fails after writing a part.
    struct Failing;

    impl fmt::Display for Failing {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("half")?;
            Err(fmt::Error)
        }
    }

    /// What a `tracing` event's record can hold: messages (formatted or
    /// not), an interned key, `Display` values, raw fields.
    fn event<W: ItemWriter>(w: &mut W, long: &str) {
        w.site_fmt(9, format_args!("from {} of {}", 1, long.len()));
        w.str(crate::__logjet_key!(target), "app::db");
        fields(w, long);
        w.display(Key::site("", 12), &format_args!("{} items", 3));
        w.display(Key::site("", 13), &Failing);
        w.msg_fmt(format_args!("{long}"));
        w.msg("plain");
    }

    #[test]
    fn a_record_written_into_a_bound_takes_what_it_needs_or_fails() {
        for long in ["x".repeat(16), "é".repeat(300)] {
            let mut c = Capture::new(Level::Info, 0);
            event(&mut c, &long);
            let need = c.bytes().len();
            let mut size = Measure::default();
            event(&mut size, &long);
            assert!(size.0 >= UNSIZED, "formatted text cannot be measured");
            for room in [need, need + 1, need + 100] {
                let mut buf = vec![0; room];
                let mut w = InPlace::new(&mut buf);
                event(&mut w, &long);
                assert_eq!(w.written(), Some(need), "room of {room} bytes");
                assert_eq!(&buf[..need], c.bytes());
            }
            // Too small by one byte, or for the formatted message only: the
            // whole record fails.
            for room in [need - 1, 20] {
                let mut buf = vec![0; room];
                let mut w = InPlace::new(&mut buf);
                event(&mut w, &long);
                assert_eq!(w.written(), None, "room of {room} bytes for {need}");
            }
        }
    }
}
