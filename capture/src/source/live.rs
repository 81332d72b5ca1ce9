//! Live capture from a network interface through libpcap.
//!
//! # Contract
//!
//! * **Checked before the first packet.** [`LiveCapture::open`] fails, with a
//!   message that says what to do, when the interface does not exist
//!   ([`Error::NoSuchInterface`]), when the process may not capture
//!   ([`Error::Permission`]: not root and no `CAP_NET_RAW`), when the
//!   interface's link type is not one [`crate::decode`] reads
//!   ([`Error::UnsupportedInterfaceLink`]), and when `--bpf` does not compile
//!   ([`Error::Filter`]). libpcap installs the filter before it hands out
//!   any packet (on Linux it filters the blocks already in the ring itself).
//! * **Lends, never copies.** [`LiveCapture::next_packet`] lends a
//!   [`RawPacket`] whose `data` points into libpcap's memory-mapped ring;
//!   it stays valid until the next call. Nothing is allocated per packet.
//! * **Never blocks for long.** The handle is non-blocking: `next_packet`
//!   returns `Ok(None)` when nothing is ready, and [`LiveCapture::wait`]
//!   sleeps in `poll(2)` for at most the time given. (A blocking libpcap
//!   handle on Linux's TPACKET_V3 ring ignores its timeout while the link is
//!   quiet, so a caller could not close intervals on the wall clock.) The
//!   kernel hands over a block of packets when it fills or after
//!   [`DELIVERY_TIMEOUT`], so a packet is readable at most that long after
//!   its timestamp, unless the reader is behind.
//! * **Kernel timestamps in nanoseconds.** On Linux libpcap is asked for
//!   nanosecond precision, which its Linux capture always offers; elsewhere
//!   microseconds, converted once here.
//! * **Drops.** [`LiveCapture::stats`] reads `pcap_stats` and keeps 64-bit
//!   totals (libpcap's counters are 32 bits and wrap): packets the kernel
//!   received for us, dropped for want of room in the ring, and dropped by
//!   the interface or its driver.

use std::time::Duration;

use pcap::{Active, Capture, Device};

use crate::{Error, LinkType, RawPacket, Timestamp};

/// The snaplen `live` uses unless told: every header of a mirrored packet
/// (outer Ethernet, VLANs, IPv6, the largest tunnel header, inner Ethernet,
/// inner IPv6 with extension headers, TCP with options) fits in 256 bytes,
/// and only headers are read.
pub const DEFAULT_SNAPLEN: u32 = 256;

/// The longest the kernel holds packets before handing them to libpcap
/// (libpcap's read timeout, which on Linux is the ring's block timeout).
pub const DELIVERY_TIMEOUT: Duration = Duration::from_millis(100);

/// What to open and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveConfig {
    /// Interface name (`any` for every interface, on Linux).
    pub interface: String,
    /// Bytes kept of each packet.
    pub snaplen: u32,
    /// Kernel ring size in bytes.
    pub buffer_bytes: u32,
    /// Promiscuous mode: see frames addressed to other hosts, as a mirror
    /// port delivers them.
    pub promiscuous: bool,
    /// A BPF filter expression (`--bpf`), compiled by libpcap.
    pub filter: Option<String>,
}

impl LiveConfig {
    /// Promiscuous capture of `interface` with the default snaplen, a 64 MiB
    /// ring and no filter.
    pub fn new(interface: &str) -> Self {
        LiveConfig {
            interface: interface.to_owned(),
            snaplen: DEFAULT_SNAPLEN,
            buffer_bytes: 64 << 20,
            promiscuous: true,
            filter: None,
        }
    }
}

/// Packet counts libpcap reports for a live capture, since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets the kernel received for this capture (after the filter;
    /// on Linux including those it then dropped).
    pub received: u64,
    /// Packets the kernel dropped because the ring was full: the reader was
    /// too slow. (`ps_drop`.)
    pub kernel_drops: u64,
    /// Packets the interface or its driver dropped (`ps_ifdrop`; on Linux
    /// the interface's own receive drop counter since the capture opened).
    pub interface_drops: u64,
}

