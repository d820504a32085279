//! The child side: one peer, one mode, one process. Times the calls,
//! measures CPU, context switches, peak RSS and the machine's background
//! load, then verifies the file and prints one `RESULT` line. (The load
//! modes are in `load.rs`.)

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::peers::{self, Peer, Runner};
use crate::workload::{Request, MSG};

/// What a child measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Throughput, one producer thread.
    Tput1,
    /// Throughput, two producer threads × N/2.
    Tput2,
    /// Caller latency at full speed, one producer.
    Full,
    /// Caller latency, one call per period, one producer.
    Paced,
    /// Under load: two producer threads at full speed for a fixed time.
    Load2,
    /// Under load: four producer threads at full speed for a fixed time.
    Load4,
}

impl Mode {
    /// All modes, in report order.
    pub const ALL: [Mode; 6] = [Mode::Tput1, Mode::Tput2, Mode::Full, Mode::Paced, Mode::Load2, Mode::Load4];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Tput1 => "tput1",
            Mode::Tput2 => "tput2",
            Mode::Full => "full",
            Mode::Paced => "paced",
            Mode::Load2 => "load2",
            Mode::Load4 => "load4",
        }
    }

    /// Parses [`Mode::name`].
    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Whether each call is timed into a histogram (the latency modes).
    pub fn timed(self) -> bool {
        matches!(self, Mode::Full | Mode::Paced)
    }

    /// The number of producer threads of an under-load mode.
    pub fn load_producers(self) -> Option<usize> {
        match self {
            Mode::Load2 => Some(2),
            Mode::Load4 => Some(4),
            _ => None,
        }
    }
}

/// What became of the fatal record of a load mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fatal {
    /// Not a load mode, or the peer has no such record (n/a).
    #[default]
    NotSent,
    /// Logged and its flush returned; its marker is not in the file (yet:
    /// the parent looks).
    Sent,
    /// The parent found its marker in the file.
    Arrived,
    /// Logged, but the call did not return in time (the child gave up, or
    /// the parent killed it after `--timeout`).
    Hung,
}

impl Fatal {
    const ALL: [Fatal; 4] = [Fatal::NotSent, Fatal::Sent, Fatal::Arrived, Fatal::Hung];

    /// Parses [`Fatal::name`].
    fn parse(word: &str) -> Option<Fatal> {
        Fatal::ALL.into_iter().find(|f| f.name() == word)
    }

    /// The word in the `RESULT` and `FATAL` lines.
    fn name(self) -> &'static str {
        match self {
            Fatal::NotSent => "none",
            Fatal::Sent => "sent",
            Fatal::Arrived => "arrived",
            Fatal::Hung => "hung",
        }
    }
}

/// The percentiles reported (and plotted), as quantiles.
pub const QUANTILES: [f64; 6] = [0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999];

/// One child's measurements.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// First call until the file is complete, s.
    pub wall: f64,
    /// First call until the last call returned (all producers), s.
    pub producer: f64,
    /// User + system CPU of the whole process over `wall`, s.
    pub cpu: f64,
    /// Voluntary context switches of the whole process over `wall`.
    pub nvcsw: f64,
    /// VmHWM, KiB, read before verification.
    pub rss_kib: f64,
    /// File size, bytes.
    pub bytes: f64,
    /// CPU cores used by other processes during `wall` (machine noise).
    pub bg_cores: f64,
    /// Paced mode: calls that started after their slot.
    pub late: f64,
    /// Timer overhead subtracted from each timed call, ns.
    pub overhead: f64,
    /// The latency at each of [`QUANTILES`], ns (timed modes).
    pub q: [f64; 6],
    /// The largest latency, ns (timed and load modes; under load, a call
    /// still running at the end counts with its time so far).
    pub max: f64,
    /// Load modes: calls that returned, all producers.
    pub logged: f64,
    /// Load modes: the calls of the producer with the fewest, as a share of
    /// `logged`.
    pub share_min: f64,
    /// Load modes: the calls of the producer with the most, as a share of
    /// `logged`.
    pub share_max: f64,
    /// Load modes: the longest flush, ns; NaN when the peer has no flush
    /// that waits (n/a).
    pub flush: f64,
    /// Load modes: 1 when that flush had not returned at the report (its
    /// time so far), else 0.
    pub flush_open: f64,
    /// Load modes: the fatal record.
    pub fatal: Fatal,
}

