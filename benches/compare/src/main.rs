//! Side-by-side comparison of logjet with other Rust loggers: the same
//! structured record, written as NDJSON to a file on disk, lossless, by
//! every logger, each run in its own child process and verified.
//!
//! ```text
//! cargo run --release -p logjet-compare -- [--records N] [--runs K] [--only a,b] [--out docs]
//!     --records N      records per run (default 1,000,000)
//!     --runs K         runs per peer and mode; cells are median (min–max) (default 3)
//!     --only a,b       only these peers (baseline-json is needed for the ratios)
//!     --modes m,n      only these modes: tput1, tput2, full, paced, load2, load4 (default all)
//!     --period-ns P    pace of the paced mode (default 2000)
//!     --load-secs S    how long each under-load run lasts, decimals allowed (default 3,
//!                      scaled down with --records below 1,000,000, at least 0.3)
//!     --timeout S      kill a child still running after S seconds and report it as a
//!                      "timeout" failure (default 120)
//!     --quiet-wait S   before each child, wait up to S seconds for the rest of the
//!                      machine to use < 0.1 core (default 30; 0 = never wait)
//!     --out DIR        also write DIR/compare.md and DIR/compare-latency.svg
//! ```
//!
//! Peers: `baseline-json`, `baseline-const`, `logjet`, `logjet-tracing`,
//! `tracing`, `slog`, `ftlog`, `fast_log`, `spdlog` (see `peers.rs` for how
//! each is configured). Every peer logs the same record, its values handed
//! over at run time through `black_box` (see `workload.rs`). Modes:
//! throughput with 1 and 2 producer threads (first call → complete file),
//! and caller latency per call at full speed and paced (one call every
//! 2 µs), HdrHistogram percentiles with the timer overhead subtracted. Each
//! child reports wall time, CPU time of the whole process (getrusage),
//! voluntary context switches, peak RSS (VmHWM, read before verification),
//! file size, and the CPU other processes used meanwhile ("bg cores").
//! Peers are interleaved within each run; ratios to `baseline-json` are
//! taken within each run, then the median.
//!
//! Under load (`load2`, `load4`, see `load.rs`): 2 or 4 producer threads
//! log at full speed for `--load-secs`; the child reports throughput, each
//! producer's share of the records, the longest single call, the longest of
//! 5 flushes made meanwhile, and then, the load still running, logs a fatal
//! record and calls `std::process::exit`; the parent looks for that record
//! in the file.
//!
//! The parent spawns `current_exe() --child <peer> <mode> <records> <period-ns> <load-ms>`
//! (see `spawn.rs`); with `LOGJET_COMPARE_KEEP=1` in the environment a
//! child's log file is kept (and its directory printed) for inspection.

mod harness;
mod load;
mod peers;
mod plot;
mod report;
mod spawn;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use harness::{Job, Mode, Sample};
use report::Results;

struct Args {
    records: u64,
    runs: usize,
    only: Vec<String>,
    modes: Vec<Mode>,
    period_ns: u64,
    /// `--load-secs`, or the default for `records`.
    load: Duration,
    timeout: Duration,
    quiet_wait: u64,
    out: Option<PathBuf>,
}

fn usage(msg: &str) -> ! {
    eprintln!("{msg}");
    eprintln!(
        "usage: logjet-compare [--records N] [--runs K] [--only a,b] [--modes tput1,tput2,full,paced,load2,load4] \
         [--period-ns P] [--load-secs S] [--timeout S] [--quiet-wait S] [--out DIR]"
    );
    std::process::exit(2);
}

/// The default length of an under-load run: 3 s for the default 1,000,000
/// records, proportionally less for fewer (small check runs), at least 0.3 s.
fn default_load_secs(records: u64) -> f64 {
    (3.0 * records as f64 / 1e6).clamp(0.3, 3.0)
}

