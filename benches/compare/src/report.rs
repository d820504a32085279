//! Markdown tables and the machine description.

use std::fmt::Write as _;
use std::time::Duration;

use crate::harness::{Fatal, Mode, Sample};
use crate::load::{patience, FLUSHES};
use crate::peers::BASELINE;

/// The samples of one (mode, peer): one slot per run, `Err` when the child
/// failed (its message).
pub type Runs = Vec<Result<Sample, String>>;

/// All results: per mode, per peer (table order).
pub struct Results {
    pub records: u64,
    pub runs: usize,
    pub period_ns: u64,
    /// How long each under-load run lasted (at least).
    pub load: Duration,
    pub table: Vec<(Mode, Vec<(String, Runs)>)>,
}

impl Results {
    fn runs_of(&self, mode: Mode, peer: &str) -> Option<&Runs> {
        self.table.iter().find(|(m, _)| *m == mode)?.1.iter().find(|(p, _)| p == peer).map(|(_, r)| r)
    }
}

/// median (min–max) of some values.
#[derive(Clone, Copy)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    pub fn of(mut v: Vec<f64>) -> Option<Stat> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(Stat { median: v[v.len() / 2], min: v[0], max: v[v.len() - 1] })
    }
}

/// `1234567.8` → `1,234,568`.
pub fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x.round());
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

fn num(x: f64, digits: Option<usize>) -> String {
    match digits {
        None => thousands(x),
        Some(d) => format!("{x:.d$}"),
    }
}

/// `median (min–max)`, or `–`.
fn cell(s: Option<Stat>, digits: Option<usize>) -> String {
    match s {
        None => "–".into(),
        Some(s) => format!("{} ({}–{})", num(s.median, digits), num(s.min, digits), num(s.max, digits)),
    }
}

fn median_cell(s: Option<Stat>, digits: usize) -> String {
    s.map_or("–".into(), |s| format!("{:.*}", digits, s.median))
}

fn oks(runs: &Runs) -> Vec<&Sample> {
    runs.iter().filter_map(|r| r.as_ref().ok()).collect()
}

fn stat(runs: &Runs, f: impl Fn(&Sample) -> f64) -> Option<Stat> {
    Stat::of(oks(runs).into_iter().map(f).collect())
}

/// Per-run ratio `f(peer) / f(baseline)` over the runs where both succeeded.
fn ratio(runs: &Runs, base: Option<&Runs>, f: impl Fn(&Sample) -> f64) -> Option<Stat> {
    let base = base?;
    let v = runs
        .iter()
        .zip(base.iter())
        .filter_map(|(a, b)| match (a, b) {
            (Ok(a), Ok(b)) if f(b) > 0.0 => Some(f(a) / f(b)),
            _ => None,
        })
        .collect();
    Stat::of(v)
}

/// `ok` (`ok_word`) when every run succeeded, else how many failed.
fn verdict(runs: &Runs, ok_word: &str) -> String {
    let failed = runs.iter().filter(|r| r.is_err()).count();
    if failed == 0 {
        ok_word.into()
    } else {
        format!("FAIL {failed}/{}", runs.len())
    }
}

/// What the verification checked of `peer`'s file.
fn verified(peer: &str) -> &'static str {
    if peer == "baseline-const" {
        "ok (count)"
    } else {
        "ok"
    }
}

/// All tables, with headings.
pub fn tables(r: &Results) -> String {
    let mut s = format!(
        "{} records per run; cells: median (min–max) of {} runs; ratios per run against {}, then the median.\n",
        thousands(r.records as f64),
        r.runs,
        BASELINE
    );
    let order = [Mode::Tput1, Mode::Full, Mode::Paced, Mode::Tput2];
    for mode in order {
        if r.table.iter().any(|(m, _)| *m == mode) {
            s.push_str(&format!("\n### {}\n\n{}", heading(mode, r), table(mode, r)));
        }
    }
    if r.table.iter().any(|(m, _)| m.load_producers().is_some()) {
        s.push_str(&format!("\n### {}\n\n{}", load_heading(r), load_table(r)));
    }
    s
}

/// The heading of a mode's table.
fn heading(mode: Mode, r: &Results) -> String {
    match mode {
        Mode::Tput1 => "A. Throughput, 1 producer (first call → file complete), CPU and peak RSS".into(),
        Mode::Tput2 => {
            format!("C. Throughput, 2 producer threads × {} records each", thousands((r.records / 2) as f64))
        }
        Mode::Full => "B1. Caller latency per log call, full speed, 1 producer (ns, timer overhead subtracted)".into(),
        Mode::Paced => format!(
            "B2. Caller latency per log call, paced (1 call every {} ns), 1 producer (ns, timer overhead subtracted)",
            r.period_ns
        ),
        // One table for all load modes.
        Mode::Load2 | Mode::Load4 => load_heading(r),
    }
}

