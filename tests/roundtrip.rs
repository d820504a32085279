//! Property test: whatever strings, keys and nested values a caller passes,
//! the output is exactly one line of valid JSON that reads back to them.

mod common;

use std::sync::OnceLock;

use common::Mem;
use logjet::{Guard, Level, Logger};
use proptest::prelude::*;
use serde_json::Value;

fn shared() -> &'static (Logger, Guard, Mem) {
    static L: OnceLock<(Logger, Guard, Mem)> = OnceLock::new();
    L.get_or_init(|| {
        let mem = Mem::new();
        let (log, guard) = Logger::builder().level(Level::Trace).sink(mem.sink()).build().unwrap();
        (log, guard, mem)
    })
}

/// Logs with `f`, flushes, and returns the one line written.
fn one_line(f: impl FnOnce(&Logger)) -> (String, Value) {
    let (log, guard, mem) = shared();
    // Tests run in parallel: serialize the use of the shared logger.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _l = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    mem.0.lock().unwrap().clear();
    f(log);
    guard.flush().unwrap();
    let text = mem.text();
    assert!(text.ends_with('\n'), "{text:?}");
    assert_eq!(text.matches('\n').count(), 1, "exactly one line: {text:?}");
    let line = text.trim_end_matches('\n').to_string();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("invalid JSON {line:?}: {e}"));
    (line, v)
}

/// Any char at all, with extra weight on the ones that break lines and JSON.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => any::<char>(),
        1 => prop::sample::select(vec![
            '\n', '\r', '\t', '\0', '"', '\\', '/', '\u{7f}', '\u{85}', '\u{9f}', '\u{a0}',
            '\u{2028}', '\u{2029}', '\u{feff}', '\u{fffd}', '\u{1b}', '{', '}', ':', ',',
        ]),
    ]
}

fn any_string() -> impl Strategy<Value = String> {
    prop::collection::vec(any_char(), 0..24).prop_map(String::from_iter)
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap()),
        any_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((any_string(), inner), 0..8).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// The key a top-level user key is written as.
fn written_key(k: &str) -> String {
    let core = k.trim_start_matches('_');
    if logjet::RESERVED_KEYS.contains(&core) {
        format!("_{k}")
    } else {
        k.to_string()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn strings_keys_and_nested_values_round_trip(
        msg in any_string(),
        key in any_string(),
        s in any_string(),
        nested in any_json(),
        bytes in prop::collection::vec(any::<u8>(), 0..32),
        n in any::<i64>(),
        u in any::<u64>(),
        f in any::<f64>(),
    ) {
        let (line, v) = one_line(|log| {
            if let Some(mut ev) = log.event(Level::Info) {
                ev.str(&key, &s);
                ev.emit(&msg);
            }
        });
        prop_assert_eq!(&v["msg"], &Value::String(msg.clone()), "{}", line);
        prop_assert_eq!(&v[written_key(&key).as_str()], &Value::String(s.clone()), "{}", line);
        prop_assert_eq!(v.as_object().unwrap().len(), 6);

        let (line, v) = one_line(|log| {
            logjet::warn!(log, "{}", msg, nested = &nested, bytes = &bytes[..], n = n, u = u, f = f, s = &s);
        });
        prop_assert_eq!(&v["msg"], &Value::String(msg.clone()), "{}", line);
        prop_assert_eq!(&v["nested"], &nested, "{}", line);
        prop_assert_eq!(&v["bytes"], &Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        prop_assert_eq!(&v["n"], &Value::from(n));
        prop_assert_eq!(&v["u"], &Value::from(u));
        prop_assert_eq!(&v["s"], &Value::String(s.clone()));
        if f.is_finite() {
            prop_assert_eq!(v["f"].as_f64().unwrap().to_bits(), f.to_bits(), "{}", line);
        } else {
            let want = if f.is_nan() { "NaN" } else if f > 0.0 { "Infinity" } else { "-Infinity" };
            prop_assert_eq!(&v["f"], &Value::String(want.to_string()));
        }

        // The same values bound to a child logger.
        let (line, v) = one_line(|log| {
            let child = log.child(logjet::Fields::new().with(&key, &nested).with("s", &s));
            logjet::info!(child, "bound");
        });
        prop_assert_eq!(&v[written_key(&key).as_str()], if key == "s" { &v["s"] } else { &nested }, "{}", line);
        prop_assert_eq!(&v["s"], &Value::String(s.clone()));
    }
}
