//! A file sink's rotated files: the policy (size, time, both), the names
//! (time stamps or indexes), the periods in local time or UTC, retention
//! (count, age, total size) and the housekeeping thread that compresses and
//! prunes them.
//!
//! Who does what: the output thread decides when to rotate and renames the
//! live file (one `rename(2)`, then it opens the new file); everything else
//! about rotated files (index shifting, gzip, pruning) happens on the sink's
//! housekeeping thread (`logjet-files`), one job after another, so that no
//! two threads ever rename the same rotated file. With index names the
//! output thread renames the live file to a pending name
//! (`app.log.pending-<nanos>`) that only the housekeeping thread turns into
//! `app.log.1`, after shifting the others.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Local, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use crossbeam_channel::{Receiver, Sender};

use crate::report::{panic_message, Reports};

/// How often a [`File`](super::File) sink starts a new file by time
/// ([`FileOptions::rotate_every`](super::FileOptions::rotate_every)).
///
/// Periods follow the calendar of the chosen time zone (local time unless
/// [`FileOptions::utc`](super::FileOptions::utc)): a daily file starts at
/// local midnight, also on the days clocks change (23 or 25 hours then).
/// When clocks go back, the repeated hour's records go into the file of
/// that hour's name (an hourly file then holds two hours; a size rotation
/// in between gives it a `.1` sibling); when they go forward, the skipped
/// hour has no file.
///
/// ```
/// use logjet::sink::{File, Period};
///
/// # let dir = std::env::temp_dir().join(format!("logjet-doc-period-{}", std::process::id()));
/// let sink = File::options().rotate_every(Period::Hourly).append(dir.join("app.log"))?;
/// # drop(sink);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Period {
    /// A new file every minute (`app.2026-11-27T10-07.log`).
    Minutely,
    /// A new file every hour (`app.2026-11-27T10.log`).
    Hourly,
    /// A new file every day (`app.2026-11-27.log`).
    Daily,
}

/// How rotated files are named
/// ([`FileOptions::naming`](super::FileOptions::naming)). For `app.log`:
///
/// | naming | rotated files | compressed |
/// |---|---|---|
/// | `Timestamp` (default) | `app.2026-11-27T10.log` (the period the file covers; `app.2026-11-27T10-07-33.log`, the moment of rotation, when rotating by size only), `app.2026-11-27T10.1.log` for a second file of one period | `app.2026-11-27T10.log.gz` |
/// | `Index` | `app.log.1` (the newest), `app.log.2`, … as logrotate names them | `app.log.1.gz` |
///
/// Time stamps never rename a rotated file again, so tools that follow a
/// file by name (and the compressor) see each name once. Index names shift
/// on every rotation, on the sink's background thread.
///
/// ```
/// use logjet::sink::{File, Naming};
///
/// # let dir = std::env::temp_dir().join(format!("logjet-doc-naming-{}", std::process::id()));
/// let sink = File::options().rotate_size(10 << 20).naming(Naming::Index).keep_files(5).append(dir.join("app.log"))?;
/// # drop(sink);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Naming {
    /// The period (or the rotation's time) in the name, before the extension.
    #[default]
    Timestamp,
    /// `.1` for the newest rotated file, shifting the others up.
    Index,
}

/// The time a file sink reads: the system clock, or a test's.
pub(crate) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// When and how a file sink rotates, and what it keeps.
#[derive(Clone, Debug, Default)]
pub(crate) struct Policy {
    pub(crate) max_size: Option<u64>,
    pub(crate) period: Option<Period>,
    pub(crate) utc: bool,
    pub(crate) naming: Naming,
    pub(crate) keep_files: Option<usize>,
    pub(crate) max_age: Option<Duration>,
    pub(crate) max_total_size: Option<u64>,
    pub(crate) compress: bool,
}

impl Policy {
    pub(crate) fn rotates(&self) -> bool {
        self.max_size.is_some() || self.period.is_some()
    }

    fn prunes(&self) -> bool {
        self.keep_files.is_some() || self.max_age.is_some() || self.max_total_size.is_some()
    }

