//! pcapng, per draft-ietf-opsawg-pcapng ("pcapng §N" below): the blocks,
//! the sections they sit in (each with its own byte order and interfaces),
//! the interfaces' link types and timestamp units, and the packet blocks.
//!
//! [`CaptureReader`] reads the blocks from its buffer (see [`super::file`]
//! for the contract); this module checks their framing and parses them.

use super::{
    byte_order::{array, ByteOrder},
    file::{CaptureReader, PacketMeta},
};
use crate::{Error, LinkType, Timestamp};

/// Largest pcapng block accepted (total length, header and trailer included):
/// far above any real block (a maximal packet needs ~256 KiB), small enough
/// that a lying length cannot make the buffer huge.
pub(super) const MAX_BLOCK: u32 = 16 << 20;

/// Most interfaces kept per pcapng section (real files have a handful); bounds
/// the interface table of a hostile file made of nothing but IDBs.
pub(super) const MAX_INTERFACES: usize = 1 << 16;

/// pcapng §4.1: Section Header Block type; a palindrome so that it reads the
/// same in either byte order (and so that CR/LF mangling corrupts it).
pub(super) const BT_SHB: u32 = 0x0A0D_0D0A;
/// pcapng §4.2: Interface Description Block.
pub(super) const BT_IDB: u32 = 1;
/// pcapng Appendix A: (obsolete) Packet Block.
pub(super) const BT_OPB: u32 = 2;
/// pcapng §4.4: Simple Packet Block.
pub(super) const BT_SPB: u32 = 3;
/// pcapng §4.3: Enhanced Packet Block.
pub(super) const BT_EPB: u32 = 6;
/// pcapng §4.1: byte-order magic as written by the file's writer.
pub(super) const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Smallest legal pcapng block: type, length, trailing length (pcapng §3.1).
const MIN_BLOCK: u32 = 12;

/// pcapng §4.2 option codes.
const OPT_ENDOFOPT: u16 = 0;
pub(super) const IF_TSRESOL: u16 = 9;
pub(super) const IF_TSOFFSET: u16 = 14;

/// How a pcapng interface's timestamp units convert to nanoseconds, decided
/// once per IDB so the per-packet work is one multiply, divide or shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsScale {
    /// Units of 10^-v s with v <= 9: multiply by 10^(9-v).
    Mul(u64),
    /// Units of 10^-v s with 9 < v <= 28: divide by 10^(v-9) (nonzero).
    Div(u64),
    /// Units of 10^-v s with v > 28: any u64 count is under 1 ns.
    Zero,
    /// Units of 2^-n s: (units * 10^9) >> n, computed in u128 (no overflow:
    /// units * 10^9 < 2^94).
    Shift(u32),
}

impl TsScale {
    /// pcapng §4.2 default when `if_tsresol` is absent: microseconds.
    const MICROS: TsScale = TsScale::Mul(1_000);

    /// pcapng §4.2 `if_tsresol`: high bit clear → 10^-v, set → 2^-(v & 0x7f).
    fn from_tsresol(v: u8) -> TsScale {
        if v & 0x80 != 0 {
            return TsScale::Shift(u32::from(v & 0x7f));
        }
        let e = u32::from(v);
        if e <= 9 {
            TsScale::Mul(10u64.pow(9 - e))
        } else if e - 9 <= 19 {
            // 10^19 is the largest power of ten that fits a u64.
            TsScale::Div(10u64.pow(e - 9))
        } else {
            TsScale::Zero
        }
    }

    #[inline]
    fn to_nanos(self, units: u64) -> u64 {
        match self {
            TsScale::Mul(m) => units.saturating_mul(m),
            TsScale::Div(d) => units.checked_div(d).unwrap_or(0),
            TsScale::Zero => 0,
            TsScale::Shift(n) => {
                let ns = (u128::from(units) * 1_000_000_000) >> n;
                u64::try_from(ns).unwrap_or(u64::MAX)
            }
        }
    }
}

/// What a pcapng IDB says about its packets (pcapng §4.2).
#[derive(Debug, Clone, Copy)]
pub(super) struct Interface {
    link: LinkType,
    /// 0 means "no limit".
    snaplen: u32,
    scale: TsScale,
    /// `if_tsoffset` in nanoseconds (i64 seconds * 10^9 fits an i128).
    offset_ns: i128,
}