impl Sample {
    /// `key=value` pairs on one line.
    pub fn encode(&self) -> String {
        let q: Vec<String> = self.q.iter().map(|v| v.to_string()).collect();
        format!(
            "wall={} producer={} cpu={} nvcsw={} rss_kib={} bytes={} bg_cores={} late={} overhead={} q={} max={} \
             logged={} share_min={} share_max={} flush={} flush_open={} fatal={}",
            self.wall,
            self.producer,
            self.cpu,
            self.nvcsw,
            self.rss_kib,
            self.bytes,
            self.bg_cores,
            self.late,
            self.overhead,
            q.join(","),
            self.max,
            self.logged,
            self.share_min,
            self.share_max,
            self.flush,
            self.flush_open,
            self.fatal.name()
        )
    }

    /// Parses [`Sample::encode`].
    pub fn decode(line: &str) -> Option<Sample> {
        let mut s = Sample::default();
        for kv in line.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            if k == "q" {
                for (slot, x) in s.q.iter_mut().zip(v.split(',')) {
                    *slot = x.parse().ok()?;
                }
                continue;
            }
            if k == "fatal" {
                s.fatal = Fatal::parse(v)?;
                continue;
            }
            let x: f64 = v.parse().ok()?;
            match k {
                "wall" => s.wall = x,
                "producer" => s.producer = x,
                "cpu" => s.cpu = x,
                "nvcsw" => s.nvcsw = x,
                "rss_kib" => s.rss_kib = x,
                "bytes" => s.bytes = x,
                "bg_cores" => s.bg_cores = x,
                "late" => s.late = x,
                "overhead" => s.overhead = x,
                "max" => s.max = x,
                "logged" => s.logged = x,
                "share_min" => s.share_min = x,
                "share_max" => s.share_max = x,
                "flush" => s.flush = x,
                "flush_open" => s.flush_open = x,
                _ => {}
            }
        }
        Some(s)
    }
}

/// What the child was asked to do.
pub struct Job {
    pub peer: String,
    pub mode: Mode,
    pub records: u64,
    pub period: Duration,
    /// How long a load mode runs.
    pub load: Duration,
}

impl Job {
    /// The arguments after `--child`; [`Job::parse`] reads them back.
    pub fn to_args(&self) -> Vec<String> {
        vec![
            self.peer.clone(),
            self.mode.name().to_string(),
            self.records.to_string(),
            self.period.as_nanos().to_string(),
            self.load.as_millis().to_string(),
        ]
    }

    /// Parses [`Job::to_args`].
    pub fn parse(args: &[String]) -> Option<Job> {
        let [peer, mode, records, period_ns, load_ms] = args else { return None };
        Some(Job {
            peer: peer.clone(),
            mode: Mode::parse(mode)?,
            records: records.parse().ok()?,
            period: Duration::from_nanos(period_ns.parse().ok()?),
            load: Duration::from_millis(load_ms.parse().ok()?),
        })
    }
}

/// The directory of the child `pid`'s log file.
pub fn log_dir(pid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("logjet-compare-{pid}"))
}

/// The log file of the child `pid` running `peer`.
pub fn log_path(pid: u32, peer: &str) -> PathBuf {
    log_dir(pid).join(format!("{peer}.log"))
}

/// The marker of the fatal record of the child `pid` (load modes).
pub fn fatal_marker(pid: u32) -> String {
    format!("fatal-marker-{pid}")
}

/// Removes the child `pid`'s log directory, unless `LOGJET_COMPARE_KEEP`
/// is set (then says where the file is).
pub fn remove_log_dir(pid: u32) {
    let dir = log_dir(pid);
    if !dir.exists() {
        return;
    }
    if std::env::var_os("LOGJET_COMPARE_KEEP").is_some() {
        eprintln!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Prints `RESULT <sample>`, the line the parent looks for (peers may
/// print to stdout too: tracing-appender does on a failed shutdown).
pub fn print_result(sample: &Sample) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "RESULT {}", sample.encode());
    let _ = out.flush();
}

/// Prints `FATAL <what>`: a load mode's fatal record was logged and its
/// flush returned ([`Fatal::Sent`]), did not return in time
/// ([`Fatal::Hung`]), or the peer has none ([`Fatal::NotSent`]).
pub fn print_fatal(fatal: Fatal) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "FATAL {}", fatal.name());
    let _ = out.flush();
}

/// Reads the `FATAL` line of a child's output.
pub fn parse_fatal(stdout: &str) -> Option<Fatal> {
    let word = stdout.lines().find_map(|l| l.strip_prefix("FATAL "))?;
    Fatal::parse(word.trim())
}

/// Reads the `RESULT` line of a child's output.
pub fn parse_result(stdout: &str) -> Option<Sample> {
    stdout.lines().find_map(|l| l.strip_prefix("RESULT ")).and_then(Sample::decode)
}

