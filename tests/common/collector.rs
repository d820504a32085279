//! Real collectors for the sink tests: a private rsyslog and a private
//! syslog-ng, each started on loopback with its own config, ports and
//! sockets, and stopped by its PID. tests/syslog.rs uses their syslog
//! inputs, tests/tcp.rs their NDJSON input.
//!
//! Every collector listens on:
//! - `udp`, `tcp` (RFC 6587 octet counting or LF), `tcp_lf` (LF), `sock`
//!   (unix datagram), and with syslog-ng `stream_sock` (unix stream): syslog,
//!   written to `out` as one JSON object per message (`pri`, `app`,
//!   `procid`, `msgid`, `host`, `sd`, `msg`);
//! - `json`: NDJSON over TCP, one record per line, no syslog header. A line
//!   the collector parses as JSON goes to `json_out` (rsyslog: the parsed
//!   object, re-serialized by mmjsonparse; syslog-ng: the value of `seq`
//!   and `msg` as json-parser() found them, a space, the line as it
//!   arrived); a line it cannot parse goes to `json_bad` as it arrived.
//!
//! `.ci/test` installs rsyslog and unpacks syslog-ng-core into
//! `target/syslog-ng` (the two Debian packages conflict). Without them the
//! tests fail, naming what is missing and how to get it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TempDir;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Rsyslog,
    SyslogNg,
}

/// A collector running as a private process.
pub struct Collector {
    pub kind: Kind,
    child: Option<Child>,
    pub dir: TempDir,
    pub udp: u16,
    pub tcp: u16,
    pub tcp_lf: u16,
    /// NDJSON over TCP.
    pub json: u16,
    pub sock: PathBuf,
    /// syslog-ng only: a unix stream socket (rsyslog has no such input).
    pub stream_sock: PathBuf,
    pub out: PathBuf,
    pub json_out: PathBuf,
    pub json_bad: PathBuf,
    /// syslog-ng only, when asked for: NDJSON over TLS (port, certificate
    /// and key PEM files), to `json_out` and `json_bad` as `json`.
    pub tls: Option<(u16, PathBuf, PathBuf)>,
    exe: PathBuf,
}

/// A collector the test needs is not installed: the test fails, saying what
/// is missing and how to get it.
fn missing(what: &str, how: &str) -> ! {
    panic!("\n\n*** {what} NOT FOUND: this test needs it. Run .ci/test, which installs it ({how}). ***\n");
}

fn find_rsyslogd() -> Option<PathBuf> {
    ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// The syslog-ng binary unpacked by .ci/test (`dpkg -x` of syslog-ng-core),
/// or one on the system.
fn find_syslog_ng() -> Option<(PathBuf, Option<PathBuf>)> {
    let root = std::env::var_os("LOGJET_SYSLOG_NG_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/syslog-ng"));
    let unpacked = root.join("usr/sbin/syslog-ng");
    if unpacked.exists() {
        return Some((unpacked, Some(root)));
    }
    ["/usr/sbin/syslog-ng", "/sbin/syslog-ng"].iter().map(PathBuf::from).find(|p| p.exists()).map(|p| (p, None))
}

impl Collector {
    pub fn start_new(kind: Kind) -> Collector {
        match kind {
            Kind::Rsyslog => Collector::rsyslog(),
            Kind::SyslogNg => Collector::syslog_ng(),
        }
    }

    pub fn rsyslog() -> Collector {
        let Some(exe) = find_rsyslogd() else {
            missing("rsyslogd (looked for /usr/sbin/rsyslogd and /sbin/rsyslogd)", "or: apt-get install -y rsyslog");
        };
        let mut c = Collector::new(Kind::Rsyslog, exe);
        c.start();
        c
    }

    pub fn syslog_ng() -> Collector {
        Collector::syslog_ng_with(None)
    }

    /// syslog-ng with a TLS input for NDJSON besides the others, serving
    /// this certificate (PEM, with its chain) and key (PEM).
    pub fn syslog_ng_tls(cert: &Path, key: &Path) -> Collector {
        Collector::syslog_ng_with(Some((cert.to_path_buf(), key.to_path_buf())))
    }

    fn syslog_ng_with(tls: Option<(PathBuf, PathBuf)>) -> Collector {
        let Some((exe, _)) = find_syslog_ng() else {
            missing(
                "syslog-ng (looked for target/syslog-ng/usr/sbin/syslog-ng and /usr/sbin/syslog-ng)",
                "it unpacks Debian's syslog-ng-core into target/syslog-ng, as the package conflicts with rsyslog; \
                 LOGJET_SYSLOG_NG_ROOT may name another such directory",
            );
        };
        let mut c = Collector::new(Kind::SyslogNg, exe);
        c.tls = tls.map(|(cert, key)| (super::restart_port(), cert, key));
        c.start();
        c
    }

