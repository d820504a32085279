//! `DEBUG` is read from the environment when the logger is built, under a
//! configurable name. (Its own test binary: it changes the environment.)

mod common;

use common::Mem;
use logjet::Logger;

#[test]
fn debug_is_read_at_build_time_under_its_configured_name() {
    // This binary's only test: nothing else reads the environment meanwhile.
    std::env::set_var("DEBUG", "app:*,-app:db");
    std::env::set_var("MYAPP_DEBUG", "worker");

    let (log, _g) = Logger::builder().sink(Mem::new().sink()).build().unwrap();
    assert!(log.debug_ns("app:http").enabled());
    assert!(!log.debug_ns("app:db").enabled());
    assert_eq!(log.debug_namespaces().to_string(), "app:*,-app:db");

    let (log, _g) = Logger::builder().debug_env("MYAPP_DEBUG").sink(Mem::new().sink()).build().unwrap();
    assert!(log.debug_ns("worker").enabled());
    assert!(!log.debug_ns("app:http").enabled());

    // An explicit spec wins over the environment.
    let (log, _g) = Logger::builder().debug("").sink(Mem::new().sink()).build().unwrap();
    assert!(!log.debug_ns("app:http").enabled());

    // Read once, at build: a later change of the variable changes nothing.
    let (log, _g) = Logger::builder().sink(Mem::new().sink()).build().unwrap();
    std::env::set_var("DEBUG", "");
    assert!(log.debug_ns("app:http").enabled());
    std::env::remove_var("DEBUG");
    let (log, _g) = Logger::builder().sink(Mem::new().sink()).build().unwrap();
    assert!(!log.debug_ns("app:http").enabled());
}
