//! A byte stream to a collector: TCP (plain, or TLS with the `rustls`
//! feature) or a unix stream socket. Both `Syslog` (tcp, unix-stream) and
//! `Tcp` (NDJSON) write through it; only the output thread does.
//!
//! What it keeps, for every stream sink:
//!
//! - **Opened lazily, opened again after any error.** The first write
//!   connects (within the connect timeout, trying each address the name
//!   resolves to); any failure drops the connection, so that the output
//!   thread's next attempt, after its backoff, connects anew.
//! - **Progress in whole messages only.** `write` returns how far the
//!   kernel took the buffer, rounded down to the end of the last whole
//!   message: after a failure part-way through a message, that message goes
//!   again, whole, on the next connection. The output thread counts a
//!   record as written once its bytes are taken, so a record is written
//!   once the kernel (of this host) has it.
//! - **A closed collector is noticed before the next batch.** The collector
//!   never sends anything, so one non-blocking read before each batch that
//!   finds end of file (or an error) means it closed the connection:
//!   writing into it would lose that batch (the kernel takes the bytes, the
//!   peer answers with a reset).
//! - **The replay window** (`Options::replay`, off for syslog). What the
//!   kernel took may still be lost: a collector that stops or crashes
//!   drops what sat unread in its socket buffers, and nothing in plain TCP
//!   tells the sender how much. With a window, the stream keeps the last
//!   whole messages it wrote (at least `replay` bytes, at most one chunk
//!   more) and, when a connection ends in any way but its own close, sends
//!   them again first thing on the next one. Nothing is lost as long as the
//!   collector's unread data fits in the window; the price is that the
//!   collector may receive up to a window of messages twice, once per
//!   connection that ended unexpectedly.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::path::PathBuf;
use std::time::Duration;

use super::private::SinkOut;
use crate::report::Reports;
use crate::tunables::REPLAY_CHUNK;

/// Where the stream goes.
#[derive(Clone, Debug)]
pub(crate) enum Endpoint {
    /// `host:port`, resolved at each connection.
    Tcp(String),
    /// A unix stream socket.
    #[cfg(unix)]
    Unix(PathBuf),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(a) => f.write_str(a),
            #[cfg(unix)]
            Endpoint::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

/// How messages end on the stream, so that progress is counted in whole
/// messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Boundary {
    /// Each message ends with `\n` (NDJSON, RFC 6587 non-transparent framing).
    Lf,
    /// `LEN SP MSG` (RFC 6587 octet counting).
    OctetCounting,
}

/// TLS settings, made once when the sink is built.
#[cfg(feature = "rustls")]
#[derive(Clone)]
pub(crate) struct Tls {
    pub(crate) config: std::sync::Arc<rustls::ClientConfig>,
    pub(crate) server_name: rustls_pki_types::ServerName<'static>,
}

/// How the stream behaves.
#[derive(Clone)]
pub(crate) struct Options {
    /// The longest wait to connect to one address (and for a TLS handshake).
    pub(crate) connect_timeout: Duration,
    /// The longest one write may block before it counts as failed.
    pub(crate) write_timeout: Duration,
    /// Bytes of recent messages sent again after an unexpected end of a
    /// connection; 0 for none.
    pub(crate) replay: usize,
    #[cfg(feature = "rustls")]
    pub(crate) tls: Option<Tls>,
}

/// The stream, as the output thread holds it.
pub(crate) struct Stream {
    endpoint: Endpoint,
    boundary: Boundary,
    opts: Options,
    conn: Option<Conn>,
    replay: Replay,
    /// The sink's name, for its reports about replays.
    name: String,
    reports: Reports,
}

impl Stream {
    pub(crate) fn new(endpoint: Endpoint, boundary: Boundary, opts: Options) -> Stream {
        let replay = Replay::new(opts.replay);
        let name = endpoint.to_string();
        Stream { endpoint, boundary, opts, conn: None, replay, name, reports: Reports::default() }
    }

