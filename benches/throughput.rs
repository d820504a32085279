//! End-to-end throughput: N records to a file on disk, from the first call
//! until the file is complete (the final flush included), with 1 and 2
//! producer threads; CPU time per record (user + system, whole process) and
//! peak RSS. Each run is its own child process so that RSS and CPU are that
//! run's alone.
//!
//! ```text
//! cargo bench --bench throughput                       # 1,000,000 records, 3 runs each
//! cargo bench --bench throughput -- --records 2000000 --runs 5
//! ```
//!
//! `logjet-pretty` is logjet with `sink::Pretty` (no colours) on the file
//! instead of NDJSON: the pretty format's cost.
//!
//! Beside logjet it runs `baseline-json`, the hand-written lower bound of
//! the peer comparison: the same line encoded by hand (itoa/ryu) into a
//! thread-local buffer, 64 KiB chunks over a bounded crossbeam channel, one
//! write per chunk. Ratios are computed within each run.

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "shared/mod.rs"]
mod shared;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Logjet,
    LogjetPretty,
    BaselineJson,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Logjet => "logjet",
            Kind::LogjetPretty => "logjet-pretty",
            Kind::BaselineJson => "baseline-json",
        }
    }
    fn parse(s: &str) -> Kind {
        match s {
            "logjet" => Kind::Logjet,
            "logjet-pretty" => Kind::LogjetPretty,
            "baseline-json" => Kind::BaselineJson,
            other => panic!("unknown kind {other}"),
        }
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = argv.iter().position(|a| a == "--child") {
        let kind = Kind::parse(&argv[i + 1]);
        let producers: u64 = argv[i + 2].parse().unwrap();
        let records: u64 = argv[i + 3].parse().unwrap();
        child(kind, producers, records);
        return;
    }
    let get = |name: &str, default: u64| shared::flag(&argv, name, default);
    let records = get("--records", 1_000_000);
    let runs = get("--runs", 3) as usize;
    let exe = std::env::current_exe().unwrap();

    println!(
        "{records} records to a file, median of {runs} runs (min–max); ratios against baseline-json in the same run\n"
    );
    println!("| producers | logger | k records/s | wall ÷ baseline | CPU µs/record | peak RSS MiB |");
    println!("|---|---|---|---|---|---|");
    for producers in [1u64, 2] {
        let kinds = [Kind::Logjet, Kind::LogjetPretty, Kind::BaselineJson];
        let mut res: Vec<(Kind, Vec<Sample>, Vec<f64>)> = kinds.iter().map(|&k| (k, vec![], vec![])).collect();
        for _ in 0..runs {
            let mut walls = [0.0; 3];
            for (j, (kind, samples, _)) in res.iter_mut().enumerate() {
                let out = Command::new(&exe)
                    .args(["--child", kind.name(), &producers.to_string(), &records.to_string()])
                    .output()
                    .expect("run child");
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                let s = Sample::parse(&String::from_utf8_lossy(&out.stdout));
                walls[j] = s.wall;
                samples.push(s);
            }
            for (j, (_, _, ratios)) in res.iter_mut().enumerate() {
                ratios.push(walls[j] / walls[2]);
            }
        }
        for (kind, samples, ratios) in &res {
            let rate = stat(samples.iter().map(|s| records as f64 / s.wall / 1e3).collect());
            let cpu = stat(samples.iter().map(|s| s.cpu / records as f64 * 1e6).collect());
            let rss = stat(samples.iter().map(|s| s.rss_kib / 1024.0).collect());
            let ratio = if *kind == Kind::BaselineJson { "1.00".into() } else { stat(ratios.clone()).fmt(2) };
            println!("| {producers} | {} | {} | {ratio} | {} | {} |", kind.name(), rate.fmt(0), cpu.fmt(3), rss.fmt(1));
        }
    }
}

struct Stat {
    median: f64,
    min: f64,
    max: f64,
}

impl Stat {
    fn fmt(&self, digits: usize) -> String {
        format!("{:.*} ({:.*}–{:.*})", digits, self.median, digits, self.min, digits, self.max)
    }
}

fn stat(mut v: Vec<f64>) -> Stat {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Stat { median: v[v.len() / 2], min: v[0], max: v[v.len() - 1] }
}

struct Sample {
    wall: f64,
    cpu: f64,
    rss_kib: f64,
}

impl Sample {
    fn parse(s: &str) -> Sample {
        let f: Vec<f64> = s.split_whitespace().map(|x| x.parse().unwrap()).collect();
        Sample { wall: f[0], cpu: f[1], rss_kib: f[2] }
    }
}

