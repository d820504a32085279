//! The opt-in panic hook writes the panic as a `fatal` record and flushes
//! before the previous hook runs. (Its own test binary: the hook is global.)

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::Mem;
use logjet::Logger;

#[test]
fn a_panic_becomes_a_flushed_fatal_record_before_the_previous_hook() {
    let mem = Mem::new();
    // The hook that was there before: it must still run, after the record.
    let seen_by_previous = Arc::new(AtomicBool::new(false));
    let lines_when_previous_ran = Arc::new(std::sync::Mutex::new(0usize));
    {
        let seen = seen_by_previous.clone();
        let count = lines_when_previous_ran.clone();
        let mem = mem.clone();
        std::panic::set_hook(Box::new(move |_| {
            seen.store(true, Ordering::SeqCst);
            *count.lock().unwrap() = mem.text().lines().count();
        }));
    }
    let (log, _guard) = Logger::builder().flush_on_panic(true).sink(mem.sink()).build().unwrap();
    logjet::info!(log, "working");

    let result = std::thread::Builder::new()
        .name("worker-7".into())
        .spawn(|| {
            let v: Vec<u8> = Vec::new();
            if v.is_empty() {
                panic!("index {} out of range", 3);
            }
        })
        .unwrap()
        .join();
    assert!(result.is_err());

    assert!(seen_by_previous.load(Ordering::SeqCst), "the previous hook ran");
    assert_eq!(*lines_when_previous_ran.lock().unwrap(), 2, "the fatal record was on the sink first");
    let lines = mem.lines();
    let fatal = &lines[1];
    assert_eq!(fatal["level"], 60);
    assert_eq!(fatal["msg"], "panicked: index 3 out of range");
    assert_eq!(fatal["thread"], "worker-7");
    let location = fatal["location"].as_str().unwrap();
    assert!(location.starts_with("tests/panic_hook.rs:"), "{location}");
}
