//! Redaction (docs/redaction.md): pino's `redact` paths hide values in
//! every format, in fields, bindings and nested values, and no input
//! breaks a line or lets a secret through.

mod common;

use common::child::{spawn_child_with, wait_child, FILE_ENV};
use common::Mem;
use logjet::{sink, Level, Logger, Redact};
use serde_json::{json, Value};

fn logger(mem: &Mem, redact: Redact) -> (Logger, logjet::Guard) {
    Logger::builder().level(Level::Trace).sink(mem.sink()).redact(redact).build().expect("logger")
}

/// Every line of `mem`, with the text checked for `secrets`.
fn lines_without(mem: &Mem, secrets: &[&str]) -> Vec<Value> {
    let text = mem.text();
    for s in secrets {
        assert!(!text.contains(s), "{s:?} leaked: {text}");
    }
    common::parse_lines(&text)
}

#[test]
fn top_level_fields_are_censored_by_key() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem, Redact::paths(["password", "token", "msg", "level"]));
    logjet::info!(log, "login", user = "ada", password = "S3CRET-1", token = 42, msg = "S3CRET-2", level = "S3CRET-3");
    let key = String::from("password");
    if let Some(mut ev) = log.event(Level::Info) {
        ev.str(&key, "S3CRET-4");
        ev.emit("by hand");
    }
    guard.flush().unwrap();
    let lines = lines_without(&mem, &["S3CRET"]);
    assert_eq!(
        lines[0],
        json!({"level": 30, "time": lines[0]["time"], "pid": lines[0]["pid"], "hostname": lines[0]["hostname"],
               "user": "ada", "password": "[Redacted]", "token": "[Redacted]", "_msg": "[Redacted]",
               "_level": "[Redacted]", "msg": "login"})
    );
    assert_eq!(lines[1]["password"], "[Redacted]");
    assert_eq!(lines[1]["msg"], "by hand");
}

#[test]
fn censor_text_and_removal() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem, Redact::paths(["password", "req.auth", "list[1]"]).censor("***"));
    logjet::info!(
        log,
        "a",
        password = "S3CRET",
        req = &json!({"auth": "S3CRET", "ok": 1}),
        list = &json!([0, "S3CRET"])
    );
    guard.flush().unwrap();
    let l = &lines_without(&mem, &["S3CRET"])[0];
    assert_eq!(l["password"], "***");
    assert_eq!(l["req"], json!({"auth": "***", "ok": 1}));
    assert_eq!(l["list"], json!([0, "***"]));

    let mem = Mem::new();
    let (log, guard) = logger(&mem, Redact::paths(["password", "req.auth", "list[1]", "gone.*"]).remove());
    logjet::info!(
        log,
        "a",
        password = "S3CRET",
        req = &json!({"auth": "S3CRET", "ok": 1}),
        list = &json!([0, "S3CRET", 2]),
        gone = &json!({"x": "S3CRET", "y": "S3CRET"}),
        after = 1
    );
    guard.flush().unwrap();
    let l = &lines_without(&mem, &["S3CRET"])[0];
    assert!(l.get("password").is_none());
    assert_eq!(l["req"], json!({"ok": 1}));
    assert_eq!(l["list"], json!([0, null, 2]), "a removed element is null, as pino writes it");
    assert_eq!(l["gone"], json!({}));
    assert_eq!(l["after"], 1);
}

