//! `sink::Tcp`: NDJSON lines over TCP (TLS with the `rustls` feature) to a
//! collector: Vector, Fluent Bit, Logstash, rsyslog, syslog-ng.

use std::fmt;
use std::time::Duration;

use super::private::{Format, Sealed, Target};
use super::stream::{self, Boundary, Stream};
use super::Sink;
use crate::tunables::{TCP_CONNECT_TIMEOUT, TCP_REPLAY_BYTES, TCP_WRITE_TIMEOUT};

/// NDJSON over TCP: one record per line, as [`Stdout`](super::Stdout)
/// writes them, to a collector's TCP input (Vector's `socket` source,
/// Fluent Bit's `tcp` input, Logstash's `tcp` input with the `json_lines`
/// codec, rsyslog's `imtcp`, syslog-ng's `network()`).
///
/// ```no_run
/// use std::time::Duration;
/// use logjet::{sink, Logger, Overflow};
///
/// let (log, guard) = Logger::builder()
///     .overflow(Overflow::Block)        // wait for the collector, lose nothing
///     .sink(sink::Tcp::new("collector.internal:5170").connect_timeout(Duration::from_secs(2)))
///     .build()?;
/// logjet::info!(log, "shipped", order = 42);
/// guard.shutdown()?;
/// # Ok::<(), logjet::Error>(())
/// ```
///
/// - **Only the output thread touches the network.** The connection is
///   opened on the first write and opened again, with the output thread's
///   backoff (1 ms doubling to 1 s), whenever it fails; each failure is
///   reported on stderr (one message per 10 s per sink, naming the sink and
///   the collector) and counted in [`Stats::write_errors`](crate::Stats).
///   Meanwhile records wait in the bounded queues: under
///   [`Overflow::Block`](crate::Overflow::Block) callers wait once a queue
///   is full, under `Drop` they drop and count.
/// - **Whole lines only.** A record counts as written
///   ([`Stats::written`](crate::Stats)) once the kernel took its whole line;
///   a line cut by a failure goes again, whole, on the next connection. A
///   collector that closed the connection is noticed before the next batch
///   is written into it.
/// - **Nothing lost when the collector restarts.** What the kernel took may
///   still sit unread in the collector's socket when it stops. The sink
///   keeps the last [`replay`](Tcp::replay) bytes of lines (1 MiB by
///   default) and sends them again first thing on the next connection after
///   any connection ended without the sink closing it: at least once. The
///   collector may receive up to that window twice per such end; records
///   carry their `time` (and any id you log) to tell. A collector that
///   falls behind a fast stream can hold megabytes unread: size the window
///   to what it may hold at your rate (docs/tcp.md has measurements).
/// - Names resolve at each connection; each address is tried in turn.
#[derive(Clone)]
pub struct Tcp {
    addr: String,
    name: Option<String>,
    opts: stream::Options,
}

impl fmt::Debug for Tcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tcp")
            .field("name", &self.sink_name())
            .field("connect_timeout", &self.opts.connect_timeout)
            .field("write_timeout", &self.opts.write_timeout)
            .field("replay", &self.opts.replay)
            .finish_non_exhaustive()
    }
}

impl Tcp {
    /// NDJSON to `addr` (`"host:port"`, `"10.0.0.5:5170"`, `"[::1]:5170"`).
    /// Nothing is checked or opened until the first write: a collector
    /// that is not up yet is waited for.
    pub fn new(addr: impl Into<String>) -> Tcp {
        Tcp {
            addr: addr.into(),
            name: None,
            opts: stream::Options {
                connect_timeout: TCP_CONNECT_TIMEOUT,
                write_timeout: TCP_WRITE_TIMEOUT,
                replay: TCP_REPLAY_BYTES,
                #[cfg(feature = "rustls")]
                tls: None,
            },
        }
    }

    /// Names the sink in stderr reports (default `"tcp ADDR"`, or
    /// `"tcp+tls ADDR"`).
    ///
    /// ```
    /// let sink = logjet::sink::Tcp::new("127.0.0.1:5170").name("vector");
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Tcp {
        self.name = Some(name.into());
        self
    }

