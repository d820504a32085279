//! The file sink: appending, rotation by size and time (cutting batches at
//! record boundaries), reopening on request, and watching its path.
//!
//! Architecture invariant: a file holds whole records only. The output
//! thread hands the sink batches of whole lines; the sink writes into the
//! current file only as many whole lines as fit under the size limit, so a
//! rotation always falls between two records and a rotated file is never
//! larger than the limit (a single record larger than the limit goes alone
//! into a file of its own). A write the OS takes only in part is finished
//! in the same file before any rotation.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::private::{Format, Sealed, SinkOut, Target};
use super::rotation::{Clock, Housekeeper, Keeping, Layout, Naming, Period, PeriodState, Policy};
use super::Sink;
use crate::report::Reports;
use crate::tunables::{ROTATE_RETRY, WATCH_EVERY};

/// A file opened for appending, optionally rotated by size, by time or
/// both, with retention and compression of the rotated files.
///
/// The file is opened when the sink is made, so a bad path or a missing
/// permission is an error here and not a surprise later. Parent directories
/// are created; a new file gets mode `0640` (less the umask) unless
/// [`FileOptions::mode`] says otherwise. The file is opened with `O_APPEND`
/// and every write holds whole lines, so several processes appending to one
/// file never interleave inside a line.
///
/// Only the logger's output thread writes to the file. It reopens the path
/// when asked ([`Logger::reopen`](crate::Logger::reopen), SIGHUP with
/// [`Builder::reopen_on_sighup`](crate::Builder::reopen_on_sighup)), and by
/// itself within a second when the file was renamed or deleted behind its
/// back ([`FileOptions::watch`]). See [`FileOptions`] for rotation.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("logjet-doc-{}", std::process::id()));
/// let sink = logjet::sink::File::append(dir.join("nested/app.log"))?;
/// assert!(sink.path().ends_with("nested/app.log"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct File {
    out: FileOut,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File").field("path", &self.out.path).field("policy", &self.out.keeping_policy()).finish()
    }
}

impl File {
    /// Opens `path` for appending with the default options (no rotation).
    pub fn append(path: impl AsRef<Path>) -> io::Result<File> {
        FileOptions::default().append(path)
    }

    /// Options for opening a file sink: mode, rotation, retention,
    /// compression, watching.
    pub fn options() -> FileOptions {
        FileOptions::default()
    }

    /// The path the file was opened at.
    pub fn path(&self) -> &Path {
        &self.out.path
    }
}

impl Sink for File {}
impl Sealed for File {
    fn into_target(self) -> Target {
        Target { name: self.out.name.clone(), out: Box::new(self.out), format: Format::Json }
    }
}

/// How to open a [`File`] sink, and how it rotates.
///
/// | option | default |
/// |---|---|
/// | [`mode`](FileOptions::mode) | `0o640` |
/// | [`create_dirs`](FileOptions::create_dirs) | `true` |
/// | [`rotate_size`](FileOptions::rotate_size) | none: the file grows |
/// | [`rotate_every`](FileOptions::rotate_every) | none |
/// | [`utc`](FileOptions::utc) | `false`: periods and names in local time |
/// | [`naming`](FileOptions::naming) | [`Naming::Timestamp`] |
/// | [`keep_files`](FileOptions::keep_files), [`max_age`](FileOptions::max_age), [`max_total_size`](FileOptions::max_total_size) | none: every rotated file is kept |
/// | `compress` (feature `compression`) | `false` |
/// | [`watch`](FileOptions::watch) | `true` |
///
/// ```
/// use std::time::Duration;
/// use logjet::sink::{File, Period};
///
/// # let dir = std::env::temp_dir().join(format!("logjet-doc-opts-{}", std::process::id()));
/// // A new file every day and whenever the current one reaches 100 MiB;
/// // rotated files kept for two weeks, at most 5 GiB of them.
/// let sink = File::options()
///     .mode(0o600)
///     .rotate_every(Period::Daily)
///     .rotate_size(100 << 20)
///     .max_age(Duration::from_secs(14 * 24 * 3600))
///     .max_total_size(5 << 30)
///     .append(dir.join("app.log"))?;
/// # drop(sink);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct FileOptions {
    mode: u32,
    create_dirs: bool,
    watch: bool,
    policy: Policy,
    clock: Option<Clock>,
}

