//! The syslog sink: RFC 5424 or RFC 3164 messages over a unix socket
//! (datagram or stream), UDP or TCP, written by the output thread only.

use std::fmt;
use std::io::{self, Write};
use std::net::{ToSocketAddrs, UdpSocket};
use std::path::PathBuf;

use super::private::{Format, Sealed, SinkOut, Target};
use super::stream::{self, collector_gone, Boundary, Stream};
use super::Sink;
use crate::format::syslog::{header_field, sd_name, tag, Body, Framing as WireFraming, SyslogSpec};

/// The message format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyslogFormat {
    /// `<PRI>1 2026-11-21T20:22:00.123Z host app 4242 - - body` (default).
    #[default]
    Rfc5424,
    /// `<PRI>Nov 21 21:22:00 host app[4242]: body` (BSD syslog, local time).
    Rfc3164,
}

/// The syslog facility (`PRI = facility × 8 + severity`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Facility {
    Kern = 0,
    #[default]
    User = 1,
    Mail = 2,
    Daemon = 3,
    Auth = 4,
    Syslog = 5,
    Lpr = 6,
    News = 7,
    Uucp = 8,
    Cron = 9,
    Authpriv = 10,
    Ftp = 11,
    Local0 = 16,
    Local1 = 17,
    Local2 = 18,
    Local3 = 19,
    Local4 = 20,
    Local5 = 21,
    Local6 = 22,
    Local7 = 23,
}

/// What follows the header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SyslogBody {
    /// The record's JSON, as the NDJSON sinks write it (default).
    #[default]
    Json,
    /// The record's JSON behind `@cee:`, for rsyslog's `mmjsonparse`.
    JsonCee,
    /// The message as MSG, every field (bound ones included) as an
    /// RFC 5424 SD-PARAM of one SD-ELEMENT with this SD-ID, such as
    /// `"fields@32473"` (use your own enterprise number). With RFC 3164,
    /// which has no STRUCTURED-DATA, the element is written before the
    /// message as text.
    StructuredData {
        /// The SD-ID (sanitized to the RFC's characters and 32 bytes).
        sd_id: String,
    },
}

/// How messages are delimited on a stream (TCP, unix stream), RFC 6587.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `LEN SP MSG`: safe for any message (TCP's default).
    OctetCounting,
    /// `MSG LF` (unix stream's default). Safe with logjet, whose messages
    /// never contain a raw newline.
    Lf,
}

#[derive(Clone, Debug)]
enum Endpoint {
    UnixDgram(PathBuf),
    UnixStream(PathBuf),
    Udp(String),
    Tcp(String),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::UnixDgram(p) => write!(f, "syslog unix {}", p.display()),
            Endpoint::UnixStream(p) => write!(f, "syslog unix-stream {}", p.display()),
            Endpoint::Udp(a) => write!(f, "syslog udp {a}"),
            Endpoint::Tcp(a) => write!(f, "syslog tcp {a}"),
        }
    }
}

/// Syslog over a unix socket, UDP or TCP.
///
/// ```no_run
/// use logjet::{sink::Syslog, Facility, Logger, SyslogFormat};
///
/// let sink = Syslog::unix_default()                 // /dev/log
///     .app_name("billing")
///     .facility(Facility::Local0);
/// let (log, _guard) = Logger::builder().sink(sink).build()?;
///
/// let tcp = Syslog::tcp("127.0.0.1:6514")           // RFC 6587 octet counting
///     .format(SyslogFormat::Rfc5424);
/// let udp = Syslog::udp("127.0.0.1:514");
/// # Ok::<(), logjet::Error>(())
/// ```
///
/// - The connection is opened on the first write, on the output thread,
///   and opened again (with its backoff) whenever the collector goes
///   away: the callers never touch the network. Under
///   `Overflow::Block` records wait in the queues while the collector is
///   away; under `Overflow::Drop` callers drop (and count) once it is full.
/// - Severities: trace/debug 7, info 6, warn 4, error 3, fatal 2. PROCID
///   is the pid; APP-NAME defaults to the program's name, HOSTNAME to the
///   system's; header fields keep only printable ASCII, within the RFC's
///   lengths.
/// - A message longer than the limit ([`max_message_len`](Syslog::max_message_len);
///   UDP 1472 bytes (1024 for RFC 3164), else 8192) is shortened so that
///   it stays valid: long values cut and marked `…`, then bound fields
///   dropped, with `logjet_truncated` giving the original length.
/// - TCP and unix-stream writes carry many messages at once; UDP and unix
///   datagram send one datagram per message.
pub struct Syslog {
    endpoint: Endpoint,
    format: SyslogFormat,
    facility: Facility,
    app_name: Option<String>,
    hostname: Option<String>,
    msgid: Option<String>,
    body: SyslogBody,
    framing: Option<Framing>,
    max_len: Option<usize>,
}

impl fmt::Debug for Syslog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Syslog").field("endpoint", &self.endpoint.to_string()).field("format", &self.format).finish()
    }
}

