//! Output keys (`Builder::keys`): each preset's line checked key by key, a
//! user key named like a configured key renamed, no key written twice.

mod common;

use common::{keys, Mem};
use logjet::{Keys, Level, Logger, TimeFormat};
use serde_json::Value;

fn run(k: Keys, f: impl FnOnce(&Logger)) -> (String, Vec<Value>) {
    let mem = Mem::new();
    let (log, guard) =
        Logger::builder().level(Level::Trace).keys(k).hostname_value("web-1").sink(mem.sink()).build().unwrap();
    f(&log);
    guard.flush().unwrap();
    (mem.text(), mem.lines())
}

/// The keys of a raw JSON object line, in order, duplicates included.
fn raw_keys(line: &str) -> Vec<String> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Keys, A::Error> {
                    let mut v = Vec::new();
                    while let Some((k, _)) = m.next_entry::<String, serde::de::IgnoredAny>()? {
                        v.push(k);
                    }
                    Ok(Keys(v))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_str::<Keys>(line).unwrap().0
}

fn assert_unique(text: &str) {
    for line in text.lines() {
        let k = raw_keys(line);
        let mut sorted = k.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), k.len(), "a key repeats in {line}");
    }
}

fn rfc3339_ms(v: &Value) -> i64 {
    let s = v.as_str().expect("an RFC 3339 string");
    assert!(s.ends_with('Z') && s.len() == 24, "{s}");
    let t = chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
    let now = chrono::Utc::now().timestamp_millis();
    assert!(t <= now && now - t < 60_000, "{s}");
    t
}

#[test]
fn pino_is_the_default_and_unchanged() {
    let (text, lines) = run(Keys::pino(), |log| logjet::info!(log, "hi", a = 1));
    assert_eq!(keys(&lines[0]), ["level", "time", "pid", "hostname", "a", "msg"]);
    assert_eq!(lines[0]["level"], 30);
    assert!(lines[0]["time"].is_u64());
    assert!(text.ends_with(",\"hostname\":\"web-1\",\"a\":1,\"msg\":\"hi\"}\n"), "{text}");
}

#[test]
fn ecs_preset() {
    let (text, lines) = run(Keys::ecs(), |log| logjet::warn!(log, "disk low", free_mb = 12));
    let l = &lines[0];
    assert_eq!(
        keys(l),
        ["log.level", "@timestamp", "process.pid", "host.hostname", "ecs.version", "free_mb", "message"]
    );
    assert_eq!(l["log.level"], "warn");
    rfc3339_ms(&l["@timestamp"]);
    assert_eq!(l["process.pid"], std::process::id());
    assert_eq!(l["host.hostname"], "web-1");
    assert_eq!(l["ecs.version"], logjet::ECS_VERSION);
    assert_eq!(l["free_mb"], 12);
    assert_eq!(l["message"], "disk low");
    assert_unique(&text);
}

#[test]
fn gcp_preset() {
    let (text, lines) = run(Keys::gcp(), |log| {
        logjet::trace!(log, "t");
        logjet::debug!(log, "d");
        logjet::info!(log, "i", user = "ann");
        logjet::warn!(log, "w");
        logjet::error!(log, "e");
        logjet::log!(log, Level::Fatal, "f");
    });
    assert_eq!(keys(&lines[2]), ["severity", "time", "pid", "hostname", "user", "message"]);
    let sev: Vec<&str> = lines.iter().map(|l| l["severity"].as_str().unwrap()).collect();
    assert_eq!(sev, ["DEBUG", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]);
    rfc3339_ms(&lines[0]["time"]);
    assert_eq!(lines[2]["message"], "i");
    assert_unique(&text);
}

#[test]
fn otel_preset() {
    let (text, lines) = run(Keys::otel(), |log| {
        logjet::trace!(log, "t");
        logjet::debug!(log, "d");
        logjet::info!(log, "i", k = true);
        logjet::warn!(log, "w");
        logjet::error!(log, "e");
        logjet::log!(log, Level::Fatal, "f");
    });
    assert_eq!(keys(&lines[2]), ["SeverityText", "SeverityNumber", "Timestamp", "pid", "hostname", "k", "Body"]);
    let got: Vec<(&str, u64)> =
        lines.iter().map(|l| (l["SeverityText"].as_str().unwrap(), l["SeverityNumber"].as_u64().unwrap())).collect();
    assert_eq!(got, [("TRACE", 1), ("DEBUG", 5), ("INFO", 9), ("WARN", 13), ("ERROR", 17), ("FATAL", 21)]);
    rfc3339_ms(&lines[0]["Timestamp"]);
    assert_eq!(lines[2]["Body"], "i");
    assert_unique(&text);
}

#[test]
fn custom_keys_and_builder_time_wins() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder()
        .keys(Keys::pino().message("message").time("ts").level("lvl").level_label(true))
        .time(TimeFormat::EpochMillis)
        .pid(false)
        .hostname(false)
        .sink(mem.sink())
        .build()
        .unwrap();
    logjet::info!(log, "x");
    guard.flush().unwrap();
    let l = &mem.lines()[0];
    assert_eq!(keys(l), ["lvl", "ts", "message"]);
    assert_eq!(l["lvl"], "info");
    assert!(l["ts"].is_u64());
}

#[test]
fn user_keys_named_like_configured_keys_are_renamed() {
    let (text, lines) = run(Keys::ecs(), |log| {
        let child = log.child(logjet::fields!(message = "bound", "_message" = "b2", other = 1));
        logjet::info!(child, "real", message = "field", "@timestamp" = 5, "ecs.version" = "mine", msg = "pino");
        logjet::info!(log, "plain", "log.level" = "x", "_@timestamp" = 6);
    });
    assert_unique(&text);
    let a = &lines[0];
    assert_eq!(a["message"], "real");
    assert_eq!(a["_message"], "field", "the field replaces the binding of the same key");
    assert_eq!(a["__message"], "b2");
    assert_eq!(a["other"], 1);
    assert_eq!(a["_@timestamp"], 5);
    assert_eq!(a["_ecs.version"], "mine");
    assert_eq!(a["ecs.version"], logjet::ECS_VERSION);
    assert_eq!(a["_msg"], "pino");
    let b = &lines[1];
    assert_eq!(b["log.level"], "info");
    assert_eq!(b["_log.level"], "x");
    assert_eq!(b["__@timestamp"], 6);
    assert_eq!(b["message"], "plain");
}

#[test]
fn bad_keys_are_refused() {
    for k in [Keys::pino().message(""), Keys::pino().message("_m"), Keys::gcp().time("message")] {
        let err = Logger::builder().keys(k).sink(logjet::sink::Writer::new(std::io::sink())).build().err();
        assert!(err.is_some());
    }
}