/// Runs the job in this process and prints `RESULT <sample>`; a failed
/// verification panics (non-zero exit, message on stderr). A load mode
/// ends the process itself (see `load.rs`).
pub fn child(job: &Job) {
    let pid = std::process::id();
    let path = log_path(pid, &job.peer);
    std::fs::create_dir_all(log_dir(pid)).expect("create the temp dir");
    let _ = std::fs::remove_file(&path);
    let overhead = if job.mode.timed() { timer_overhead() } else { 0 };
    let run = Drive { job, overhead, path: path.clone() };
    let sample = peers::with_peer(&job.peer, &path, run);
    remove_log_dir(pid);
    print_result(&sample);
}

struct Drive<'a> {
    job: &'a Job,
    overhead: u64,
    path: PathBuf,
}

impl Runner<Sample> for Drive<'_> {
    fn run<P: Peer>(self, peer: P) -> Sample {
        let Job { mode, records, period, load, .. } = *self.job;
        // Fixed bounds: `Histogram::new` starts at a 2,048 ns ceiling and
        // `saturating_record` clamps to it instead of resizing.
        let mut hist = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).expect("histogram");
        let mut late = 0u64;
        let meter = Meter::start();
        let start = meter.start;
        match mode {
            Mode::Tput1 => {
                for n in 0..records {
                    peer.log(&Request::arrive(n));
                }
                peer.thread_done();
            }
            Mode::Tput2 => {
                let half = records / 2;
                std::thread::scope(|s| {
                    let peer = &peer;
                    s.spawn(move || {
                        for n in 0..half {
                            peer.log(&Request::arrive(n));
                        }
                        peer.thread_done();
                    });
                    s.spawn(move || {
                        for n in half..records {
                            peer.log(&Request::arrive(n));
                        }
                        peer.thread_done();
                    });
                });
            }
            Mode::Full => {
                for n in 0..records {
                    let r = Request::arrive(n);
                    let t = Instant::now();
                    peer.log(&r);
                    hist.saturating_record((t.elapsed().as_nanos() as u64).saturating_sub(self.overhead));
                }
                peer.thread_done();
            }
            Mode::Paced => {
                let step = period.as_nanos() as u64;
                for n in 0..records {
                    let slot = start + Duration::from_nanos(step * n);
                    if Instant::now() > slot {
                        late += 1;
                    } else {
                        spin_until(slot);
                    }
                    let r = Request::arrive(n);
                    let t = Instant::now();
                    peer.log(&r);
                    hist.saturating_record((t.elapsed().as_nanos() as u64).saturating_sub(self.overhead));
                }
                peer.thread_done();
            }
            Mode::Load2 | Mode::Load4 => {
                crate::load::run(&peer, mode.load_producers().expect("a load mode"), load, meter)
            }
        }
        let producer = start.elapsed().as_secs_f64();
        peer.finish();
        let mut sample = meter.sample();
        sample.producer = producer;
        let files = log_files(&self.path);
        sample.bytes = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len() as f64).sum();
        verify(&files, records, self.job.peer == "baseline-const")
            .unwrap_or_else(|e| panic!("{} {}: verification failed: {e}", self.job.peer, mode.name()));
        if mode.timed() {
            for (slot, &p) in sample.q.iter_mut().zip(QUANTILES.iter()) {
                *slot = hist.value_at_quantile(p) as f64;
            }
            sample.max = hist.max() as f64;
        }
        sample.late = late as f64;
        sample.overhead = self.overhead as f64;
        sample
    }
}

/// The whole process's CPU and voluntary context switches, and the rest of
/// the machine's CPU, from [`Meter::start`].
pub struct Meter {
    /// When the measurement began.
    pub start: Instant,
    usage: Usage,
    others: u64,
}

impl Meter {
    /// Begins the measurement.
    pub fn start() -> Meter {
        Meter { usage: Usage::now(), others: others_busy_ticks(), start: Instant::now() }
    }

    /// A sample with `wall` (from the start until now), `cpu`, `nvcsw`,
    /// `bg_cores` and `rss_kib` filled in.
    pub fn sample(&self) -> Sample {
        let wall = self.start.elapsed().as_secs_f64();
        let usage = Usage::now().since(&self.usage);
        let others = others_busy_ticks().saturating_sub(self.others) as f64 / USER_HZ;
        Sample {
            wall,
            producer: wall,
            cpu: usage.cpu,
            nvcsw: usage.nvcsw,
            bg_cores: others / wall,
            rss_kib: peak_rss_kib(),
            ..Sample::default()
        }
    }
}

/// Waits until the rest of the machine uses less than `max_cores` over a
/// 250 ms window, for at most `limit`; returns the seconds waited.
pub fn wait_for_quiet(max_cores: f64, limit: Duration) -> f64 {
    let start = Instant::now();
    loop {
        let t0 = Instant::now();
        let before = others_busy_ticks();
        std::thread::sleep(Duration::from_millis(250));
        let used = others_busy_ticks().saturating_sub(before) as f64 / USER_HZ;
        if used / t0.elapsed().as_secs_f64() < max_cores || start.elapsed() >= limit {
            return start.elapsed().as_secs_f64();
        }
    }
}

