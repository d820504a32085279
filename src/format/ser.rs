//! A `serde::Serializer` that writes JSON with logjet's escaping rules.
//!
//! It differs from `serde_json` where a log line needs it to: NaN and the
//! infinities become strings, byte strings become (lossy) UTF-8 strings,
//! map keys of any type become strings instead of errors, nesting deeper
//! than [`MAX_DEPTH`] is an error (which also stops a cyclic value from
//! overflowing the stack), and an object never has a key twice: a later
//! member replaces an earlier one with the same key (two fields renamed to
//! one name, a `#[serde(flatten)]` field over its parent's, a map whose keys
//! become equal as strings), as everywhere in a record (see
//! [`crate::format::unique_keys`]).

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use serde::ser::{self, Serialize};

use super::escape::{write_str, write_str_lossy};
use super::number::{write_f32, write_f64, write_int};
use crate::record::Out;

/// Deepest nesting written; `serde_json` refuses to parse deeper input.
pub(crate) const MAX_DEPTH: u32 = 128;

/// Serializes `value` as JSON into `out`. On error, `out` may hold a partial
/// value: the caller cuts it back.
pub(crate) fn to_json<O: Out, T: Serialize + ?Sized>(out: &mut O, value: &T) -> Result<(), String> {
    // The members list is kept per thread, so that a value with objects
    // does not allocate one each time.
    let members = MEMBERS.try_with(Cell::take).unwrap_or_default();
    let mut s = Ser { out, depth: 0, members };
    let r = value.serialize(&mut s).map_err(|e| e.0);
    let mut members = s.members;
    members.clear();
    let _ = MEMBERS.try_with(|m| m.set(members));
    r
}

thread_local! {
    static MEMBERS: Cell<Vec<Member>> = const { Cell::new(Vec::new()) };
}

pub(crate) struct Ser<'a, O: Out> {
    out: &'a mut O,
    depth: u32,
    /// The members of the objects being written, innermost last.
    members: Vec<Member>,
}

/// One member of an object being written: where its text starts (at its
/// comma, if any) and where its key's string literal is.
struct Member {
    start: usize,
    key: Range<usize>,
}

/// Why a value could not be written.
#[derive(Debug)]
pub(crate) struct SerError(String);

impl fmt::Display for SerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SerError(msg.to_string())
    }
}

impl<O: Out> Ser<'_, O> {
    /// One level deeper: an error past [`MAX_DEPTH`]. Every wrapper counts
    /// (`Some`, newtypes, variants, sequences, maps), so a value that
    /// refers to itself through any of them stops here.
    fn enter(&mut self) -> Result<(), SerError> {
        if self.depth >= MAX_DEPTH {
            return Err(SerError(format!("value nested deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        Ok(())
    }

    fn open(&mut self, bracket: u8) -> Result<(), SerError> {
        self.enter()?;
        self.out.push(bracket);
        Ok(())
    }

    /// Serializes `value` one level deeper (for the wrappers that add no
    /// bracket of their own).
    fn wrapped<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.enter()?;
        let r = value.serialize(&mut *self);
        self.depth -= 1;
        r
    }

    /// `{"variant":` before the content of an enum variant with data.
    fn open_variant(&mut self, variant: &str) -> Result<(), SerError> {
        self.open(b'{')?;
        write_str(self.out, variant.as_bytes());
        self.out.push(b':');
        Ok(())
    }
}

/// The state of an array or object being written.
pub(crate) struct Compound<'s, 'a, O: Out> {
    ser: &'s mut Ser<'a, O>,
    first: bool,
    /// What closes it: `]`, `}`, `]}` or `}}`.
    close: &'static [u8],
    /// For an object: where its members start in the output and its first
    /// entry in `ser.members`.
    object: Option<(usize, usize)>,
}

impl<'s, 'a, O: Out> Compound<'s, 'a, O> {
    fn new(ser: &'s mut Ser<'a, O>, close: &'static [u8]) -> Self {
        Compound { ser, first: true, close, object: None }
    }

    fn object(ser: &'s mut Ser<'a, O>, close: &'static [u8]) -> Self {
        let object = Some((ser.out.len(), ser.members.len()));
        Compound { ser, first: true, close, object }
    }

    /// Writes `,"key"` (the comma unless first) and notes the member.
    fn member_key(&mut self, write_key: impl FnOnce(&mut Self) -> Result<(), SerError>) -> Result<(), SerError> {
        let start = self.ser.out.len();
        self.comma();
        let key_start = self.ser.out.len();
        write_key(self)?;
        let key = key_start..self.ser.out.len();
        self.ser.members.push(Member { start, key });
        Ok(())
    }

    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.ser.out.push(b',');
        }
    }

    fn end(self) -> Result<(), SerError> {
        if let Some((body, first)) = self.object {
            drop_replaced_members(self.ser.out, body, &self.ser.members[first..]);
            self.ser.members.truncate(first);
        }
        self.ser.out.extend(self.close);
        // One level for the bracket, one more for a variant wrapper.
        self.ser.depth -= self.close.len() as u32;
        Ok(())
    }

    /// Writes a map key as a JSON string, whatever its type: strings as they
    /// are, anything else as the string of its JSON text (`1` → `"1"`).
    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerError> {
        self.member_key(|c| {
            let start = c.ser.out.len();
            key.serialize(&mut *c.ser)?;
            if c.ser.out.tail(start).first() != Some(&b'"') {
                let text = c.ser.out.tail(start).to_vec();
                c.ser.out.truncate(start);
                write_str(c.ser.out, &text);
            }
            Ok(())
        })?;
        self.ser.out.push(b':');
        Ok(())
    }
}

