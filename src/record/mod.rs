//! The captured record: what the caller builds and the channel carries.
//!
//! The caller does not encode JSON. It *captures* the record in a compact
//! binary form (typed fields, raw string bytes) inside a fixed-size inline
//! buffer, so that a typical record needs no allocation and the writer thread
//! does the formatting for each sink. Only values that borrow from the caller
//! and have no fast path (any `serde::Serialize`, errors, `Display`) are
//! turned into JSON text at the call site, because they cannot outlive it.
//!
//! Layout of the payload, a sequence of items:
//!
//! ```text
//! item   := MSG len:u32 utf8
//!         | SITE id:u32                           (a macro's call site whose message is its
//!                                    literal: the message and the keys of the
//!                                    fields after it come from the site)
//!         | SITE_FMT id:u32 len:u32 utf8          (a call site whose message was formatted)
//!         | NS len:u32 utf8                       (the namespace of a debug handle)
//!         | BINDINGS mask:u64 len:u32 json-fragment len:u32 item*
//!                                   (bound fields, twice: `,"k":v,...` pre-encoded
//!                                    for the NDJSON formatter, and as field items
//!                                    for every other one; mask: their keys' bits,
//!                                    see `record::key_bit`)
//!         | tag key value
//! key    := len:u8 bytes | 0x7F len:u32 bytes     (UTF-8)
//!         | 0x80 id:u16                           (an interned key, `record::intern`)
//!         | 0x81 index:u8                         (key `index` of the record's call site)
//! value  := I64/U64/F64: 8 bytes LE | I128/U128: 16 bytes LE | TRUE | FALSE | NULL
//!         | STR/BYTES/JSON: len:u32 bytes
//! ```
//!
//! The format is private to the crate and can change in any release.
//!
//! The module is split by concept: `registry` (a list that only grows,
//! read without a lock), `intern` (keys: the compile-time check,
//! interning), `site` (call sites: a macro's message and keys,
//! registered once), `table` (the writer's copy of both registries),
//! `capture` (the record being built and the item tags), `item_writer`
//! (how fields are written: measured, straight into the ring, or
//! captured), `items`
//! (decoding a record's items) and `out` (the byte sinks formatters write
//! into). Each imports only the ones before it in that list (`out` and
//! `registry` are leaves).

mod capture;
mod intern;
mod item_writer;
mod items;
mod out;
mod registry;
mod site;
mod table;