    /// Names the sink in the stream's own reports (a replay).
    pub(crate) fn named(mut self, name: String) -> Stream {
        self.name = name;
        self
    }

    /// Drops the connection after it failed or the collector closed it: the
    /// messages of the window go again on the next one.
    fn lost_connection(&mut self) {
        if self.conn.take().is_some() {
            self.replay.pending = !self.replay.is_empty();
        }
    }

    fn connect(&mut self) -> io::Result<&mut Conn> {
        if self.conn.is_none() {
            let conn = match &self.endpoint {
                Endpoint::Tcp(addr) => self.connect_tcp(addr)?,
                #[cfg(unix)]
                Endpoint::Unix(p) => {
                    let s = std::os::unix::net::UnixStream::connect(p)
                        .map_err(|e| annotate(e, format_args!("cannot connect to {}", p.display())))?;
                    s.set_write_timeout(Some(self.opts.write_timeout))?;
                    Conn::Unix(s)
                }
            };
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| io::Error::other("no connection"))
    }

    fn connect_tcp(&self, addr: &str) -> io::Result<Conn> {
        let addrs: Vec<SocketAddr> =
            addr.to_socket_addrs().map_err(|e| annotate(e, format_args!("cannot resolve {addr}")))?.collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{addr} resolves to no address"));
        for a in addrs {
            match TcpStream::connect_timeout(&a, self.opts.connect_timeout) {
                Ok(s) => {
                    s.set_write_timeout(Some(self.opts.write_timeout))?;
                    s.set_nodelay(true)?;
                    #[cfg(feature = "rustls")]
                    if let Some(tls) = &self.opts.tls {
                        return TlsConn::handshake(tls, s, self.opts.connect_timeout)
                            .map(|t| Conn::Tls(Box::new(t)))
                            .map_err(|e| annotate(e, format_args!("TLS handshake with {addr} failed")));
                    }
                    return Ok(Conn::Tcp(s));
                }
                Err(e) if a.to_string() == addr => last = annotate(e, format_args!("cannot connect to {addr}")),
                Err(e) => last = annotate(e, format_args!("cannot connect to {addr} ({a})")),
            }
        }
        Err(last)
    }

    /// Writes `buf` (whole messages), the replay window first when a
    /// connection was lost. Returns how much of `buf` the kernel took, in
    /// whole messages.
    fn send(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.conn.as_mut().is_some_and(Conn::peer_closed) {
            // The collector went away since the last batch: writing into the
            // dead connection would lose this batch; open anew.
            self.lost_connection();
        }
        self.connect()?;
        if self.replay.pending {
            self.send_replay()?;
        }
        let mut written = 0;
        let result = loop {
            if written == buf.len() {
                break Ok(());
            }
            let Some(conn) = self.conn.as_mut() else { break Err(io::Error::other("no connection")) };
            match conn.write(&buf[written..]) {
                Ok(0) => break Err(io::Error::new(io::ErrorKind::WriteZero, "the collector accepted no bytes")),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let whole = match &result {
            Ok(()) => written,
            Err(_) => last_boundary(buf, written, self.boundary),
        };
        self.replay.keep(&buf[..whole]);
        match result {
            Ok(()) => Ok(written),
            Err(e) => {
                self.lost_connection();
                if whole > 0 {
                    Ok(whole)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Sends the replay window on a new connection.
    fn send_replay(&mut self) -> io::Result<()> {
        let Some(conn) = self.conn.as_mut() else { return Err(io::Error::other("no connection")) };
        for chunk in &self.replay.chunks {
            let mut at = 0;
            while at < chunk.len() {
                match conn.write(&chunk[at..]) {
                    Ok(0) => {
                        let e = io::Error::new(io::ErrorKind::WriteZero, "the collector accepted no bytes");
                        self.conn = None;
                        return Err(e);
                    }
                    Ok(n) => at += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // The window stays pending, whole, for the next one.
                        self.conn = None;
                        return Err(annotate(e, format_args!("sending the replay window again failed")));
                    }
                }
            }
        }
        self.replay.pending = false;
        self.replay.replays += 1;
        let (bytes, lines) = (self.replay.bytes, self.replay.chunks.iter().flatten().filter(|&&b| b == b'\n').count());
        self.reports.say(
            &self.name,
            format_args!(
                "the connection had ended unexpectedly: sent the last {lines} {} ({} KiB) again, \
                 so that none the collector had not read is lost; it may have some of them twice",
                if lines == 1 { "line" } else { "lines" },
                bytes.div_ceil(1024)
            ),
        );
        Ok(())
    }

    /// How many times the window was sent again (tests).
    #[cfg(test)]
    fn replays(&self) -> u64 {
        self.replay.replays
    }
}

/// A stream sink has no path to reopen (it reconnects after errors).
impl SinkOut for Stream {}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf).map_err(collector_gone)
    }

    fn flush(&mut self) -> io::Result<()> {
        // `write` returns only once the bytes are in the kernel (a TLS
        // connection's records too).
        Ok(())
    }
}

/// An open connection.
enum Conn {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
    #[cfg(feature = "rustls")]
    Tls(Box<TlsConn>),
}

impl Conn {
    /// Writes part of `buf`; what it returns is in the kernel.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Conn::Unix(s) => s.write(buf),
            #[cfg(feature = "rustls")]
            Conn::Tls(t) => t.write(buf),
        }
    }

