//! The OTLP exporter (`sink::Otlp`) to a receiver on loopback: records per
//! second with `Overflow::Block` and nothing lost, and the caller's latency
//! with the exporter beside the same logger writing NDJSON to a file.
//!
//! ```text
//! cargo bench --bench otlp --features otlp
//! cargo bench --bench otlp --features otlp -- --records 500000 --runs 3 --batch 512
//! ```
//!
//! The receiver (tests/otlp_receiver) runs in this process on its own
//! threads: it parses HTTP/1.1, decodes every body with the official
//! `opentelemetry-proto` types (prost) and counts the records, so its work
//! shares the machine's cores with the logger's. The workload is the one of
//! every benchmark (msg and six fields, run-time values through
//! `black_box`), from one producer at full speed.
//!
//! - throughput: `--records` records, the clock stops when `flush` returns
//!   (every record acknowledged by the receiver); the receiver's count must
//!   equal the records logged, and the logger's `dropped` must be 0.
//! - caller latency: each call timed with two `Instant::now()` reads (their
//!   own cost subtracted), paced at one record every 4 µs (250 k/s) so that
//!   the queue never fills; once with the OTLP sink, once with a file sink
//!   instead (the same pipeline, NDJSON): the caller does the same work in
//!   both, the exporter runs on the output thread.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use logjet::{sink, Logger, Overflow};