pub use capture::Capture;
pub(crate) use capture::*;
pub(crate) use intern::*;
pub use intern::{is_plain, Key, StaticKey};
pub use item_writer::{FieldList, ItemWriter};
pub(crate) use item_writer::{InPlace, Measure, RecordItems, UNSIZED};
pub(crate) use items::*;
pub use out::Out;
pub(crate) use out::{copy_small, OutBuf};
#[cfg(any(feature = "tracing", test))]
pub(crate) use site::register_runtime;
pub(crate) use site::SiteData;
pub use site::{literal_msg, Site};
pub(crate) use table::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;

    #[test]
    fn record_is_four_cache_lines() {
        assert_eq!(std::mem::size_of::<Record>(), 256);
    }

    #[test]
    fn items_round_trip_inline_and_spilled() {
        for pad in [0usize, 10, 300, 5000] {
            let mut c = Capture::new(Level::Info, 0);
            let long = "x".repeat(pad);
            c.ns("app:db");
            let mut bound = Capture::new(Level::Info, 0);
            bound.i64("a", 1);
            let mut item = Vec::new();
            Capture::bindings_item(
                &mut item,
                7,
                |o| o.extend_from_slice(b",\"a\":1"),
                |o| o.extend_from_slice(bound.bytes()),
            );
            c.item(&item);
            c.i64("i", -5);
            c.u64("u", u64::MAX);
            c.f64("f", 3.25);
            c.bool("t", true);
            c.bool("f2", false);
            c.null("n");
            c.str("s", &long);
            c.bytes_lossy("b", b"\xff");
            c.i128("big", i128::MIN);
            c.u128("ubig", u128::MAX);
            let k = "k".repeat(300);
            c.str(k.as_str(), "v");
            c.msg_fmt(format_args!("hello {}", 42));
            let items: Vec<Item<'_>> = Items::new(c.bytes()).collect();
            let flat: Vec<Item<'_>> = Items::new(c.bytes()).flat().take(3).collect();
            assert_eq!(
                flat,
                [Item::Ns(b"app:db"), Item::Field(b"a", Val::I64(1), None), Item::Field(b"i", Val::I64(-5), None)]
            );
            assert_eq!(
                items,
                vec![
                    Item::Ns(b"app:db"),
                    Item::Bindings(Bound { json: b",\"a\":1", items: bound.bytes(), mask: 7 }),
                    Item::Field(b"i", Val::I64(-5), None),
                    Item::Field(b"u", Val::U64(u64::MAX), None),
                    Item::Field(b"f", Val::F64(3.25), None),
                    Item::Field(b"t", Val::Bool(true), None),
                    Item::Field(b"f2", Val::Bool(false), None),
                    Item::Field(b"n", Val::Null, None),
                    Item::Field(b"s", Val::Str(long.as_bytes()), None),
                    Item::Field(b"b", Val::Bytes(b"\xff"), None),
                    Item::Field(b"big", Val::I128(i128::MIN), None),
                    Item::Field(b"ubig", Val::U128(u128::MAX), None),
                    Item::Field(k.as_bytes(), Val::Str(b"v"), None),
                    Item::Msg(b"hello 42", None),
                ]
            );
        }
    }

    #[test]
    fn plain_keys_are_decided_at_compile_time_and_interned() {
        const { assert!(is_plain(b"request_id")) };
        for k in ["method", "http.method", "a-b", "x_1", "_x", "levels", "nsx"] {
            assert!(is_plain(k.as_bytes()), "{k}");
        }
        for k in ["", "with space", "quo\"te", "é", "level", "_level", "__msg", "ns", "time", "pid", "hostname"] {
            assert!(!is_plain(k.as_bytes()), "{k}");
        }
        assert!(!is_plain("k".repeat(128).as_bytes()));
        static A: StaticKey = StaticKey::new("plain", ",\"plain\":");
        static B: StaticKey = StaticKey::new("plain", ",\"plain\":");
        let mut c = Capture::new(Level::Info, 0);
        c.str(A.key(), "v");
        c.str(Key::runtime("plain"), "w");
        c.str(B.key(), "x");
        assert_eq!(A.key().id, B.key().id, "one id per key text");
        let items: Vec<Item<'_>> = Items::new(c.bytes()).collect();
        let framed = Framed::of(",\"plain\":");
        assert_eq!(
            items,
            [
                Item::Field(b"plain", Val::Str(b"v"), Some(framed)),
                Item::Field(b"plain", Val::Str(b"w"), None),
                Item::Field(b"plain", Val::Str(b"x"), Some(framed)),
            ]
        );
    }

    #[test]
    fn a_call_site_carries_the_message_and_keys_of_its_records() {
        static LITERAL: Site = Site::new(Some("request handled"), &[",\"method\":", ",\"we ird\":", ",\"status\":"]);
        static FORMATTED: Site = Site::new(None, &[",\"id\":"]);
        let framed = |f: &'static str| Some(Framed::of(f));
        // Padded so that each field in turn meets the end of the inline bytes.
        for pad in [0usize, 170, 176, 180, 186, 190, 196, 200, 300] {
            let mut c = Capture::new(Level::Info, 0);
            c.ns("app");
            c.site(LITERAL.id());
            let long = "x".repeat(pad);
            c.str(Key::site("method", 0), &long);
            c.str(Key::runtime("we ird"), "v");
            c.u64(Key::site("status", 2), 200);
            // The message is the site's (which the item names).
            fn literal(i: Item<'_>) -> Item<'_> {
                match i {
                    Item::Msg(m, Some(site)) if site.msg == Some(m) => Item::Msg(m, None),
                    Item::Msg(..) => panic!("not the site's message"),
                    other => other,
                }
            }
            let items: Vec<Item<'_>> = Items::new(c.bytes()).map(literal).collect();
            assert_eq!(
                items,
                [
                    Item::Ns(b"app"),
                    Item::Msg(b"request handled", None),
                    Item::Field(b"method", Val::Str(long.as_bytes()), framed(",\"method\":")),
                    Item::Field(b"we ird", Val::Str(b"v"), None),
                    Item::Field(b"status", Val::U64(200), framed(",\"status\":")),
                ]
            );
            // The writer's copy of the registries reads the same.
            let mut table = KeyTable::default();
            table.refresh();
            assert_eq!(Items::with_keys(c.bytes(), &table).map(literal).collect::<Vec<_>>(), items);
        }
        let mut c = Capture::new(Level::Info, 0);
        c.site_fmt(FORMATTED.id(), format_args!("user {} in", std::hint::black_box(7)));
        c.i64(Key::site("id", 0), -1);
        c.site_fmt(FORMATTED.id(), format_args!("plain"));
        assert_eq!(
            Items::new(c.bytes()).collect::<Vec<_>>(),
            [
                Item::Msg(b"user 7 in", None),
                Item::Field(b"id", Val::I64(-1), framed(",\"id\":")),
                Item::Msg(b"plain", None),
            ]
        );
        // One id per site however many records, and a site key with no
        // site before it, or past the site's list, ends the decoding.
        assert_eq!(LITERAL.id(), LITERAL.id());
        assert_ne!(LITERAL.id(), FORMATTED.id());
        let mut c = Capture::new(Level::Info, 0);
        c.i64(Key::site("id", 0), 1);
        assert_eq!(Items::new(c.bytes()).count(), 0);
        let mut c = Capture::new(Level::Info, 0);
        c.site(LITERAL.id());
        c.i64(Key::site("id", 5), 1);
        assert_eq!(Items::new(c.bytes()).count(), 1);
        assert!(literal_msg("request handled") && !literal_msg("a {x}") && !literal_msg("a }} b"));
    }

    #[test]
    fn small_copies_copy_every_length() {
        for n in 0..40 {
            let src: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(7).wrapping_add(1)).collect();
            let mut dst = vec![0u8; n];
            copy_small(&mut dst, &src);
            assert_eq!(dst, src, "length {n}");
        }
    }

    #[test]
    fn truncated_capture_stops_without_panic() {
        let mut c = Capture::new(Level::Info, 0);
        c.str("key", "value");
        let b = c.bytes();
        for cut in 0..b.len() {
            let n = Items::new(&b[..cut]).count();
            assert_eq!(n, 0, "cut at {cut}");
        }
        assert_eq!(Items::new(&[0xEE, 1, 2]).count(), 0);
        // The same under a call site's keys: every cut ends the decoding at
        // the site item or at the field it cuts.
        static SITE: Site = Site::new(Some("m"), &[",\"n\":", ",\"s\":"]);
        let mut c = Capture::new(Level::Info, 0);
        c.site(SITE.id());
        c.u64(Key::site("n", 0), 7);
        c.str(Key::site("s", 1), "value");
        let b = c.bytes();
        assert_eq!(Items::new(b).count(), 3);
        for cut in 0..b.len() {
            let n = Items::new(&b[..cut]).count();
            let whole = [5, 5 + 11, b.len()].iter().filter(|&&end| end <= cut).count();
            assert_eq!(n, whole, "cut at {cut}");
        }
    }
}