    /// The stamp format of rotated names.
    fn stamp_format(&self) -> &'static str {
        match self.period {
            Some(Period::Daily) => "%Y-%m-%d",
            Some(Period::Hourly) => "%Y-%m-%dT%H",
            Some(Period::Minutely) => "%Y-%m-%dT%H-%M",
            None => "%Y-%m-%dT%H-%M-%S",
        }
    }

    /// `t` in the policy's time zone, as a calendar date and time.
    fn naive(&self, t: SystemTime) -> NaiveDateTime {
        let utc: DateTime<Utc> = t.into();
        if self.utc {
            utc.naive_utc()
        } else {
            utc.with_timezone(&Local).naive_local()
        }
    }

    /// The name stamp of a rotation by size alone, at `t`.
    pub(crate) fn stamp_at(&self, t: SystemTime) -> String {
        self.naive(t).format(self.stamp_format()).to_string()
    }

    /// The period holding `t`: its stamp and when it ends.
    pub(crate) fn period_of(&self, period: Period, t: SystemTime) -> PeriodState {
        let n = self.naive(t);
        let d = n.date();
        let (start, step) = match period {
            Period::Daily => (d.and_hms_opt(0, 0, 0), TimeDelta::days(1)),
            Period::Hourly => (d.and_hms_opt(n.hour(), 0, 0), TimeDelta::hours(1)),
            Period::Minutely => (d.and_hms_opt(n.hour(), n.minute(), 0), TimeDelta::minutes(1)),
        };
        let start = start.unwrap_or(n);
        let end = start.checked_add_signed(step).unwrap_or(start);
        let mut ends = if self.utc { Utc.from_utc_datetime(&end).into() } else { resolve_local(end) };
        if ends <= t {
            // Only a clock or a zone table gone strange gets here: never
            // rotate on every write.
            ends = t + Duration::from_secs(1);
        }
        PeriodState { stamp: start.format(self.stamp_format()).to_string(), ends }
    }
}

/// The instant a local calendar time names: the first of two when clocks go
/// back, the first time after the gap when they go forward (gaps are
/// multiples of 15 minutes in every zone).
fn resolve_local(mut n: NaiveDateTime) -> SystemTime {
    for _ in 0..8 * 24 {
        if let Some(t) = Local.from_local_datetime(&n).earliest() {
            return t.into();
        }
        n += TimeDelta::minutes(15);
    }
    Utc.from_utc_datetime(&n).into()
}

/// The period the live file is in: its name stamp and its end.
#[derive(Clone, Debug)]
pub(crate) struct PeriodState {
    pub(crate) stamp: String,
    pub(crate) ends: SystemTime,
}

/// The names around one live file: `dir/app.log` has the stem `app` and
/// the extension `.log`.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    dir: PathBuf,
    file_name: String,
    stem: String,
    ext: String,
    naming: Naming,
}

/// A rotated file of this sink found in its directory.
#[derive(Debug)]
struct Entry {
    path: PathBuf,
    /// Larger is newer.
    order: (String, u64),
    /// The index, with index names.
    index: u64,
    compressed: bool,
    len: u64,
    modified: SystemTime,
}

const PENDING: &str = ".pending-";
const TMP: &str = ".tmp";
const GZ: &str = ".gz";

impl Layout {
    pub(crate) fn new(path: &Path, naming: Naming) -> Layout {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (stem, ext) = match file_name.rfind('.') {
            Some(i) if i > 0 => (file_name[..i].to_string(), file_name[i..].to_string()),
            _ => (file_name.clone(), String::new()),
        };
        Layout { dir, file_name, stem, ext, naming }
    }

    /// Where the live file goes when it is rotated now. With time stamps:
    /// its final name, the first of `stamp`, `stamp.1`, … not taken (by a
    /// file or its compressed form). With indexes: a pending name that the
    /// housekeeping thread turns into `.1`.
    pub(crate) fn rotated_path(&self, stamp: &str, now: SystemTime) -> PathBuf {
        match self.naming {
            Naming::Timestamp => {
                for n in 0u64.. {
                    let name = if n == 0 {
                        format!("{}.{stamp}{}", self.stem, self.ext)
                    } else {
                        format!("{}.{stamp}.{n}{}", self.stem, self.ext)
                    };
                    let p = self.dir.join(&name);
                    let gz = self.dir.join(format!("{name}{GZ}"));
                    let tmp = self.dir.join(format!("{name}{GZ}{TMP}"));
                    if !exists(&p) && !exists(&gz) && !exists(&tmp) {
                        return p;
                    }
                }
                unreachable!("u64 names run out")
            }
            Naming::Index => {
                let mut nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
                loop {
                    let p = self.dir.join(format!("{}{PENDING}{nanos:020}", self.file_name));
                    if !exists(&p) {
                        return p;
                    }
                    nanos += 1;
                }
            }
        }
    }