    fn new(kind: Kind, exe: PathBuf) -> Collector {
        let dir = TempDir::new(match kind {
            Kind::Rsyslog => "rsyslog",
            Kind::SyslogNg => "syslog-ng",
        });
        Collector {
            kind,
            child: None,
            udp: super::restart_port(),
            tcp: super::restart_port(),
            tcp_lf: super::restart_port(),
            json: super::restart_port(),
            sock: dir.join("log.sock"),
            stream_sock: dir.join("stream.sock"),
            out: dir.join("out.jsonl"),
            json_out: dir.join("json.out"),
            json_bad: dir.join("json.bad"),
            tls: None,
            dir,
            exe,
        }
    }

    fn config(&self) -> PathBuf {
        let d = self.dir.0.display();
        // Named once, for both configurations' placeholders.
        let (udp, tcp, tcp_lf, json) = (self.udp, self.tcp, self.tcp_lf, self.json);
        let (sock, stream_sock) = (self.sock.display(), self.stream_sock.display());
        let (out, json_out, json_bad) = (self.out.display(), self.json_out.display(), self.json_bad.display());
        let (conf, text) = match self.kind {
            Kind::Rsyslog => (
                self.dir.join("rsyslog.conf"),
                format!(
                    r#"global(workDirectory="{d}" maxMessageSize="64k")
module(load="imudp")
module(load="imtcp")
module(load="imuxsock" SysSock.Use="off")
module(load="mmjsonparse")
input(type="imudp" address="127.0.0.1" port="{udp}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
input(type="imtcp" address="127.0.0.1" port="{tcp_lf}")
input(type="imtcp" address="127.0.0.1" port="{json}" ruleset="ndjson")
input(type="imuxsock" Socket="{sock}" UseSpecialParser="off" ParseHostname="on")
template(name="j" type="list" option.jsonf="on") {{
  property(outname="pri" name="pri" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}}
template(name="parsed" type="string" string="%$!all-json-plain%\n")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="ndjson") {{
  action(type="mmjsonparse" cookie="" useRawMsg="on")
  if $parsesuccess == "OK" then {{
    action(type="omfile" file="{json_out}" template="parsed")
  }} else {{
    action(type="omfile" file="{json_bad}" template="raw")
  }}
}}
action(type="omfile" file="{out}" template="j")
"#
                ),
            ),
            Kind::SyslogNg => (
                self.dir.join("syslog-ng.conf"),
                format!(
                    r#"@version: 3.38
options {{ keep-hostname(yes); chain-hostnames(no); stats-freq(0); log-msg-size(65536); log-fifo-size(100000); }};
source s {{
  network(ip("127.0.0.1") port({udp}) transport("udp") flags(syslog-protocol));
  syslog(ip("127.0.0.1") port({tcp}) transport("tcp") max-connections(100) log-iw-size(10000));
  network(ip("127.0.0.1") port({tcp_lf}) transport("tcp") flags(syslog-protocol) max-connections(100) log-iw-size(10000));
  unix-dgram("{sock}" flags(syslog-protocol));
  unix-stream("{stream_sock}" flags(syslog-protocol));
}};
destination d {{ file("{out}" template("$(format-json pri=${{PRI}} app=${{PROGRAM}} procid=${{PID}} msgid=${{MSGID}} host=${{HOST}} sd=${{SDATA}} msg=${{MESSAGE}})\n")); }};
log {{ source(s); destination(d); }};
source s_json {{
  network(ip("127.0.0.1") port({json}) transport("tcp") flags(no-parse) max-connections(100) log-iw-size(10000));
}};
parser p_json {{ json-parser(prefix(".json.")); }};
destination d_json {{ file("{json_out}" template("${{.json.seq}} ${{MESSAGE}}\n")); }};
destination d_bad {{ file("{json_bad}" template("${{MESSAGE}}\n")); }};
log {{
  source(s_json);
  if {{ parser(p_json); destination(d_json); }} else {{ destination(d_bad); }};
}};
{tls}"#,
                    tls = self.tls.as_ref().map_or(String::new(), |(port, cert, key)| format!(
                        r#"source s_tls {{
  network(ip("127.0.0.1") port({port}) transport("tls") flags(no-parse) max-connections(100) log-iw-size(10000)
          tls(cert-file("{cert}") key-file("{key}") peer-verify(optional-untrusted)));
}};
log {{
  source(s_tls);
  if {{ parser(p_json); destination(d_json); }} else {{ destination(d_bad); }};
}};
"#,
                        cert = cert.display(),
                        key = key.display(),
                    )),
                ),
            ),
        };
        std::fs::write(&conf, text).unwrap();
        conf
    }

    /// Starts the collector (again, after `stop`: same config, same ports)
    /// and waits until every input listens.
    pub fn start(&mut self) {
        let conf = self.config();
        let d = &self.dir.0;
        let mut cmd = match self.kind {
            Kind::Rsyslog => {
                let mut c = Command::new(&self.exe);
                c.arg("-n").arg("-f").arg(&conf).arg("-i").arg(d.join("rsyslog.pid"));
                c
            }
            Kind::SyslogNg => {
                let mut c = Command::new(&self.exe);
                c.arg("-F")
                    .arg("-f")
                    .arg(&conf)
                    .arg(format!("--persist-file={}", d.join("persist").display()))
                    .arg(format!("--pidfile={}", d.join("syslog-ng.pid").display()))
                    .arg(format!("--control={}", d.join("ctl").display()));
                if let Some((_, Some(root))) = find_syslog_ng() {
                    c.env("LD_LIBRARY_PATH", root.join("usr/lib/syslog-ng"))
                        .arg(format!("--module-path={}", root.join("usr/lib/syslog-ng/3.38").display()));
                }
                c
            }
        };
        let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
        self.child = Some(child);
        // Ready once every input listens.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let tcp = [self.tcp, self.tcp_lf, self.json]
                .iter()
                .chain(self.tls.as_ref().map(|(port, _, _)| port))
                .all(|&port| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
            if tcp && self.sock.exists() && self.udp_listens() {
                break;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("{:?} exited at start-up: {status}", self.kind);
            }
            assert!(Instant::now() < deadline, "{:?} did not start listening", self.kind);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the UDP input is bound: a probe datagram (which the
    /// collector logs under another app name) draws no "port unreachable".
    fn udp_listens(&self) -> bool {
        let Ok(probe) = std::net::UdpSocket::bind("127.0.0.1:0") else { return false };
        if probe.connect(("127.0.0.1", self.udp)).is_err() || probe.send(b"<14>readiness probe").is_err() {
            return false;
        }
        let _ = probe.set_read_timeout(Some(Duration::from_millis(50)));
        let mut buf = [0u8; 16];
        // Nothing comes back from a collector; an ICMP refusal comes back as
        // ConnectionRefused. A timeout means the port is bound.
        match probe.recv(&mut buf) {
            Err(e) => e.kind() != std::io::ErrorKind::ConnectionRefused,
            Ok(_) => true,
        }
    }

    /// Stops the collector by its PID (SIGTERM, then SIGKILL if it lingers).
    pub fn stop(&mut self) {
        self.signal_and_wait("TERM");
    }

    /// Kills the collector by its PID with SIGKILL: a crash, nothing flushed.
    pub fn kill(&mut self) {
        self.signal_and_wait("KILL");
    }

    fn signal_and_wait(&mut self, signal: &str) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args([&format!("-{signal}"), &pid]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = Command::new("kill").args(["-KILL", &pid]).status();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = std::fs::remove_file(&self.sock);
        }
    }

    /// The whole lines of `path`, waiting (up to 20 s) until `done` says
    /// enough arrived and no more arrive.
    pub fn lines_of(&self, path: &Path, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = usize::MAX;
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            // Only whole lines: the collector may be writing the last one.
            let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
            let got: Vec<String> = whole.lines().map(str::to_string).collect();
            if (done(&got) && got.len() == last) || Instant::now() > deadline {
                return got;
            }
            last = got.len();
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The received syslog messages whose app name is `app`, waiting (up to
    /// 20 s) until at least `n` arrived and no more arrive.
    pub fn received(&self, app: &str, n: usize) -> Vec<Value> {
        self.received_until(app, |ours| ours.len() >= n)
    }

    /// The received syslog messages whose app name is `app`, waiting (up to
    /// 20 s) until `done` says enough arrived and no more arrive.
    pub fn received_until(&self, app: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let parse =
            |l: &String| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("collector output {l}: {e}"));
        let ours = |lines: &[String]| lines.iter().map(parse).filter(|v| v["app"] == app).collect::<Vec<_>>();
        let lines = self.lines_of(&self.out, |got| done(&ours(got)));
        ours(&lines)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop();
    }
}
