//! File sinks in production: rotation by size and by time (a test clock),
//! retention, compression, reopen ordering, SIGHUP, and a file or directory
//! that disappears. Every test reads the files back and counts every
//! record: each exactly once, in order, in whole lines.
//!
//! Tests that need a signal or the process's stderr run in a child process:
//! the test binary re-executes itself with [`CHILD_ENV`] naming the test,
//! and the same test function plays the child's part.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::TempDir;
use logjet::sink::{self, Naming, Period};
use logjet::{Guard, Logger};

/// Set in a child process to the name of the test whose child part it runs.
const CHILD_ENV: &str = "LOGJET_FILES_CHILD";
/// The directory the child writes in.
const DIR_ENV: &str = "LOGJET_FILES_DIR";
/// The longest the background thread may take to compress and prune.
const HOUSEKEEPING_BOUND: Duration = Duration::from_secs(30);

/// A clock the test moves by hand (seconds since the epoch).
#[derive(Clone)]
struct TestClock(Arc<AtomicU64>);

impl TestClock {
    fn at(rfc3339: &str) -> TestClock {
        let t = chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp() as u64;
        TestClock(Arc::new(AtomicU64::new(t)))
    }
    fn set(&self, rfc3339: &str) {
        let t = chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp() as u64;
        self.0.store(t, Ordering::SeqCst);
    }
    fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
    fn fun(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let c = self.clone();
        move || c.now()
    }
}

fn build(file: sink::File) -> (Logger, Guard) {
    Logger::builder().pid(false).hostname(false).sink(file).build().unwrap()
}

/// The `seq` of every record in `text`; every line must be whole JSON.
fn seqs_of(text: &str, what: &Path) -> Vec<u64> {
    assert!(text.is_empty() || text.ends_with('\n'), "{} ends inside a record", what.display());
    text.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("torn line in {}: {l:?}: {e}", what.display()));
            v["seq"].as_u64().expect("a seq field")
        })
        .collect()
}

fn seqs(path: &Path) -> Vec<u64> {
    seqs_of(&fs::read_to_string(path).unwrap(), path)
}

/// File names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// The rotated files of `app.log` with time-stamp names, oldest first:
/// ordered by stamp, then counter.
fn rotated_by_stamp(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<(String, u64, PathBuf)> = names(dir)
        .into_iter()
        .filter(|n| n != "app.log" && n.starts_with("app."))
        .map(|n| {
            let mid = n.trim_start_matches("app.").trim_end_matches(".gz").trim_end_matches(".log").to_string();
            let (stamp, k) = match mid.split_once('.') {
                Some((s, k)) => (s.to_string(), k.parse().unwrap()),
                None => (mid, 0),
            };
            (stamp, k, dir.join(n))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, _, p)| p).collect()
}