    /// Whether the collector closed the connection (it never sends
    /// anything, so a readable socket means end of file or an error; TLS:
    /// anything but session tickets). One non-blocking read per batch.
    fn peer_closed(&mut self) -> bool {
        match self {
            Conn::Tcp(s) => at_eof(&*s, |on| s.set_nonblocking(on)),
            #[cfg(unix)]
            Conn::Unix(s) => at_eof(&*s, |on| s.set_nonblocking(on)),
            #[cfg(feature = "rustls")]
            Conn::Tls(t) => t.peer_closed(),
        }
    }
}

/// Reads once without blocking: end of file (or an error) means closed.
fn at_eof(mut r: impl Read, nonblocking: impl Fn(bool) -> io::Result<()>) -> bool {
    if nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let closed = match r.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted),
    };
    closed || nonblocking(false).is_err()
}

/// A TLS connection: rustls over the TCP stream, driven by hand so that
/// `write` returns only once its records are in the kernel.
#[cfg(feature = "rustls")]
struct TlsConn {
    tls: rustls::ClientConnection,
    sock: TcpStream,
}

#[cfg(feature = "rustls")]
impl TlsConn {
    fn handshake(tls: &Tls, mut sock: TcpStream, timeout: Duration) -> io::Result<TlsConn> {
        let mut conn = rustls::ClientConnection::new(tls.config.clone(), tls.server_name.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        sock.set_read_timeout(Some(timeout))?;
        let deadline = std::time::Instant::now() + timeout;
        while conn.is_handshaking() {
            if std::time::Instant::now() > deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "the TLS handshake took too long"));
            }
            conn.complete_io(&mut sock)?;
        }
        sock.set_read_timeout(None)?;
        Ok(TlsConn { tls: conn, sock })
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.tls.writer().write(buf)?;
        // Encrypted and in the kernel before it counts: a record rustls
        // still buffers would be lost with the connection.
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.sock) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "the collector accepted no bytes")),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Reads what the collector sent without blocking: session tickets are
    /// taken in; end of file, a close_notify or a TLS error mean closed.
    fn peer_closed(&mut self) -> bool {
        if self.sock.set_nonblocking(true).is_err() {
            return false;
        }
        let closed = loop {
            match self.tls.read_tls(&mut self.sock) {
                Ok(0) => break true,
                Ok(_) => match self.tls.process_new_packets() {
                    Err(_) => break true,
                    Ok(state) if state.peer_has_closed() => break true,
                    Ok(state) => {
                        // The collector has nothing to say; whatever it
                        // sent as data is read and dropped.
                        let mut left = state.plaintext_bytes_to_read();
                        let mut scratch = [0u8; 512];
                        while left > 0 {
                            match self.tls.reader().read(&mut scratch) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => left = left.saturating_sub(n),
                            }
                        }
                    }
                },
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break e.kind() != io::ErrorKind::WouldBlock,
            }
        };
        closed || self.sock.set_nonblocking(false).is_err()
    }
}