/// Rewrites the members of the object written from `body` on without those
/// that a later member with the same key replaces (nothing to do, and no
/// copy, when every key is distinct).
fn drop_replaced_members<O: Out>(out: &mut O, body: usize, members: &[Member]) {
    if members.len() < 2 {
        return;
    }
    let text = out.tail(body);
    let key = |m: &Member| &text[m.key.start - body..m.key.end - body];
    let replaced: Vec<bool> = if members.len() <= 8 {
        (0..members.len()).map(|i| members[i + 1..].iter().any(|later| key(later) == key(&members[i]))).collect()
    } else {
        let mut last: HashMap<&[u8], usize> = HashMap::with_capacity(members.len());
        for (i, m) in members.iter().enumerate() {
            last.insert(key(m), i);
        }
        members.iter().enumerate().map(|(i, m)| last[key(m)] != i).collect()
    };
    if !replaced.contains(&true) {
        return;
    }
    let text = text.to_vec();
    out.truncate(body);
    let mut first = true;
    for (i, m) in members.iter().enumerate() {
        if replaced[i] {
            continue;
        }
        let end = members.get(i + 1).map_or(text.len(), |next| next.start - body);
        let entry = &text[m.start - body..end];
        // Each member's text starts at its comma, except the first's.
        let entry = entry.strip_prefix(b",").unwrap_or(entry);
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend(entry);
    }
}

impl<'s, 'a, O: Out> ser::Serializer for &'s mut Ser<'a, O> {
    type Ok = ();
    type Error = SerError;
    type SerializeSeq = Compound<'s, 'a, O>;
    type SerializeTuple = Compound<'s, 'a, O>;
    type SerializeTupleStruct = Compound<'s, 'a, O>;
    type SerializeTupleVariant = Compound<'s, 'a, O>;
    type SerializeMap = Compound<'s, 'a, O>;
    type SerializeStruct = Compound<'s, 'a, O>;
    type SerializeStructVariant = Compound<'s, 'a, O>;