/// The table of one mode.
fn table(mode: Mode, r: &Results) -> String {
    let n = r.records as f64;
    let base = r.runs_of(mode, BASELINE);
    let mut t = String::new();
    let rows = &r.table.iter().find(|(m, _)| *m == mode).expect("mode measured").1;
    if mode.timed() {
        let late = if mode == Mode::Paced { " late % |" } else { "" };
        let late_rule = if mode == Mode::Paced { "---|" } else { "" };
        let _ = writeln!(
            t,
            "| peer | p50 | p90 | p99 | p99.9 | p99.99 | max | p50 ÷ base | p99 ÷ base | wall s | bg cores |{late} verify |"
        );
        let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|---|---|{late_rule}---|");
        for (peer, runs) in rows {
            let q = |i: usize| cell(stat(runs, |s| s.q[i]), None);
            let late = if mode == Mode::Paced {
                format!(" {} |", median_cell(stat(runs, |s| s.late / n * 100.0), 1))
            } else {
                String::new()
            };
            let _ = writeln!(
                t,
                "| {peer} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |{late} {} |",
                q(0),
                q(1),
                q(2),
                q(3),
                q(4),
                cell(stat(runs, |s| s.max), None),
                median_cell(ratio(runs, base, |s| s.q[0]), 2),
                median_cell(ratio(runs, base, |s| s.q[2]), 2),
                cell(stat(runs, |s| s.wall), Some(3)),
                median_cell(stat(runs, |s| s.bg_cores), 2),
                verdict(runs, verified(peer)),
            );
        }
    } else {
        let _ = writeln!(
            t,
            "| peer | wall s | k rec/s | MB/s | B/rec | wall ÷ baseline | producer s | CPU µs/rec | CPU ÷ baseline | vol. ctx sw/rec | peak RSS MiB | bg cores | verify |"
        );
        let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (peer, runs) in rows {
            let _ = writeln!(
                t,
                "| {peer} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(stat(runs, |s| s.wall), Some(3)),
                cell(stat(runs, |s| n / s.wall / 1e3), None),
                cell(stat(runs, |s| s.bytes / s.wall / 1e6), Some(1)),
                median_cell(stat(runs, |s| s.bytes / n), 1),
                cell(ratio(runs, base, |s| s.wall), Some(2)),
                cell(stat(runs, |s| s.producer), Some(3)),
                cell(stat(runs, |s| s.cpu / n * 1e6), Some(2)),
                median_cell(ratio(runs, base, |s| s.cpu), 2),
                median_cell(stat(runs, |s| s.nvcsw / n), 3),
                cell(stat(runs, |s| s.rss_kib / 1024.0), Some(1)),
                median_cell(stat(runs, |s| s.bg_cores), 2),
                verdict(runs, verified(peer)),
            );
        }
    }
    t
}

/// The heading of the under-load table.
fn load_heading(r: &Results) -> String {
    let producers: Vec<String> =
        r.table.iter().filter_map(|(m, _)| m.load_producers()).map(|p| p.to_string()).collect();
    format!(
        "D. Under load: {} producer threads at full speed for {:.1} s, flushes meanwhile, then a fatal record and exit",
        producers.join(" and "),
        r.load.as_secs_f64()
    )
}

/// The longest flush of one sample: ms (`≥` when it had not returned), or
/// `n/a`.
pub fn flush_ms(s: &Sample) -> String {
    if s.flush.is_nan() {
        "n/a".into()
    } else {
        format!("{}{:.1} ms", if s.flush_open > 0.0 { "≥ " } else { "" }, s.flush / 1e6)
    }
}

/// The flush column: ms, `≥` when a flush had not returned at the report,
/// `n/a` when the peer has no flush that waits.
fn flush_cell(runs: &Runs) -> String {
    let ok = oks(runs);
    let flushes: Vec<f64> = ok.iter().map(|s| s.flush).filter(|f| !f.is_nan()).collect();
    if flushes.is_empty() && !ok.is_empty() {
        return "n/a".into();
    }
    let open = if ok.iter().any(|s| s.flush_open > 0.0) { "≥ " } else { "" };
    format!("{open}{}", cell(Stat::of(flushes.iter().map(|f| f / 1e6).collect()), Some(1)))
}

/// The fatal record's fate in one word.
pub fn fatal_word(f: Fatal) -> &'static str {
    match f {
        Fatal::NotSent => "n/a",
        Fatal::Sent => "no",
        Fatal::Arrived => "yes",
        Fatal::Hung => "hung",
    }
}

