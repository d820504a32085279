//! The NDJSON output: pino's keys and order, typed fields, bindings, errors,
//! and safe encoding of whatever the caller passes.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{keys, Mem};
use logjet::{Level, Logger, TimeFormat};
use serde_json::{json, Value};

fn logger(mem: &Mem) -> (Logger, logjet::Guard) {
    Logger::builder().level(Level::Trace).sink(mem.sink()).build().unwrap()
}

#[test]
fn pino_keys_in_pino_order() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    logjet::info!(log, "request handled", method = "GET", status = 200, latency_ms = 3.25, cached = false);
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines.len(), 1);
    let l = &lines[0];
    assert_eq!(keys(l), ["level", "time", "pid", "hostname", "method", "status", "latency_ms", "cached", "msg"]);
    assert_eq!(l["level"], 30);
    assert_eq!(l["pid"], std::process::id());
    assert!(l["hostname"].as_str().is_some_and(|h| !h.is_empty()));
    assert_eq!(l["method"], "GET");
    assert_eq!(l["status"], 200);
    assert_eq!(l["latency_ms"], 3.25);
    assert_eq!(l["cached"], false);
    assert_eq!(l["msg"], "request handled");
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let t = l["time"].as_u64().expect("epoch ms");
    assert!(t <= now_ms && now_ms - t < 60_000, "time {t} vs now {now_ms}");
}

#[test]
fn level_numbers_and_filtering() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().level(Level::Debug).sink(mem.sink()).build().unwrap();
    logjet::trace!(log, "t");
    logjet::debug!(log, "d");
    logjet::info!(log, "i");
    logjet::warn!(log, "w");
    logjet::error!(log, "e");
    logjet::fatal!(log, "f");
    log.set_level(Level::Error);
    logjet::warn!(log, "hidden");
    logjet::error!(log, "shown");
    assert_eq!(log.level(), Level::Error);
    guard.flush().unwrap();
    let got: Vec<(u64, String)> =
        mem.lines().iter().map(|l| (l["level"].as_u64().unwrap(), l["msg"].as_str().unwrap().to_string())).collect();
    let want: Vec<(u64, String)> = [(20, "d"), (30, "i"), (40, "w"), (50, "e"), (60, "f"), (50, "shown")]
        .iter()
        .map(|(n, m)| (*n, m.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn disabled_levels_evaluate_nothing() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().level(Level::Info).sink(mem.sink()).build().unwrap();
    let evaluated = std::cell::Cell::new(0);
    let expensive = || {
        evaluated.set(evaluated.get() + 1);
        "value"
    };
    logjet::debug!(log, "skipped", v = expensive());
    assert_eq!(evaluated.get(), 0);
    logjet::info!(log, "taken", v = expensive());
    assert_eq!(evaluated.get(), 1);
    guard.flush().unwrap();
    assert_eq!(mem.lines().len(), 1);
}

#[test]
fn typed_fields_keep_their_json_types() {
    #[derive(serde::Serialize)]
    struct User<'a> {
        id: u32,
        name: &'a str,
        roles: Vec<&'a str>,
    }
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let mut map = BTreeMap::new();
    map.insert("a", vec![1, 2]);
    let owned = String::from("owned");
    logjet::info!(
        log,
        "types",
        i8v = -8i8,
        i64v = i64::MIN,
        u64v = u64::MAX,
        i128v = i128::MIN,
        u128v = u128::MAX,
        f32v = 0.1f32,
        f64v = -2.5e-8,
        t = true,
        none = Option::<u8>::None,
        some = Some(5u8),
        unit = (),
        ch = 'é',
        s = &owned,
        cow = std::borrow::Cow::Borrowed("cow"),
        user = User { id: 7, name: "ada", roles: vec!["admin"] },
        map = map,
        v = vec![1, 2, 3],
        tuple = (1, "x"),
        bytes = &b"bin\xffary"[..],
        path = std::path::Path::new("/var/log/app.log"),
        shown = %std::net::Ipv4Addr::new(10, 0, 0, 1),
        debugged = ?Some("x")
    );
    guard.flush().unwrap();
    let l = &mem.lines()[0];
    assert_eq!(l["i8v"], -8);
    assert_eq!(l["i64v"], i64::MIN);
    assert_eq!(l["u64v"], u64::MAX);
    let text = mem.text();
    assert!(text.contains(&format!("\"i128v\":{}", i128::MIN)), "{text}");
    assert!(text.contains(&format!("\"u128v\":{}", u128::MAX)), "{text}");
    assert!(text.contains("\"f32v\":0.1,"), "f32 keeps f32 precision: {text}");
    assert_eq!(l["f64v"], -2.5e-8);
    assert_eq!(l["t"], true);
    assert_eq!(l["none"], Value::Null);
    assert_eq!(l["some"], 5);
    assert_eq!(l["unit"], Value::Null);
    assert_eq!(l["ch"], "é");
    assert_eq!(l["s"], "owned");
    assert_eq!(l["cow"], "cow");
    assert_eq!(l["user"], json!({"id": 7, "name": "ada", "roles": ["admin"]}));
    assert_eq!(l["map"], json!({"a": [1, 2]}));
    assert_eq!(l["v"], json!([1, 2, 3]));
    assert_eq!(l["tuple"], json!([1, "x"]));
    assert_eq!(l["bytes"], "bin\u{fffd}ary");
    assert_eq!(l["path"], "/var/log/app.log");
    assert_eq!(l["shown"], "10.0.0.1");
    assert_eq!(l["debugged"], "Some(\"x\")");
}