impl std::fmt::Debug for FileOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileOptions")
            .field("mode", &format_args!("{:o}", self.mode))
            .field("create_dirs", &self.create_dirs)
            .field("watch", &self.watch)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions { mode: 0o640, create_dirs: true, watch: true, policy: Policy::default(), clock: None }
    }
}

impl FileOptions {
    /// The permission bits of a newly created file (default `0o640`; the
    /// process umask still applies; ignored where there are no Unix modes).
    /// Files made by rotation get them too, and compressed files keep the
    /// permissions of the file they compress.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// Whether missing parent directories are created (default `true`),
    /// at start-up and whenever the directory disappears later (a deleted
    /// log directory is created again, and reported on stderr).
    pub fn create_dirs(mut self, yes: bool) -> Self {
        self.create_dirs = yes;
        self
    }

    /// Starts a new file before the current one would exceed `bytes`.
    ///
    /// Files hold whole records: a batch is cut at the last record that
    /// fits, so every rotated file is at most `bytes` long, except a file
    /// holding a single record that is longer than `bytes` by itself (it
    /// goes alone into its own file; nothing is ever split). `0` is taken
    /// as 1 byte: one record per file.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("logjet-doc-size-{}", std::process::id()));
    /// let sink = logjet::sink::File::options().rotate_size(64 << 20).keep_files(10).append(dir.join("app.log"))?;
    /// # drop(sink);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn rotate_size(mut self, bytes: u64) -> Self {
        self.policy.max_size = Some(bytes.max(1));
        self
    }

    /// Starts a new file every minute, hour or day (on the first write of
    /// the new period: a period without records has no file). With
    /// [`rotate_size`](FileOptions::rotate_size) too, whichever comes first.
    /// A file left by an earlier run whose last write was in an earlier
    /// period is rotated, under that period's name, before the first
    /// record of this run is written.
    pub fn rotate_every(mut self, period: Period) -> Self {
        self.policy.period = Some(period);
        self
    }

    /// Whether periods and time stamps in names are in UTC (`true`) or in
    /// the local time zone (default; it follows daylight saving time, see
    /// [`Period`]).
    pub fn utc(mut self, yes: bool) -> Self {
        self.policy.utc = yes;
        self
    }

    /// How rotated files are named (default [`Naming::Timestamp`]).
    pub fn naming(mut self, naming: Naming) -> Self {
        self.policy.naming = naming;
        self
    }

    /// Keeps at most `n` rotated files (compressed or not; the live file
    /// does not count), removing the oldest. Applied after each rotation
    /// and when the sink is opened.
    pub fn keep_files(mut self, n: usize) -> Self {
        self.policy.keep_files = Some(n);
        self
    }

    /// Removes rotated files last written more than `age` ago. Applied
    /// after each rotation and when the sink is opened.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.policy.max_age = Some(age);
        self
    }

    /// Keeps the rotated files (compressed sizes, for compressed ones) to
    /// at most `bytes` in all, removing the oldest. The live file does not
    /// count. Applied after each rotation and when the sink is opened.
    pub fn max_total_size(mut self, bytes: u64) -> Self {
        self.policy.max_total_size = Some(bytes);
        self
    }

    /// Compresses rotated files with gzip (feature `compression`), on a
    /// background thread of the sink's own (`logjet-files`), never on the
    /// output thread or a caller: `app.2026-11-27.log` becomes
    /// `app.2026-11-27.log.gz`, written as `.gz.tmp` and renamed when
    /// complete; the uncompressed file is removed only then. Retention
    /// counts compressed files too.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("logjet-doc-gz-{}", std::process::id()));
    /// let sink = logjet::sink::File::options()
    ///     .rotate_every(logjet::sink::Period::Daily)
    ///     .compress(true)
    ///     .keep_files(30)
    ///     .append(dir.join("app.log"))?;
    /// # drop(sink);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(feature = "compression")]
    pub fn compress(mut self, yes: bool) -> Self {
        self.policy.compress = yes;
        self
    }

    /// Whether the sink notices by itself that its file was renamed or
    /// deleted (default `true`): at most once a second, on a write, it
    /// compares the open file's device and inode with the path's, and
    /// reopens the path when they differ (creating the file, and the
    /// directory if it is gone, which is reported on stderr). Without it,
    /// records written after the file was deleted vanish without an
    /// error, and after a rename they go to the renamed file until a
    /// [`reopen`](crate::Logger::reopen).
    pub fn watch(mut self, yes: bool) -> Self {
        self.watch = yes;
        self
    }

    /// The clock the sink reads for periods, retention by age and
    /// watching, instead of the system's. For tests; not part of the API.
    #[doc(hidden)]
    pub fn __clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Opens `path` for appending, creating it (and its directories) if
    /// needed. With retention set, old rotated files are removed now.
    pub fn append(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        if self.create_dirs {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|e| context(e, "cannot create log directory", parent))?;
            }
        }
        let file = open(path, self.mode).map_err(|e| context(e, "cannot open log file", path))?;
        let clock: Clock = self.clock.clone().unwrap_or_else(|| Arc::new(SystemTime::now));
        let now = clock();
        let meta = file.metadata().map_err(|e| context(e, "cannot read log file", path))?;
        let name = format!("file {}", path.display());
        let keeping = Keeping {
            layout: Layout::new(path, self.policy.naming),
            policy: self.policy.clone(),
            clock: clock.clone(),
            name: name.clone(),
        };
        let waiting = keeping.start().map_err(|e| context(e, "cannot clean up rotated files of", path))?;
        let period = self.policy.period.map(|p| {
            // A file an earlier run left in an earlier period is rotated
            // under that period's name first.
            let written = meta.modified().ok().filter(|_| meta.len() > 0);
            let current = self.policy.period_of(p, now);
            match written.map(|t| self.policy.period_of(p, t)) {
                Some(old) if old.stamp != current.stamp && old.ends <= now => old,
                _ => current,
            }
        });
        let mut house = Housekeeper::new(keeping);
        if waiting {
            house.kick();
        }
        Ok(File {
            out: FileOut {
                path: path.to_path_buf(),
                name,
                mode: self.mode,
                create_dirs: self.create_dirs,
                watch: self.watch,
                policy: self.policy.clone(),
                clock,
                id: identity(&meta),
                size: meta.len(),
                file,
                at_line_start: true,
                period,
                rotate_again_at: None,
                next_watch: now + WATCH_EVERY,
                house,
                reports: Reports::default(),
            },
        })
    }
}