/// The fatal column: the word when every run agrees, else each word with
/// its count of runs.
fn fatal_cell(runs: &Runs) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for word in oks(runs).into_iter().map(|s| fatal_word(s.fatal)) {
        match counts.iter_mut().find(|(w, _)| *w == word) {
            Some((_, n)) => *n += 1,
            None => counts.push((word, 1)),
        }
    }
    match counts.as_slice() {
        [] => "–".into(),
        [(word, _)] => word.to_string(),
        _ => counts.iter().map(|(w, n)| format!("{w} ×{n}")).collect::<Vec<_>>().join(", "),
    }
}

/// The under-load table: one row per peer and number of producers, after a
/// sentence on each column.
fn load_table(r: &Results) -> String {
    let spacing = r.load / (FLUSHES + 1);
    let mut t = format!(
        "Each peer as configured above (lossless, blocking when full). Each child logs for the given time, waits \
         up to {patience:.1} s more for a flush still running, reports, then logs its fatal record and ends itself \
         with `std::process::exit`, the load still running. What flush and fatal are for each peer: see \"Under \
         load\" in the peer list.\n\n\
         - **k rec/s**: calls that returned, all producers together, per second from the start to the report.\n\
         - **min share %** / **max share %**: the records of the producer with the fewest / the most, as a share of \
         all (a fair logger gives each 1/N; near 0: a starved producer). **max ÷ min**: their ratio (∞: a producer \
         got no record through).\n\
         - **longest call ms**: the longest single log call over all producers, wall clock around each call \
         (preemption on a busy machine included; a call still blocked at the report counts with its time so far).\n\
         - **worst flush ms**: the longest of {FLUSHES} flushes a separate thread makes, one every {spacing} ms, \
         while the producers go on (≥: a flush still running at the report, with its time so far; n/a: the peer has \
         no flush that waits).\n\
         - **fatal arrived**: one record at the peer's highest level with a unique marker, then the peer's flush (or \
         guard drop, or shutdown), then `std::process::exit`; the parent looks for the marker in the file: yes / no \
         (n/a: the peer has no such record; hung: the call had not returned after {patience:.1} s, or the child was \
         killed after `--timeout`).\n\
         - **bg cores**: as in the other tables; **runs**: ok, or how many runs failed.\n\n",
        patience = patience(r.load).as_secs_f64(),
        spacing = spacing.as_millis()
    );
    let _ = writeln!(
        t,
        "| peer | producers | k rec/s | min share % | max share % | max ÷ min | longest call ms | worst flush ms | fatal arrived | bg cores | runs |"
    );
    let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|---|---|");
    let modes: Vec<(usize, &Vec<(String, Runs)>)> =
        r.table.iter().filter_map(|(m, rows)| Some((m.load_producers()?, rows))).collect();
    let peers = modes.first().map_or(&[][..], |(_, rows)| rows.as_slice());
    for (peer, _) in peers {
        for (producers, rows) in &modes {
            let Some((_, runs)) = rows.iter().find(|(p, _)| p == peer) else { continue };
            let flush = flush_cell(runs);
            let spread = stat(runs, |s| s.share_max / s.share_min).map_or("–".into(), |s| {
                if s.median.is_finite() {
                    format!("{:.2}", s.median)
                } else {
                    "∞".into()
                }
            });
            let _ = writeln!(
                t,
                "| {peer} | {producers} | {} | {} | {} | {spread} | {} | {flush} | {} | {} | {} |",
                cell(stat(runs, |s| s.logged / s.wall / 1e3), None),
                median_cell(stat(runs, |s| s.share_min * 100.0), 1),
                median_cell(stat(runs, |s| s.share_max * 100.0), 1),
                cell(stat(runs, |s| s.max / 1e6), Some(2)),
                fatal_cell(runs),
                median_cell(stat(runs, |s| s.bg_cores), 2),
                verdict(runs, "ok"),
            );
        }
    }
    t
}

/// The failures, one line each.
pub fn failures(r: &Results) -> String {
    let mut t = String::new();
    for (mode, rows) in &r.table {
        for (peer, runs) in rows {
            for (i, run) in runs.iter().enumerate() {
                if let Err(e) = run {
                    let _ = writeln!(t, "- {peer}, {}, run {}: {e}", mode.name(), i + 1);
                }
            }
        }
    }
    t
}

/// CPU model and count, kernel, rustc.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_string(), |(_, m)| m.trim().to_string());
    let cores = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let rustc = std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "rustc (unknown)".into());
    format!("{model}, {cores} logical cores; Linux {}; {rustc}", kernel.trim())
}

/// Versions of `names` in the workspace's Cargo.lock.
pub fn versions(lock: &str, names: &[&str]) -> String {
    let mut out = Vec::new();
    for name in names {
        let needle = format!("name = \"{name}\"\nversion = \"");
        if let Some(i) = lock.find(&needle) {
            let rest = &lock[i + needle.len()..];
            if let Some(end) = rest.find('"') {
                out.push(format!("{name} {}", &rest[..end]));
            }
        }
    }
    out.join(", ")
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    let days =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() / 86_400).unwrap_or(0)
            as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