#[test]
fn nested_values_arrays_and_wildcards() {
    #[derive(serde::Serialize)]
    struct Req<'a> {
        headers: std::collections::BTreeMap<&'a str, &'a str>,
        items: Vec<Value>,
    }
    let mem = Mem::new();
    let (log, guard) = logger(
        &mem,
        Redact::paths([
            "req.headers.authorization",
            "req.headers[\"x-api-key\"]",
            "req.items[0].secret",
            "*.token",
            "a.*.b",
            "arr[*].pin",
        ]),
    );
    let mut headers = std::collections::BTreeMap::new();
    headers.insert("authorization", "Bearer S3CRET");
    headers.insert("x-api-key", "S3CRET");
    headers.insert("accept", "*/*");
    let req = Req { headers, items: vec![json!({"secret": "S3CRET", "n": 1}), json!({"secret": "visible"})] };
    logjet::info!(
        log,
        "req",
        req = &req,
        svc = &json!({"token": "S3CRET", "deep": {"token": "visible-deep"}}),
        a = &json!({"x": {"b": "S3CRET", "c": 1}, "y": {"b": "S3CRET"}, "z": 3}),
        arr = &json!([{"pin": "S3CRET"}, {"pin": "S3CRET", "k": 2}, 7]),
        token = "top-level-token-not-matched-by-star-dot"
    );
    guard.flush().unwrap();
    let l = &lines_without(&mem, &["S3CRET"])[0];
    assert_eq!(
        l["req"],
        json!({"headers": {"accept": "*/*", "authorization": "[Redacted]", "x-api-key": "[Redacted]"},
               "items": [{"secret": "[Redacted]", "n": 1}, {"secret": "visible"}]})
    );
    assert_eq!(l["svc"], json!({"token": "[Redacted]", "deep": {"token": "visible-deep"}}));
    assert_eq!(l["a"], json!({"x": {"b": "[Redacted]", "c": 1}, "y": {"b": "[Redacted]"}, "z": 3}));
    assert_eq!(l["arr"], json!([{"pin": "[Redacted]"}, {"pin": "[Redacted]", "k": 2}, 7]));
    assert_eq!(l["token"], "top-level-token-not-matched-by-star-dot", "`*.token` is one level down, as in pino");
}

#[test]
fn errors_are_redacted_like_any_nested_value() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem, Redact::paths(["err.message"]));
    let e = std::io::Error::other("password=S3CRET");
    logjet::error!(log, "failed", err = &e);
    guard.flush().unwrap();
    let l = &lines_without(&mem, &["S3CRET"])[0];
    assert_eq!(l["err"]["message"], "[Redacted]");
    assert!(l["err"]["type"].is_string());
}

#[test]
fn bindings_of_children_are_redacted() {
    let mem = Mem::new();
    let (log, guard) = logger(&mem, Redact::paths(["password", "user.token", "level"]));
    let child = log.child(logjet::fields!(
        password = "S3CRET",
        user = &json!({"token": "S3CRET", "id": 7}),
        level = "S3CRET",
        svc = "api"
    ));
    let grandchild = child.child(logjet::fields!(more = 1));
    logjet::info!(grandchild, "bound");
    logjet::info!(child, "bound and a field", password = "S3CRET-again");
    guard.flush().unwrap();
    let lines = lines_without(&mem, &["S3CRET"]);
    assert_eq!(lines[0]["password"], "[Redacted]");
    assert_eq!(lines[0]["user"], json!({"token": "[Redacted]", "id": 7}));
    assert_eq!(lines[0]["_level"], "[Redacted]");
    assert_eq!(lines[0]["svc"], "api");
    assert_eq!(lines[0]["more"], 1);
    assert_eq!(lines[1]["password"], "[Redacted]");

    // Removal of every bound key leaves no bindings at all.
    let mem = Mem::new();
    let (log, guard) = logger(&mem, Redact::paths(["password"]).remove());
    logjet::info!(log.child(logjet::fields!(password = "S3CRET")), "only a secret bound", n = 1);
    guard.flush().unwrap();
    let l = &lines_without(&mem, &["S3CRET"])[0];
    assert_eq!(common::keys(l), ["level", "time", "pid", "hostname", "n", "msg"]);
}

#[cfg(feature = "tracing")]
#[test]
fn tracing_span_fields_are_redacted() {
    use tracing_subscriber::prelude::*;
    let mem = Mem::new();
    let (log, guard) = logger(&mem, Redact::paths(["password", "api_key"]));
    let subscriber = tracing_subscriber::registry().with(logjet::TracingLayer::new(&log));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("req", password = "S3CRET", user = "ada");
        let _e = span.enter();
        tracing::info!(api_key = "S3CRET", "in span");
    });
    guard.flush().unwrap();
    let l = &lines_without(&mem, &["S3CRET"])[0];
    assert_eq!(l["password"], "[Redacted]");
    assert_eq!(l["api_key"], "[Redacted]");
    assert_eq!(l["user"], "ada");
}

