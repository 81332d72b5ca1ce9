//! IPFIX export (RFC 7011) to a collector over UDP or TCP, or to an IPFIX
//! file (RFC 5655): docs/ipfix.md.
//!
//! The same records as the other writers, in the same order; each
//! [`IpfixWriter::write`] ends its last message, so a live interval's
//! records leave when the interval closes. A collector that is down never
//! stops the run: what could not be sent is counted in [`IpfixCounters`].

mod encode;
#[cfg(test)]
mod tests;

use std::{
    io::{self, Write},
    net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket},
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use flowagg::FlowRecord;

use encode::{Encoder, Message};
pub use encode::{MAX_MTU, MIN_MTU};

use crate::{Error, Output, RunInfo};

/// The observation domain of every message: one for the whole export
/// (docs/ipfix.md, "The observation point").
pub const OBSERVATION_DOMAIN: u32 = 1;
/// How long a TCP connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one TCP write may block on a collector that does not read,
/// before the connection is given up (and reopened after the back-off).
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait after a failed TCP connection; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two TCP connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Where IPFIX goes: `udp://HOST:PORT`, `tcp://HOST:PORT` or a file path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A collector over UDP: one message per datagram.
    Udp(SocketAddr),
    /// A collector over TCP: a stream of messages.
    Tcp(SocketAddr),
    /// An IPFIX file (RFC 5655), written atomically.
    File(PathBuf),
}

impl Destination {
    /// Parses `-o`: a `udp://` or `tcp://` address (IPv6 in brackets,
    /// `[::1]:4739`; a host name is resolved now), else a file path.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let network = |rest: &str| -> Result<SocketAddr, Error> {
            let fail = |source| Error::Address {
                text: text.to_owned(),
                source,
            };
            rest.to_socket_addrs()
                .map_err(fail)?
                .next()
                .ok_or_else(|| fail(io::Error::other("the name has no address")))
        };
        if let Some(rest) = text.strip_prefix("udp://") {
            Ok(Destination::Udp(network(rest)?))
        } else if let Some(rest) = text.strip_prefix("tcp://") {
            Ok(Destination::Tcp(network(rest)?))
        } else {
            Ok(Destination::File(PathBuf::from(text)))
        }
    }
}

/// IPFIX settings.
#[derive(Debug, Clone, PartialEq)]
pub struct IpfixOptions {
    /// Largest message in bytes (`--ipfix-mtu`), [`MIN_MTU`]..=[`MAX_MTU`].
    pub mtu: usize,
    /// How often templates are sent again over UDP (`--template-refresh`).
    pub template_refresh: Duration,
}

impl Default for IpfixOptions {
    fn default() -> Self {
        IpfixOptions {
            mtu: 1400,
            template_refresh: Duration::from_secs(60),
        }
    }
}

/// What the export sent and lost, shared with the statistics and metrics.
#[derive(Debug, Default)]
pub struct IpfixCounters {
    /// Messages handed to the network or written to the file.
    pub messages: AtomicU64,
    /// Flow records in those messages.
    pub records: AtomicU64,
    /// Sends that failed: UDP errors (a closed port on the collector's host
    /// answers ECONNREFUSED), TCP writes and connection attempts.
    pub send_errors: AtomicU64,
    /// Flow records in messages that were not sent (a failed UDP send, or
    /// TCP while the connection was down).
    pub records_lost: AtomicU64,
    /// TCP connections made (the first and each reconnection).
    pub connections: AtomicU64,
}

impl IpfixCounters {
    fn sent(&self, message: &Message<'_>) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.records
            .fetch_add(u64::from(message.flow_records), Ordering::Relaxed);
    }

    fn lost(&self, message: &Message<'_>) {
        self.records_lost
            .fetch_add(u64::from(message.flow_records), Ordering::Relaxed);
    }
}

/// Records to IPFIX messages, to a collector or a file.
#[derive(Debug)]
pub struct IpfixWriter {
    encoder: Encoder,
    transport: Transport,
    counters: Arc<IpfixCounters>,
    refresh: Duration,
    /// When the templates were last put into a message (UDP refresh).
    templates_at: Instant,
}

#[derive(Debug)]
enum Transport {
    Udp(UdpSocket),
    Tcp(TcpLink),
    File(Output),
}

impl IpfixWriter {
    /// Opens `destination` now: a file is created, or a UDP socket
    /// connected (no packet is sent yet). A TCP connection is made at the
    /// first write, and a collector that is down does not fail the run.
    pub fn open(
        destination: &Destination,
        options: &IpfixOptions,
        run: &RunInfo,
        counters: Arc<IpfixCounters>,
    ) -> Result<Self, Error> {
        if !(MIN_MTU..=MAX_MTU).contains(&options.mtu) {
            return Err(Error::Mtu { mtu: options.mtu });
        }
        let transport = match destination {
            Destination::Udp(addr) => {
                Transport::Udp(udp_socket(*addr).map_err(|source| Error::Connect {
                    target: format!("udp://{addr}"),
                    source,
                })?)
            }
            Destination::Tcp(addr) => Transport::Tcp(TcpLink::new(*addr)),
            Destination::File(path) => Transport::File(Output::open(path)?),
        };
        // Packet sampling rate 1/N back to N (the writer states N).
        let one_in = (1.0 / run.packet_rate).round().max(1.0) as u64;
        Ok(IpfixWriter {
            encoder: Encoder::new(options.mtu, OBSERVATION_DOMAIN, one_in),
            transport,
            counters,
            refresh: options.template_refresh,
            templates_at: Instant::now(),
        })
    }