impl Interface {
    /// A packet timestamp in this interface's units, as nanoseconds since the
    /// epoch, saturating at 0 and `u64::MAX` rather than wrapping.
    #[inline]
    fn timestamp(&self, units: u64) -> Timestamp {
        let ns = self.scale.to_nanos(units);
        if self.offset_ns == 0 {
            return Timestamp(ns);
        }
        let shifted = i128::from(ns) + self.offset_ns;
        Timestamp(u64::try_from(shifted.max(0)).unwrap_or(u64::MAX))
    }
}

impl CaptureReader {
    /// Reads the first Section Header Block. The caller saw the SHB type.
    pub(super) fn open_pcapng(&mut self) -> Result<(), Error> {
        // Type, length and byte-order magic are the format's signature: a
        // file without all three is not pcapng at all.
        if !self.fill(12)?
            || ByteOrder::detect(array(&self.buf, self.start + 8), BYTE_ORDER_MAGIC).is_none()
        {
            return Err(self.not_a_capture());
        }
        let offset = self.offset();
        match self.read_block()? {
            Some((BT_SHB, len)) => {
                self.section_header(offset, len)?;
                self.start += len;
                Ok(())
            }
            // Unreachable: 12 bytes with the SHB type are there.
            _ => Err(self.not_a_capture()),
        }
    }

    /// Walks blocks until one holds a packet.
    pub(super) fn next_pcapng(&mut self) -> Result<Option<PacketMeta>, Error> {
        loop {
            let offset = self.offset();
            let Some((block_type, len)) = self.read_block()? else {
                return Ok(None);
            };
            let packet = match block_type {
                BT_EPB => Some(self.enhanced_packet(offset, len)?),
                BT_SPB => Some(self.simple_packet(offset, len)?),
                BT_OPB => Some(self.obsolete_packet(offset, len)?),
                BT_IDB => {
                    self.interface_description(offset, len)?;
                    None
                }
                BT_SHB => {
                    self.section_header(offset, len)?;
                    None
                }
                // NRB, ISB, DSB, custom and unknown blocks: pcapng §3.1 makes
                // every block skippable by its length.
                _ => None,
            };
            self.start += len;
            if let Some(packet) = packet {
                self.last_ts = packet.ts;
                return Ok(Some(packet));
            }
        }
    }

    /// pcapng §3.1: reads one whole block into `buf[start..start + len]` and
    /// checks its framing; returns its type and total length, or `Ok(None)`
    /// at the clean end of the data.
    #[inline(always)]
    fn read_block(&mut self) -> Result<Option<(u32, usize)>, Error> {
        let offset = self.offset();
        if !self.fill(8)? {
            if self.start == self.end {
                return Ok(None);
            }
            return Err(self.truncated(offset, "block header"));
        }
        if array::<4>(&self.buf, self.start) == BT_SHB.to_le_bytes() {
            // pcapng §4.1: a new section may switch byte order; its length
            // can only be read once the byte-order magic after it is known.
            if !self.fill(12)? {
                return Err(self.truncated(offset, "block header"));
            }
            let bom = array(&self.buf, self.start + 8);
            self.order = ByteOrder::detect(bom, BYTE_ORDER_MAGIC).ok_or_else(|| {
                self.corrupt(
                    offset,
                    format!("section header block has bad byte-order magic {bom:02x?}"),
                )
            })?;
        }
        let block_type = self.order.u32(&self.buf, self.start);
        let len = self.order.u32(&self.buf, self.start + 4);
        let bad = if len < MIN_BLOCK {
            Some("is less than 12")
        } else if len % 4 != 0 {
            Some("is not a multiple of 4")
        } else if len > MAX_BLOCK {
            Some("exceeds 16777216")
        } else {
            None
        };
        if let Some(bad) = bad {
            return Err(self.corrupt(
                offset,
                format!("block type {block_type:#x}: block length {len} {bad}"),
            ));
        }
        let total = len as usize;
        if !self.fill(total)? {
            return Err(self.truncated(offset, "block"));
        }
        let trailer = self.order.u32(&self.buf, self.start + total - 4);
        if trailer != len {
            return Err(self.corrupt(
                offset,
                format!(
                    "block type {block_type:#x}: trailing block length {trailer} \
                     does not match leading length {len}"
                ),
            ));
        }
        Ok(Some((block_type, total)))
    }