    fn serialize_bool(self, v: bool) -> Result<(), SerError> {
        self.out.extend(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), SerError> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), SerError> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), SerError> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), SerError> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), SerError> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), SerError> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), SerError> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), SerError> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), SerError> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), SerError> {
        write_int(self.out, v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), SerError> {
        write_f32(self.out, v);
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), SerError> {
        write_f64(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), SerError> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]).as_bytes());
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), SerError> {
        write_str(self.out, v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), SerError> {
        write_str_lossy(self.out, v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), SerError> {
        self.out.extend(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), SerError> {
        self.wrapped(value)
    }
    fn serialize_unit(self) -> Result<(), SerError> {
        self.out.extend(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), SerError> {
        self.out.extend(b"null");
        Ok(())
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), SerError> {
        write_str(self.out, variant.as_bytes());
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), SerError> {
        self.wrapped(value)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), SerError> {
        self.open_variant(variant)?;
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        self.depth -= 1;
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, SerError> {
        self.open(b'[')?;
        Ok(Compound::new(self, b"]"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, SerError> {
        self.open(b'[')?;
        Ok(Compound::new(self, b"]"))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, SerError> {
        self.open(b'[')?;
        Ok(Compound::new(self, b"]"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, SerError> {
        self.open_variant(variant)?;
        self.open(b'[')?;
        Ok(Compound::new(self, b"]}"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, SerError> {
        self.open(b'{')?;
        Ok(Compound::object(self, b"}"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, SerError> {
        self.open(b'{')?;
        Ok(Compound::object(self, b"}"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, SerError> {
        self.open_variant(variant)?;
        self.open(b'{')?;
        Ok(Compound::object(self, b"}}"))
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), SerError> {
        self.out.push(b'"');
        let mut w = EscapeFmt { out: self.out };
        fmt::write(&mut w, format_args!("{value}")).map_err(|_| SerError("a Display implementation failed".into()))?;
        self.out.push(b'"');
        Ok(())
    }
}

impl<O: Out> ser::SerializeSeq for Compound<'_, '_, O> {
    type Ok = ();
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.comma();
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), SerError> {
        Compound::end(self)
    }
}

impl<O: Out> ser::SerializeTuple for Compound<'_, '_, O> {
    type Ok = ();
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), SerError> {
        Compound::end(self)
    }
}

impl<O: Out> ser::SerializeTupleStruct for Compound<'_, '_, O> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), SerError> {
        Compound::end(self)
    }
}

impl<O: Out> ser::SerializeTupleVariant for Compound<'_, '_, O> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), SerError> {
        Compound::end(self)
    }
}

impl<O: Out> ser::SerializeMap for Compound<'_, '_, O> {
    type Ok = ();
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerError> {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), SerError> {
        Compound::end(self)
    }
}

impl<O: Out> ser::SerializeStruct for Compound<'_, '_, O> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), SerError> {
        self.member_key(|c| {
            write_str(c.ser.out, key.as_bytes());
            Ok(())
        })?;
        self.ser.out.push(b':');
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), SerError> {
        Compound::end(self)
    }
}

impl<O: Out> ser::SerializeStructVariant for Compound<'_, '_, O> {
    type Ok = ();
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), SerError> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), SerError> {
        Compound::end(self)
    }
}

/// `fmt::Write` that escapes as it writes (the quotes are the caller's).
pub(crate) struct EscapeFmt<'a, O: Out + ?Sized> {
    pub(crate) out: &'a mut O,
}

impl<O: Out + ?Sized> fmt::Write for EscapeFmt<'_, O> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        super::escape::escape_into(self.out, s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    fn json<T: Serialize + ?Sized>(v: &T) -> Result<String, String> {
        let mut out = Vec::new();
        to_json(&mut out, v)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[derive(Serialize)]
    enum E {
        Unit,
        New(u8),
        Tup(u8, &'static str),
        Struct { a: f64, b: Option<bool> },
    }

    #[derive(Serialize)]
    struct S<'a> {
        name: &'a str,
        tags: Vec<&'a str>,
        e: Vec<E>,
        unit: (),
        bytes: &'a serde_bytes_like::Bytes,
    }

    mod serde_bytes_like {
        pub struct Bytes(pub &'static [u8]);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
    }

    #[test]
    fn matches_serde_json_on_ordinary_values() {
        let v = S {
            name: "a\"b\n",
            tags: vec!["x", "y"],
            e: vec![E::Unit, E::New(1), E::Tup(2, "t"), E::Struct { a: 3.25, b: None }],
            unit: (),
            bytes: &serde_bytes_like::Bytes(b"ab\xff"),
        };
        let ours = json(&v).unwrap();
        assert_eq!(
            ours,
            r#"{"name":"a\"b\n","tags":["x","y"],"e":["Unit",{"New":1},{"Tup":[2,"t"]},{"Struct":{"a":3.25,"b":null}}],"unit":null,"bytes":"ab\ufffd"}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&ours).unwrap();
        assert_eq!(parsed["e"][3]["Struct"]["a"], 3.25);
    }

    #[test]
    fn any_map_key_becomes_a_string() {
        let mut m = BTreeMap::new();
        m.insert((1, "a"), 1);
        m.insert((2, "b\""), 2);
        assert_eq!(json(&m).unwrap(), r#"{"[1,\"a\"]":1,"[2,\"b\\\"\"]":2}"#);
        let mut n = BTreeMap::new();
        n.insert(7u64, f64::NAN);
        n.insert(8u64, f64::NEG_INFINITY);
        assert_eq!(json(&n).unwrap(), r#"{"7":"NaN","8":"-Infinity"}"#);
        let mut b = BTreeMap::new();
        b.insert(true, ());
        assert_eq!(json(&b).unwrap(), r#"{"true":null}"#);
    }

    #[test]
    fn too_deep_is_an_error_not_a_crash() {
        let mut v = serde_json::Value::Null;
        for _ in 0..200 {
            v = serde_json::Value::Array(vec![v]);
        }
        let err = json(&v).unwrap_err();
        assert!(err.contains("deeper than 128"), "{err}");
        let mut ok = serde_json::Value::Null;
        for _ in 0..MAX_DEPTH {
            ok = serde_json::json!({ "k": ok });
        }
        assert!(json(&ok).is_ok());
    }

    #[test]
    fn a_value_that_wraps_itself_stops_at_the_depth_limit() {
        // Cycles through wrappers that add no bracket: a newtype of itself,
        // `Some` of itself. Each used to recurse without end.
        struct Newtype;
        impl Serialize for Newtype {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_newtype_struct("Newtype", self)
            }
        }
        struct SomeOfItself;
        impl Serialize for SomeOfItself {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_some(self)
            }
        }
        assert!(json(&Newtype).unwrap_err().contains("deeper than 128"));
        assert!(json(&SomeOfItself).unwrap_err().contains("deeper than 128"));
        // Ordinary wrappers still serialize as before.
        #[derive(Serialize)]
        struct Meters(f64);
        assert_eq!(json(&Some(Meters(2.5))).unwrap(), "2.5");
    }

    #[test]
    fn custom_errors_propagate() {
        struct Bad;
        impl Serialize for Bad {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("refused"))
            }
        }
        assert_eq!(json(&Bad).unwrap_err(), "refused");
    }
}