fn open(path: &Path, mode: u32) -> io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    o.open(path)
}

fn context(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Which file a path or an open file is (device, inode), where that exists.
#[cfg(unix)]
fn identity(m: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(_: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// The file sink as the output thread holds it.
struct FileOut {
    path: PathBuf,
    name: String,
    mode: u32,
    create_dirs: bool,
    watch: bool,
    policy: Policy,
    clock: Clock,
    file: fs::File,
    /// The open file's identity, for watching.
    id: Option<(u64, u64)>,
    /// Bytes in the current file.
    size: u64,
    /// The last byte written ended a line: a rotation may come next.
    at_line_start: bool,
    /// The period of the current file, with time rotation.
    period: Option<PeriodState>,
    /// A rotation failed: no new attempt (and no size limit) before then.
    rotate_again_at: Option<SystemTime>,
    next_watch: SystemTime,
    house: Housekeeper,
    reports: Reports,
}

impl FileOut {
    fn keeping_policy(&self) -> &Policy {
        &self.policy
    }

    /// Opens the path again: the file there now, created (with its
    /// directory, when that is allowed) if it is gone.
    fn reopen_path(&mut self) -> io::Result<()> {
        let file = match open(&self.path, self.mode) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.create_dirs => {
                let dir = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                fs::create_dir_all(dir).map_err(|e| context(e, "cannot create log directory", dir))?;
                self.reports
                    .force(&self.name, format_args!("the log directory {} was gone: created it again", dir.display()));
                open(&self.path, self.mode).map_err(|e| context(e, "cannot open log file", &self.path))?
            }
            Err(e) => return Err(context(e, "cannot open log file", &self.path)),
        };
        let meta = file.metadata()?;
        self.file = file;
        self.id = identity(&meta);
        self.size = meta.len();
        self.at_line_start = true;
        Ok(())
    }

    /// With watching on, at most once per [`WATCH_EVERY`]: reopens the path
    /// when the file there is not the open one. An error (the file cannot
    /// be created again) is returned, so the records wait and are retried
    /// instead of vanishing into a deleted file.
    fn check_path(&mut self, now: SystemTime) -> io::Result<()> {
        if !self.watch || now < self.next_watch || !self.at_line_start {
            return Ok(());
        }
        let gone = match fs::metadata(&self.path) {
            Ok(m) => {
                if identity(&m) == self.id {
                    self.next_watch = now + WATCH_EVERY;
                    return Ok(());
                }
                false
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            // Cannot tell (a permission on the directory): leave it.
            Err(_) => {
                self.next_watch = now + WATCH_EVERY;
                return Ok(());
            }
        };
        // Checked again on the next write until the reopen succeeds.
        self.reopen_path()?;
        self.next_watch = now + WATCH_EVERY;
        if gone {
            self.reports.say(
                &self.name,
                format_args!(
                    "the log file was deleted or moved away: created it again (records since are in the new file)"
                ),
            );
        }
        Ok(())
    }

    /// Rotates now: renames the live file, opens a new one, hands the
    /// rotated file to the housekeeping thread. On failure, reports and
    /// writes on in the current file.
    fn rotate(&mut self, now: SystemTime, stamp: &str) {
        let rotated = self.house_layout_path(stamp, now);
        let result = fs::rename(&self.path, &rotated).and_then(|()| match open(&self.path, self.mode) {
            Ok(f) => Ok(f),
            Err(e) => {
                // Put the live file back where it was, if possible.
                let _ = fs::rename(&rotated, &self.path);
                Err(e)
            }
        });
        match result {
            Ok(file) => {
                self.id = file.metadata().ok().and_then(|m| identity(&m));
                self.file = file;
                self.size = 0;
                self.rotate_again_at = None;
                self.house.kick();
            }
            Err(e) => {
                self.rotate_again_at = Some(now + ROTATE_RETRY);
                self.reports.say(
                    &self.name,
                    format_args!(
                        "rotation to {} failed: {e}; writing on in the current file, trying again in {ROTATE_RETRY:?}",
                        rotated.display()
                    ),
                );
            }
        }
    }

    fn house_layout_path(&self, stamp: &str, now: SystemTime) -> PathBuf {
        Layout::new(&self.path, self.policy.naming).rotated_path(stamp, now)
    }

    /// Rotates first if the period ended, or the batch's first record does
    /// not fit the size limit, then returns how many bytes of `buf` go into
    /// the current file: whole lines, as many as fit.
    fn plan(&mut self, buf: &[u8], now: SystemTime) -> usize {
        if !self.at_line_start {
            // Finish the line begun in this file.
            return buf.iter().position(|&b| b == b'\n').map_or(buf.len(), |i| i + 1);
        }
        let may_rotate = self.rotate_again_at.is_none_or(|t| now >= t);
        if may_rotate {
            if let Some(p) = self.period.as_ref().filter(|p| now >= p.ends) {
                let stamp = p.stamp.clone();
                if let Some(period) = self.policy.period {
                    self.period = Some(self.policy.period_of(period, now));
                }
                if self.size > 0 {
                    self.rotate(now, &stamp);
                }
            }
        }
        let Some(max) = self.policy.max_size.filter(|_| self.rotate_again_at.is_none_or(|t| now >= t)) else {
            return buf.len();
        };
        if self.size.saturating_add(buf.len() as u64) <= max {
            return buf.len();
        }
        let first = buf.iter().position(|&b| b == b'\n').map_or(buf.len(), |i| i + 1);
        if self.size > 0 && self.size.saturating_add(first as u64) > max {
            let stamp = match &self.period {
                Some(p) => p.stamp.clone(),
                None => self.policy.stamp_at(now),
            };
            self.rotate(now, &stamp);
            if self.size > 0 {
                // The rotation failed: everything goes on here for now.
                return buf.len();
            }
        }
        let room = max.saturating_sub(self.size) as usize;
        if buf.len() <= room {
            return buf.len();
        }
        // The last line that ends within the room; a first line longer
        // than the limit goes alone.
        buf[..room].iter().rposition(|&b| b == b'\n').map_or(first, |i| i + 1)
    }
}

impl Write for FileOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let now = (self.clock)();
        self.check_path(now)?;
        let n = self.plan(buf, now);
        let written = self.file.write(&buf[..n])?;
        if written > 0 {
            self.size += written as u64;
            self.at_line_start = buf[written - 1] == b'\n';
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl SinkOut for FileOut {
    fn reopen(&mut self) -> io::Result<()> {
        self.reopen_path()?;
        // What the path holds now is the file being watched.
        self.next_watch = (self.clock)() + WATCH_EVERY;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Dir(PathBuf);
    impl Dir {
        fn new(name: &str) -> Dir {
            let p = std::env::temp_dir().join(format!("logjet-unit-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        fn names(&self) -> Vec<String> {
            let mut v: Vec<String> =
                fs::read_dir(&self.0).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
            v.sort();
            v
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn write_all(out: &mut FileOut, mut buf: &[u8]) {
        while !buf.is_empty() {
            let n = out.write(buf).unwrap();
            buf = &buf[n..];
        }
    }

    #[test]
    fn size_rotation_cuts_at_lines() {
        let d = Dir::new("cut");
        let secs = Arc::new(AtomicU64::new(1_800_000_000));
        let s2 = secs.clone();
        let opts = FileOptions::default()
            .rotate_size(25)
            .utc(true)
            .__clock(move || SystemTime::UNIX_EPOCH + Duration::from_secs(s2.load(Ordering::Relaxed)));
        let mut out = opts.append(d.0.join("a.log")).unwrap().out;
        // 10-byte lines: two fit in 25 bytes.
        write_all(&mut out, b"000000000\n111111111\n222222222\n");
        secs.fetch_add(1, Ordering::Relaxed);
        // A line longer than the limit goes alone.
        write_all(&mut out, b"33333333333333333333333333333\n444444444\n");
        // (0, 1) | (2) | (3, alone: longer than the limit) | live: (4)
        let names = d.names();
        assert_eq!(names.len(), 4, "{names:?}");
        let mut all = String::new();
        for n in &names {
            let text = fs::read_to_string(d.0.join(n)).unwrap();
            assert!(text.ends_with('\n'));
            assert!(text.len() <= 25 || text.lines().count() == 1, "{n}: {text:?}");
            all.push_str(&text);
        }
        assert_eq!(all.lines().count(), 5);
        assert_eq!(fs::read_to_string(d.0.join("a.log")).unwrap(), "444444444\n");
    }
}