#[test]
fn message_formatting() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let user = "ada";
    logjet::info!(log, "user {user} logged in");
    logjet::info!(log, "retry {} of {}", 2, 5, backoff_ms = 250);
    logjet::info!(log, "retry {} of {}", 3, 5,);
    logjet::info!(log, "braces {{literal}}", k = 1,);
    logjet::info!(log, "width {:>5}|", 42);
    // A literal message is the call site's, escaped once for every record.
    for _ in 0..2 {
        logjet::info!(log, "quote \" backslash \\ nl \n tab \t é \u{2028} \u{7f}", k = 1);
    }
    guard.flush().unwrap();
    assert_eq!(mem.text().lines().count(), 7, "one line per record");
    let lines = mem.lines();
    let msgs: Vec<&str> = lines.iter().map(|l| l["msg"].as_str().unwrap()).collect();
    let odd = "quote \" backslash \\ nl \n tab \t é \u{2028} \u{7f}";
    assert_eq!(
        msgs,
        ["user ada logged in", "retry 2 of 5", "retry 3 of 5", "braces {literal}", "width    42|", odd, odd]
    );
    assert_eq!(lines[1]["backoff_ms"], 250);
}

#[test]
fn call_sites_first_used_by_many_threads_at_once() {
    // Each call site is registered by its first record (its message and
    // keys once, then only values per record): eight threads race to it.
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let start = std::sync::Barrier::new(8);
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let (log, start) = (&log, &start);
            s.spawn(move || {
                start.wait();
                for i in 0..100u64 {
                    logjet::info!(log, "first", thread = t, i = i);
                    logjet::warn!(log, "second {i}", "x.y" = "z", level = 1, thread = t);
                    logjet::error!(log, "third");
                }
            });
        }
    });
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines.len(), 2400);
    let mut seen = BTreeMap::new();
    for l in &lines {
        let msg = l["msg"].as_str().unwrap();
        let k = keys(l);
        match msg {
            "first" => assert_eq!(k, ["level", "time", "pid", "hostname", "thread", "i", "msg"]),
            "third" => assert_eq!(k, ["level", "time", "pid", "hostname", "msg"]),
            _ => {
                assert_eq!(k, ["level", "time", "pid", "hostname", "x.y", "_level", "thread", "msg"]);
                assert_eq!((l["x.y"].as_str(), l["_level"].as_u64()), (Some("z"), Some(1)));
            }
        }
        *seen.entry(msg.split(' ').next().unwrap().to_string()).or_insert(0) += 1;
    }
    assert_eq!(seen, BTreeMap::from([("first".into(), 800), ("second".into(), 800), ("third".into(), 800)]));
}