/// An open live capture (see the module doc).
pub struct LiveCapture {
    capture: Capture<Active>,
    interface: String,
    index: u32,
    link: LinkType,
    /// Timestamp units per nanosecond divisor: 1 for ns, 1000 for µs.
    nanos_per_unit: u64,
    totals: LiveStats,
    last: pcap::Stat,
}

impl std::fmt::Debug for LiveCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveCapture")
            .field("interface", &self.interface)
            .field("index", &self.index)
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

impl LiveCapture {
    /// Opens and activates the interface, checks its link type and installs
    /// the filter. Packets are captured from here on.
    pub fn open(config: &LiveConfig) -> Result<Self, Error> {
        let interface = config.interface.as_str();
        let live = |cause| Error::Live {
            interface: interface.to_owned(),
            cause,
        };
        let index = interface_index(interface)?;
        // Linux libpcap always offers nanosecond live timestamps; elsewhere
        // (BSD, macOS) it may not, and a refused request would go unseen.
        let (precision, nanos_per_unit) = if cfg!(target_os = "linux") {
            (pcap::Precision::Nano, 1)
        } else {
            (pcap::Precision::Micro, 1000)
        };
        let capture = Capture::from_device(interface)
            .map_err(live)?
            .promisc(config.promiscuous)
            .snaplen(i32::try_from(config.snaplen).unwrap_or(i32::MAX))
            .buffer_size(i32::try_from(config.buffer_bytes).unwrap_or(i32::MAX))
            .timeout(DELIVERY_TIMEOUT.as_millis() as i32)
            .precision(precision)
            .open()
            .map_err(|e| activation_error(interface, e))?;
        let dlt = capture.get_datalink();
        let link = u16::try_from(dlt.0)
            .map(LinkType)
            .unwrap_or(LinkType(u16::MAX));
        check_link(interface, link, || dlt.get_name().unwrap_or_default())?;
        let mut capture = capture;
        if let Some(filter) = &config.filter {
            capture.filter(filter, true).map_err(|e| Error::Filter {
                filter: filter.clone(),
                message: pcap_message(&e),
            })?;
        }
        let capture = capture.setnonblock().map_err(live)?;
        Ok(LiveCapture {
            capture,
            interface: interface.to_owned(),
            index,
            link,
            nanos_per_unit,
            totals: LiveStats::default(),
            last: pcap::Stat {
                received: 0,
                dropped: 0,
                if_dropped: 0,
            },
        })
    }