#[cfg(feature = "rustls")]
impl Drop for TlsConn {
    /// Says goodbye (close_notify), best effort: a collector that does not
    /// read holds the shutdown up for at most `TLS_CLOSE_TIMEOUT`.
    fn drop(&mut self) {
        let _ = self.sock.set_write_timeout(Some(crate::tunables::TLS_CLOSE_TIMEOUT));
        self.tls.send_close_notify();
        while self.tls.wants_write() {
            if !matches!(self.tls.write_tls(&mut self.sock), Ok(n) if n > 0) {
                break;
            }
        }
    }
}

/// The messages last written, whole, kept to be sent again.
struct Replay {
    /// At least this many bytes are kept (0: none).
    limit: usize,
    /// Whole messages, oldest first; each chunk starts at a message.
    chunks: VecDeque<Vec<u8>>,
    bytes: usize,
    /// Chunks given back, reused.
    spare: Vec<Vec<u8>>,
    /// A connection ended unexpectedly: send the window first on the next.
    pending: bool,
    replays: u64,
}

impl Replay {
    fn new(limit: usize) -> Replay {
        Replay { limit, chunks: VecDeque::new(), bytes: 0, spare: Vec::new(), pending: false, replays: 0 }
    }

    fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Keeps `whole` (whole messages) and forgets the oldest chunks no
    /// longer needed to hold `limit` bytes.
    fn keep(&mut self, whole: &[u8]) {
        if self.limit == 0 || whole.is_empty() {
            return;
        }
        match self.chunks.back_mut() {
            Some(last) if last.len() + whole.len() <= REPLAY_CHUNK => last.extend_from_slice(whole),
            _ => {
                let mut chunk = self.spare.pop().unwrap_or_default();
                chunk.clear();
                chunk.extend_from_slice(whole);
                self.chunks.push_back(chunk);
            }
        }
        self.bytes += whole.len();
        while let Some(front) = self.chunks.front() {
            if self.bytes - front.len() < self.limit {
                break;
            }
            self.bytes -= front.len();
            if let Some(old) = self.chunks.pop_front() {
                if old.capacity() <= 2 * REPLAY_CHUNK {
                    self.spare.push(old);
                }
            }
        }
    }
}

/// A closed connection is the collector going away, to be reopened: never
/// the permanent broken pipe of a dead reader.
pub(crate) fn collector_gone(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        io::Error::new(io::ErrorKind::ConnectionAborted, format!("the collector closed the connection ({e})"))
    } else {
        e
    }
}