/// Waits (polling, bounded) until `done` holds for the directory's names:
/// the housekeeping thread works in the background.
fn wait_for(dir: &Path, what: &str, done: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + HOUSEKEEPING_BOUND;
    loop {
        let n = names(dir);
        if done(&n) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still {n:?} after {HOUSEKEEPING_BOUND:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn log_seq(log: &Logger, range: std::ops::Range<u64>) {
    for i in range {
        logjet::info!(log, "a record of some length, to fill files quickly", seq = i, pad = "xxxxxxxxxxxxxxxx");
    }
}

#[test]
fn size_rotation_keeps_whole_records_under_the_limit_each_once_in_order() {
    let dir = TempDir::new("files-size");
    const LIMIT: u64 = 64 * 1024;
    const N: u64 = 50_000;
    let clock = TestClock::at("2026-11-27T10:00:00Z");
    let file = sink::File::options().rotate_size(LIMIT).utc(true).__clock(clock.fun()).append(dir.join("app.log"));
    let (log, guard) = build(file.unwrap());
    // Two producers would interleave; one keeps a single order to check.
    log_seq(&log, 0..N / 2);
    guard.flush().unwrap();
    clock.advance(1); // a second stamp: names sort by stamp, then counter
    log_seq(&log, N / 2..N);
    guard.shutdown().unwrap();

    let rotated = rotated_by_stamp(&dir.0);
    assert!(rotated.len() >= 50, "a 100-byte record, 5 MB in 64 KiB files: {} files", rotated.len());
    let mut all = Vec::new();
    for p in rotated.iter().chain([&dir.join("app.log")]) {
        let len = fs::metadata(p).unwrap().len();
        assert!(len <= LIMIT, "{} is {len} bytes, over the limit", p.display());
        all.extend(seqs(p));
    }
    assert_eq!(all, (0..N).collect::<Vec<_>>(), "every record exactly once, in order");
    // Filled up to the last whole record: no file is cut far below the limit.
    let first = fs::metadata(&rotated[0]).unwrap().len();
    assert!(first > LIMIT - 400, "the first file holds {first} bytes");
}

#[test]
fn a_record_longer_than_the_limit_goes_alone_into_its_own_file() {
    let dir = TempDir::new("files-huge");
    let clock = TestClock::at("2026-11-27T10:00:00Z");
    let file = sink::File::options().rotate_size(300).utc(true).__clock(clock.fun()).append(dir.join("app.log"));
    let (log, guard) = build(file.unwrap());
    log_seq(&log, 0..2);
    logjet::info!(log, "huge", seq = 2u64, big = "y".repeat(1000).as_str());
    log_seq(&log, 3..5);
    guard.shutdown().unwrap();
    let files: Vec<PathBuf> = rotated_by_stamp(&dir.0).into_iter().chain([dir.join("app.log")]).collect();
    let per_file: Vec<Vec<u64>> = files.iter().map(|p| seqs(p)).collect();
    assert!(per_file.contains(&vec![2]), "the huge record alone: {per_file:?}");
    assert_eq!(per_file.concat(), (0..5).collect::<Vec<_>>());
    for p in &files {
        let len = fs::metadata(p).unwrap().len();
        assert!(len <= 300 || seqs(p) == vec![2], "{} is {len} bytes", p.display());
    }
}

#[test]
fn time_rotation_follows_the_test_clock_in_utc() {
    let dir = TempDir::new("files-time");
    let clock = TestClock::at("2026-11-27T10:15:00Z");
    let file =
        sink::File::options().rotate_every(Period::Hourly).utc(true).__clock(clock.fun()).append(dir.join("app.log"));
    let (log, guard) = build(file.unwrap());
    log_seq(&log, 0..10);
    guard.flush().unwrap();
    clock.set("2026-11-27T10:59:59Z");
    log_seq(&log, 10..20);
    guard.flush().unwrap();
    clock.set("2026-11-27T11:00:00Z");
    log_seq(&log, 20..30);
    guard.flush().unwrap();
    clock.set("2026-11-27T13:30:00Z"); // 12:00 had no records: no file
    log_seq(&log, 30..40);
    guard.shutdown().unwrap();
    assert_eq!(names(&dir.0), ["app.2026-11-27T10.log", "app.2026-11-27T11.log", "app.log"]);
    assert_eq!(seqs(&dir.join("app.2026-11-27T10.log")), (0..20).collect::<Vec<_>>());
    assert_eq!(seqs(&dir.join("app.2026-11-27T11.log")), (20..30).collect::<Vec<_>>());
    assert_eq!(seqs(&dir.join("app.log")), (30..40).collect::<Vec<_>>());
}

#[test]
fn time_and_size_together_and_a_file_left_by_an_earlier_run() {
    let dir = TempDir::new("files-both");
    // An earlier run wrote yesterday.
    fs::write(dir.join("app.log"), "{\"seq\":0}\n").unwrap();
    let yesterday = SystemTime::from(chrono::DateTime::parse_from_rfc3339("2026-11-26T20:00:00Z").unwrap());
    fs::File::options().write(true).open(dir.join("app.log")).unwrap().set_modified(yesterday).unwrap();
    let clock = TestClock::at("2026-11-27T08:00:00Z");
    let file = sink::File::options()
        .rotate_every(Period::Daily)
        .rotate_size(2000)
        .utc(true)
        .__clock(clock.fun())
        .append(dir.join("app.log"));
    let (log, guard) = build(file.unwrap());
    log_seq(&log, 1..40);
    guard.shutdown().unwrap();
    let n = names(&dir.0);
    assert_eq!(n[0], "app.2026-11-26.log", "{n:?}");
    assert_eq!(seqs(&dir.join("app.2026-11-26.log")), [0]);
    assert!(n.contains(&"app.2026-11-27.log".to_string()) && n.contains(&"app.2026-11-27.1.log".to_string()), "{n:?}");
    let all: Vec<u64> = rotated_by_stamp(&dir.0).iter().chain([&dir.join("app.log")]).flat_map(|p| seqs(p)).collect();
    assert_eq!(all, (0..40).collect::<Vec<_>>());
}

/// Local time across daylight saving changes (Europe/Berlin, in a child
/// process with `TZ` set): the repeated hour shares one file, the skipped
/// hour has none, and a day is 23 or 25 hours long.
#[test]
fn local_time_periods_across_dst_changes() {
    if let Some(dir) = child_role("local_time_periods_across_dst_changes") {
        let clock = TestClock::at("2026-10-25T00:30:00Z"); // 02:30 CEST
        let opts = sink::File::options().rotate_every(Period::Hourly).__clock(clock.fun());
        let (log, guard) = build(opts.append(dir.join("app.log")).unwrap());
        log_seq(&log, 0..1);
        guard.flush().unwrap();
        clock.set("2026-10-25T01:30:00Z"); // 02:30 CET: the hour again
        log_seq(&log, 1..2);
        guard.flush().unwrap();
        clock.set("2026-10-25T02:10:00Z"); // 03:10 CET
        log_seq(&log, 2..3);
        guard.flush().unwrap();
        clock.set("2026-10-25T03:05:00Z"); // 04:05 CET
        log_seq(&log, 3..4);
        guard.shutdown().unwrap();
        assert_eq!(names(&dir), ["app.2026-10-25T02.log", "app.2026-10-25T03.log", "app.log"]);
        assert_eq!(seqs(&dir.join("app.2026-10-25T02.log")), [0, 1]);

        // Spring: 02:00 CET becomes 03:00 CEST; the 01 file ends then.
        let spring = dir.join("spring");
        let clock = TestClock::at("2026-03-29T00:30:00Z"); // 01:30 CET
        let opts = sink::File::options().rotate_every(Period::Hourly).__clock(clock.fun());
        let (log, guard) = build(opts.append(spring.join("app.log")).unwrap());
        log_seq(&log, 0..1);
        guard.flush().unwrap();
        clock.set("2026-03-29T00:59:59Z");
        log_seq(&log, 1..2);
        guard.flush().unwrap();
        clock.set("2026-03-29T01:00:00Z"); // 03:00 CEST
        log_seq(&log, 2..3);
        guard.shutdown().unwrap();
        assert_eq!(names(&spring), ["app.2026-03-29T01.log", "app.log"]);

        // Daily: the autumn day has 25 hours; its file ends at local midnight.
        let daily = dir.join("daily");
        let clock = TestClock::at("2026-10-24T22:30:00Z"); // 00:30 CEST on the 25th
        let opts = sink::File::options().rotate_every(Period::Daily).__clock(clock.fun());
        let (log, guard) = build(opts.append(daily.join("app.log")).unwrap());
        log_seq(&log, 0..1);
        guard.flush().unwrap();
        clock.set("2026-10-25T22:59:59Z"); // 23:59:59 CET, 25 hours later
        log_seq(&log, 1..2);
        guard.flush().unwrap();
        clock.set("2026-10-25T23:00:00Z"); // midnight CET
        log_seq(&log, 2..3);
        guard.shutdown().unwrap();
        assert_eq!(names(&daily), ["app.2026-10-25.log", "app.log"]);
        assert_eq!(seqs(&daily.join("app.2026-10-25.log")), [0, 1]);
        return;
    }
    let dir = TempDir::new("files-dst");
    let out = run_child("local_time_periods_across_dst_changes", &dir.0, &[("TZ", "Europe/Berlin")]);
    assert_eq!(out.status.code(), Some(0), "child failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn retention_at_start_up_by_count_age_and_total_size() {
    let dir = TempDir::new("files-retention");
    let clock = TestClock::at("2026-11-27T12:00:00Z");
    // Ten days of old files, 1000 bytes each, the newest last written yesterday.
    let make = |sub: &str| {
        let d = dir.join(sub);
        fs::create_dir_all(&d).unwrap();
        for day in 17..27 {
            let p = d.join(format!("app.2026-11-{day}.log"));
            fs::write(&p, vec![b'\n'; 1000]).unwrap();
            let t = chrono::DateTime::parse_from_rfc3339(&format!("2026-11-{day}T23:59:00Z")).unwrap();
            fs::File::options().write(true).open(&p).unwrap().set_modified(SystemTime::from(t)).unwrap();
        }
        fs::write(d.join("other.log"), "not ours\n").unwrap();
        d
    };
    let kept = |d: &Path| names(d).into_iter().filter(|n| n.starts_with("app.2026")).collect::<Vec<_>>();

    let d = make("count");
    let _s = sink::File::options().keep_files(3).__clock(clock.fun()).append(d.join("app.log")).unwrap();
    assert_eq!(kept(&d), ["app.2026-11-24.log", "app.2026-11-25.log", "app.2026-11-26.log"]);
    assert!(d.join("other.log").exists());

    let d = make("age");
    let _s = sink::File::options()
        .max_age(Duration::from_secs(4 * 24 * 3600))
        .__clock(clock.fun())
        .append(d.join("app.log"))
        .unwrap();
    assert_eq!(kept(&d), ["app.2026-11-23.log", "app.2026-11-24.log", "app.2026-11-25.log", "app.2026-11-26.log"]);

    let d = make("size");
    let _s = sink::File::options().max_total_size(2500).__clock(clock.fun()).append(d.join("app.log")).unwrap();
    assert_eq!(kept(&d), ["app.2026-11-25.log", "app.2026-11-26.log"]);
}

#[test]
fn index_names_shift_and_keep_the_newest_files() {
    let dir = TempDir::new("files-index");
    let file = sink::File::options().rotate_size(4096).naming(Naming::Index).keep_files(3).append(dir.join("app.log"));
    let (log, guard) = build(file.unwrap());
    const N: u64 = 2000; // ~200 KB: about 50 rotations
    log_seq(&log, 0..N);
    guard.shutdown().unwrap();
    wait_for(&dir.0, "shifting and pruning", |n| n == ["app.log", "app.log.1", "app.log.2", "app.log.3"]);
    // Oldest first: .3, .2, .1, the live file; the newest records, contiguous.
    let all: Vec<u64> =
        ["app.log.3", "app.log.2", "app.log.1", "app.log"].iter().flat_map(|n| seqs(&dir.join(n))).collect();
    let first = all[0];
    assert_eq!(all, (first..N).collect::<Vec<_>>());
}

#[cfg(feature = "compression")]
#[test]
fn compressed_rotated_files_hold_every_record_in_whole_lines() {
    use std::io::Read;
    let dir = TempDir::new("files-gz");
    const N: u64 = 40_000;
    let clock = TestClock::at("2026-11-27T10:00:00Z");
    let file = sink::File::options()
        .rotate_size(256 * 1024)
        .compress(true)
        .utc(true)
        .__clock(clock.fun())
        .append(dir.join("app.log"));
    let (log, guard) = build(file.unwrap());
    log_seq(&log, 0..N);
    guard.shutdown().unwrap();
    wait_for(&dir.0, "compression", |n| n.iter().all(|n| n == "app.log" || n.ends_with(".log.gz")));
    let rotated = rotated_by_stamp(&dir.0);
    assert!(rotated.len() >= 10, "{rotated:?}");
    let mut all = Vec::new();
    for p in &rotated {
        let mut text = String::new();
        flate2::read::GzDecoder::new(fs::File::open(p).unwrap()).read_to_string(&mut text).unwrap();
        assert!(text.len() as u64 <= 256 * 1024);
        all.extend(seqs_of(&text, p));
    }
    all.extend(seqs(&dir.join("app.log")));
    assert_eq!(all, (0..N).collect::<Vec<_>>());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&rotated[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !0o640, 0, "the compressed file keeps the log's mode: {mode:o}");
    }
}

#[cfg(feature = "compression")]
#[test]
fn index_names_with_compression() {
    let dir = TempDir::new("files-index-gz");
    let file = sink::File::options()
        .rotate_size(8192)
        .naming(Naming::Index)
        .compress(true)
        .keep_files(4)
        .append(dir.join("app.log"));
    let (log, guard) = build(file.unwrap());
    log_seq(&log, 0..3000);
    guard.shutdown().unwrap();
    wait_for(&dir.0, "compression, shifting and pruning", |n| {
        n == ["app.log", "app.log.1.gz", "app.log.2.gz", "app.log.3.gz", "app.log.4.gz"]
    });
}

/// A reopen is ordered like a flush: what was logged before it (by a
/// thread logging all along) is in the old file, the rest in the new one.
#[test]
fn reopen_is_ordered_after_the_records_logged_before_it() {
    let dir = TempDir::new("files-reopen");
    let (log, guard) = build(sink::File::append(dir.join("app.log")).unwrap());
    let stop = Arc::new(AtomicU64::new(0));
    let logged = Arc::new(AtomicU64::new(0));
    let producer = {
        let (log, stop, logged) = (log.clone(), stop.clone(), logged.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while stop.load(Ordering::SeqCst) == 0 {
                logjet::info!(log, "r", seq = i);
                i += 1;
                logged.store(i, Ordering::SeqCst);
            }
        })
    };
    let mut cuts = Vec::new();
    for round in 1..=5u64 {
        while logged.load(Ordering::SeqCst) < round * 20_000 {
            std::thread::yield_now();
        }
        fs::rename(dir.join("app.log"), dir.join(&format!("app.log.{round}"))).unwrap();
        let before = logged.load(Ordering::SeqCst);
        if round % 2 == 0 {
            guard.reopen().unwrap();
        } else {
            log.reopen().unwrap();
        }
        let after = logged.load(Ordering::SeqCst);
        cuts.push((before, after));
    }
    stop.store(1, Ordering::SeqCst);
    producer.join().unwrap();
    guard.shutdown().unwrap();
    let mut all = Vec::new();
    let mut prev_after = 0;
    for (round, (before, after)) in (1..=5).zip(cuts) {
        let s = seqs(&dir.join(&format!("app.log.{round}")));
        let Some(last) = s.last().map(|l| l + 1) else {
            // Nothing was logged between the previous reopen and this
            // file's rename (the producer waited for room all along).
            assert!(before <= prev_after, "round {round}: the old file is empty, {before} records logged before it");
            prev_after = after;
            continue;
        };
        prev_after = after;
        assert!(
            last >= before && last <= after,
            "round {round}: the old file ends at {last}, not in [{before}, {after}]"
        );
        all.extend(s);
    }
    all.extend(seqs(&dir.join("app.log")));
    assert_eq!(all, (0..all.len() as u64).collect::<Vec<_>>(), "every record once, in order");
}

#[test]
fn a_renamed_file_is_noticed_within_a_watch_interval() {
    let dir = TempDir::new("files-watch");
    let clock = TestClock::at("2026-11-27T10:00:00Z");
    let file = sink::File::options().__clock(clock.fun()).append(dir.join("app.log")).unwrap();
    let (log, guard) = build(file);
    log_seq(&log, 0..10);
    guard.flush().unwrap();
    fs::rename(dir.join("app.log"), dir.join("moved.log")).unwrap();
    log_seq(&log, 10..20); // within the second: still the open file
    guard.flush().unwrap();
    clock.advance(2);
    log_seq(&log, 20..30);
    guard.shutdown().unwrap();
    assert_eq!(seqs(&dir.join("moved.log")), (0..20).collect::<Vec<_>>());
    assert_eq!(seqs(&dir.join("app.log")), (20..30).collect::<Vec<_>>());
}

#[test]
fn without_watch_a_renamed_file_keeps_the_records() {
    let dir = TempDir::new("files-nowatch");
    let clock = TestClock::at("2026-11-27T10:00:00Z");
    let file = sink::File::options().watch(false).__clock(clock.fun()).append(dir.join("app.log")).unwrap();
    let (log, guard) = build(file);
    fs::rename(dir.join("app.log"), dir.join("moved.log")).unwrap();
    clock.advance(5);
    log_seq(&log, 0..10);
    guard.shutdown().unwrap();
    assert_eq!(seqs(&dir.join("moved.log")), (0..10).collect::<Vec<_>>());
    assert!(!dir.join("app.log").exists());
}

/// A deleted log directory is created again, and the operator is told on
/// stderr (a child process, to read its stderr).
#[test]
fn a_deleted_directory_is_created_again_and_reported() {
    if let Some(dir) = child_role("a_deleted_directory_is_created_again_and_reported") {
        let clock = TestClock::at("2026-11-27T10:00:00Z");
        let logs = dir.join("logs");
        let file = sink::File::options().__clock(clock.fun()).append(logs.join("app.log")).unwrap();
        let (log, guard) = build(file);
        log_seq(&log, 0..10);
        guard.flush().unwrap();
        fs::remove_dir_all(&logs).unwrap();
        clock.advance(2);
        log_seq(&log, 10..20);
        guard.shutdown().unwrap();
        assert_eq!(seqs(&logs.join("app.log")), (10..20).collect::<Vec<_>>());
        return;
    }
    let dir = TempDir::new("files-deleted-dir");
    let out = run_child("a_deleted_directory_is_created_again_and_reported", &dir.0, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "child failed:\n{stderr}");
    assert!(stderr.contains("logjet: file ") && stderr.contains("was gone: created it again"), "stderr:\n{stderr}");
}

/// SIGHUP, with the handler installed (in a child process, which sends
/// the signal to itself), reopens the file after the records before it.
#[cfg(unix)]
#[test]
fn sighup_reopens_the_file() {
    if let Some(dir) = child_role("sighup_reopens_the_file") {
        let file = sink::File::options().watch(false).append(dir.join("app.log")).unwrap();
        let (log, guard) =
            Logger::builder().pid(false).hostname(false).sink(file).reopen_on_sighup(true).build().unwrap();
        log_seq(&log, 0..100);
        guard.flush().unwrap();
        fs::rename(dir.join("app.log"), dir.join("app.log.1")).unwrap();
        let kill = Command::new("kill").args(["-HUP", &std::process::id().to_string()]).status().unwrap();
        assert!(kill.success());
        // The reopen creates the path again.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !dir.join("app.log").exists() {
            assert!(Instant::now() < deadline, "no reopen after SIGHUP");
            std::thread::sleep(Duration::from_millis(5));
        }
        log_seq(&log, 100..200);
        guard.shutdown().unwrap();
        assert_eq!(seqs(&dir.join("app.log.1")), (0..100).collect::<Vec<_>>());
        assert_eq!(seqs(&dir.join("app.log")), (100..200).collect::<Vec<_>>());
        return;
    }
    let dir = TempDir::new("files-sighup");
    let out = run_child("sighup_reopens_the_file", &dir.0, &[]);
    assert_eq!(out.status.code(), Some(0), "child failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// A rotation that fails (the directory refuses renames: `chattr +i`) is
/// reported on stderr; writing goes on in the current file, and rotation
/// resumes once the directory allows it again (a child, for its stderr).
#[cfg(target_os = "linux")]
#[test]
fn a_failing_rotation_is_reported_and_writing_goes_on() {
    let chattr = |flag: &str, dir: &Path| Command::new("chattr").arg(flag).arg(dir).status().is_ok_and(|s| s.success());
    if let Some(dir) = child_role("a_failing_rotation_is_reported_and_writing_goes_on") {
        let clock = TestClock::at("2026-11-27T10:00:00Z");
        let file = sink::File::options().rotate_size(1000).utc(true).__clock(clock.fun());
        let (log, guard) = build(file.append(dir.join("app.log")).unwrap());
        assert!(chattr("+i", &dir), "chattr +i failed (it needs root and a file system with attributes)");
        log_seq(&log, 0..50);
        let flushed = guard.flush();
        assert!(chattr("-i", &dir));
        flushed.unwrap();
        assert_eq!(names(&dir), ["app.log"]);
        assert_eq!(seqs(&dir.join("app.log")), (0..50).collect::<Vec<_>>(), "all in the current file");
        clock.advance(2); // past the retry interval
        log_seq(&log, 50..100);
        guard.shutdown().unwrap();
        let files: Vec<PathBuf> = rotated_by_stamp(&dir).into_iter().chain([dir.join("app.log")]).collect();
        assert!(files.len() > 2, "rotation resumed: {files:?}");
        let all: Vec<u64> = files.iter().flat_map(|p| seqs(p)).collect();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        return;
    }
    let dir = TempDir::new("files-rotation-fails");
    let out = run_child("a_failing_rotation_is_reported_and_writing_goes_on", &dir.0, &[]);
    chattr("-i", &dir.0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "child failed:\n{stderr}");
    assert!(stderr.contains("failed") && stderr.contains("writing on in the current file"), "stderr:\n{stderr}");
}

/// The directory this process writes in, if it is the child of `test`.
fn child_role(test: &str) -> Option<PathBuf> {
    if std::env::var(CHILD_ENV).ok()? != test {
        return None;
    }
    Some(PathBuf::from(std::env::var_os(DIR_ENV).expect("the parent names the directory")))
}

fn run_child(test: &str, dir: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"]).env(CHILD_ENV, test).env(DIR_ENV, dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}