fn parse_args(argv: &[String]) -> Args {
    let mut a = Args {
        records: 1_000_000,
        runs: 3,
        only: peers::PEERS.iter().map(|p| p.to_string()).collect(),
        modes: Mode::ALL.to_vec(),
        period_ns: 2_000,
        load: Duration::ZERO,
        timeout: Duration::from_secs(120),
        quiet_wait: 30,
        out: None,
    };
    let mut load_secs = None;
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let number =
            |v: String| v.replace(['_', ','], "").parse::<u64>().unwrap_or_else(|_| usage(&format!("{flag} {v}?")));
        let seconds = |v: String| match v.parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 => s,
            _ => usage(&format!("{flag} {v}?")),
        };
        match flag.as_str() {
            "--records" => a.records = number(value()).max(2),
            "--runs" => a.runs = number(value()).max(1) as usize,
            "--period-ns" => a.period_ns = number(value()).max(1),
            "--load-secs" => load_secs = Some(seconds(value())),
            "--timeout" => a.timeout = Duration::from_secs_f64(seconds(value())),
            "--quiet-wait" => a.quiet_wait = number(value()),
            "--out" => a.out = Some(PathBuf::from(value())),
            "--only" => {
                let wanted: Vec<String> = value().split(',').map(|s| s.trim().to_string()).collect();
                for w in &wanted {
                    if !peers::PEERS.contains(&w.as_str()) {
                        usage(&format!("unknown peer {w}; known: {}", peers::PEERS.join(", ")));
                    }
                }
                // Keep the table order.
                a.only.retain(|p| wanted.contains(p));
            }
            "--modes" => {
                let v = value();
                let wanted: Vec<Mode> = v
                    .split(',')
                    .map(|m| Mode::parse(m.trim()).unwrap_or_else(|| usage(&format!("unknown mode {m}"))))
                    .collect();
                a.modes.retain(|m| wanted.contains(m));
            }
            // cargo bench/test harness flags, if ever run that way.
            "--bench" | "--nocapture" => {}
            other => usage(&format!("unknown argument {other}")),
        }
    }
    a.load = Duration::from_secs_f64(load_secs.unwrap_or_else(|| default_load_secs(a.records)));
    a
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("--child") {
        let job =
            Job::parse(&argv[1..]).unwrap_or_else(|| usage("--child <peer> <mode> <records> <period-ns> <load-ms>"));
        harness::child(&job);
        return;
    }
    let args = parse_args(&argv);
    let command =
        format!("cargo run --release -p logjet-compare --{}", argv.iter().map(|a| format!(" {a}")).collect::<String>());
    let results = measure(&args);
    let tables = report::tables(&results);
    println!("{tables}");
    let fails = report::failures(&results);
    if !fails.is_empty() {
        println!("Failed runs:\n{fails}");
    }
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).expect("create the output directory");
        let svg = out.join("compare-latency.svg");
        let panels: Vec<plot::Panel> = [Mode::Full, Mode::Paced]
            .into_iter()
            .filter(|m| args.modes.contains(m))
            .map(|m| panel(&results, m))
            .collect();
        let wrote_svg = !panels.is_empty();
        if wrote_svg {
            plot::write(&svg, &panels).expect("write the plot");
        }
        let md = document(&args, &command, &tables, &fails, wrote_svg);
        let md_path = out.join("compare.md");
        std::fs::write(&md_path, md).expect("write compare.md");
        eprintln!(
            "wrote {}{}",
            md_path.display(),
            if wrote_svg { format!(" and {}", svg.display()) } else { String::new() }
        );
    }
}

