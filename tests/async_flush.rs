//! tokio: async flush and shutdown that never block a worker thread, and
//! logging from many tasks under `Overflow::Drop` that never blocks.
#![cfg(feature = "tokio")]

mod common;

use common::{Gate, Mem};
use logjet::{sink, Logger, Overflow};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_never_block_under_drop_even_behind_a_stalled_sink() {
    let gate = Gate::new();
    let (log, guard) =
        Logger::builder().capacity(64).overflow(Overflow::Drop).sink(sink::Writer::new(gate.clone())).build().unwrap();
    // The sink is stalled: every task still finishes, because under Drop a
    // full queue drops instead of waiting.
    let tasks: Vec<_> = (0..100)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..1000u32 {
                    logjet::info!(log, "from a task", task = t, i = i);
                    if i % 100 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    gate.open();
    guard.flush_async().await.unwrap();
    let stats = log.stats();
    assert!(stats.dropped > 0);
    assert_eq!(stats.written + stats.dropped, 100_000, "{stats:?}");
    let notices: u64 = gate.mem.lines().iter().filter_map(|l| l.get("dropped")).map(|d| d.as_u64().unwrap()).sum();
    assert_eq!(notices, stats.dropped);
}

#[tokio::test(flavor = "current_thread")]
async fn flush_async_waits_without_blocking_the_only_worker() {
    let gate = Gate::new();
    let (log, guard) = Logger::builder().capacity(1).sink(sink::Writer::new(gate.clone())).build().unwrap();
    logjet::info!(log, "first");
    logjet::info!(log, "second"); // the queue holds at most one more
                                  // On a current-thread runtime a blocking flush would deadlock the
                                  // task that opens the gate; the async one yields instead.
    let opener = {
        let gate = gate.clone();
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            gate.open();
        })
    };
    log.flush_async().await.unwrap();
    opener.await.unwrap();
    assert_eq!(gate.mem.lines().len(), 2);
    logjet::info!(log, "third");
    guard.shutdown_async().await.unwrap();
    assert_eq!(gate.mem.lines().len(), 3);
    assert!(log.flush_async().await.unwrap_err().is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_shutdown_reports_a_sink_that_never_recovers() {
    let mem = Mem::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let (log, guard) =
        Logger::builder().sink(mem.sink()).sink(sink::Writer::new(writer).name("dead pipe")).build().unwrap();
    logjet::info!(log, "lost on one sink");
    let err = guard.shutdown_async().await.unwrap_err();
    assert_eq!(err.lost_records(), Some(1));
    assert_eq!(mem.lines().len(), 1, "the healthy sink still got it");
}

#[test]
fn shutdown_async_works_on_a_runtime_without_the_time_driver() {
    // A current-thread runtime built without `enable_time()`: no tokio timer.
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mem = Mem::new();
    let (log, guard) = Logger::builder().sink(mem.sink()).build().unwrap();
    let result = rt.block_on(async {
        logjet::info!(log, "before the shutdown");
        log.flush_async().await.unwrap();
        guard.shutdown_async().await
    });
    assert!(result.is_ok(), "{result:?}");
    let lines = mem.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["msg"], "before the shutdown");
}