#[test]
fn keys_raw_identifiers_and_literals() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    logjet::info!(log, "keys", r#type = "t", "http.method" = "GET", "with space" = 1, "" = "empty");
    guard.flush().unwrap();
    let l = &mem.lines()[0];
    assert_eq!(l["type"], "t");
    assert_eq!(l["http.method"], "GET");
    assert_eq!(l["with space"], 1);
    assert_eq!(l[""], "empty");
}

#[test]
fn child_bindings_come_after_base_and_before_fields() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let req = log.child(logjet::fields!(request_id = 42, user = "ada"));
    let db = req.child(logjet::fields!(component = "db", user = "bob"));
    logjet::warn!(req, "slow query", table = "users", ms = 812);
    logjet::info!(db, "query");
    logjet::info!(log, "root");
    let dynamic = log.child(logjet::Fields::new().with("tenant", &"acme").with("n", &3));
    logjet::info!(dynamic, "dyn");
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(keys(&lines[0]), ["level", "time", "pid", "hostname", "request_id", "user", "table", "ms", "msg"]);
    assert_eq!(lines[0]["request_id"], 42);
    // The child's `user` replaces its parent's, without a duplicate key.
    assert_eq!(keys(&lines[1]), ["level", "time", "pid", "hostname", "request_id", "component", "user", "msg"]);
    assert_eq!(lines[1]["user"], "bob");
    assert_eq!(mem.text().lines().nth(1).unwrap().matches("\"user\"").count(), 1);
    assert_eq!(keys(&lines[2]), ["level", "time", "pid", "hostname", "msg"]);
    assert_eq!(lines[3]["tenant"], "acme");
    assert_eq!(lines[3]["n"], 3);
}

#[derive(Debug)]
struct Outer(std::io::Error);

impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("loading config failed")
    }
}

impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn errors_like_pino_with_source_chain() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let io_error = std::io::Error::new(std::io::ErrorKind::NotFound, "config.toml: no such file");
    logjet::error!(log, "db failed", err = &io_error);
    let outer = Outer(std::io::Error::other("permission denied"));
    logjet::error!(log, "startup", err = &outer);
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Outer(std::io::Error::other("inner")));
    logjet::error!(log, "deref", err = &*boxed);
    logjet::error!(log, "boxed by reference", err = &boxed);
    let local: Box<dyn std::error::Error> = Box::new(std::io::Error::other("local"));
    logjet::error!(log, "boxed by value", err = local);
    let shared: std::sync::Arc<dyn std::error::Error + Send + Sync> = std::sync::Arc::new(std::io::Error::other("arc"));
    logjet::error!(log, "arc", err = &shared);
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines[0]["err"], json!({"type": "std::io::error::Error", "message": "config.toml: no such file"}));
    assert_eq!(
        lines[1]["err"],
        json!({"type": "output::Outer", "message": "loading config failed", "source": ["permission denied"]})
    );
    let dyn_outer = json!({"type": "dyn Error", "message": "loading config failed", "source": ["inner"]});
    assert_eq!(lines[2]["err"], dyn_outer);
    assert_eq!(lines[3]["err"], dyn_outer);
    assert_eq!(lines[4]["err"], json!({"type": "dyn Error", "message": "local"}));
    assert_eq!(lines[5]["err"], json!({"type": "dyn Error", "message": "arc"}));
}