    /// Which rotated file of ours `name` is, if any (`.gz` stripped).
    fn parse(&self, name: &str) -> Option<((String, u64), u64, bool)> {
        let (base, compressed) = match name.strip_suffix(GZ) {
            Some(b) => (b, true),
            None => (name, false),
        };
        match self.naming {
            Naming::Index => {
                let i: u64 = base.strip_prefix(&self.file_name)?.strip_prefix('.')?.parse().ok()?;
                (1..u64::MAX).contains(&i).then(|| ((String::new(), u64::MAX - i), i, compressed))
            }
            Naming::Timestamp => {
                let mid = base.strip_prefix(&self.stem)?.strip_prefix('.')?.strip_suffix(self.ext.as_str())?;
                let (stamp, n) = match mid.split_once('.') {
                    Some((s, n)) => (s, n.parse::<u64>().ok()?),
                    None => (mid, 0),
                };
                let b = stamp.as_bytes();
                let ok = b.len() >= 10
                    && b[..4].iter().all(u8::is_ascii_digit)
                    && b.iter().all(|c| c.is_ascii_digit() || *c == b'-' || *c == b'T');
                ok.then(|| ((stamp.to_string(), n), 0, compressed))
            }
        }
    }

    /// The rotated files (newest first), the pending ones (oldest first,
    /// index names only) and the unfinished `.gz.tmp` files.
    fn scan(&self) -> io::Result<(Vec<Entry>, Vec<PathBuf>, Vec<PathBuf>)> {
        let mut rotated = Vec::new();
        let mut pending = Vec::new();
        let mut tmp = Vec::new();
        for e in fs::read_dir(&self.dir)? {
            let e = e?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(base) = name.strip_suffix(TMP) {
                if base.ends_with(GZ) && (self.parse(base).is_some() || self.is_pending(&base[..base.len() - 3])) {
                    tmp.push(e.path());
                }
                continue;
            }
            if self.is_pending(name.strip_suffix(GZ).unwrap_or(name)) {
                pending.push(e.path());
                continue;
            }
            let Some((order, index, compressed)) = self.parse(name) else { continue };
            let Ok(meta) = e.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().unwrap_or(UNIX_EPOCH);
            rotated.push(Entry { path: e.path(), order, index, compressed, len: meta.len(), modified });
        }
        rotated.sort_by(|a, b| b.order.cmp(&a.order));
        pending.sort();
        Ok((rotated, pending, tmp))
    }

    fn is_pending(&self, name: &str) -> bool {
        name.strip_prefix(&self.file_name)
            .and_then(|r| r.strip_prefix(PENDING))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
    }
}

fn exists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}

/// What the housekeeping thread needs: the names, the policy, the clock.
pub(crate) struct Keeping {
    pub(crate) layout: Layout,
    pub(crate) policy: Policy,
    pub(crate) clock: Clock,
    /// The sink's name in reports.
    pub(crate) name: String,
}

impl Keeping {
    /// At start-up, on the calling thread: removes unfinished `.gz.tmp`
    /// files (their source is still there) and prunes. Returns whether
    /// rotated files wait for the housekeeping thread (pending index
    /// names, uncompressed files to compress).
    pub(crate) fn start(&self) -> io::Result<bool> {
        if !self.policy.rotates() && !self.policy.prunes() {
            return Ok(false);
        }
        let (_, pending, tmp) = self.layout.scan()?;
        for t in tmp {
            let _ = fs::remove_file(t);
        }
        self.prune()?;
        let (rotated, _, _) = self.layout.scan()?;
        Ok(!pending.is_empty() || (self.policy.compress && rotated.iter().any(|e| !e.compressed)))
    }

