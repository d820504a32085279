//! No record carries a key twice, at any depth: a call's field replaces a
//! binding, a later field an earlier one, a later member of a serialized
//! object an earlier one (docs/format.md, "One value per key").

mod common;

use std::collections::BTreeMap;

use common::Mem;
use logjet::{sink, Level, Logger};
use serde::Serialize;
use serde_json::Value;

/// Every object's keys in `line`, at any depth, each checked for repeats
/// (serde_json's own `Value` would keep the last silently).
fn assert_no_repeated_key(line: &str) {
    fn walk(v: &RawValueTree, path: &str, line: &str) {
        match v {
            RawValueTree::Object(members) => {
                let mut seen = std::collections::HashSet::new();
                for (k, child) in members {
                    assert!(seen.insert(k.clone()), "key {k:?} twice in {path} of {line}");
                    walk(child, &format!("{path}.{k}"), line);
                }
            }
            RawValueTree::Array(items) => items.iter().for_each(|c| walk(c, path, line)),
            RawValueTree::Scalar => {}
        }
    }
    let tree: RawValueTree = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    walk(&tree, "$", line);
}

/// A JSON value that keeps every member of an object, repeats included.
enum RawValueTree {
    Object(Vec<(String, RawValueTree)>),
    Array(Vec<RawValueTree>),
    Scalar,
}