/// One record through every format: NDJSON, debug's console, pretty and
/// (unix) syslog over UDP: the censor in each, the secret in none.
#[test]
fn every_format_hides_the_same_values() {
    let json_out = Mem::new();
    let console = Mem::new();
    let pretty = Mem::new();
    let mut b = Logger::builder()
        .level(Level::Trace)
        .debug("app:*")
        .sink(json_out.sink())
        .sink(sink::DebugConsole::writer(console.clone()).colors(false).hide_date(true))
        .sink(sink::Pretty::writer(pretty.clone()))
        .redact(Redact::paths(["password", "req.auth", "*.token"]));
    #[cfg(unix)]
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    #[cfg(unix)]
    {
        udp.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        b = b.sink(sink::Syslog::udp(udp.local_addr().unwrap().to_string()));
    }
    let (log, guard) = b.build().unwrap();
    let db = log.child(logjet::fields!(password = "S3CRET-bound")).debug_ns("app:db");
    logjet::debug!(
        db,
        "query",
        password = "S3CRET-field",
        req = &json!({"auth": "S3CRET-nested", "id": 1}),
        svc = &json!({"token": "S3CRET-wild"}),
        table = "users"
    );
    guard.flush().unwrap();
    let mut outputs = vec![("json", json_out.text()), ("console", console.text()), ("pretty", pretty.text())];
    #[cfg(unix)]
    {
        let mut buf = vec![0u8; 65536];
        let n = udp.recv(&mut buf).expect("a syslog datagram");
        outputs.push(("syslog", String::from_utf8(buf[..n].to_vec()).unwrap()));
    }
    for (name, text) in &outputs {
        assert!(!text.contains("S3CRET"), "{name} leaked: {text}");
        assert!(text.contains("[Redacted]"), "{name}: {text}");
        assert!(text.contains("users"), "{name} keeps the rest: {text}");
    }
    let l = &common::parse_lines(&json_out.text())[0];
    assert_eq!(l["password"], "[Redacted]");
    assert_eq!(l["req"], json!({"auth": "[Redacted]", "id": 1}));
    assert_eq!(l["svc"], json!({"token": "[Redacted]"}));
}