    /// Fails unless the block at `start` is at least `min` bytes long.
    fn require_len(&self, offset: u64, len: usize, min: usize, what: &str) -> Result<(), Error> {
        if len < min {
            return Err(self.corrupt(offset, format!("{what} length {len} is less than {min}")));
        }
        Ok(())
    }

    /// pcapng §4.1: byte-order magic, major, minor, section length, options.
    /// (The byte order was already taken by `read_block`.)
    fn section_header(&mut self, offset: u64, len: usize) -> Result<(), Error> {
        self.require_len(offset, len, 28, "section header block")?;
        let major = self.order.u16(&self.buf, self.start + 12);
        let minor = self.order.u16(&self.buf, self.start + 14);
        // pcapng §4.1: a different major version is an incompatible format.
        if major != 1 {
            return Err(self.corrupt(
                offset,
                format!("unsupported pcapng version {major}.{minor}"),
            ));
        }
        // pcapng §4.2: interface ids are per section.
        self.interfaces.clear();
        self.last_ts = Timestamp(0);
        Ok(())
    }

    /// pcapng §4.2: link type, reserved, snaplen, options.
    fn interface_description(&mut self, offset: u64, len: usize) -> Result<(), Error> {
        self.require_len(offset, len, 20, "interface description block")?;
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(self.corrupt(
                offset,
                format!("more than {MAX_INTERFACES} interfaces in one section"),
            ));
        }
        let o = self.order;
        let block = &self.buf[self.start..self.start + len];
        let mut iface = Interface {
            link: LinkType(o.u16(block, 8)),
            snaplen: o.u32(block, 12),
            scale: TsScale::MICROS,
            offset_ns: 0,
        };
        // pcapng §3.5: options are code (u16), length (u16), value padded to
        // 4 bytes, until opt_endofopt or the end of the block body.
        let options = &block[16..len - 4];
        let mut at = 0;
        while at + 4 <= options.len() {
            let code = o.u16(options, at);
            let opt_len = usize::from(o.u16(options, at + 2));
            if code == OPT_ENDOFOPT {
                break;
            }
            let value = at + 4;
            let Some(value) = options.get(value..value + opt_len) else {
                return Err(self.corrupt(
                    offset,
                    format!("interface option {code} of length {opt_len} runs past the block"),
                ));
            };
            match (code, value) {
                (IF_TSRESOL, [v, ..]) => iface.scale = TsScale::from_tsresol(*v),
                (IF_TSOFFSET, v) if v.len() >= 8 => {
                    iface.offset_ns = i128::from(o.i64(v, 0)) * 1_000_000_000;
                }
                _ => {}
            }
            at += 4 + opt_len.next_multiple_of(4);
        }
        self.interfaces.push(iface);
        Ok(())
    }

    /// The interface a packet block refers to.
    #[inline]
    fn interface(&self, offset: u64, id: u32) -> Result<Interface, Error> {
        match self.interfaces.get(id as usize) {
            Some(iface) => Ok(*iface),
            None => Err(self.corrupt(offset, format!("packet for undefined interface {id}"))),
        }
    }

    /// pcapng §4.3: interface id, ts high, ts low, captured length, original
    /// length, data padded to 4, options.
    #[inline(always)]
    fn enhanced_packet(&self, offset: u64, len: usize) -> Result<PacketMeta, Error> {
        self.require_len(offset, len, 32, "enhanced packet block")?;
        let id = self.order.u32(&self.buf, self.start + 8);
        self.timed_packet(offset, len, id, "enhanced packet block")
    }

    /// pcapng Appendix A: like an EPB but with a 16-bit interface id followed
    /// by a 16-bit drops count.
    fn obsolete_packet(&self, offset: u64, len: usize) -> Result<PacketMeta, Error> {
        self.require_len(offset, len, 32, "packet block")?;
        let id = self.order.u16(&self.buf, self.start + 8);
        self.timed_packet(offset, len, u32::from(id), "packet block")
    }

    /// The part EPB and the obsolete Packet Block share: from the timestamp
    /// on (offset 12 of the block).
    #[inline(always)]
    fn timed_packet(
        &self,
        offset: u64,
        len: usize,
        id: u32,
        what: &str,
    ) -> Result<PacketMeta, Error> {
        let o = self.order;
        let at = self.start;
        let header: [u8; 16] = array(&self.buf, at + 12);
        let units = (u64::from(o.u32(&header, 0)) << 32) | u64::from(o.u32(&header, 4));
        let cap_len = o.u32(&header, 8);
        let orig_len = o.u32(&header, 12);
        let room = len - 32;
        if cap_len as usize > room {
            return Err(self.corrupt(
                offset,
                format!("{what}: captured length {cap_len} exceeds the block body ({room} bytes)"),
            ));
        }
        let iface = self.interface(offset, id)?;
        Ok(PacketMeta {
            ts: iface.timestamp(units),
            link: iface.link,
            interface: id,
            orig_len,
            data: at + 28..at + 28 + cap_len as usize,
        })
    }

    /// pcapng §4.4: original length, data. Interface 0; captured length is
    /// min(original length, body room, interface 0's snaplen if nonzero).
    fn simple_packet(&self, offset: u64, len: usize) -> Result<PacketMeta, Error> {
        self.require_len(offset, len, 16, "simple packet block")?;
        let iface = self.interface(offset, 0)?;
        let orig_len = self.order.u32(&self.buf, self.start + 8);
        let mut cap_len = (orig_len as usize).min(len - 16);
        if iface.snaplen != 0 {
            cap_len = cap_len.min(iface.snaplen as usize);
        }
        let data = self.start + 12;
        Ok(PacketMeta {
            // An SPB carries no timestamp (pcapng §4.4). We reuse the
            // timestamp of the previous packet returned in this section
            // (Timestamp(0) if there was none) so that time-bucketed flow
            // accounting keeps the packet near its neighbours.
            ts: self.last_ts,
            link: iface.link,
            interface: 0,
            orig_len,
            data: data..data + cap_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{
        file::{Format, MAX_BUFFER},
        testing::{all, check_every_cut, corrupt_what, err, payload, reader, walk, Ng, Part, SEC},
    };

    #[test]
    fn pcapng_interfaces_resolutions_and_offsets() {
        let ns = 1_700_000_000 * SEC + 987_654_321;
        let bytes = Ng::new(true)
            // if0: Ethernet, nanoseconds (if_tsresol = 9)
            .idb(1, 0, &[(IF_TSRESOL, &[9])])
            // if1: Linux SLL, 2^-20 s units, if_tsoffset = 100 s
            .idb(
                113,
                0,
                &[
                    (IF_TSRESOL, &[0x80 | 20]),
                    (IF_TSOFFSET, &100i64.to_le_bytes()),
                ],
            )
            // if2: unsupported link type (USER0), default µs, if_tsoffset = -5 s
            .idb(147, 0, &[(IF_TSOFFSET, &(-5i64).to_le_bytes())])
            .epb(0, ns, &[0xAA; 5], 5)
            .epb(1, (5 << 20) + (1 << 19), &[0xBB; 7], 1500) // 5.5 s
            .epb(2, 7_000_001, &[0xCC; 1], 1) // 7.000001 s - 5 s
            .opb(1, 1 << 20, &[0xDD; 2], 2) // 1 s + 100 s
            .bytes();
        let r = reader(&bytes).unwrap();
        assert_eq!(r.format(), Format::Pcapng);
        assert_eq!(r.bytes_consumed(), 28);
        let got = walk(r).0;
        let summary: Vec<_> = got
            .iter()
            .map(|g| (g.ts, g.link, g.interface, g.orig_len, g.data.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (ns, 1, 0, 5, 5),
                (105 * SEC + SEC / 2, 113, 1, 1500, 7),
                (2 * SEC + 1_000, 147, 2, 1, 1),
                (101 * SEC, 113, 1, 2, 2),
            ]
        );
        assert_eq!(got[1].data, [0xBB; 7]);
    }

    #[test]
    fn timestamp_units_never_overflow() {
        let iface = |res: u8, off: i64| Interface {
            link: LinkType(1),
            snaplen: 0,
            scale: TsScale::from_tsresol(res),
            offset_ns: i128::from(off) * 1_000_000_000,
        };
        let ts = |res: u8, off: i64, units: u64| iface(res, off).timestamp(units).0;
        assert_eq!(ts(6, 0, 1_500_000), 1_500_000_000);
        assert_eq!(ts(0, 0, u64::MAX), u64::MAX); // seconds saturate
        assert_eq!(ts(9, 0, u64::MAX), u64::MAX);
        assert_eq!(ts(12, 0, 5_000_000_000_000), 5_000_000_000); // picoseconds
        assert_eq!(ts(28, 0, u64::MAX), 1); // u64::MAX / 10^19
        assert_eq!(ts(29, 0, u64::MAX), 0);
        assert_eq!(ts(127, 0, u64::MAX), 0);
        assert_eq!(ts(0x80 | 30, 0, 3 << 30), 3 * SEC); // 2^-30
        assert_eq!(ts(0x80, 0, u64::MAX), u64::MAX); // 2^0 saturates
        assert_eq!(ts(0xFF, 0, u64::MAX), 0); // 2^-127
        assert_eq!(ts(6, i64::MIN, u64::MAX), 0);
        assert_eq!(ts(6, i64::MAX, 0), u64::MAX);
        assert_eq!(ts(6, -1, 2_000_000), SEC);
    }

    #[test]
    fn simple_packet_takes_previous_timestamp_and_snaplen() {
        let bytes = Ng::new(true)
            .idb(1, 64, &[]) // snaplen 64, µs
            .spb(100, &payload(100, 1)) // no packet before: ts 0, cut to 64
            .epb(0, 42, &[1; 3], 3)
            .spb(10, &payload(12, 2)) // orig 10 < body room: 10 bytes
            .spb(200, &payload(20, 3)) // body room 20 < orig and snaplen
            .bytes();
        let got = all(&bytes);
        let summary: Vec<_> = got
            .iter()
            .map(|g| (g.ts, g.interface, g.orig_len, g.data.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, 0, 100, 64),
                (42_000, 0, 3, 3),
                (42_000, 0, 10, 10),
                (42_000, 0, 200, 20)
            ]
        );
        assert_eq!(got[0].data, payload(64, 1));
    }

    #[test]
    fn big_endian_pcapng() {
        let bytes = Ng::new(false)
            .idb(
                101,
                0,
                &[(IF_TSRESOL, &[3]), (IF_TSOFFSET, &7i64.to_be_bytes())],
            )
            .epb(0, 1_234, &[0x45, 0, 0, 20], 20)
            .bytes();
        assert_eq!(&bytes[8..12], &[0x1A, 0x2B, 0x3C, 0x4D]);
        let got = all(&bytes);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].ts, got[0].link), (8 * SEC + 234_000_000, 101));
        assert_eq!(got[0].data, [0x45, 0, 0, 20]);
    }

    #[test]
    fn unknown_blocks_are_skipped() {
        let bytes = Ng::new(true)
            .block(4, false, |b| {
                b.raw(&[0; 8]); // NRB: nrb_record_end only
            })
            .idb(1, 0, &[(2, b"eth0"), (3, b"")]) // if_name, empty if_description
            .block(5, false, |b| {
                b.raw(&[0; 12]); // ISB
            })
            .epb(0, 1, &[7], 1)
            .block(0x0000_000A, false, |b| {
                b.raw(&[1, 2, 3, 4, 5]); // DSB
            })
            .block(0x4000_0BAD, false, |b| {
                b.raw(&[9; 9]); // custom block
            })
            .block(0x1234_5678, false, |_| {}) // unknown, empty body
            .epb(0, 2, &[8], 1)
            .bytes();
        let got = all(&bytes);
        assert_eq!(got.iter().map(|g| g.data[0]).collect::<Vec<_>>(), [7, 8]);
        let mut r = reader(&bytes).unwrap();
        while r.next_packet().unwrap().is_some() {}
        assert_eq!(r.bytes_consumed(), bytes.len() as u64);
    }

    #[test]
    fn second_section_resets_interfaces_and_may_switch_byte_order() {
        let two = Ng::new(true)
            .idb(1, 0, &[(IF_TSRESOL, &[9])])
            .epb(0, 5, &[1], 1)
            .shb(false) // big-endian section
            .spb(4, &[2; 4]) // interface 0 not yet described in this section
            .bytes();
        let (got, end) = walk(reader(&two).unwrap());
        assert_eq!(got.len(), 1);
        let (offset, what) = corrupt_what(end.unwrap());
        assert_eq!(what, "packet for undefined interface 0");
        assert_eq!(offset as usize, two.len() - 20);

        let ok = Ng::new(true)
            .idb(1, 0, &[(IF_TSRESOL, &[9])])
            .epb(0, 5, &[1], 1)
            .shb(false)
            .idb(229, 0, &[])
            .spb(4, &[2; 4]) // first packet of the section: ts 0
            .epb(0, 3, &[3], 1)
            .bytes();
        let got = all(&ok);
        let summary: Vec<_> = got.iter().map(|g| (g.ts, g.link)).collect();
        assert_eq!(summary, vec![(5, 1), (0, 229), (3_000, 229)]);
    }

    #[test]
    fn pcapng_corrupt_blocks() {
        let good = Ng::new(true).idb(1, 0, &[]);
        let at = good.v.len() as u64;
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut v = good.bytes();
            f(&mut v);
            corrupt_what(err(&v))
        };
        let w = |x: u32| good.word(x);

        for (len, why) in [
            (8, "is less than 12"),
            (14, "is not a multiple of 4"),
            (0xFFFF_FFFC, "exceeds 16777216"),
            ((16 << 20) + 4, "exceeds 16777216"),
        ] {
            let (offset, what) = with(&|v| {
                v.extend_from_slice(&w(6));
                v.extend_from_slice(&w(len));
                v.extend_from_slice(&[0; 64]);
            });
            assert_eq!(offset, at);
            assert!(what.ends_with(why), "{what}");
        }

        // Trailer differs from the leading length.
        let (offset, what) = with(&|v| {
            v.extend_from_slice(&w(4));
            v.extend_from_slice(&w(16));
            v.extend_from_slice(&w(0));
            v.extend_from_slice(&w(20));
        });
        assert_eq!(offset, at);
        assert!(what.contains("trailing block length 20 does not match leading length 16"));

        // EPB whose captured length exceeds its body.
        let epb = Ng::new(true).idb(1, 0, &[]).epb(0, 0, &[1; 8], 8);
        let mut v = epb.bytes();
        let cap = v.len() - 4 - 8 - 8; // captured-length field of the EPB
        v[cap..cap + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let (offset, what) = corrupt_what(err(&v));
        assert_eq!(offset, at);
        assert!(what.contains("captured length 4294967295 exceeds the block body (8 bytes)"));

        // EPB for an interface never described.
        let v = Ng::new(true).idb(1, 0, &[]).epb(1, 0, &[1], 1).bytes();
        assert_eq!(
            corrupt_what(err(&v)),
            (at, "packet for undefined interface 1".into())
        );

        // EPB too short for its fixed fields.
        let v = Ng::new(true).idb(1, 0, &[]).block(BT_EPB, true, |b| {
            b.raw(&[0; 8]);
        });
        assert!(corrupt_what(err(&v.v)).1.contains("less than 32"));

        // Option running past the IDB.
        let v = Ng::new(true).block(BT_IDB, false, |b| {
            b.u16(1)
                .u16(0)
                .u32(0)
                .u16(IF_TSRESOL)
                .u16(200)
                .raw(&[9, 0, 0, 0]);
        });
        assert!(corrupt_what(err(&v.v)).1.contains("runs past the block"));

        // Bad major version and bad byte-order magic in a later section.
        let mut v = Ng::new(true).shb(true).bytes();
        v[28 + 12] = 2;
        assert_eq!(
            corrupt_what(err(&v)),
            (28, "unsupported pcapng version 2.0".into())
        );
        let mut v = Ng::new(true).shb(true).bytes();
        v[28 + 8] = 0;
        assert_eq!(corrupt_what(err(&v)).0, 28);

        // A maximal claimed block in a short file: truncated, buffer capped.
        let mut v = good.bytes();
        v.extend_from_slice(&w(6));
        v.extend_from_slice(&w(16 << 20));
        v.extend_from_slice(&[0; 100]);
        let mut r = reader(&v).unwrap();
        assert!(matches!(
            r.next_packet(),
            Err(Error::Truncated { what: "block", .. })
        ));
        assert!(r.buf.len() <= MAX_BUFFER);
    }

    #[test]
    fn first_block_must_be_a_section_header() {
        let mut v = Ng::new(true).idb(1, 0, &[]).bytes();
        v.drain(..28);
        assert!(matches!(reader(&v), Err(Error::NotACapture { .. })));
    }

    #[test]
    fn pcapng_truncated_at_every_byte() {
        for le in [true, false] {
            let ng = Ng::new(le)
                .idb(1, 0, &[(IF_TSRESOL, &[9])])
                .epb(0, 10, &payload(30, 1), 30)
                .block(4, false, |b| {
                    b.raw(&[0; 4]);
                })
                .spb(17, &payload(17, 2))
                .opb(0, 12, &payload(3, 3), 3);
            let parts: Vec<Part> = ng.parts[1..].to_vec(); // all but the SHB read at open
            check_every_cut(&ng.v, 28, &parts, true);
        }
    }
}