/// Runs every (run, mode, peer) child, peers interleaved within each run.
fn measure(args: &Args) -> Results {
    let exe = std::env::current_exe().expect("current exe");
    let mut table: Vec<(Mode, Vec<(String, report::Runs)>)> =
        args.modes.iter().map(|&m| (m, args.only.iter().map(|p| (p.clone(), Vec::new())).collect())).collect();
    for run in 0..args.runs {
        for (mode, rows) in table.iter_mut() {
            for (peer, runs) in rows.iter_mut() {
                if args.quiet_wait > 0 {
                    let waited = harness::wait_for_quiet(0.1, Duration::from_secs(args.quiet_wait));
                    if waited >= 1.0 {
                        eprintln!("(waited {waited:.0} s for the machine to calm down)");
                    }
                }
                eprint!("run {}/{} {:<5} {:<15} ", run + 1, args.runs, mode.name(), peer);
                let job = Job {
                    peer: peer.clone(),
                    mode: *mode,
                    records: args.records,
                    period: Duration::from_nanos(args.period_ns),
                    load: args.load,
                };
                let result = spawn::run(&exe, &job, args.timeout);
                match &result {
                    Ok(s) if mode.load_producers().is_some() => eprintln!(
                        "{:.3} s  {:.0} k rec/s  shares {:.1}–{:.1} %  longest call {:.2} ms  flush {}  fatal {}",
                        s.wall,
                        s.logged / s.wall / 1e3,
                        s.share_min * 100.0,
                        s.share_max * 100.0,
                        s.max / 1e6,
                        report::flush_ms(s),
                        report::fatal_word(s.fatal)
                    ),
                    Ok(s) if mode.timed() => {
                        eprintln!("{:.3} s  p50 {} ns  p99 {} ns  p99.9 {} ns", s.wall, s.q[0], s.q[2], s.q[3])
                    }
                    Ok(s) => eprintln!(
                        "{:.3} s  {:.0} k rec/s  {:.1} MiB",
                        s.wall,
                        args.records as f64 / s.wall / 1e3,
                        s.rss_kib / 1024.0
                    ),
                    Err(e) => eprintln!("FAILED: {e}"),
                }
                runs.push(result);
            }
        }
    }
    Results { records: args.records, runs: args.runs, period_ns: args.period_ns, load: args.load, table }
}

/// The plot's panel of one latency mode: the median of each percentile.
fn panel(r: &Results, mode: Mode) -> plot::Panel {
    let rows = &r.table.iter().find(|(m, _)| *m == mode).expect("mode measured").1;
    let lines = rows
        .iter()
        .filter_map(|(peer, runs)| {
            let ok: Vec<&Sample> = runs.iter().filter_map(|x| x.as_ref().ok()).collect();
            if ok.is_empty() {
                return None;
            }
            let mut v = [0.0; 6];
            for (i, slot) in v.iter_mut().enumerate() {
                *slot = report::Stat::of(ok.iter().map(|s| s.q[i]).collect()).map_or(0.0, |s| s.median);
            }
            Some((peer.clone(), v))
        })
        .collect();
    let title = match mode {
        Mode::Paced => format!("caller latency, paced (1 call / {} ns)", r.period_ns),
        _ => "caller latency, full speed".to_string(),
    };
    plot::Panel { title, lines }
}

const LOCK: &str = include_str!("../../../Cargo.lock");