#[test]
fn hostile_strings_stay_on_one_line() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let evil = "line1\nline2\r\n\"quoted\" \\back\\ \t\x00\x07\x1b[31mred\x7f \u{85}\u{2028}\u{2029} 😀";
    logjet::info!(log, "{}", evil, evil = evil, "k\ney" = 1);
    let os = {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            std::ffi::OsStr::from_bytes(b"file\xff\xfe.log").to_os_string()
        }
        #[cfg(not(unix))]
        {
            std::ffi::OsString::from("file\u{fffd}\u{fffd}.log")
        }
    };
    logjet::info!(log, "os", name = &os, path = std::path::PathBuf::from(&os));
    guard.flush().unwrap();
    let text = mem.text();
    assert_eq!(text.lines().count(), 2, "{text}");
    for bad in ['\r', '\u{0}', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{2028}', '\u{2029}'] {
        assert!(!text.contains(bad), "raw {bad:?} in output");
    }
    let lines = mem.lines();
    assert_eq!(lines[0]["msg"], evil);
    assert_eq!(lines[0]["evil"], evil);
    assert_eq!(lines[0]["k\ney"], 1);
    assert_eq!(lines[1]["name"], "file\u{fffd}\u{fffd}.log");
    assert_eq!(lines[1]["path"], "file\u{fffd}\u{fffd}.log");
}

#[test]
fn non_finite_floats_are_strings() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    logjet::info!(
        log,
        "floats",
        nan = f64::NAN,
        inf = f64::INFINITY,
        ninf = f32::NEG_INFINITY,
        nested = vec![f64::NAN, 1.5]
    );
    guard.flush().unwrap();
    let l = &mem.lines()[0];
    assert_eq!(l["nan"], "NaN");
    assert_eq!(l["inf"], "Infinity");
    assert_eq!(l["ninf"], "-Infinity");
    assert_eq!(l["nested"], json!(["NaN", 1.5]));
}

#[test]
fn reserved_keys_are_renamed_never_duplicated() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let child = log.child(logjet::fields!(pid = "bound", _time = 1));
    logjet::info!(child, "collide", level = "user", msg = "user msg", hostname = 1, _level = 2, time = 3, ns = "n");
    log.enable_debug("app");
    let app = log.debug_ns("app");
    logjet::debug!(app, "debug collide", ns = "user ns", level = 0);
    guard.flush().unwrap();
    let text = mem.text();
    for (i, line) in text.lines().enumerate() {
        for key in logjet::RESERVED_KEYS {
            let want = usize::from(key != "ns" || i == 1);
            assert_eq!(line.matches(&format!("\"{key}\":")).count(), want, "{key} in {line}");
        }
    }
    let lines = mem.lines();
    let l = &lines[0];
    assert_eq!(l["level"], 30);
    assert_eq!(l["msg"], "collide");
    assert_eq!(l["_level"], "user");
    assert_eq!(l["__level"], 2);
    assert_eq!(l["_msg"], "user msg");
    assert_eq!(l["_pid"], "bound");
    assert_eq!(l["__time"], 1);
    assert_eq!(l["_time"], 3);
    assert_eq!(l["_hostname"], 1);
    assert_eq!(l["_ns"], "n");
    let d = &lines[1];
    assert_eq!(d["ns"], "app");
    assert_eq!(d["_ns"], "user ns");
    assert_eq!(d["_level"], 0);
}

#[test]
fn serialization_failures_become_strings() {
    struct Refuses;
    impl serde::Serialize for Refuses {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("nope"))
        }
    }
    let mut deep = json!(null);
    for _ in 0..300 {
        deep = json!([deep]);
    }
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    logjet::info!(log, "bad values", a = Refuses, deep = deep, after = 1);
    guard.flush().unwrap();
    let l = &mem.lines()[0];
    assert_eq!(l["a"], "[logjet: cannot serialize value: nope]");
    assert!(l["deep"].as_str().unwrap().contains("nested deeper than 128"));
    assert_eq!(l["after"], 1);
}

#[test]
fn large_records_spill_and_arrive_whole() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let big = "x".repeat(10 * 1024 * 1024);
    let medium = "y".repeat(300);
    logjet::info!(log, "big", big = &big);
    logjet::info!(log, "medium", medium = &medium, n = 1);
    let child = log.child(logjet::fields!(bound = &medium));
    logjet::info!(child, "bound medium");
    guard.flush().unwrap();
    let lines = mem.lines();
    assert_eq!(lines[0]["big"].as_str().unwrap().len(), big.len());
    assert_eq!(lines[1]["medium"], medium);
    assert_eq!(lines[2]["bound"], medium);
}

