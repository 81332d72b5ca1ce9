//! Classic pcap, per draft-ietf-opsawg-pcap ("pcap §N" below): the file
//! header, which fixes the byte order, timestamp unit, link type and record
//! layout for the whole file, and the packet records after it.
//!
//! [`CaptureReader`] reads both from its buffer (see [`super::file`] for the
//! contract); this module only parses them.

use super::{
    byte_order::{array, ByteOrder},
    file::{CaptureReader, Format, PacketMeta},
};
use crate::{Error, LinkType, Timestamp};

/// Largest classic pcap record accepted (captured bytes). Real snaplens are at
/// most 262144 (libpcap's `MAXIMUM_SNAPLEN`), which also covers 64 KiB frames
/// plus headers and ~80 KB BIG TCP / GSO frames. The header's own snaplen is
/// not trusted: fuzzed files lie in it.
pub(super) const MAX_PCAP_RECORD: u32 = 262_144;

/// pcap §4: file header length.
pub(super) const PCAP_HEADER_LEN: usize = 24;
/// pcap §5: packet record header length.
pub(super) const PCAP_RECORD_HEADER_LEN: usize = 16;

/// Whether a classic pcap record header has its two length fields in the
/// pre-2.3 order (original length first). libpcap (`sf-pcap.c`) and Wireshark
/// read old files this way; fuzzed files with odd versions rely on it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LengthOrder {
    /// Version 2.4 and everything else: captured length, then original.
    Standard,
    /// Versions 2.0-2.2 and DG/UX's 543.0: original length first.
    Swapped,
    /// Version 2.3, written both ways: swapped when the captured length
    /// exceeds the original one.
    Ambiguous,
}

impl LengthOrder {
    pub(super) fn for_version(major: u16, minor: u16) -> LengthOrder {
        match (major, minor) {
            (2, 0..=2) | (543, 0) => LengthOrder::Swapped,
            (2, 3) => LengthOrder::Ambiguous,
            _ => LengthOrder::Standard,
        }
    }

    /// (captured length, original length) from the two fields as stored.
    #[inline]
    fn lengths(self, first: u32, second: u32) -> (u32, u32) {
        match self {
            LengthOrder::Standard => (first, second),
            LengthOrder::Ambiguous if first <= second => (first, second),
            LengthOrder::Swapped | LengthOrder::Ambiguous => (second, first),
        }
    }
}

impl CaptureReader {
    /// pcap §4: magic, version, thiszone, sigfigs, snaplen, link type.
    pub(super) fn open_pcap(&mut self, order: ByteOrder, frac_nanos: u64) -> Result<(), Error> {
        if !self.fill(PCAP_HEADER_LEN)? {
            return Err(self.not_a_capture());
        }
        // pcap §4: the low 16 bits are the link type; the upper bits may
        // carry the FCS length and reserved bits, which we ignore. The
        // version only decides the order of the record length fields; zone,
        // sigfigs and snaplen are not needed (and lie in fuzzed files).
        let major = order.u16(&self.buf, self.start + 4);
        let minor = order.u16(&self.buf, self.start + 6);
        let network = order.u32(&self.buf, self.start + 20);
        let link = LinkType((network & 0xFFFF) as u16);
        if !link.is_supported() {
            return Err(Error::UnsupportedLinkType {
                path: self.name.clone(),
                link,
            });
        }
        self.format = Format::Pcap;
        self.order = order;
        self.pcap_link = link;
        self.pcap_frac_nanos = frac_nanos;
        self.pcap_lengths = LengthOrder::for_version(major, minor);
        self.start += PCAP_HEADER_LEN;
        Ok(())
    }

