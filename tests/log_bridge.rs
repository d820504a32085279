//! The `log` facade through `logjet::init_log`. (Its own test binary: the
//! `log` crate takes one logger per process.)
#![cfg(feature = "log")]

mod common;

use common::{keys, Mem};
use logjet::{Level, Logger};
use serde_json::json;

#[test]
fn log_records_flow_through_with_fields_levels_and_targets() {
    let mem = Mem::new();
    let (log, guard) = Logger::builder().level(Level::Info).debug("").sink(mem.sink()).build().unwrap();
    logjet::init_log(&log).unwrap();
    assert_eq!(log::max_level(), log::LevelFilter::Info);
    assert!(logjet::init_log(&log).is_err(), "the log crate takes one logger");

    log::info!("plain {}", 1);
    log::debug!("below the level");
    let err = std::io::Error::other("boom");
    log::warn!(target: "myapp::db", user = 7, ratio = 0.5, admin = false, name = "ada", big = u64::MAX,
        ip:% = std::net::Ipv4Addr::LOCALHOST, err:err = err;
        "with fields");
    log::error!(level = "user level", target = "kv target"; "colliding {}", "keys\nand newline");

    // The max level follows the logger's level...
    log.set_level(Level::Debug);
    assert_eq!(log::max_level(), log::LevelFilter::Debug);
    log::debug!("now on");
    log.set_level(Level::Warn);
    assert_eq!(log::max_level(), log::LevelFilter::Warn);
    log::info!("off again");
    // ...and DEBUG namespaces match targets.
    log.enable_debug("myapp::db*");
    assert_eq!(log::max_level(), log::LevelFilter::Trace);
    log::debug!(target: "myapp::db::pool", "debug by namespace");
    log::debug!(target: "myapp::http", "not this target");
    assert_eq!(log.disable_debug(), "myapp::db*");
    assert_eq!(log::max_level(), log::LevelFilter::Warn);

    log::logger().flush();
    let lines = mem.lines();
    let msgs: Vec<&str> = lines.iter().map(|l| l["msg"].as_str().unwrap()).collect();
    assert_eq!(msgs, ["plain 1", "with fields", "colliding keys\nand newline", "now on", "debug by namespace"]);
    assert_eq!(keys(&lines[0]), ["level", "time", "pid", "hostname", "target", "msg"]);
    assert_eq!(lines[0]["target"], "log_bridge");
    let l = &lines[1];
    assert_eq!(l["level"], 40);
    assert_eq!(l["target"], "myapp::db");
    assert_eq!(l["user"], 7);
    assert_eq!(l["ratio"], 0.5);
    assert_eq!(l["admin"], false);
    assert_eq!(l["name"], "ada");
    assert_eq!(l["big"], u64::MAX);
    assert_eq!(l["ip"], "127.0.0.1");
    assert_eq!(l["err"], json!({"type": "dyn Error", "message": "boom"}));
    assert_eq!(lines[2]["_level"], "user level");
    assert_eq!(lines[2]["_target"], "kv target");
    assert_eq!(lines[2]["level"], 50);
    assert_eq!(lines[4]["level"], 20);
    assert_eq!(lines[4]["target"], "myapp::db::pool");

    // DEBUG answers are kept by the target's text, not its address: a
    // target freed and another of the same length allocated in its place
    // gets its own answer (both orders).
    log.enable_debug("dyn:on*");
    for i in 0..1000 {
        let on = format!("dyn:on{i:04}");
        log::debug!(target: on.as_str(), "on");
        drop(on);
        let off = format!("dyn:of{i:04}");
        log::debug!(target: off.as_str(), "off");
        drop(off);
        let on = format!("dyn:on{i:04}");
        log::debug!(target: on.as_str(), "on");
    }
    log::logger().flush();
    let lines = mem.lines();
    let count = |m: &str| lines.iter().filter(|l| l["msg"] == m).count();
    assert_eq!((count("on"), count("off")), (2000, 0));
    drop(guard);
}