    /// One job of the housekeeping thread: pending names become `.1`
    /// (shifting the others), uncompressed rotated files are compressed,
    /// then the retention limits are applied.
    fn sweep(&self, reports: &mut Reports) {
        let (rotated, pending, _) = match self.layout.scan() {
            Ok(s) => s,
            Err(e) => {
                reports.say(&self.name, format_args!("cannot list rotated files: {e}"));
                return;
            }
        };
        if self.policy.compress {
            for e in rotated.iter().filter(|e| !e.compressed) {
                if let Err(err) = compress(&e.path) {
                    reports.say(
                        &self.name,
                        format_args!("cannot compress {}: {err}; it stays uncompressed", e.path.display()),
                    );
                }
            }
        }
        for p in pending {
            if let Err(err) = self.shift_in(&p) {
                reports
                    .say(&self.name, format_args!("cannot rename the rotated file {} to index 1: {err}", p.display()));
            }
        }
        if let Err(err) = self.prune() {
            reports.say(&self.name, format_args!("cannot remove old rotated files: {err}"));
        }
    }

    /// A pending file becomes `.1` (`.1.gz`, compressed first when asked),
    /// the others moving up by one.
    fn shift_in(&self, pending: &Path) -> io::Result<()> {
        let mut source = pending.to_path_buf();
        if self.policy.compress && !pending.to_string_lossy().ends_with(GZ) {
            source = compress(pending)?;
        }
        let compressed = source.to_string_lossy().ends_with(GZ);
        let (rotated, _, _) = self.layout.scan()?;
        // Highest index first, so that no rename lands on an existing name.
        let mut by_index: Vec<&Entry> = rotated.iter().collect();
        by_index.sort_by_key(|e| std::cmp::Reverse(e.index));
        for e in by_index {
            let name = format!("{}.{}{}", self.layout.file_name, e.index + 1, if e.compressed { GZ } else { "" });
            fs::rename(&e.path, self.layout.dir.join(name))?;
        }
        let name = format!("{}.1{}", self.layout.file_name, if compressed { GZ } else { "" });
        fs::rename(&source, self.layout.dir.join(name))
    }