    /// The longest wait to connect to one address of the collector, and for
    /// the TLS handshake (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Tcp {
        self.opts.connect_timeout = nonzero(timeout);
        self
    }

    /// The longest one write may block (the collector not reading) before
    /// the connection counts as failed and is opened again (default 10 s).
    pub fn write_timeout(mut self, timeout: Duration) -> Tcp {
        self.opts.write_timeout = nonzero(timeout);
        self
    }

    /// The replay window: how many bytes of the last lines written are sent
    /// again after a connection ended unexpectedly (default 1 MiB; the
    /// sink holds up to 64 KiB more). `0` turns it off: nothing is ever
    /// sent twice, and what the collector had not read when it went away
    /// is lost, as with `Syslog::tcp`.
    ///
    /// ```
    /// use logjet::sink::Tcp;
    ///
    /// let at_most_once = Tcp::new("127.0.0.1:5170").replay(0);
    /// let big_window = Tcp::new("127.0.0.1:5170").replay(16 << 20);
    /// ```
    pub fn replay(mut self, bytes: usize) -> Tcp {
        self.opts.replay = bytes;
        self
    }

    /// TLS to the collector (feature `rustls`): the server's certificate
    /// is checked against the system's roots, or the CA file of `tls`, for
    /// the name in the address (or [`TlsOptions::server_name`]). Fails when
    /// a file cannot be read or holds no certificate, or the name is not a
    /// valid server name.
    ///
    /// ```no_run
    /// use logjet::sink::{Tcp, TlsOptions};
    ///
    /// let sink = Tcp::new("collector.internal:6514").tls(TlsOptions::new().ca_file("/etc/collector/ca.pem"))?;
    /// let (log, _guard) = logjet::Logger::builder().sink(sink).build()?;
    /// # Ok::<(), logjet::Error>(())
    /// ```
    #[cfg(feature = "rustls")]
    pub fn tls(mut self, tls: TlsOptions) -> Result<Tcp, crate::Error> {
        self.opts.tls = Some(tls.build(&self.addr)?);
        Ok(self)
    }

    fn sink_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        #[cfg(feature = "rustls")]
        if self.opts.tls.is_some() {
            return format!("tcp+tls {}", self.addr);
        }
        format!("tcp {}", self.addr)
    }
}

fn nonzero(d: Duration) -> Duration {
    // A zero timeout means "none" to the socket calls: the smallest one.
    d.max(Duration::from_millis(1))
}

impl Sink for Tcp {}
impl Sealed for Tcp {
    fn into_target(self) -> Target {
        let name = self.sink_name();
        let out = Stream::new(stream::Endpoint::Tcp(self.addr), Boundary::Lf, self.opts).named(name.clone());
        Target { name, out: Box::new(out), format: Format::Json }
    }
}

/// TLS settings of [`Tcp::tls`] (feature `rustls`).
///
/// By default the collector's certificate is checked against the system's
/// roots (read by `rustls-native-certs`: `/etc/ssl/certs` and the like,
/// `SSL_CERT_FILE`, `SSL_CERT_DIR`), for the host name of the address.
///
/// ```no_run
/// use logjet::sink::{Tcp, TlsOptions};
///
/// // A private CA, a collector reached by IP whose certificate names
/// // "collector.internal", and a client certificate (mutual TLS).
/// let tls = TlsOptions::new()
///     .ca_file("/etc/logjet/ca.pem")
///     .server_name("collector.internal")
///     .client_auth("/etc/logjet/client.pem", "/etc/logjet/client.key");
/// let sink = Tcp::new("10.0.0.5:6514").tls(tls)?;
/// # Ok::<(), logjet::Error>(())
/// ```
#[cfg(feature = "rustls")]
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    ca_file: Option<std::path::PathBuf>,
    server_name: Option<String>,
    client_auth: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