/// Keys that need escaping, quotes and dots in keys, text that looks like
/// a secret's key inside strings, invalid UTF-8, deep nesting and huge
/// arrays: every line is JSON, nothing leaks, nothing else changes.
#[test]
fn hostile_input_never_breaks_a_line_or_leaks() {
    let mem = Mem::new();
    let (log, guard) = logger(
        &mem,
        Redact::paths([
            "[\"we\\\"ird\"]",
            "[\"a.b\"]",
            "o[\"k\\\"ey\"].x",
            "o[\"dot.ted\"]",
            "o[\"line\\nbreak\"]",
            "deep.a.b.c",
            "big[*].s",
            "password",
        ]),
    );
    logjet::info!(log, "keys", "we\"ird" = "S3CRET", "a.b" = "S3CRET", "a" = "not-a-path-into-a.b");
    let o = json!({"k\"ey": {"x": "S3CRET"}, "dot.ted": "S3CRET", "line\nbreak": "S3CRET", "dot": {"ted": "kept"}});
    logjet::info!(log, "object keys", o = &o);
    // Text that contains a path's key is not a key.
    logjet::info!(log, "{}", r#""password":"x" {"#, note = r#"{"password":"kept-text"}"#);
    logjet::info!(log, "bytes", password = &b"S3CRET\xff\xfe"[..], raw = &b"\xff\"password\":\xfe"[..]);
    // Nesting far deeper than any path (the serializer's own limit applies).
    // (A serialized value is at most 128 levels deep; deeper ones become
    // an error string. The walk itself is tested on 100,000 levels in
    // src/redact.rs.)
    let mut deep = json!("S3CRET-deep-but-not-on-a-path");
    for _ in 0..60 {
        deep = json!({ "a": [deep] });
    }
    logjet::info!(log, "deep", deep = &deep);
    let mut onpath = json!({"a": {"b": {"c": "S3CRET", "d": 1}}});
    onpath["a"]["b"]["e"] = json!([[[[[[[[1]]]]]]]]);
    logjet::info!(log, "on path", deep = &onpath);
    let big: Vec<Value> = (0..100_000).map(|i| json!({"s": format!("S3CRET{i}"), "i": i})).collect();
    logjet::info!(log, "big", big = &big);
    guard.flush().unwrap();
    let text = mem.text();
    if let Some(at) = text.find("S3CRET\"") {
        panic!("a secret leaked: {}", &text[at.saturating_sub(200)..at + 10]);
    }
    for l in text.lines() {
        assert!(
            !l.contains("S3CRET") || l.contains("S3CRET-deep-but-not-on-a-path"),
            "leak: {}",
            &l[..l.len().min(300)]
        );
    }
    let lines = common::parse_lines(&text);
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0]["we\"ird"], "[Redacted]");
    assert_eq!(lines[0]["a.b"], "[Redacted]");
    assert_eq!(lines[0]["a"], "not-a-path-into-a.b");
    assert_eq!(
        lines[1]["o"],
        json!({"k\"ey": {"x": "[Redacted]"}, "dot.ted": "[Redacted]", "line\nbreak": "[Redacted]", "dot": {"ted": "kept"}})
    );
    assert_eq!(lines[2]["note"], r#"{"password":"kept-text"}"#);
    assert_eq!(lines[3]["password"], "[Redacted]");
    assert_eq!(lines[3]["raw"], "\u{fffd}\"password\":\u{fffd}");
    assert!(lines[4]["deep"].is_object());
    assert_eq!(lines[5]["deep"]["a"]["b"]["c"], "[Redacted]");
    assert_eq!(lines[5]["deep"]["a"]["b"]["d"], 1);
    assert_eq!(lines[5]["deep"]["a"]["b"]["e"], json!([[[[[[[[1]]]]]]]]));
    let big_out = lines[6]["big"].as_array().unwrap();
    assert_eq!(big_out.len(), 100_000);
    assert!(big_out.iter().enumerate().all(|(i, v)| *v == json!({"s": "[Redacted]", "i": i})));
}

#[test]
fn a_bad_path_is_a_build_error_naming_it() {
    for bad in ["a..b", "a.**", "", "a[", "a[x]", "[0]", "pass word"] {
        let err = Logger::builder()
            .sink(sink::Writer::new(std::io::sink()))
            .redact(Redact::paths(["ok", bad]))
            .build()
            .map(|_| ())
            .expect_err(bad);
        assert!(err.to_string().contains(&format!("{bad:?}")), "{bad}: {err}");
    }
    let many: Vec<String> = (0..65).map(|i| format!("k{i}")).collect();
    assert!(Logger::builder().sink(sink::Writer::new(std::io::sink())).redact(Redact::paths(many)).build().is_err());
}

#[test]
fn without_paths_nothing_changes() {
    let a = Mem::new();
    let b = Mem::new();
    let (la, ga) =
        Logger::builder().sink(a.sink()).pid(false).hostname(false).time(logjet::TimeFormat::Omit).build().unwrap();
    let (lb, gb) = Logger::builder()
        .sink(b.sink())
        .pid(false)
        .hostname(false)
        .time(logjet::TimeFormat::Omit)
        .redact(Redact::paths(["nothing.here"]))
        .build()
        .unwrap();
    for l in [&la, &lb] {
        logjet::info!(l.child(logjet::fields!(password = "p")), "m", password = "q", o = &json!({"nothing": {"x": 1}}));
    }
    ga.flush().unwrap();
    gb.flush().unwrap();
    assert_eq!(a.text(), b.text());
    assert!(a.text().contains("\"password\":\"q\""));
}