impl Syslog {
    fn new(endpoint: Endpoint) -> Syslog {
        Syslog {
            endpoint,
            format: SyslogFormat::Rfc5424,
            facility: Facility::User,
            app_name: None,
            hostname: None,
            msgid: None,
            body: SyslogBody::Json,
            framing: None,
            max_len: None,
        }
    }

    /// The local syslog daemon's datagram socket, `/dev/log` (systemd's
    /// journald and rsyslog both listen there).
    pub fn unix_default() -> Syslog {
        Syslog::unix("/dev/log")
    }

    /// A unix datagram socket at `path`.
    pub fn unix(path: impl Into<PathBuf>) -> Syslog {
        Syslog::new(Endpoint::UnixDgram(path.into()))
    }

    /// A unix stream socket at `path` (LF framing unless told otherwise).
    pub fn unix_stream(path: impl Into<PathBuf>) -> Syslog {
        Syslog::new(Endpoint::UnixStream(path.into()))
    }

    /// UDP to `addr` (`"host:port"`), resolved at each (re)connection.
    pub fn udp(addr: impl Into<String>) -> Syslog {
        Syslog::new(Endpoint::Udp(addr.into()))
    }

    /// TCP to `addr` (`"host:port"`), octet-counting framing unless told
    /// otherwise, resolved at each (re)connection.
    pub fn tcp(addr: impl Into<String>) -> Syslog {
        Syslog::new(Endpoint::Tcp(addr.into()))
    }

    /// RFC 5424 (default) or RFC 3164.
    pub fn format(mut self, format: SyslogFormat) -> Syslog {
        self.format = format;
        self
    }

    /// The facility (default `User`).
    pub fn facility(mut self, facility: Facility) -> Syslog {
        self.facility = facility;
        self
    }

    /// APP-NAME (RFC 3164: the TAG); default: the program's file name.
    pub fn app_name(mut self, name: impl Into<String>) -> Syslog {
        self.app_name = Some(name.into());
        self
    }

    /// HOSTNAME; default: the system's host name.
    pub fn hostname(mut self, name: impl Into<String>) -> Syslog {
        self.hostname = Some(name.into());
        self
    }

    /// MSGID (RFC 5424 only; default: nil, `-`).
    pub fn msgid(mut self, msgid: impl Into<String>) -> Syslog {
        self.msgid = Some(msgid.into());
        self
    }

    /// What follows the header (default: the record's JSON).
    pub fn body(mut self, body: SyslogBody) -> Syslog {
        self.body = body;
        self
    }

    /// The framing on a stream transport (TCP default: octet counting;
    /// unix stream default: LF). Ignored for datagrams.
    pub fn framing(mut self, framing: Framing) -> Syslog {
        self.framing = Some(framing);
        self
    }

    /// The longest message, header included, framing excluded (default:
    /// 1472 bytes over UDP, 1024 for RFC 3164 over UDP, 8192 otherwise;
    /// at least 64).
    pub fn max_message_len(mut self, bytes: usize) -> Syslog {
        self.max_len = Some(bytes.max(64));
        self
    }

    fn spec(&self) -> SyslogSpec {
        let rfc3164 = self.format == SyslogFormat::Rfc3164;
        let program = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "logjet".into());
        let app = self.app_name.clone().unwrap_or(program);
        let host = self.hostname.clone().unwrap_or_else(crate::builder::system_hostname);
        let framing = match (&self.endpoint, self.framing) {
            (Endpoint::UnixDgram(_) | Endpoint::Udp(_), _) => WireFraming::Datagram,
            (_, Some(Framing::OctetCounting)) => WireFraming::OctetCounting,
            (_, Some(Framing::Lf)) => WireFraming::Lf,
            (Endpoint::Tcp(_), None) => WireFraming::OctetCounting,
            (Endpoint::UnixStream(_), None) => WireFraming::Lf,
        };
        let default_len = match (&self.endpoint, rfc3164) {
            (Endpoint::Udp(_), true) => 1024,
            (Endpoint::Udp(_), false) => 1472,
            _ => 8192,
        };
        SyslogSpec {
            rfc3164,
            facility: self.facility as u8,
            hostname: header_field(&host, 255),
            app_name: if rfc3164 { tag(&app) } else { header_field(&app, 48) },
            procid: std::process::id().to_string(),
            msgid: self.msgid.as_deref().map(|m| header_field(m, 32)),
            body: match &self.body {
                SyslogBody::Json => Body::Json,
                SyslogBody::JsonCee => Body::JsonCee,
                SyslogBody::StructuredData { sd_id } => Body::Sd(sd_name(sd_id)),
            },
            framing,
            max_len: self.max_len.unwrap_or(default_len),
        }
    }
}