#[test]
fn event_api_for_runtime_keys() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem);
    let key = format!("k{}", 1);
    if let Some(mut ev) = log.event(Level::Warn) {
        ev.str(&key, "v")
            .i64("i", -1)
            .u64("u", 1)
            .f64("f", 0.5)
            .bool("b", true)
            .bytes("raw", b"\xff")
            .display("d", &42)
            .serde("s", &vec!["a"])
            .error("err", &std::io::Error::other("x"))
            .value("val", &7u8);
        ev.emit_fmt(format_args!("hand {}", "made"));
    }
    assert!(log.event(Level::Trace).is_some());
    log.set_level(Level::Info);
    assert!(log.event(Level::Debug).is_none());
    guard.flush().unwrap();
    let l = &mem.lines()[0];
    assert_eq!(l["level"], 40);
    assert_eq!(l["k1"], "v");
    assert_eq!(l["raw"], "\u{fffd}");
    assert_eq!(l["d"], "42");
    assert_eq!(l["s"], json!(["a"]));
    assert_eq!(l["err"]["message"], "x");
    assert_eq!(l["val"], 7);
    assert_eq!(l["msg"], "hand made");
}

#[test]
fn time_formats_and_base_fields() {
    let cases = [
        (TimeFormat::EpochMillis, true),
        (TimeFormat::Rfc3339, true),
        (TimeFormat::Rfc3339Local, true),
        (TimeFormat::Omit, false),
    ];
    for (format, has_time) in cases {
        let mem = Mem::new();
        let (log, guard) =
            Logger::builder().time(format).pid(false).hostname_value("web-1").sink(mem.sink()).build().unwrap();
        logjet::info!(log, "t");
        guard.flush().unwrap();
        let l = &mem.lines()[0];
        assert_eq!(l.get("time").is_some(), has_time, "{format:?}");
        assert!(l.get("pid").is_none());
        assert_eq!(l["hostname"], "web-1");
        if let Some(s) = l["time"].as_str() {
            let t = chrono::DateTime::parse_from_rfc3339(s).expect("RFC 3339");
            let age = chrono::Utc::now().signed_duration_since(t);
            assert!(age.num_seconds().abs() < 60, "{s}");
            if format == TimeFormat::Rfc3339 {
                assert!(s.ends_with('Z') && s.len() == 24, "{s}");
            }
        }
    }
    let mem = Mem::new();
    let (log, guard) = Logger::builder().hostname(false).sink(mem.sink()).build().unwrap();
    logjet::info!(log, "t");
    guard.flush_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(keys(&mem.lines()[0]), ["level", "time", "pid", "msg"]);
}

#[test]
fn several_sinks_each_with_its_level() {
    let all = Mem::new();
    let errors = Mem::new();
    let (log, guard) =
        Logger::builder().level(Level::Debug).sink(all.sink()).sink_at(Level::Error, errors.sink()).build().unwrap();
    logjet::debug!(log, "d");
    logjet::info!(log, "i");
    logjet::error!(log, "e");
    guard.flush().unwrap();
    assert_eq!(all.lines().len(), 3);
    let e = errors.lines();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["msg"], "e");
    assert_eq!(log.stats().written, 3);

    // A level no sink takes is filtered before the queue.
    let only_errors = Mem::new();
    let (log, guard) = Logger::builder().level(Level::Trace).sink_at(Level::Error, only_errors.sink()).build().unwrap();
    assert!(!log.enabled(Level::Warn));
    assert!(log.enabled(Level::Error));
    logjet::warn!(log, "w");
    logjet::error!(log, "e");
    guard.flush().unwrap();
    assert_eq!(only_errors.lines().len(), 1);
    assert_eq!(log.stats().written, 1);
}

#[test]
fn zero_capacity_is_a_clear_error() {
    let err = Logger::builder().capacity(0).sink(Mem::new().sink()).build().unwrap_err();
    assert!(err.to_string().contains("capacity must be at least 1"), "{err}");
}