fn cpu_seconds() -> f64 {
    // utime + stime of the whole process, in clock ticks.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn peak_rss_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn temp_file(kind: Kind) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("logjet-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}.log", kind.name()))
}

/// Every line is a complete record (a JSON object, or a pretty line), and
/// there are `records` of them.
fn verify(p: &Path, records: u64, kind: Kind) {
    use std::io::BufRead;
    let mut n = 0u64;
    for line in std::io::BufReader::new(std::fs::File::open(p).unwrap()).lines() {
        let line = line.unwrap();
        if kind == Kind::LogjetPretty {
            assert!(line.contains("] INFO  request handled method=GET ") && line.contains(" request_id="), "{line}");
        } else {
            assert!(line.starts_with("{\"level\":30,") && line.ends_with("\"msg\":\"request handled\"}"), "{line}");
        }
        n += 1;
    }
    assert_eq!(n, records, "{} wrote every record", kind.name());
}

fn child(kind: Kind, producers: u64, records: u64) {
    let path = temp_file(kind);
    let _ = std::fs::remove_file(&path);
    let cpu0 = cpu_seconds();
    let wall = match kind {
        Kind::Logjet => run_logjet(shared::file_logger(&path), producers, records),
        Kind::LogjetPretty => {
            let file = std::fs::File::create(&path).unwrap();
            let logger = logjet::Logger::builder()
                .sink(logjet::sink::Pretty::writer(file).colors(false))
                .overflow(logjet::Overflow::Block)
                .build()
                .unwrap();
            run_logjet(logger, producers, records)
        }
        Kind::BaselineJson => run_baseline(&path, producers, records),
    };
    let cpu = cpu_seconds() - cpu0;
    let rss = peak_rss_kib();
    verify(&path, records, kind);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    println!("{wall} {cpu} {rss}");
}

fn run_logjet((log, guard): (logjet::Logger, logjet::Guard), producers: u64, records: u64) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..producers {
            let log = log.clone();
            s.spawn(move || {
                let per = records / producers;
                for i in t * per..(t + 1) * per {
                    shared::log_request(&log, i);
                }
            });
        }
    });
    guard.shutdown().unwrap();
    start.elapsed().as_secs_f64()
}

const CHUNK: usize = 64 * 1024;

thread_local! {
    static BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(CHUNK + 512));
}

/// The hand-written lower bound: encode by hand, ship 64 KiB chunks.
fn run_baseline(path: &Path, producers: u64, records: u64) -> f64 {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(64);
    let p = path.to_path_buf();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::File::create(p).unwrap();
        for chunk in rx {
            f.write_all(&chunk).unwrap();
        }
    });
    let pid = std::process::id();
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..producers {
            let tx = tx.clone();
            s.spawn(move || {
                let per = records / producers;
                for i in t * per..(t + 1) * per {
                    let r = std::hint::black_box(&shared::REQUEST);
                    let i = std::hint::black_box(i);
                    BUF.with(|b| {
                        let mut b = b.borrow_mut();
                        let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
                            as u64;
                        b.extend_from_slice(b"{\"level\":30,\"time\":");
                        b.extend_from_slice(itoa::Buffer::new().format(ms).as_bytes());
                        b.extend_from_slice(b",\"pid\":");
                        b.extend_from_slice(itoa::Buffer::new().format(pid).as_bytes());
                        b.extend_from_slice(b",\"hostname\":\"vm\",\"method\":\"");
                        b.extend_from_slice(r.method.as_bytes()); // plain ASCII: no escaping needed
                        b.extend_from_slice(b"\",\"path\":\"");
                        b.extend_from_slice(r.path.as_bytes());
                        b.extend_from_slice(b"\",\"status\":");
                        b.extend_from_slice(itoa::Buffer::new().format(r.status).as_bytes());
                        b.extend_from_slice(b",\"latency_ms\":");
                        b.extend_from_slice(ryu::Buffer::new().format(r.latency_ms).as_bytes());
                        b.extend_from_slice(if r.cached { b",\"cached\":true" } else { b",\"cached\":false" });
                        b.extend_from_slice(b",\"request_id\":");
                        b.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
                        b.extend_from_slice(b",\"msg\":\"request handled\"}\n");
                        if b.len() >= CHUNK {
                            let full = std::mem::replace(&mut *b, Vec::with_capacity(CHUNK + 512));
                            tx.send(full).unwrap();
                        }
                    });
                }
                BUF.with(|b| {
                    let rest = std::mem::take(&mut *b.borrow_mut());
                    if !rest.is_empty() {
                        tx.send(rest).unwrap();
                    }
                });
            });
        }
    });
    drop(tx);
    writer.join().unwrap();
    start.elapsed().as_secs_f64()
}