impl Sink for Syslog {}
impl Sealed for Syslog {
    fn into_target(self) -> Target {
        let spec = self.spec();
        let name = self.endpoint.to_string();
        let boundary = match spec.framing {
            WireFraming::OctetCounting => Boundary::OctetCounting,
            _ => Boundary::Lf,
        };
        let out: Box<dyn SinkOut> = match self.endpoint {
            Endpoint::UnixDgram(p) => Box::new(Datagram { to: Dest::Unix(p), sock: None }),
            Endpoint::Udp(a) => Box::new(Datagram { to: Dest::Udp(a), sock: None }),
            Endpoint::UnixStream(p) => Box::new(Stream::new(stream::Endpoint::Unix(p), boundary, stream_options())),
            Endpoint::Tcp(a) => Box::new(Stream::new(stream::Endpoint::Tcp(a), boundary, stream_options())),
        };
        Target { name, out, format: Format::Syslog(Box::new(spec)) }
    }
}

// How long the output thread waits to connect or to write before it treats
// the collector as gone (and retries with backoff).
use crate::tunables::{SYSLOG_CONNECT_TIMEOUT as CONNECT_TIMEOUT, SYSLOG_WRITE_TIMEOUT as WRITE_TIMEOUT};

/// The stream transports (TCP, unix stream): the shared stream, without a
/// replay window (a message the kernel took counts as delivered).
fn stream_options() -> stream::Options {
    stream::Options {
        connect_timeout: CONNECT_TIMEOUT,
        write_timeout: WRITE_TIMEOUT,
        replay: 0,
        #[cfg(feature = "rustls")]
        tls: None,
    }
}

enum Dest {
    Unix(PathBuf),
    Udp(String),
}

/// A datagram transport (unix datagram, UDP): one message per datagram,
/// opened lazily, dropped on any error so that the next write opens it
/// again.
struct Datagram {
    to: Dest,
    sock: Option<DatagramSocket>,
}

enum DatagramSocket {
    Unix(std::os::unix::net::UnixDatagram),
    Udp(UdpSocket),
}

impl Datagram {
    fn connect(&mut self) -> io::Result<&mut DatagramSocket> {
        if self.sock.is_none() {
            let sock = match &self.to {
                Dest::Unix(p) => {
                    let s = std::os::unix::net::UnixDatagram::unbound()?;
                    s.connect(p)?;
                    s.set_write_timeout(Some(WRITE_TIMEOUT))?;
                    DatagramSocket::Unix(s)
                }
                Dest::Udp(a) => {
                    let addr = resolve(a)?;
                    let s = UdpSocket::bind(if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })?;
                    s.connect(addr)?;
                    s.set_write_timeout(Some(WRITE_TIMEOUT))?;
                    DatagramSocket::Udp(s)
                }
            };
            self.sock = Some(sock);
        }
        self.sock.as_mut().ok_or_else(|| io::Error::other("no socket"))
    }

    /// Sends the first datagram framed in `buf` (4-byte length, message).
    fn send_datagram(&mut self, buf: &[u8]) -> io::Result<usize> {
        let len = buf.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
        let Some(msg) = len.and_then(|n| buf.get(4..4 + n)) else {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "malformed datagram frame"));
        };
        let sent = match self.connect()? {
            DatagramSocket::Unix(s) => s.send(msg),
            DatagramSocket::Udp(s) => s.send(msg),
        }?;
        if sent != msg.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "datagram sent in part"));
        }
        Ok(4 + msg.len())
    }
}

fn resolve(addr: &str) -> io::Result<std::net::SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{addr} resolves to no address")))
}

/// A datagram transport has no path to reopen (it reconnects after errors).
impl SinkOut for Datagram {}

impl Write for Datagram {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.send_datagram(buf);
        if r.is_err() {
            self.sock = None;
        }
        r.map_err(collector_gone)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_per_transport() {
        let udp = Syslog::udp("127.0.0.1:514").spec();
        assert_eq!((udp.framing, udp.max_len, udp.facility), (WireFraming::Datagram, 1472, 1));
        let udp3164 = Syslog::udp("127.0.0.1:514").format(SyslogFormat::Rfc3164).spec();
        assert_eq!(udp3164.max_len, 1024);
        let tcp = Syslog::tcp("127.0.0.1:514").facility(Facility::Local0).spec();
        assert_eq!((tcp.framing, tcp.max_len, tcp.facility), (WireFraming::OctetCounting, 8192, 16));
        assert_eq!(Syslog::tcp("x:1").framing(Framing::Lf).spec().framing, WireFraming::Lf);
        assert_eq!(Syslog::unix_stream("/x").spec().framing, WireFraming::Lf);
        assert_eq!(Syslog::unix_default().spec().framing, WireFraming::Datagram);
        let named = Syslog::unix("/x").app_name("my app").msgid("a b").hostname("h h").spec();
        assert_eq!(
            (named.app_name.as_str(), named.msgid.as_deref(), named.hostname.as_str()),
            ("my_app", Some("a_b"), "h_h")
        );
        assert_eq!(Syslog::udp("x:1").max_message_len(10).spec().max_len, 64);
    }
}