    /// Writes records as messages; the last one is sent before this returns.
    pub fn write(&mut self, records: &[FlowRecord]) -> Result<(), Error> {
        self.before_messages();
        let time = export_time();
        let IpfixWriter {
            encoder,
            transport,
            counters,
            ..
        } = self;
        let mut failed = None;
        let mut send = |message: Message<'_>| {
            if failed.is_none() {
                if let Err(e) = transport.send(&message, counters) {
                    failed = Some(e);
                }
            }
        };
        for record in records {
            encoder.record(record, &mut send, time);
        }
        encoder.finish(&mut send, time);
        failed.map_or(Ok(()), Err)
    }

    /// A live run's tick: templates due for a refresh are sent even when no
    /// record is, so a collector that starts late can decode soon.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.before_messages();
        self.send_templates()?;
        match &mut self.transport {
            Transport::File(out) => out.flush().map_err(|source| out.write_error(source)),
            Transport::Udp(_) | Transport::Tcp(_) => Ok(()),
        }
    }

    /// Sends the templates if no message carried them yet (a run without
    /// records still leaves a valid IPFIX file), and closes the output.
    pub fn finish(mut self) -> Result<(), Error> {
        self.send_templates()?;
        match self.transport {
            Transport::File(out) => out.finish(),
            Transport::Udp(_) | Transport::Tcp(_) => Ok(()),
        }
    }

    /// Marks templates due when a new TCP connection is up (a new stream)
    /// or the UDP refresh time has passed.
    fn before_messages(&mut self) {
        match &mut self.transport {
            Transport::Tcp(link) => {
                if link.ensure_connected(&self.counters) {
                    self.encoder.new_stream();
                }
            }
            Transport::Udp(_) => {
                if self.templates_at.elapsed() >= self.refresh {
                    self.encoder.templates_due();
                    self.templates_at = Instant::now();
                }
            }
            Transport::File(_) => {}
        }
    }

    fn send_templates(&mut self) -> Result<(), Error> {
        let IpfixWriter {
            encoder,
            transport,
            counters,
            ..
        } = self;
        let mut result = Ok(());
        encoder.finish_templates(
            &mut |message| result = transport.send(&message, counters),
            export_time(),
        );
        result
    }
}

impl Transport {
    /// Sends one message. Only a file's failure is an error: a collector
    /// that cannot be reached is counted, and the run goes on.
    fn send(&mut self, message: &Message<'_>, counters: &IpfixCounters) -> Result<(), Error> {
        match self {
            Transport::Udp(socket) => match socket.send(message.bytes) {
                Ok(_) => counters.sent(message),
                Err(_) => {
                    counters.send_errors.fetch_add(1, Ordering::Relaxed);
                    counters.lost(message);
                }
            },
            Transport::Tcp(link) => link.send(message, counters),
            Transport::File(out) => {
                out.write_all(message.bytes)
                    .map_err(|source| out.write_error(source))?;
                counters.sent(message);
            }
        }
        Ok(())
    }
}

/// A UDP socket of the collector's address family, connected to it, so that
/// the kernel reports a closed port (ICMP port unreachable) on a later send.
fn udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    let any: SocketAddr = if addr.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(any)?;
    socket.connect(addr)?;
    Ok(socket)
}

/// A TCP connection to a collector that may come and go: reconnected with
/// a doubling back-off, messages written while it is down counted as lost.
#[derive(Debug)]
struct TcpLink {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    /// No attempt before this.
    next_attempt: Instant,
    backoff: Duration,
}

impl TcpLink {
    fn new(addr: SocketAddr) -> Self {
        TcpLink {
            addr,
            stream: None,
            next_attempt: Instant::now(),
            backoff: FIRST_BACKOFF,
        }
    }

    /// Connects if down and the back-off has passed; true if a new
    /// connection was made (templates go first on it).
    fn ensure_connected(&mut self, counters: &IpfixCounters) -> bool {
        if self.stream.is_some() || Instant::now() < self.next_attempt {
            return false;
        }
        let connected = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT).and_then(|s| {
            s.set_write_timeout(Some(WRITE_TIMEOUT))?;
            s.set_nodelay(true)?;
            Ok(s)
        });
        match connected {
            Ok(stream) => {
                self.stream = Some(stream);
                self.backoff = FIRST_BACKOFF;
                counters.connections.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(_) => {
                counters.send_errors.fetch_add(1, Ordering::Relaxed);
                self.wait();
                false
            }
        }
    }

    fn wait(&mut self) {
        self.next_attempt = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    fn send(&mut self, message: &Message<'_>, counters: &IpfixCounters) {
        let Some(stream) = &mut self.stream else {
            counters.lost(message);
            return;
        };
        match stream.write_all(message.bytes) {
            Ok(()) => counters.sent(message),
            Err(_) => {
                // Part of the message may have left: the stream is no longer
                // framed, so it is closed and a new one started later.
                self.stream = None;
                counters.send_errors.fetch_add(1, Ordering::Relaxed);
                counters.lost(message);
                self.wait();
            }
        }
    }
}

/// Export time: seconds since the epoch, as the message header holds it.
fn export_time() -> u32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(secs).unwrap_or(u32::MAX)
}