    /// Removes the rotated files beyond the count, older than the age, or
    /// beyond the total size (counting from the newest).
    pub(crate) fn prune(&self) -> io::Result<()> {
        if !self.policy.prunes() {
            return Ok(());
        }
        let (rotated, _, _) = self.layout.scan()?;
        let now = (self.clock)();
        let p = &self.policy;
        let mut total = 0u64;
        let mut first_err = None;
        for (i, e) in rotated.iter().enumerate() {
            total = total.saturating_add(e.len);
            let too_many = p.keep_files.is_some_and(|k| i >= k);
            let too_old = p.max_age.is_some_and(|a| now.duration_since(e.modified).is_ok_and(|age| age > a));
            let too_big = p.max_total_size.is_some_and(|m| total > m);
            if too_many || too_old || too_big {
                if let Err(err) = fs::remove_file(&e.path) {
                    if err.kind() != io::ErrorKind::NotFound && first_err.is_none() {
                        first_err = Some(err);
                    }
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Compresses `path` into `path.gz`: written to `path.gz.tmp`, synced,
/// renamed, and only then is `path` removed. Keeps the file's permissions
/// and modification time (retention by age reads it).
#[cfg(feature = "compression")]
fn compress(path: &Path) -> io::Result<PathBuf> {
    use crate::tunables::{COMPRESS_BUFFER, GZIP_LEVEL};
    use flate2::{write::GzEncoder, Compression};
    use std::io::{BufReader, BufWriter};

    let gz = PathBuf::from(format!("{}{GZ}", path.display()));
    let tmp = PathBuf::from(format!("{}{GZ}{TMP}", path.display()));
    let result = (|| {
        let src = fs::File::open(path)?;
        let meta = src.metadata()?;
        let out = fs::File::create(&tmp)?;
        out.set_permissions(meta.permissions())?;
        let mut enc = GzEncoder::new(BufWriter::with_capacity(COMPRESS_BUFFER, out), Compression::new(GZIP_LEVEL));
        io::copy(&mut BufReader::with_capacity(COMPRESS_BUFFER, src), &mut enc)?;
        let out = enc.finish()?.into_inner().map_err(|e| e.into_error())?;
        out.sync_all()?;
        if let Ok(m) = meta.modified() {
            let _ = out.set_modified(m);
        }
        drop(out);
        fs::rename(&tmp, &gz)?;
        fs::remove_file(path)
    })();
    match result {
        Ok(()) => Ok(gz),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(not(feature = "compression"))]
fn compress(path: &Path) -> io::Result<PathBuf> {
    Ok(path.to_path_buf())
}

/// The housekeeping thread of one file sink, started at its first job.
/// Dropping it lets the thread finish its jobs and exit (it is not waited
/// for: a process that exits mid-compression leaves the uncompressed file
/// and a `.gz.tmp` that the next start removes and redoes).
pub(crate) struct Housekeeper {
    keeping: Arc<Keeping>,
    tx: Option<Sender<()>>,
    reports: Reports,
}

impl Housekeeper {
    pub(crate) fn new(keeping: Keeping) -> Housekeeper {
        Housekeeper { keeping: Arc::new(keeping), tx: None, reports: Reports::default() }
    }

    /// Asks for a sweep (after a rotation, or at start-up).
    pub(crate) fn kick(&mut self) {
        if self.tx.is_none() {
            let (tx, rx) = crossbeam_channel::unbounded();
            let keeping = self.keeping.clone();
            match thread::Builder::new().name("logjet-files".into()).spawn(move || run(&keeping, &rx)) {
                Ok(_) => self.tx = Some(tx),
                Err(e) => {
                    self.reports.say(
                        &self.keeping.name,
                        format_args!("cannot start the thread that compresses and prunes rotated files: {e}"),
                    );
                    // Pruning (and shifting) at least: they are quick.
                    if !self.keeping.policy.compress {
                        self.keeping.sweep(&mut self.reports);
                    }
                    return;
                }
            }
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(());
        }
    }
}

fn run(keeping: &Keeping, rx: &Receiver<()>) {
    let mut reports = Reports::default();
    while rx.recv().is_ok() {
        // Jobs that piled up are one sweep.
        while rx.try_recv().is_ok() {}
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| keeping.sweep(&mut reports))) {
            reports.say(
                &keeping.name,
                format_args!("internal error while compressing or pruning rotated files ({})", panic_message(&*panic)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SystemTime {
        DateTime::parse_from_rfc3339(s).unwrap().into()
    }

    #[test]
    fn utc_periods_and_stamps() {
        let p = Policy { utc: true, period: Some(Period::Hourly), ..Policy::default() };
        let s = p.period_of(Period::Hourly, at("2026-11-27T10:59:59.999Z"));
        assert_eq!(s.stamp, "2026-11-27T10");
        assert_eq!(s.ends, at("2026-11-27T11:00:00Z"));
        let d = Policy { utc: true, period: Some(Period::Daily), ..Policy::default() };
        let s = d.period_of(Period::Daily, at("2026-12-31T23:00:00Z"));
        assert_eq!((s.stamp.as_str(), s.ends), ("2026-12-31", at("2027-01-01T00:00:00Z")));
        let m = Policy { utc: true, period: Some(Period::Minutely), ..Policy::default() };
        assert_eq!(m.period_of(Period::Minutely, at("2026-11-27T10:07:30Z")).stamp, "2026-11-27T10-07");
        let size = Policy { utc: true, ..Policy::default() };
        assert_eq!(size.stamp_at(at("2026-11-27T10:07:33Z")), "2026-11-27T10-07-33");
    }

    #[test]
    fn names_parse_back() {
        let l = Layout::new(Path::new("/x/app.log"), Naming::Timestamp);
        assert_eq!(l.parse("app.2026-11-27T10.log"), Some((("2026-11-27T10".into(), 0), 0, false)));
        assert_eq!(l.parse("app.2026-11-27T10.3.log.gz"), Some((("2026-11-27T10".into(), 3), 0, true)));
        assert_eq!(l.parse("app.log"), None);
        assert_eq!(l.parse("app.old.log"), None);
        assert_eq!(l.parse("other.2026-11-27.log"), None);
        let i = Layout::new(Path::new("app.log"), Naming::Index);
        assert_eq!(i.parse("app.log.2.gz").map(|p| (p.1, p.2)), Some((2, true)));
        assert_eq!(i.parse("app.log.0"), None);
        assert_eq!(i.parse("app.log.x"), None);
        assert!(i.is_pending("app.log.pending-00000000000000000012"));
        assert!(!i.is_pending("app.log.pending-"));
        let bare = Layout::new(Path::new("app"), Naming::Timestamp);
        assert!(bare.parse("app.2026-11-27").is_some());
    }
}
