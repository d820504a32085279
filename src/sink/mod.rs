//! Where records go: standard output and error, files, and any writer.
//!
//! A sink is handed to [`Builder::sink`](crate::Builder::sink) (or
//! [`Builder::sink_at`](crate::Builder::sink_at) with its own minimum level)
//! and from then on belongs to the writer thread: only that thread ever
//! writes to it, always whole lines, many records per write.
//!
//! ```no_run
//! use logjet::{sink, Level, Logger};
//!
//! let (log, _guard) = Logger::builder()
//!     .sink(sink::File::append("logs/app.log")?)   // everything from info up
//!     .sink_at(Level::Error, sink::Stderr)          // errors on the console too
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Something records can be written to: [`Stdout`], [`Stderr`], [`File`]
/// or [`Writer`].
pub trait Sink: private::Sealed {}

pub(crate) mod private {
    use std::io;

    /// A sink as the writer thread holds it.
    pub struct Target {
        pub(crate) name: String,
        pub(crate) out: Box<dyn io::Write + Send>,
    }

    pub trait Sealed {
        fn into_target(self) -> Target;
    }
}

use private::{Sealed, Target};

/// The process's standard output, the usual way into a log collector
/// (`my-service | vector`, systemd's journal, a container runtime).
///
/// The writer takes the standard-output lock for each batch, so lines never
/// interleave with `println!` output. A closed pipe (`EPIPE`) is reported
/// as a write error; the process is not killed (Rust ignores `SIGPIPE`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stdout;

/// The process's standard error.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stderr;

struct StdoutOut;

impl Write for StdoutOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}

struct StderrOut;

impl Write for StderrOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stderr().lock().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stderr().lock().flush()
    }
}

impl Sink for Stdout {}
impl Sealed for Stdout {
    fn into_target(self) -> Target {
        Target {
            name: "stdout".into(),
            out: Box::new(StdoutOut),
        }
    }
}

impl Sink for Stderr {}
impl Sealed for Stderr {
    fn into_target(self) -> Target {
        Target {
            name: "stderr".into(),
            out: Box::new(StderrOut),
        }
    }
}

/// A file opened for appending.
///
/// The file is opened when the sink is made, so a bad path or a missing
/// permission is an error here and not a surprise later. Parent directories
/// are created; a new file gets mode `0640` (less the umask) unless
/// [`FileOptions::mode`] says otherwise. The file is opened with `O_APPEND`
/// and every write holds whole lines, so several processes appending to one
/// file never interleave inside a line.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("logjet-doc-{}", std::process::id()));
/// let sink = logjet::sink::File::append(dir.join("nested/app.log"))?;
/// assert!(sink.path().ends_with("nested/app.log"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct File {
    file: fs::File,
    path: PathBuf,
}

impl File {
    /// Opens `path` for appending with the default options.
    pub fn append(path: impl AsRef<Path>) -> io::Result<File> {
        FileOptions::default().append(path)
    }

    /// Options for opening a file sink.
    pub fn options() -> FileOptions {
        FileOptions::default()
    }

    /// The path the file was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Sink for File {}
impl Sealed for File {
    fn into_target(self) -> Target {
        Target {
            name: format!("file {}", self.path.display()),
            out: Box::new(self.file),
        }
    }
}

/// How to open a [`File`] sink.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("logjet-doc-opts-{}", std::process::id()));
/// let sink = logjet::sink::File::options()
///     .mode(0o600)
///     .append(dir.join("secret.log"))?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct FileOptions {
    mode: u32,
    create_dirs: bool,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            mode: 0o640,
            create_dirs: true,
        }
    }
}

impl FileOptions {
    /// The permission bits of a newly created file (default `0o640`; the
    /// process umask still applies; ignored where there are no Unix modes).
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// Whether missing parent directories are created (default `true`).
    pub fn create_dirs(mut self, yes: bool) -> Self {
        self.create_dirs = yes;
        self
    }

    /// Opens `path` for appending, creating it (and its directories) if needed.
    pub fn append(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        if self.create_dirs {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent)
                    .map_err(|e| context(e, "cannot create log directory", parent))?;
            }
        }
        let mut o = fs::OpenOptions::new();
        o.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(self.mode);
        }
        let file = o
            .open(path)
            .map_err(|e| context(e, "cannot open log file", path))?;
        Ok(File {
            file,
            path: path.to_path_buf(),
        })
    }
}

fn context(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Any `io::Write`: a pipe into a collector, a socket, a child process's
/// stdin, an in-memory buffer in tests.
///
/// The writer thread calls `write` with whole lines (many records at a time)
/// and then `flush`, so a `BufWriter` inside never holds records back. An
/// error is counted, reported on stderr at a bounded rate and retried with
/// backoff; a panic inside the writer is caught and treated as an error.
///
/// ```
/// use std::process::{Command, Stdio};
///
/// # if cfg!(unix) {
/// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn()?;
/// let stdin = child.stdin.take().expect("piped");
/// let (log, guard) = logjet::Logger::builder()
///     .sink(logjet::sink::Writer::new(stdin).name("cat"))
///     .build()?;
/// logjet::info!(log, "to the collector");
/// guard.shutdown()?;
/// child.wait()?;
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Writer {
    name: String,
    out: Box<dyn io::Write + Send>,
}

impl Writer {
    /// Wraps a writer. It is moved to the writer thread.
    pub fn new(w: impl io::Write + Send + 'static) -> Writer {
        Writer {
            name: "writer".into(),
            out: Box::new(w),
        }
    }

    /// Names the sink in error reports (default `"writer"`).
    pub fn name(mut self, name: impl Into<String>) -> Writer {
        self.name = name.into();
        self
    }
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Sink for Writer {}
impl Sealed for Writer {
    fn into_target(self) -> Target {
        Target {
            name: self.name,
            out: self.out,
        }
    }
}