/// Callers that format their own lines (the writer behind) redact the
/// same way: the child runs with `LOGJET_CALLER_FORMAT=always`.
#[test]
fn callers_that_format_their_own_lines_redact_too() {
    const NAME: &str = "callers_that_format_their_own_lines_redact_too";
    if let Some(file) = common::child::child_role(NAME) {
        let (log, guard) = Logger::builder()
            .sink(sink::File::append(&file).unwrap())
            .redact(Redact::paths(["password", "req.auth"]))
            .build()
            .unwrap();
        let child = log.child(logjet::fields!(password = "S3CRET"));
        for i in 0..1000 {
            logjet::info!(child, "r", i = i, req = &json!({"auth": "S3CRET", "i": i}));
        }
        guard.shutdown().unwrap();
        return;
    }
    let dir = common::TempDir::new("redact-caller");
    let file = dir.join("out.log");
    let child = spawn_child_with(NAME, &file, &[("LOGJET_CALLER_FORMAT", Some("always"))]);
    let out = wait_child(child, NAME);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let _ = FILE_ENV;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("S3CRET"));
    let lines = common::parse_lines(&text);
    assert_eq!(lines.len(), 1000);
    assert!(lines.iter().all(|l| l["password"] == "[Redacted]" && l["req"]["auth"] == "[Redacted]"));
}

/// Keys whose bit (the writer's first, one-bit check) is a path's but
/// whose text is not: written as they are. With 1,000 keys, some share
/// the bit of `password` (1 in 64 does), whatever the hash.
#[test]
fn keys_sharing_a_paths_bit_are_written_unchanged() {
    let plain = Mem::new();
    let redacted = Mem::new();
    let quiet = |b: logjet::Builder| b.pid(false).hostname(false).time(logjet::TimeFormat::Omit);
    let (lp, gp) = quiet(Logger::builder()).sink(plain.sink()).build().unwrap();
    let (lr, gr) = quiet(Logger::builder()).sink(redacted.sink()).redact(Redact::paths(["password"])).build().unwrap();
    for l in [&lp, &lr] {
        for i in 0..1000 {
            let key = format!("k{i}");
            if let Some(mut ev) = l.event(Level::Info) {
                ev.str(&key, "v");
                ev.emit("m");
            }
        }
        logjet::info!(l, "interned", passwore = 1, pbssword = 2, password_ = 3);
    }
    gp.flush().unwrap();
    gr.flush().unwrap();
    assert_eq!(plain.text(), redacted.text());
    assert_eq!(redacted.lines().len(), 1001);
}

/// A user record sink (`sink::Records`) sees the hidden record, like the
/// formats do: alone, and beside an NDJSON sink.
#[test]
fn record_sinks_see_the_hidden_record() {
    use std::sync::{Arc, Mutex};
    struct Keep(Arc<Mutex<Vec<String>>>);
    impl sink::RecordSink for Keep {
        fn write(&mut self, r: &sink::RecordView<'_>) -> std::io::Result<()> {
            let fields: Vec<String> = r.fields().map(|(k, v)| format!("{k}={v:?}")).collect();
            self.0.lock().unwrap().push(fields.join(" "));
            Ok(())
        }
    }
    for with_json in [false, true] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mem = Mem::new();
        let mut b = Logger::builder()
            .sink(sink::Records::new(Keep(seen.clone())))
            .redact(Redact::paths(["password", "req.auth"]));
        if with_json {
            b = b.sink(mem.sink());
        }
        let (log, guard) = b.build().unwrap();
        logjet::info!(
            log.child(logjet::fields!(password = "S3CRET")),
            "m",
            req = &json!({"auth": "S3CRET", "id": 1}),
            n = 2
        );
        guard.flush().unwrap();
        let got = seen.lock().unwrap().join("\n");
        assert!(!got.contains("S3CRET") && got.contains("[Redacted]") && got.contains("n="), "{got}");
        assert!(!mem.text().contains("S3CRET"));
    }
}