#[path = "../tests/otlp_receiver/mod.rs"]
mod otlp_receiver;
#[path = "shared/mod.rs"]
mod shared;

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().any(|a| a == "--list") {
        return;
    }
    let quick = std::env::var_os("LOGJET_BENCH_QUICK").is_some();
    let records = shared::flag(&argv, "--records", if quick { 50_000 } else { 1_000_000 });
    let runs = shared::flag(&argv, "--runs", if quick { 1 } else { 3 }) as usize;
    let batch = shared::flag(&argv, "--batch", 512) as usize;

    for walking in [false, true] {
        let how = if walking {
            "a receiver that counts records by walking the wire format"
        } else {
            "a receiver that decodes every body into the official types"
        };
        println!("OTLP/HTTP protobuf, {how}, max_batch {batch}, Overflow::Block, {records} records");
        let mut rates = Vec::new();
        for run in 0..runs {
            let rx = if walking {
                otlp_receiver::Receiver::start_walking(0)
            } else {
                otlp_receiver::Receiver::start(0, false)
            };
            let (log, guard) = Logger::builder()
                .sink(sink::Otlp::http(rx.url()).unwrap().max_batch(batch))
                .overflow(Overflow::Block)
                .build()
                .unwrap();
            let cpu_before = thread_cpu();
            let start = Instant::now();
            for i in 0..records {
                shared::log_request(&log, i);
            }
            guard.flush().unwrap();
            let secs = start.elapsed().as_secs_f64();
            let cpu = cpu_delta(&cpu_before, &thread_cpu());
            let stats = log.stats();
            let got = rx.records();
            assert_eq!(got, records, "the receiver got every record");
            assert_eq!(stats.dropped, 0, "nothing lost");
            assert_eq!(rx.bad_bodies(), 0);
            let rate = records as f64 / secs;
            rates.push(rate);
            let per =
                |name: &str| cpu.iter().filter(|(n, _)| n == name).map(|(_, t)| t).sum::<f64>() * 1e9 / records as f64;
            println!(
                "  run {}: {:.0} k records/s ({:.2} s), received {got}, dropped {}; CPU ns per record: producer {:.0}, writer {:.0}, output (exporter) {:.0}, receiver {:.0}",
                run + 1,
                rate / 1e3,
                secs,
                stats.dropped,
                per("producer"),
                per("logjet-writer"),
                per("logjet-output"),
                per("otlp-receiver")
            );
            drop(log);
            drop(guard);
            drop(rx);
        }
        rates.sort_by(f64::total_cmp);
        println!("  median {:.0} k records/s", rates[rates.len() / 2] / 1e3);
    }

    // The record-sink path alone: a user sink that reads every field.
    {
        let (log, guard) =
            Logger::builder().sink(sink::Records::new(ReadAll(0))).overflow(Overflow::Block).build().unwrap();
        let cpu_before = thread_cpu();
        let start = Instant::now();
        for i in 0..records {
            shared::log_request(&log, i);
        }
        guard.flush().unwrap();
        let secs = start.elapsed().as_secs_f64();
        let cpu = cpu_delta(&cpu_before, &thread_cpu());
        let out: f64 = cpu.iter().filter(|(n, _)| n == "logjet-output").map(|(_, t)| t).sum();
        assert_eq!(log.stats().written, records);
        println!(
            "sink::Records with a sink that reads every field: {:.2} M records/s, output thread {:.0} ns CPU per record",
            records as f64 / secs / 1e6,
            out * 1e9 / records as f64
        );
    }

    let paced = records.min(500_000);
    println!("caller latency, paced 1 record / 4 µs, {paced} records (ns, own timer cost subtracted)");
    for otlp in [true, false] {
        let dir = std::env::temp_dir().join(format!("logjet-bench-otlp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rx = otlp_receiver::Receiver::start(0, false);
        let builder = Logger::builder().overflow(Overflow::Block);
        let (log, guard) = if otlp {
            builder.sink(sink::Otlp::http(rx.url()).unwrap().max_batch(batch)).build().unwrap()
        } else {
            builder.sink(sink::File::append(dir.join("bench.log")).unwrap()).build().unwrap()
        };
        let h = paced_latency(&log, paced, Duration::from_nanos(4_000));
        guard.flush().unwrap();
        assert_eq!(log.stats().dropped, 0);
        if otlp {
            assert_eq!(rx.records(), paced);
        }
        println!(
            "  {:<14} p50 {:>5}  p99 {:>6}  p99.9 {:>7}  max {:>9}",
            if otlp { "OTLP sink" } else { "file (NDJSON)" },
            h.value_at_quantile(0.50),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.max()
        );
        drop(log);
        drop(guard);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A record sink that reads every field of every record.
struct ReadAll(u64);

impl sink::RecordSink for ReadAll {
    fn write(&mut self, rec: &sink::RecordView<'_>) -> std::io::Result<()> {
        self.0 += rec.message().len() as u64;
        for (k, v) in rec.fields() {
            self.0 += k.len() as u64;
            std::hint::black_box(&v);
        }
        Ok(())
    }
}

/// CPU seconds of each of this process's threads, by thread name (the
/// main thread, which logs, as "producer"), from /proc (Linux; empty
/// elsewhere).
fn thread_cpu() -> Vec<(String, u64, f64)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return out };
    let main = std::process::id().to_string();
    for e in dir.flatten() {
        let tid = e.file_name().to_string_lossy().into_owned();
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let name = if tid == main { "producer".to_owned() } else { stat[open + 1..close].to_owned() };
        let f: Vec<&str> = stat[close + 2..].split(' ').collect();
        // utime and stime: fields 14 and 15 of the line, in clock ticks (100 Hz).
        let ticks: u64 =
            f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0) + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
        out.push((name, tid.parse().unwrap_or(0), ticks as f64 / 100.0));
    }
    out
}

/// CPU seconds per thread name between two readings.
fn cpu_delta(before: &[(String, u64, f64)], after: &[(String, u64, f64)]) -> Vec<(String, f64)> {
    after
        .iter()
        .map(|(name, tid, t)| {
            let was = before.iter().find(|(_, b, _)| b == tid).map_or(0.0, |(_, _, t)| *t);
            (name.clone(), t - was)
        })
        .collect()
}

/// Times each call, one every `period`.
fn paced_latency(log: &Logger, n: u64, period: Duration) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new(3).unwrap();
    let overhead = {
        let mut v: Vec<u64> = (0..10_000)
            .map(|_| {
                let a = Instant::now();
                let b = Instant::now();
                (b - a).as_nanos() as u64
            })
            .collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let start = Instant::now();
    for i in 0..n {
        let due = start + period * i as u32;
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        let a = Instant::now();
        shared::log_request(log, i);
        let b = Instant::now();
        let _ = h.record(((b - a).as_nanos() as u64).saturating_sub(overhead));
    }
    h
}
