//! `logjet-pretty`: reads NDJSON logs (logjet's and pino's lines) from
//! standard input or files and prints them in logjet's pretty format, the
//! one `logjet::sink::Pretty` writes, so nobody needs Node's pino-pretty
//! to read logs during development.
//!
//! ```text
//! cargo run | logjet-pretty
//! logjet-pretty --level warn --ns 'app:*' -f logs/app.log
//! ```
//!
//! The formatting is logjet's own ([`logjet::pretty::Renderer`]); this
//! program reads lines, takes `level`, `time`, `msg` and `ns` apart and
//! hands every other key to the renderer as JSON text. A line that is not
//! a JSON object is printed as it is.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use logjet::pretty::{LevelLabel, Renderer, Stamp, Style, Time};
use logjet::{Level, Namespaces};
use serde_json::{Map, Value};

const USAGE: &str = "\
logjet-pretty: prints NDJSON logs (logjet's, pino's) readably

usage: logjet-pretty [options] [FILE ...]

Reads standard input when no FILE is given (or for FILE \"-\").

options:
  -l, --level LEVEL    only records at LEVEL or above: trace, debug, info, warn,
                       error, fatal, or a number (pino's: 10 ... 60)
  -n, --ns PATTERN     only records whose `ns` the DEBUG-style PATTERN enables
                       (npm debug's rules: \"app:*,-app:db\"); records without
                       `ns` are left out
  -f, --follow         keep reading the files as lines are appended (reopens a
                       file that is truncated or replaced, as by rotation)
  -t, --time FORMAT    local (default, HH:MM:SS.mmm), utc, iso (RFC 3339 UTC),
                       iso-local, none
  -i, --ignore KEYS    comma-separated keys not shown (default: pid,hostname;
                       \"\" shows every key)
      --color          colours, even when standard output is not a terminal
      --no-color       no colours (also: NO_COLOR set and not empty)
  -h, --help           this text
  -V, --version        the version

Lines that are not JSON objects are printed as they are.
";

/// What the command line asks for.
#[derive(Debug)]
struct Options {
    min_level: Option<u64>,
    ns: Option<Namespaces>,
    follow: bool,
    colors: Option<bool>,
    time: Time,
    ignore: Vec<String>,
    files: Vec<String>,
}

/// The outcome of reading the command line.
enum Parsed {
    Run(Options),
    Help,
    Version,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut o = Options {
        min_level: None,
        ns: None,
        follow: false,
        colors: None,
        time: Time::Local,
        ignore: vec!["pid".into(), "hostname".into()],
        files: Vec::new(),
    };
    let mut args = args.into_iter();
    let mut only_files = false;
    while let Some(arg) = args.next() {
        if only_files || arg == "-" || !arg.starts_with('-') {
            o.files.push(arg);
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| -> Result<String, String> {
            inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{name} needs {what}"))
        };
        match name.as_str() {
            "--" => only_files = true,
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            "-f" | "--follow" => o.follow = true,
            "--color" | "--colour" => o.colors = Some(true),
            "--no-color" | "--no-colour" => o.colors = Some(false),
            "-l" | "--level" => o.min_level = Some(parse_level(&value("a level")?)?),
            "-n" | "--ns" => o.ns = Some(Namespaces::parse(&value("a pattern")?)),
            "-t" | "--time" => {
                o.time = match value("a time format")?.as_str() {
                    "local" => Time::Local,
                    "utc" => Time::Utc,
                    "iso" => Time::Rfc3339,
                    "iso-local" => Time::Rfc3339Local,
                    "none" => Time::Omit,
                    other => {
                        return Err(format!("unknown time format {other:?}: expected local, utc, iso, iso-local, none"))
                    }
                }
            }
            "-i" | "--ignore" => {
                o.ignore =
                    value("keys")?.split(',').map(str::trim).filter(|k| !k.is_empty()).map(String::from).collect()
            }
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    if o.follow && (o.files.is_empty() || o.files.iter().any(|f| f == "-")) {
        return Err("--follow needs files to follow (standard input is read to its end anyway)".into());
    }
    Ok(Parsed::Run(o))
}

/// A level name or a number.
fn parse_level(s: &str) -> Result<u64, String> {
    match s.parse::<Level>() {
        Ok(l) => Ok(u64::from(l.number())),
        Err(e) => s.trim().parse::<u64>().map_err(|_| e.to_string()),
    }
}

/// Turns input lines into output lines.
struct Printer {
    renderer: Renderer,
    min_level: Option<u64>,
    ns: Option<Namespaces>,
    ignore: Vec<String>,
    /// One field's JSON text.
    scratch: String,
}

impl Printer {
    /// Appends what `line` (without its newline) becomes: a pretty record,
    /// nothing (filtered out), or the line as it is.
    fn line(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let record = std::str::from_utf8(line)
            .ok()
            .filter(|l| l.trim_start().starts_with('{'))
            .and_then(|l| serde_json::from_str::<Map<String, Value>>(l).ok());
        match record {
            Some(r) => self.record(&r, out),
            None => {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
        }
    }

    fn record(&mut self, r: &Map<String, Value>, out: &mut Vec<u8>) {
        let level_text;
        let (label, number) = match r.get("level") {
            Some(Value::Number(n)) => {
                let number = n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64));
                match number.and_then(|n| u8::try_from(n).ok()).and_then(Level::from_number) {
                    Some(l) => (LevelLabel::Level(l), number),
                    None => {
                        level_text = n.to_string();
                        (LevelLabel::Other(&level_text), number)
                    }
                }
            }
            Some(Value::String(s)) => match s.parse::<Level>() {
                Ok(l) => (LevelLabel::Level(l), Some(u64::from(l.number()))),
                Err(_) => (LevelLabel::Other(s), None),
            },
            Some(other) => {
                level_text = other.to_string();
                (LevelLabel::Other(&level_text), None)
            }
            None => (LevelLabel::None, None),
        };
        if let (Some(min), Some(n)) = (self.min_level, number) {
            if n < min {
                return;
            }
        }
        let ns = match r.get("ns") {
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        };
        if let Some(filter) = &self.ns {
            if !ns.is_some_and(|n| filter.enabled(n)) {
                return;
            }
        }
        let time = match r.get("time") {
            Some(Value::Number(n)) => {
                n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).map_or(Stamp::None, Stamp::Millis)
            }
            Some(Value::String(s)) => Stamp::Text(s),
            _ => Stamp::None,
        };
        let msg_text;
        let msg = match r.get("msg") {
            Some(Value::String(s)) => s.as_str(),
            None | Some(Value::Null) => "",
            Some(other) => {
                msg_text = other.to_string();
                &msg_text
            }
        };
        self.renderer.begin(out, time, label, ns, msg);
        for (k, v) in r {
            if matches!(k.as_str(), "level" | "time" | "msg" | "ns") || self.ignore.iter().any(|i| i == k) {
                continue;
            }
            self.scratch.clear();
            // Writing a Value into a String cannot fail.
            let _ = serde_json::to_writer(ScratchWriter(&mut self.scratch), v);
            self.renderer.field(out, k, &self.scratch);
        }
        self.renderer.end(out);
    }
}

/// `io::Write` into a `String`, for serde_json (which writes UTF-8).
struct ScratchWriter<'a>(&'a mut String);

impl Write for ScratchWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How often a followed file is looked at when nothing new came.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// Splits bytes into lines, keeping a line's start until its end comes.
#[derive(Default)]
struct LineBuf {
    partial: Vec<u8>,
}

impl LineBuf {
    fn feed(&mut self, mut bytes: &[u8], mut each: impl FnMut(&[u8])) {
        while let Some(i) = bytes.iter().position(|&b| b == b'\n') {
            if self.partial.is_empty() {
                each(strip_cr(&bytes[..i]));
            } else {
                self.partial.extend_from_slice(&bytes[..i]);
                each(strip_cr(&self.partial));
                self.partial.clear();
            }
            bytes = &bytes[i + 1..];
        }
        self.partial.extend_from_slice(bytes);
    }

    /// The last line, when the input ended without a newline.
    fn finish(&mut self, each: impl FnOnce(&[u8])) {
        if !self.partial.is_empty() {
            each(strip_cr(&self.partial));
            self.partial.clear();
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Where the pretty lines go: standard output, in large writes, flushed
/// whenever the input has nothing more at hand.
struct Output {
    out: io::StdoutLock<'static>,
    buf: Vec<u8>,
}

impl Output {
    fn write_out(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.flush()
    }

    fn maybe_write(&mut self) -> io::Result<()> {
        if self.buf.len() >= 64 * 1024 {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// Reads one input to its end.
fn read_all(input: impl Read, p: &mut Printer, o: &mut Output) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut lines = LineBuf::default();
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        lines.feed(chunk, |l| p.line(l, &mut o.buf));
        reader.consume(n);
        o.maybe_write()?;
        // Nothing more at hand: show what there is (a pipe from a
        // running program).
        o.write_out()?;
    }
    lines.finish(|l| p.line(l, &mut o.buf));
    o.write_out()
}

/// A followed file: where it was read up to, and which file it was.
struct Followed {
    path: PathBuf,
    file: File,
    id: Option<(u64, u64)>,
    pos: u64,
    lines: LineBuf,
}

fn file_id(m: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        None
    }
}

impl Followed {
    fn open(path: PathBuf) -> io::Result<Followed> {
        let file = File::open(&path)?;
        let id = file_id(&file.metadata()?);
        Ok(Followed { path, file, id, pos: 0, lines: LineBuf::default() })
    }

    /// Reads what was appended; then, at the end of the file, reopens it
    /// when the path now names another file (rotation) or starts again
    /// when it shrank (truncation). Returns whether anything happened.
    fn poll(&mut self, buf: &mut [u8], p: &mut Printer, o: &mut Output) -> io::Result<bool> {
        let mut any = false;
        loop {
            let n = self.file.read(buf)?;
            if n == 0 {
                break;
            }
            any = true;
            self.pos += n as u64;
            self.lines.feed(&buf[..n], |l| p.line(l, &mut o.buf));
            o.maybe_write()?;
        }
        match std::fs::metadata(&self.path) {
            Ok(m) if file_id(&m) != self.id => {
                // Rotated: the old file is read to its end (above); the
                // new one from its start.
                if let Ok(next) = Followed::open(self.path.clone()) {
                    self.lines.finish(|l| p.line(l, &mut o.buf));
                    *self = next;
                    any = true;
                }
            }
            Ok(_) if self.file.metadata()?.len() < self.pos => {
                use std::io::Seek;
                self.file.seek(io::SeekFrom::Start(0))?;
                self.pos = 0;
                self.lines.partial.clear();
                any = true;
            }
            // Gone for now (between a rename and the new file): keep
            // reading the old one.
            _ => {}
        }
        Ok(any)
    }
}

fn follow(paths: &[String], p: &mut Printer, o: &mut Output) -> io::Result<()> {
    let mut files = Vec::new();
    for path in paths {
        files.push(Followed::open(PathBuf::from(path)).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?);
    }
    let mut buf = vec![0; 64 * 1024];
    loop {
        let mut any = false;
        for f in &mut files {
            any |= f.poll(&mut buf, p, o)?;
        }
        o.write_out()?;
        if !any {
            std::thread::sleep(FOLLOW_POLL);
        }
    }
}

fn run(opts: Options) -> io::Result<bool> {
    let colors = opts
        .colors
        .unwrap_or_else(|| io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()));
    let mut p = Printer {
        renderer: Renderer::new(Style::new().colors(colors).time(opts.time)),
        min_level: opts.min_level,
        ns: opts.ns,
        ignore: opts.ignore,
        scratch: String::new(),
    };
    let mut o = Output { out: io::stdout().lock(), buf: Vec::with_capacity(128 * 1024) };
    if opts.follow {
        follow(&opts.files, &mut p, &mut o)?;
        return Ok(true);
    }
    let mut ok = true;
    if opts.files.is_empty() {
        read_all(io::stdin().lock(), &mut p, &mut o)?;
    }
    for path in &opts.files {
        if path == "-" {
            read_all(io::stdin().lock(), &mut p, &mut o)?;
            continue;
        }
        match File::open(path) {
            Ok(f) => read_all(f, &mut p, &mut o)?,
            Err(e) => {
                o.write_out()?;
                eprintln!("logjet-pretty: {path}: {e}");
                ok = false;
            }
        }
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            println!("logjet-pretty {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("logjet-pretty: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        // The reader went away (`| head`): nothing left to do.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("logjet-pretty: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Parsed, String> {
        parse_args(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn options() {
        let Ok(Parsed::Run(o)) = args(&["--level", "warn", "--ns=app:*", "-t", "utc", "--no-color", "a.log", "-"])
        else {
            panic!()
        };
        assert_eq!(o.min_level, Some(40));
        assert!(o.ns.unwrap().enabled("app:db"));
        assert_eq!(o.time, Time::Utc);
        assert_eq!(o.colors, Some(false));
        assert_eq!(o.files, ["a.log", "-"]);
        assert_eq!(o.ignore, ["pid", "hostname"]);
        let Ok(Parsed::Run(o)) = args(&["-l", "35", "--ignore", "", "--", "-f"]) else { panic!() };
        assert_eq!(o.min_level, Some(35));
        assert!(o.ignore.is_empty());
        assert_eq!(o.files, ["-f"]);
        assert!(args(&["--level", "loud"]).is_err());
        assert!(args(&["--level"]).is_err());
        assert!(args(&["--bogus"]).is_err());
        assert!(args(&["-f"]).is_err(), "follow needs a file");
        assert!(matches!(args(&["-h"]), Ok(Parsed::Help)));
    }

    #[test]
    fn lines_split_across_reads() {
        let mut lb = LineBuf::default();
        let mut got = Vec::new();
        for chunk in [&b"ab"[..], b"c\r\nd", b"\n\nlast"] {
            lb.feed(chunk, |l| got.push(l.to_vec()));
        }
        lb.finish(|l| got.push(l.to_vec()));
        assert_eq!(got, [&b"abc"[..], b"d", b"", b"last"]);
    }
}