/// docs/compare.md.
fn document(args: &Args, command: &str, tables: &str, fails: &str, svg: bool) -> String {
    let mut d = String::new();
    d.push_str("# logjet beside other Rust loggers\n\n");
    d.push_str(
        "Generated by the `logjet-compare` crate (`benches/compare/`); rerun it rather than editing this file:\n\n",
    );
    d.push_str(
        "```text\ncargo run --release -p logjet-compare -- [--records N] [--runs K] [--only a,b] [--modes m,n] \
         [--load-secs S] [--out docs]\n```\n\n",
    );
    d.push_str(&format!("- Date: {} (UTC)\n", report::today()));
    d.push_str(&format!("- Machine: {}\n", report::machine()));
    d.push_str(&format!("- Command: `{command}`\n"));
    d.push_str(&format!("- Versions: logjet (this tree), {}\n\n", report::versions(LOCK, &peers::CRATES)));
    d.push_str("## Method\n\n");
    d.push_str(&format!(
        "- The record: {} (the record index), written as NDJSON to a file in a temporary directory under {}. Each \
         peer uses its asynchronous path with a lossless policy. Every value reaches the logging call at run time, \
         as a service's do: each call's request passes through `std::hint::black_box`, so no value is a constant \
         the compiler could fold into the call site; the message, which names the event, is a literal at each call \
         site, as in a service.\n",
        workload::Request::describe(),
        std::env::temp_dir().display()
    ));
    d.push_str(&format!(
        "- Every run is its own child process (`--child`); the file is verified after each run: exactly N lines, each a \
         JSON object (serde_json) holding the message and a `request_id` (top level or one level down), the ids \
         covering 0..N exactly once. The file is streamed line by line after peak RSS is read.\n\
         - Wall time runs from the first call until the file is complete: flush, shutdown or guard drop included. \
         \"producer s\" is when the last call returned.\n\
         - CPU µs/rec: user + system time of the whole process (getrusage, all threads) over the wall-time window, \
         divided by N. \"vol. ctx sw/rec\": voluntary context switches of the process per record. Peak RSS: VmHWM.\n\
         - \"bg cores\": CPU time that every other process and kernel thread used during the run, in cores \
         (summed from /proc/<pid>/stat, reaped children included): a noise indicator; the kernel's writeback of the \
         file shows up here too. Before each child the parent waits (up to `--quiet-wait` seconds, {}) until the rest \
         of the machine uses less than 0.1 core over 250 ms.\n\
         - Latency: every call timed with two `Instant::now()` reads, the median cost of an empty pair subtracted; \
         HdrHistogram (3 significant digits). Paced: one call per period, spinning until the slot; \"late %\" counts \
         calls that started after their slot (the peer could not keep the pace). The clock reads in steps of about \
         10 ns on this kind of VM (TSC clocksource), so small latencies are quantized to 10 ns.\n\
         - The 2-producer table does not time individual calls: it is throughput only.\n\
         - Under load (table D, `--load-secs` {:.1}): 2 or 4 producer threads call the logger at full speed while \
         another thread flushes {} times; then the child reports, logs a fatal record and ends the process with \
         `std::process::exit`, the load still running (the file is not verified: it ends mid-stream). No call of the \
         peer is waited for without a bound there (see the table's notes).\n\
         - A child still running after `--timeout` ({} s), in any mode, is killed and reported as a \"timeout\" \
         failure.\n",
        args.quiet_wait,
        args.load.as_secs_f64(),
        load::FLUSHES,
        args.timeout.as_secs_f64()
    ));
    d.push_str(&format!(
        "- {} records per run, {} runs; peers interleaved within each run. Cells: median (min–max) over runs. \
         Ratios: per run against `{}` of the same run, then the median.\n\n",
        report::thousands(args.records as f64),
        args.runs,
        peers::BASELINE
    ));
    d.push_str("## Peers\n\n");
    let load = args.modes.iter().any(|m| m.load_producers().is_some());
    for p in &args.only {
        d.push_str(&format!("- `{p}`: {}\n", peers::describe(p)));
        if load {
            d.push_str(&format!("  - Under load: {}\n", peers::under_load(p)));
        }
    }
    if fails.is_empty() {
        d.push_str(
            "\nNo peer was left out: each produced a lossless, verifiable NDJSON file in every run (the under-load \
             runs are not verified).\n\n",
        );
    } else {
        d.push_str("\nSome runs failed (see \"Failed runs\" below); their cells use the remaining runs.\n\n");
    }
    d.push_str("## Results\n\n");
    d.push_str(tables);
    if svg {
        d.push_str(&format!(
            "\n### Latency percentiles\n\n![caller latency percentiles, full speed and paced](compare-latency.svg)\n\n\
             `compare-latency.svg`: x = percentile (p50 … p{}), y = ns on a log scale; median of the runs.\n",
            "99.999"
        ));
    }
    if !fails.is_empty() {
        d.push_str("\n## Failed runs\n\n");
        d.push_str(fails);
    }
    d
}