impl<'de> serde::Deserialize<'de> for RawValueTree {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawValueTree;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, _: bool) -> Result<RawValueTree, E> {
                Ok(RawValueTree::Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> Result<RawValueTree, E> {
                Ok(RawValueTree::Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> Result<RawValueTree, E> {
                Ok(RawValueTree::Scalar)
            }
            fn visit_f64<E>(self, _: f64) -> Result<RawValueTree, E> {
                Ok(RawValueTree::Scalar)
            }
            fn visit_str<E>(self, _: &str) -> Result<RawValueTree, E> {
                Ok(RawValueTree::Scalar)
            }
            fn visit_unit<E>(self) -> Result<RawValueTree, E> {
                Ok(RawValueTree::Scalar)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<RawValueTree, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = a.next_element()? {
                    items.push(v);
                }
                Ok(RawValueTree::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<RawValueTree, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, RawValueTree>()? {
                    members.push((k, v));
                }
                Ok(RawValueTree::Object(members))
            }
        }
        d.deserialize_any(V)
    }
}

fn logger(mem: &Mem) -> (Logger, logjet::Guard) {
    Logger::builder().level(Level::Trace).sink(mem.sink()).build().unwrap()
}

/// The lines written, each checked for repeated keys, parsed.
fn lines(mem: &Mem) -> Vec<Value> {
    let text = mem.text();
    text.lines().for_each(assert_no_repeated_key);
    common::parse_lines(&text)
}

#[test]
fn the_checker_sees_a_repeated_key() {
    let r = std::panic::catch_unwind(|| assert_no_repeated_key(r#"{"a":{"b":1,"b":2}}"#));
    assert!(r.is_err());
    assert_no_repeated_key(r#"{"a":{"b":1},"b":[{"b":1},{"b":2}]}"#);
}

#[test]
fn a_calls_field_replaces_a_binding() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let req = log.child(logjet::fields!(dup = "from-binding", keep = 1));
    logjet::info!(req, "m", dup = "from-field");
    logjet::info!(req, "plain", other = 2);
    let db = req.child(logjet::fields!(dup = "from-child"));
    logjet::info!(db, "m2");
    logjet::info!(db, "m3", dup = 3);
    guard.flush().unwrap();
    let l = lines(&mem);
    assert_eq!(l[0]["dup"], "from-field");
    assert_eq!(l[0]["keep"], 1);
    assert_eq!(common::keys(&l[0]), ["level", "time", "pid", "hostname", "keep", "dup", "msg"]);
    assert_eq!(l[1]["dup"], "from-binding");
    assert_eq!(l[2]["dup"], "from-child");
    assert_eq!(l[3]["dup"], 3);
}

#[test]
fn a_later_field_replaces_an_earlier_one() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    logjet::info!(log, "m", rep = 1, other = "x", rep = 2);
    let key = String::from("run time key");
    let mut ev = log.event(Level::Info).unwrap();
    ev.i64(&key, 1).i64("level", 5).str(&key, "last");
    ev.emit("m");
    guard.flush().unwrap();
    let l = lines(&mem);
    assert_eq!(common::keys(&l[0]), ["level", "time", "pid", "hostname", "other", "rep", "msg"]);
    assert_eq!(l[0]["rep"], 2);
    assert_eq!(l[1]["run time key"], "last");
    assert_eq!(l[1]["_level"], 5);
}

#[test]
fn distinct_keys_stay_in_order_however_many() {
    // Many distinct keys: their mask bits collide, yet nothing is removed.
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let names: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
    let req = log.child(logjet::fields!(b0 = 0, b1 = 1, b2 = 2, b3 = 3));
    let mut ev = req.event(Level::Info).unwrap();
    for (i, n) in names.iter().enumerate() {
        ev.u64(n, i as u64);
    }
    ev.emit("many");
    guard.flush().unwrap();
    let l = lines(&mem);
    let k = common::keys(&l[0]);
    assert_eq!(k.len(), 4 + 4 + 100 + 1, "{k:?}");
    for (i, n) in names.iter().enumerate() {
        assert_eq!(l[0][n], i as u64);
    }
}

#[derive(Serialize)]
struct Renamed {
    #[serde(rename = "id")]
    first: u32,
    #[serde(rename = "id")]
    second: u32,
    inner: Inner,
}

#[derive(Serialize)]
struct Inner {
    x: u32,
    #[serde(flatten)]
    extra: BTreeMap<String, u32>,
}

#[test]
fn serialized_objects_keep_the_later_member() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let v = Renamed {
        first: 1,
        second: 2,
        inner: Inner { x: 1, extra: BTreeMap::from([("x".to_string(), 9), ("y".to_string(), 8)]) },
    };
    logjet::info!(log, "serde", v = &v);
    // A map whose keys become equal as strings.
    let mut m: Vec<(Value, u32)> = vec![(Value::from(1), 1), (Value::from("1"), 2)];
    m.push((Value::from(true), 3));
    struct Pairs(Vec<(Value, u32)>);
    impl Serialize for Pairs {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }
    logjet::info!(log, "map", m = &Pairs(m));
    // A large map with one repeat, nested.
    let mut big: Vec<(Value, u32)> = (0..1000).map(|i| (Value::from(format!("k{i}")), i)).collect();
    big.push((Value::from("k500"), 5000));
    logjet::info!(log, "big", outer = &vec![Pairs(big)]);
    guard.flush().unwrap();
    let l = lines(&mem);
    assert_eq!(l[0]["v"]["id"], 2);
    assert_eq!(l[0]["v"]["inner"]["x"], 9);
    assert_eq!(l[0]["v"]["inner"]["y"], 8);
    assert_eq!(l[1]["m"]["1"], 2);
    assert_eq!(l[1]["m"]["true"], 3);
    let big = l[2]["outer"][0].as_object().unwrap();
    assert_eq!(big.len(), 1000);
    assert_eq!(big["k500"], 5000);
    assert_eq!(big["k999"], 999);
}

#[test]
fn debug_console_lines_carry_each_key_once() {
    let out = Mem::new();
    let (log, guard) = Logger::builder()
        .sink(sink::DebugConsole::writer(out.clone()).colors(false).hide_date(true))
        .debug("app:*")
        .build()
        .unwrap();
    let req = log.child(logjet::fields!(dup = "from-binding"));
    let h = req.debug_ns("app:x");
    logjet::debug!(h, "m", dup = "from-field", rep = 1, rep = 2);
    guard.flush().unwrap();
    let text = out.text();
    assert_eq!(text.matches("dup=").count(), 1, "{text}");
    assert!(text.contains("dup=\"from-field\""), "{text}");
    assert_eq!(text.matches("rep=").count(), 1, "{text}");
    assert!(text.contains("rep=2"), "{text}");
}

#[cfg(feature = "tracing")]
#[test]
fn tracing_spans_and_events_carry_each_key_once() {
    use tracing_subscriber::prelude::*;
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let bound = log.child(logjet::fields!(svc = "bound", region = "eu"));
    let nested = Mem::new();
    let (nlog, nguard) = logger(&nested);
    let subscriber = tracing_subscriber::registry()
        .with(logjet::TracingLayer::new(&bound))
        .with(logjet::TracingLayer::new(&nlog).span_fields(logjet::SpanFields::Nested));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("req", svc = "span", name = "field", _name = "field2");
        let _e = span.enter();
        tracing::info!(region = "event", "in span");
    });
    guard.flush().unwrap();
    nguard.flush().unwrap();
    let l = lines(&mem);
    assert_eq!(l[0]["svc"], "span");
    assert_eq!(l[0]["region"], "event");
    let n = lines(&nested);
    let span = &n[0]["spans"][0];
    assert_eq!(span["name"], "req");
    assert_eq!(span["_name"], "field");
    assert_eq!(span["__name"], "field2");
}