    /// The next packet if one is ready, `Ok(None)` if none is: then
    /// [`LiveCapture::wait`].
    #[inline]
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, Error> {
        match self.capture.next_packet() {
            Ok(packet) => {
                let ts = &packet.header.ts;
                let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
                let units = u64::try_from(ts.tv_usec).unwrap_or(0);
                Ok(Some(RawPacket {
                    ts: Timestamp::from_parts(secs, units * self.nanos_per_unit),
                    link: self.link,
                    interface: self.index,
                    orig_len: packet.header.len,
                    data: packet.data,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => Ok(None),
            Err(cause) => Err(Error::Live {
                interface: self.interface.clone(),
                cause,
            }),
        }
    }

    /// Sleeps until packets may be ready or `timeout` passes (or a signal
    /// arrives); returns whether the handle became readable.
    pub fn wait(&self, timeout: Duration) -> Result<bool, Error> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let mut fds = [PollFd::new(&self.capture, PollFlags::IN)];
        let timeout = Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        match poll(&mut fds, Some(&timeout)) {
            Ok(n) => Ok(n > 0),
            Err(rustix::io::Errno::INTR) => Ok(false),
            Err(e) => Err(Error::Live {
                interface: self.interface.clone(),
                cause: pcap::Error::IoError(std::io::Error::from(e).kind()),
            }),
        }
    }

    /// Totals since the capture opened. Call it at least once per 2^32
    /// packets (libpcap's counters wrap there); `live` calls it every tick.
    pub fn stats(&mut self) -> Result<LiveStats, Error> {
        let now = self.capture.stats().map_err(|cause| Error::Live {
            interface: self.interface.clone(),
            cause,
        })?;
        let delta = |now: u32, last: u32| u64::from(now.wrapping_sub(last));
        self.totals.received += delta(now.received, self.last.received);
        self.totals.kernel_drops += delta(now.dropped, self.last.dropped);
        self.totals.interface_drops += delta(now.if_dropped, self.last.if_dropped);
        self.last = now;
        Ok(self.totals)
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface index, carried by every packet as its observation
    /// point's `mirror.interface` (0 for `any` and where unknown).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The interface's link type (libpcap's DLT value).
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// Whether timestamps carry nanoseconds (else microseconds).
    pub fn nanosecond_timestamps(&self) -> bool {
        self.nanos_per_unit == 1
    }
}

/// Refuses a link type the decoder does not read, naming it.
fn check_link(interface: &str, link: LinkType, name: impl FnOnce() -> String) -> Result<(), Error> {
    if link.is_supported() {
        Ok(())
    } else {
        Err(Error::UnsupportedInterfaceLink {
            interface: interface.to_owned(),
            link,
            name: name(),
        })
    }
}

/// libpcap's own text of an error, without the crate's prefix.
fn pcap_message(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Sorts a failed activation into what the user must do about it.
fn activation_error(interface: &str, e: pcap::Error) -> Error {
    let message = pcap_message(&e);
    let lower = message.to_ascii_lowercase();
    if lower.contains("permission") || lower.contains("not permitted") {
        Error::Permission {
            interface: interface.to_owned(),
            message,
        }
    } else if lower.contains("no such device") {
        no_such_interface(interface)
    } else {
        Error::Live {
            interface: interface.to_owned(),
            cause: e,
        }
    }
}

fn no_such_interface(interface: &str) -> Error {
    let available = Device::list()
        .map(|list| list.into_iter().map(|d| d.name).collect())
        .unwrap_or_default();
    Error::NoSuchInterface {
        name: interface.to_owned(),
        available,
    }
}

/// The interface's index in this network namespace, or an error naming the
/// interfaces there if it has none. `any` and platforms without the lookup
/// give 0.
fn interface_index(interface: &str) -> Result<u32, Error> {
    #[cfg(target_os = "linux")]
    {
        use rustix::net::{netdevice::name_to_index, socket, AddressFamily, SocketType};
        if interface == "any" {
            return Ok(0);
        }
        // Any socket will do for the SIOCGIFINDEX ioctl.
        let Ok(socket) = socket(AddressFamily::INET, SocketType::DGRAM, None) else {
            return Ok(0);
        };
        match name_to_index(&socket, interface) {
            Ok(index) => Ok(index),
            Err(rustix::io::Errno::NODEV) => Err(no_such_interface(interface)),
            // Let libpcap say what is wrong with the name.
            Err(_) => Ok(0),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = interface;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_link_type_is_refused_with_what_to_do() {
        // LINKTYPE_NETLINK (253): what an nlmon interface delivers.
        let err = check_link("nlmon0", LinkType(253), || "NETLINK".into()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("'nlmon0'") && text.contains("253"), "{text}");
        assert!(
            text.contains("NETLINK") && text.contains("-i any"),
            "{text}"
        );
        assert!(check_link("eth0", LinkType::ETHERNET, String::new).is_ok());
    }

    #[test]
    fn permission_error_says_what_to_do() {
        let err = activation_error(
            "eth0",
            pcap::Error::PcapError("socket: Operation not permitted".into()),
        );
        assert!(matches!(err, Error::Permission { .. }));
        let text = err.to_string();
        assert!(text.contains("run as root"), "{text}");
        assert!(
            text.contains("setcap cap_net_raw,cap_net_admin+eip"),
            "{text}"
        );
    }

    #[test]
    fn missing_interface_lists_the_interfaces() {
        let err = activation_error(
            "nosuch0",
            pcap::Error::PcapError("No such device exists".into()),
        );
        let text = err.to_string();
        assert!(text.starts_with("no interface 'nosuch0' here"), "{text}");
        assert!(text.contains("ip link"), "{text}");
    }

    #[test]
    fn other_failures_keep_libpcap_message() {
        let err = activation_error("eth0", pcap::Error::PcapError("something odd".into()));
        assert!(err.to_string().contains("something odd"), "{err}");
    }
}