/// `e` with what was being done in front of it, of the same kind.
fn annotate(e: io::Error, what: fmt::Arguments<'_>) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// The end of the last whole message within `buf[..written]`.
fn last_boundary(buf: &[u8], written: usize, boundary: Boundary) -> usize {
    match boundary {
        Boundary::Lf => buf[..written].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1),
        Boundary::OctetCounting => {
            let mut at = 0;
            loop {
                let digits = buf[at..].iter().take_while(|b| b.is_ascii_digit()).count();
                let next = std::str::from_utf8(&buf[at..at + digits])
                    .ok()
                    .and_then(|d| d.parse::<usize>().ok())
                    .map(|n| at + digits + 1 + n);
                match next {
                    Some(end) if end <= written => at = end,
                    _ => return at,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;

    #[test]
    fn boundaries_of_whole_messages() {
        let lf = b"aaa\nbb\ncccc\n";
        assert_eq!(last_boundary(lf, 0, Boundary::Lf), 0);
        assert_eq!(last_boundary(lf, 3, Boundary::Lf), 0);
        assert_eq!(last_boundary(lf, 4, Boundary::Lf), 4);
        assert_eq!(last_boundary(lf, 9, Boundary::Lf), 7);
        assert_eq!(last_boundary(lf, 12, Boundary::Lf), 12);
        let oc = b"3 abc10 0123456789";
        assert_eq!(last_boundary(oc, 4, Boundary::OctetCounting), 0);
        assert_eq!(last_boundary(oc, 5, Boundary::OctetCounting), 5);
        assert_eq!(last_boundary(oc, 17, Boundary::OctetCounting), 5);
        assert_eq!(last_boundary(oc, 18, Boundary::OctetCounting), 18);
    }

    #[test]
    fn the_window_keeps_at_least_its_limit_in_whole_chunks() {
        let mut r = Replay::new(100);
        for i in 0..1000u32 {
            r.keep(format!("{i:09}\n").as_bytes());
        }
        assert!(r.bytes >= 100 && r.bytes < 100 + REPLAY_CHUNK, "{}", r.bytes);
        let all: Vec<u8> = r.chunks.iter().flatten().copied().collect();
        assert_eq!(all.len(), r.bytes);
        assert!(all.ends_with(b"000000999\n"));
        assert!(all.len().is_multiple_of(10), "whole lines only");
        let mut off = Replay::new(0);
        off.keep(b"x\n");
        assert!(off.is_empty());
    }

    fn opts(replay: usize) -> Options {
        Options {
            connect_timeout: Duration::from_secs(2),
            write_timeout: Duration::from_secs(2),
            replay,
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }

    /// A collector that closes the connection is noticed before the next
    /// batch, which goes whole on a new connection, after the window.
    #[test]
    fn a_closed_connection_is_replaced_and_the_window_sent_again() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut s = Stream::new(Endpoint::Tcp(l.local_addr().unwrap().to_string()), Boundary::Lf, opts(1 << 20));
        assert_eq!(s.write(b"a\nb\n").unwrap(), 4);
        let (first, _) = l.accept().unwrap();
        let mut r = io::BufReader::new(first.try_clone().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, "a\n");
        drop((r, first));
        // The close reaches this side; the next batch sees it.
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(s.write(b"c\n").unwrap(), 2);
        let (second, _) = l.accept().unwrap();
        drop(s);
        let mut got = String::new();
        io::BufReader::new(second).read_to_string(&mut got).unwrap();
        assert_eq!(got, "a\nb\nc\n");
    }

    #[test]
    fn without_a_window_nothing_is_sent_twice() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut s = Stream::new(Endpoint::Tcp(l.local_addr().unwrap().to_string()), Boundary::Lf, opts(0));
        s.write_all(b"a\n").unwrap();
        drop(l.accept().unwrap());
        std::thread::sleep(Duration::from_millis(50));
        s.write_all(b"b\n").unwrap();
        let (second, _) = l.accept().unwrap();
        assert_eq!(s.replays(), 0);
        drop(s);
        let mut got = String::new();
        io::BufReader::new(second).read_to_string(&mut got).unwrap();
        assert_eq!(got, "b\n");
    }

    #[test]
    fn an_unreachable_collector_is_named_in_the_error() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut s = Stream::new(Endpoint::Tcp(format!("127.0.0.1:{port}")), Boundary::Lf, opts(0));
        let e = s.write(b"x\n").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert!(e.to_string().starts_with(&format!("cannot connect to 127.0.0.1:{port}")), "{e}");
    }
}
