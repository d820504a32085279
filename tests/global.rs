//! The global logger: the macros without a handle, `debug_ns!`. (Its own
//! test binary: a global logger is set once per process.)

mod common;

use common::Mem;
use logjet::{Level, Logger};

#[test]
fn macros_without_a_handle_write_to_the_global_logger_once_it_is_set() {
    // Before any global logger: nothing happens, nothing is evaluated.
    let mut evaluated = false;
    logjet::info!(
        "lost",
        v = {
            evaluated = true;
            1
        }
    );
    assert!(!evaluated, "no global logger: the fields are not evaluated");
    let early = logjet::debug_ns!("app:db");
    assert!(early.is_none());
    logjet::debug!(early, "lost too");

    let mem = Mem::new();
    let (log, guard) = Logger::builder().level(Level::Info).sink(mem.sink()).debug("app:db").build().unwrap();
    log.set_global().unwrap();
    assert!(log.set_global().is_err(), "set once per process");
    let (other, _other_guard) = Logger::builder().sink(Mem::new().sink()).build().unwrap();
    assert!(other.set_global().is_err());

    logjet::info!("request handled", status = 200, path = "/x");
    logjet::log!(Level::Warn, "retry {} of {}", 2, 5, backoff_ms = 250);
    logjet::debug!("below the level: not written");
    let user = "ada";
    logjet::error!("user {user} failed", code = 7);
    // A debug handle per call site, made from the global logger.
    for i in 0..3 {
        let db = logjet::debug_ns!("app:db");
        logjet::debug!(db, "query", i = i);
    }
    let http = logjet::debug_ns!("app:http");
    assert!(http.is_some_and(|h| !h.enabled()));
    logjet::debug!(http, "not enabled");
    // A handle still works next to the global one.
    logjet::info!(log, "with a handle");
    logjet::fatal!("going down"); // flushes, as with a handle
    let lines = mem.lines();
    let msgs: Vec<&str> = lines.iter().map(|l| l["msg"].as_str().unwrap()).collect();
    assert_eq!(
        msgs,
        [
            "request handled",
            "retry 2 of 5",
            "user ada failed",
            "query",
            "query",
            "query",
            "with a handle",
            "going down"
        ]
    );
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[1]["level"], 40);
    assert_eq!(lines[1]["backoff_ms"], 250);
    assert_eq!(lines[3]["ns"], "app:db");
    assert_eq!(lines[5]["i"], 2);
    assert_eq!(lines[7]["level"], 60);
    drop(guard);
}