/// The median cost of an empty pair of `Instant::now()` reads, ns.
fn timer_overhead() -> u64 {
    let mut h = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).expect("histogram");
    for _ in 0..200_000 {
        let t = Instant::now();
        h.saturating_record(t.elapsed().as_nanos() as u64);
    }
    h.value_at_quantile(0.5)
}

/// Spins until `at` (sleeping would add the scheduler's wake-up to the pace).
fn spin_until(at: Instant) {
    while Instant::now() < at {
        std::hint::spin_loop();
    }
}

/// CPU time and voluntary context switches of the whole process.
struct Usage {
    cpu: f64,
    nvcsw: f64,
}

impl Usage {
    fn now() -> Usage {
        // SAFETY: `getrusage` only writes the `rusage` we pass, which is a
        // plain C struct for which all-zero bytes are a valid value.
        let ru = unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut ru);
            ru
        };
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        Usage { cpu: tv(ru.ru_utime) + tv(ru.ru_stime), nvcsw: ru.ru_nvcsw as f64 }
    }

    fn since(&self, earlier: &Usage) -> Usage {
        Usage { cpu: self.cpu - earlier.cpu, nvcsw: self.nvcsw - earlier.nvcsw }
    }
}

/// /proc counts in USER_HZ, which Linux fixes at 100 for user space.
const USER_HZ: f64 = 100.0;

/// CPU time of every other process and kernel thread (utime + stime, plus
/// the reaped children's cutime + cstime), in USER_HZ ticks.
fn others_busy_ticks() -> u64 {
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    let mut sum = 0;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == me || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // Fields after the command (which may contain spaces): state is
        // field 3; utime, stime, cutime, cstime are fields 14 to 17.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
        sum += rest.split_whitespace().skip(11).take(4).filter_map(|x| x.parse::<u64>().ok()).sum::<u64>();
    }
    sum
}

/// VmHWM of this process, KiB.
fn peak_rss_kib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The log file and the files a rotating peer rotated it into
/// (`<stem>.<stamp>.log` beside it).
fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    let (Some(dir), Some(stem)) = (path.parent(), path.file_stem().and_then(|s| s.to_str())) else { return files };
    let prefix = format!("{stem}.");
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) && name.ends_with(".log") && e.path() != path {
                files.push(e.path());
            }
        }
    }
    files
}

/// Every line one JSON object carrying the message and a `request_id`
/// (top level or one level down, e.g. tracing's `fields`, spdlog's `kv`),
/// exactly `records` lines, and the ids cover `0..records` exactly once
/// (for the constant line only the count, the JSON and the message).
/// Streams the files line by line.
fn verify(files: &[PathBuf], records: u64, constant: bool) -> Result<(), String> {
    let mut seen = vec![0u64; (records as usize).div_ceil(64)];
    let mut lines = 0u64;
    let mut all = Vec::new();
    for path in files {
        let file = std::fs::File::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
        all.push(std::io::BufReader::with_capacity(1 << 16, file).lines());
    }
    for line in all.into_iter().flatten() {
        let line = line.map_err(|e| format!("read: {e}"))?;
        lines += 1;
        if lines > records {
            return Err(format!("more than {records} lines"));
        }
        let v: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("line {lines} is not JSON ({e}): {line}"))?;
        let obj = v.as_object().ok_or_else(|| format!("line {lines} is not an object: {line}"))?;
        let nested = || obj.values().filter_map(|x| x.as_object());
        let has_msg = |o: &serde_json::Map<String, serde_json::Value>| o.values().any(|x| x.as_str() == Some(MSG));
        if !has_msg(obj) && !nested().any(has_msg) {
            return Err(format!("line {lines} lacks the message: {line}"));
        }
        if constant {
            continue;
        }
        let id = obj
            .get("request_id")
            .or_else(|| nested().find_map(|o| o.get("request_id")))
            .and_then(|x| x.as_u64())
            .ok_or_else(|| format!("line {lines} lacks request_id: {line}"))?;
        if id >= records {
            return Err(format!("request_id {id} out of range"));
        }
        let (w, bit) = ((id / 64) as usize, 1u64 << (id % 64));
        if seen[w] & bit != 0 {
            return Err(format!("request_id {id} twice"));
        }
        seen[w] |= bit;
    }
    if lines != records {
        return Err(format!("{lines} lines, expected {records}"));
    }
    // Each of `records` distinct ids in 0..records: all covered.
    Ok(())
}