    /// pcap §5: ts seconds, ts µs/ns, captured length, original length, data.
    #[inline]
    pub(super) fn next_pcap(&mut self) -> Result<Option<PacketMeta>, Error> {
        let offset = self.offset();
        if !self.fill(PCAP_RECORD_HEADER_LEN)? {
            if self.start == self.end {
                return Ok(None);
            }
            return Err(self.truncated(offset, "packet record header"));
        }
        let header: [u8; PCAP_RECORD_HEADER_LEN] = array(&self.buf, self.start);
        let o = self.order;
        let secs = o.u32(&header, 0);
        let frac = o.u32(&header, 4);
        let (incl_len, orig_len) = self
            .pcap_lengths
            .lengths(o.u32(&header, 8), o.u32(&header, 12));
        if incl_len > MAX_PCAP_RECORD {
            return Err(self.corrupt(
                offset,
                format!("record length {incl_len} exceeds {MAX_PCAP_RECORD}"),
            ));
        }
        let total = PCAP_RECORD_HEADER_LEN + incl_len as usize;
        if !self.fill(total)? {
            return Err(self.truncated(offset, "packet data"));
        }
        let at = self.start;
        self.start += total;
        Ok(Some(PacketMeta {
            // An out-of-range fraction (>= 1 s) is added as is, like tshark.
            ts: Timestamp::from_parts(u64::from(secs), u64::from(frac) * self.pcap_frac_nanos),
            link: self.pcap_link,
            interface: 0,
            orig_len,
            data: at + PCAP_RECORD_HEADER_LEN..at + total,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{
        file::{CHUNK, HEADROOM},
        testing::{all, check_every_cut, corrupt_what, err, payload, reader, walk, Got, Pcap, SEC},
    };

    #[test]
    fn pcap_micro_and_nano_magic_in_both_byte_orders() {
        for le in [true, false] {
            let micro = Pcap::new(le, false, 1)
                .packet(1_700_000_000, 123_456, &[1, 2, 3], 60)
                .bytes();
            let r = reader(&micro).unwrap();
            assert_eq!(r.format(), Format::Pcap);
            assert_eq!(r.bytes_consumed(), 24);
            let got = walk(r).0;
            assert_eq!(
                got,
                vec![Got {
                    ts: 1_700_000_000 * SEC + 123_456_000,
                    link: 1,
                    interface: 0,
                    orig_len: 60,
                    data: vec![1, 2, 3],
                }]
            );

            let nano = Pcap::new(le, true, 113)
                .packet(1_700_000_000, 123_456_789, &[9; 20], 20)
                .packet(u32::MAX, u32::MAX, &[], 0) // extreme values do not overflow
                .bytes();
            let got = all(&nano);
            assert_eq!(got[0].ts, 1_700_000_000 * SEC + 123_456_789);
            assert_eq!(got[0].link, 113);
            assert_eq!(got[1].ts, u64::from(u32::MAX) * SEC + u64::from(u32::MAX));
        }
    }

    #[test]
    fn pcap_link_type_ignores_fcs_bits() {
        // pcap §4: bits 28..31 FCS length, bit 26 "F" flag.
        let bytes = Pcap::new(true, false, 0x1400_0001)
            .packet(1, 2, &[0; 14], 14)
            .bytes();
        assert_eq!(all(&bytes)[0].link, 1);
    }

    #[test]
    fn pcap_unsupported_link_type_at_open() {
        let bytes = Pcap::new(false, false, 147)
            .packet(1, 2, &[0; 4], 4)
            .bytes();
        match reader(&bytes) {
            Err(Error::UnsupportedLinkType { link, .. }) => assert_eq!(link, LinkType(147)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pcap_huge_record_length_is_corrupt_without_allocation() {
        let mut bytes = Pcap::new(true, false, 1).packet(1, 0, &[1; 10], 10).bytes();
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // ts
        bytes.extend_from_slice(&u32::MAX.to_le_bytes()); // incl_len
        bytes.extend_from_slice(&u32::MAX.to_le_bytes()); // orig_len
        let mut r = reader(&bytes).unwrap();
        assert!(r.next_packet().unwrap().is_some());
        let (offset, what) = corrupt_what(r.next_packet().unwrap_err());
        assert_eq!(offset, 24 + 16 + 10);
        assert_eq!(what, "record length 4294967295 exceeds 262144");
        assert_eq!(r.buf.len(), HEADROOM + CHUNK);
        assert!(r.next_packet().unwrap().is_none());

        // The largest allowed record (BIG TCP frames) is fine.
        let big = payload(262_144, 3);
        let bytes = Pcap::new(true, false, 1)
            .packet(1, 0, &big, 300_000)
            .bytes();
        assert_eq!(all(&bytes)[0].data, big);
        let bytes = Pcap::new(true, false, 1)
            .packet(1, 0, &[0; 262_145], 300_000)
            .bytes();
        assert!(matches!(err(&bytes), Error::Corrupt { offset: 24, .. }));
    }

    #[test]
    fn pcap_pre_2_4_versions_swap_the_length_fields() {
        // Before 2.3 the record header held the original length first.
        let file = |major, minor, second: u32| {
            Pcap::new(true, false, 1)
                .version(major, minor)
                .record(1, 0, [8, 100], &[7; 8])
                .record(2, 0, [second, 4], &[7; 4])
                .bytes()
        };
        let lens = |bytes: &[u8]| {
            let (got, end) = walk(reader(bytes).unwrap());
            let lens: Vec<_> = got.iter().map(|g| (g.data.len(), g.orig_len)).collect();
            (lens, end.map(|e| e.to_string()))
        };
        assert_eq!(lens(&file(2, 4, 4)), (vec![(8, 100), (4, 4)], None));
        // 2.3: swapped only where "captured" > "original".
        assert_eq!(lens(&file(2, 3, 60)), (vec![(8, 100), (4, 60)], None));
        // 2.2: always swapped; the first record then claims 100 bytes of
        // data and the file ends inside them.
        let (got, end) = lens(&file(2, 2, 4));
        assert_eq!(got, vec![]);
        assert!(end.unwrap().contains("byte offset 24: packet data"));
        let bytes = Pcap::new(false, true, 1)
            .version(543, 0) // DG/UX
            .packet(1, 0, &[7; 8], 8)
            .bytes();
        assert_eq!(lens(&bytes), (vec![(8, 8)], None));
    }

    #[test]
    fn pcap_truncated_at_every_byte() {
        for (le, nanos) in [(true, false), (false, true)] {
            let p = Pcap::new(le, nanos, 1)
                .packet(1, 2, &payload(30, 1), 30)
                .packet(3, 4, &[], 0)
                .packet(5, 6, &payload(17, 2), 99);
            check_every_cut(&p.bytes(), 24, &p.parts, false);
        }
    }
}