#[cfg(feature = "rustls")]
impl TlsOptions {
    /// The system's roots, the address's host name, no client certificate.
    pub fn new() -> TlsOptions {
        TlsOptions::default()
    }

    /// Trusts only the certificates of this PEM file (a private CA)
    /// instead of the system's roots.
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> TlsOptions {
        self.ca_file = Some(path.into());
        self
    }

    /// The name the collector's certificate must carry (default: the host
    /// of the address; an IP address is checked as one).
    pub fn server_name(mut self, name: impl Into<String>) -> TlsOptions {
        self.server_name = Some(name.into());
        self
    }

    /// Presents a client certificate: a PEM file with the certificate (and
    /// its chain), and one with its private key (PKCS#8, PKCS#1 or SEC1).
    pub fn client_auth(
        mut self,
        cert: impl Into<std::path::PathBuf>,
        key: impl Into<std::path::PathBuf>,
    ) -> TlsOptions {
        self.client_auth = Some((cert.into(), key.into()));
        self
    }

    fn build(&self, addr: &str) -> Result<stream::Tls, crate::Error> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
        use std::sync::Arc;

        let err = |what: String| crate::Error::config(format!("sink::Tcp to {addr}: {what}"));
        let mut roots = rustls::RootCertStore::empty();
        match &self.ca_file {
            Some(path) => {
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .and_then(|it| it.collect())
                    .map_err(|e| err(format!("cannot read the CA file {}: {e}", path.display())))?;
                for c in certs {
                    roots.add(c).map_err(|e| err(format!("a certificate of {} is invalid: {e}", path.display())))?;
                }
                if roots.is_empty() {
                    return Err(err(format!("the CA file {} holds no certificate", path.display())));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    let why = found.errors.first().map(|e| format!(" ({e})")).unwrap_or_default();
                    return Err(err(format!("no root certificate found on this system{why}; give a CA file")));
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| err(e.to_string()))?
            .with_root_certificates(roots);
        let config = match &self.client_auth {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                    .and_then(|it| it.collect())
                    .map_err(|e| err(format!("cannot read the client certificate {}: {e}", cert.display())))?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| err(format!("cannot read the client key {}: {e}", key.display())))?;
                builder.with_client_auth_cert(chain, key).map_err(|e| err(format!("client certificate: {e}")))?
            }
        };
        let name = match &self.server_name {
            Some(n) => n.clone(),
            None => host_of(addr).to_string(),
        };
        let server_name =
            ServerName::try_from(name.clone()).map_err(|e| err(format!("{name:?} is not a server name: {e}")))?;
        Ok(stream::Tls { config: Arc::new(config), server_name })
    }
}

/// The host of `host:port` (`[v6]:port` without its brackets).
#[cfg(feature = "rustls")]
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_names() {
        let t = Tcp::new("127.0.0.1:5170");
        assert_eq!(t.sink_name(), "tcp 127.0.0.1:5170");
        assert_eq!(t.opts.connect_timeout, TCP_CONNECT_TIMEOUT);
        assert_eq!(t.opts.write_timeout, TCP_WRITE_TIMEOUT);
        assert_eq!(t.opts.replay, TCP_REPLAY_BYTES);
        let t = t.name("vector").replay(0).write_timeout(Duration::ZERO);
        assert_eq!((t.sink_name().as_str(), t.opts.replay), ("vector", 0));
        assert_eq!(t.opts.write_timeout, Duration::from_millis(1));
    }

    #[cfg(feature = "rustls")]
    #[test]
    fn tls_settings_fail_clearly() {
        assert_eq!(host_of("collector:6514"), "collector");
        assert_eq!(host_of("[::1]:6514"), "::1");
        let e = Tcp::new("x:1").tls(TlsOptions::new().ca_file("/nonexistent/ca.pem")).unwrap_err();
        assert!(e.to_string().contains("cannot read the CA file /nonexistent/ca.pem"), "{e}");
        let e = Tcp::new("bad name:1").tls(TlsOptions::new().ca_file("/nonexistent")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent"), "{e}");
    }
}
