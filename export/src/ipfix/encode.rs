//! IPFIX messages (RFC 7011) from flow records: templates, the sampling
//! options record and data sets, cut into messages of at most the MTU.
//!
//! Written here rather than taken from a crate: no maintained Rust crate
//! encodes IPFIX, and what is needed is small (a 16-byte header, sets of
//! fixed-length records). The tests decode what this writes with
//! `netflow_parser`, an independent reader.

use flowagg::{FlowRecord, PortKind};

/// IPFIX's version number, the first field of every message.
const VERSION: u16 = 10;
/// Bytes of the message header.
const HEADER_LEN: usize = 16;
/// Bytes of a set header (id and length).
const SET_HEADER_LEN: usize = 4;
/// Set id of a template set.
const TEMPLATE_SET: u16 = 2;
/// Set id of an options template set.
const OPTIONS_TEMPLATE_SET: u16 = 3;
/// Template id of the sampling options record; the flow templates are
/// 256..=261 (docs/ipfix.md, "Templates").
pub(crate) const SAMPLING_TEMPLATE: u16 = 262;
/// The smallest message size accepted: the IPv4 minimum datagram every host
/// reassembles, which holds the templates, the options record and a record.
pub const MIN_MTU: usize = 576;
/// RFC 7011 §3.1: the message length is 16 bits.
pub const MAX_MTU: usize = 65_535;
/// Seconds between the NTP epoch (1900) and the Unix epoch, for
/// `dateTimeNanoseconds` (RFC 7011 §6.1.10).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// An information element of a template: IANA id and encoded length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ie(pub u16, pub u16);

// The IANA information elements used (docs/ipfix.md, "Information elements").
const OCTET_DELTA_COUNT: Ie = Ie(1, 8);
const PACKET_DELTA_COUNT: Ie = Ie(2, 8);
const PROTOCOL_IDENTIFIER: Ie = Ie(4, 1);
/// unsigned16 in IANA's registry, sent in reduced-size encoding (RFC 7011
/// §6.2): mirrorflow keeps the 8 classic flags, and pmacct 1.7 reads only
/// a 1-byte value (it showed 0 for a 2-byte one).
const TCP_CONTROL_BITS: Ie = Ie(6, 1);
const SOURCE_TRANSPORT_PORT: Ie = Ie(7, 2);
const SOURCE_IPV4_ADDRESS: Ie = Ie(8, 4);
const INGRESS_INTERFACE: Ie = Ie(10, 4);
const DESTINATION_TRANSPORT_PORT: Ie = Ie(11, 2);
const DESTINATION_IPV4_ADDRESS: Ie = Ie(12, 4);
const SOURCE_IPV6_ADDRESS: Ie = Ie(27, 16);
const DESTINATION_IPV6_ADDRESS: Ie = Ie(28, 16);
const ICMP_TYPE_CODE_IPV4: Ie = Ie(32, 2);
const FLOW_END_REASON: Ie = Ie(136, 1);
const ICMP_TYPE_CODE_IPV6: Ie = Ie(139, 2);
const OBSERVATION_DOMAIN_ID: Ie = Ie(149, 4);
const FLOW_START_MILLISECONDS: Ie = Ie(152, 8);
const FLOW_END_MILLISECONDS: Ie = Ie(153, 8);
const FLOW_START_NANOSECONDS: Ie = Ie(156, 8);
const FLOW_END_NANOSECONDS: Ie = Ie(157, 8);
const SAMPLING_PACKET_INTERVAL: Ie = Ie(305, 4);
const SAMPLING_PACKET_SPACE: Ie = Ie(306, 4);
const SAMPLING_PROBABILITY: Ie = Ie(311, 8);
const LAYER2_SEGMENT_ID: Ie = Ie(351, 8);
const TRANSPORT_OCTET_DELTA_COUNT: Ie = Ie(401, 8);

/// flowEndReason 0x02: the interval ended (IPFIX's active timeout).
const END_ACTIVE_TIMEOUT: u8 = 0x02;
/// flowEndReason 0x05: written early because the flow budget (`--max-flows`)
/// was spent: a partial record.
const END_LACK_OF_RESOURCES: u8 = 0x05;
/// The top byte of layer2SegmentId for a VXLAN VNI (IANA, IE 351).
const SEGMENT_VXLAN: u64 = 0x01 << 56;

/// The elements after the addresses and ports, the same in every template,
/// in the order [`Encoder::record`] writes them.
const COMMON: [Ie; 12] = [
    PROTOCOL_IDENTIFIER,
    TCP_CONTROL_BITS,
    OCTET_DELTA_COUNT,
    PACKET_DELTA_COUNT,
    TRANSPORT_OCTET_DELTA_COUNT,
    FLOW_START_MILLISECONDS,
    FLOW_END_MILLISECONDS,
    FLOW_START_NANOSECONDS,
    FLOW_END_NANOSECONDS,
    INGRESS_INTERFACE,
    LAYER2_SEGMENT_ID,
    FLOW_END_REASON,
];

/// The template id of a record: by address family and what its port
/// fields hold, so that each record carries only the elements that apply
/// (an ICMP record has icmpTypeCode and no ports).
pub(crate) fn template_id(v6: bool, kind: PortKind) -> u16 {
    let kind = match kind {
        PortKind::Ports => 0,
        PortKind::Icmp => 1,
        PortKind::None => 2,
    };
    256 + if v6 { 3 } else { 0 } + kind
}

/// The elements of flow template `id` (256..=261), in record order.
pub(crate) fn template_fields(id: u16) -> Vec<Ie> {
    let v6 = id >= 259;
    let mut fields = if v6 {
        vec![SOURCE_IPV6_ADDRESS, DESTINATION_IPV6_ADDRESS]
    } else {
        vec![SOURCE_IPV4_ADDRESS, DESTINATION_IPV4_ADDRESS]
    };
    match (id - 256) % 3 {
        0 => fields.extend([SOURCE_TRANSPORT_PORT, DESTINATION_TRANSPORT_PORT]),
        1 if v6 => fields.push(ICMP_TYPE_CODE_IPV6),
        1 => fields.push(ICMP_TYPE_CODE_IPV4),
        _ => {}
    }
    fields.extend(COMMON);
    fields
}

/// The flow template ids.
const FLOW_TEMPLATES: std::ops::RangeInclusive<u16> = 256..=261;

/// The encoded length of one record of template `id`.
fn record_len(fields: &[Ie]) -> usize {
    fields.iter().map(|ie| usize::from(ie.1)).sum()
}

/// Builds messages: one at a time in `buf`, handed out whole by
/// [`Encoder::finish`]. [`MIN_MTU`] holds the header, the templates and the
/// largest record, so a message always has room for one record.
#[derive(Debug)]
pub(crate) struct Encoder {
    mtu: usize,
    domain: u32,
    /// `--packet-sample N`: counts are divided by it (docs/ipfix.md, "Sampling").
    one_in: u64,
    /// Data records of every message taken so far (RFC 7011 §3.1).
    sequence: u32,
    /// The message being built; empty when none is.
    buf: Vec<u8>,
    /// The open data set: its template and where its header is.
    set: Option<(u16, usize)>,
    /// Data records in the message being built.
    records: u32,
    /// Flow records in it (the options record is not one).
    flow_records: u32,
    /// The template set, options template set and options data set, encoded
    /// once; a message that starts while `templates_due` starts with them.
    templates: Vec<u8>,
    /// Data records in `templates` (the sampling options record, if any).
    template_records: u32,
    templates_due: bool,
    /// Encoded length of a record of each flow template, by id − 256.
    lens: [usize; 6],
}

/// A finished message and what it holds.
#[derive(Debug)]
pub(crate) struct Message<'a> {
    /// The bytes to send.
    pub bytes: &'a [u8],
    /// Flow records in it.
    pub flow_records: u32,
}

impl Encoder {
    /// An encoder of messages of at most `mtu` bytes for observation domain
    /// `domain`, of a run counting one packet in `one_in`.
    pub fn new(mtu: usize, domain: u32, one_in: u64) -> Self {
        assert!(
            (MIN_MTU..=MAX_MTU).contains(&mtu),
            "the MTU is checked by the caller"
        );
        let mut encoder = Encoder {
            mtu,
            domain,
            one_in: one_in.max(1),
            sequence: 0,
            buf: Vec::with_capacity(mtu),
            set: None,
            records: 0,
            flow_records: 0,
            templates: Vec::new(),
            template_records: 0,
            templates_due: true,
            lens: [0; 6],
        };
        for id in FLOW_TEMPLATES {
            encoder.lens[usize::from(id - 256)] = record_len(&template_fields(id));
        }
        encoder.encode_templates();
        encoder
    }

    /// The template set, and when packets are sampled the options template
    /// and its one record (RFC 7011 §4: scope observationDomainId).
    fn encode_templates(&mut self) {
        let t = &mut self.templates;
        let start = begin_set(t, TEMPLATE_SET);
        for id in FLOW_TEMPLATES {
            let fields = template_fields(id);
            t.extend_from_slice(&id.to_be_bytes());
            t.extend_from_slice(&(fields.len() as u16).to_be_bytes());
            for ie in fields {
                push_ie(t, ie);
            }
        }
        end_set(t, start);
        if self.one_in > 1 {
            let fields = [
                SAMPLING_PACKET_INTERVAL,
                SAMPLING_PACKET_SPACE,
                SAMPLING_PROBABILITY,
            ];
            let start = begin_set(t, OPTIONS_TEMPLATE_SET);
            t.extend_from_slice(&SAMPLING_TEMPLATE.to_be_bytes());
            t.extend_from_slice(&(fields.len() as u16 + 1).to_be_bytes());
            t.extend_from_slice(&1u16.to_be_bytes()); // scope fields
            push_ie(t, OBSERVATION_DOMAIN_ID);
            for ie in fields {
                push_ie(t, ie);
            }
            end_set(t, start);
            let start = begin_set(t, SAMPLING_TEMPLATE);
            t.extend_from_slice(&self.domain.to_be_bytes());
            let interval = 1u32;
            let space = u32::try_from(self.one_in - 1).unwrap_or(u32::MAX);
            t.extend_from_slice(&interval.to_be_bytes());
            t.extend_from_slice(&space.to_be_bytes());
            t.extend_from_slice(&(1.0 / self.one_in as f64).to_be_bytes());
            end_set(t, start);
            self.template_records = 1;
        }
    }

    /// The next message starts with the templates (at the start, on each
    /// new TCP connection, and every `--template-refresh` over UDP).
    pub fn templates_due(&mut self) {
        self.templates_due = true;
    }

    /// Starts a new stream (a new TCP connection): templates first, and
    /// sequence numbers from 0 (RFC 7011 §3.1: per Transport Session).
    pub fn new_stream(&mut self) {
        self.sequence = 0;
        self.templates_due = true;
    }

    /// Adds `record` to the message being built. If it does not fit, the
    /// message is finished first and handed to `send`.
    pub fn record(&mut self, r: &FlowRecord, send: &mut impl FnMut(Message<'_>), export_time: u32) {
        let id = template_id(r.key.shape.is_v6(), r.key.shape.port_kind());
        let len = self.lens[usize::from(id - 256)];
        let new_set = self.set.is_none_or(|(open, _)| open != id);
        // A new set's header, and the padding that may end the set.
        let need = len + if new_set { SET_HEADER_LEN } else { 0 } + 3;
        if !self.buf.is_empty() && self.buf.len() + need > self.mtu {
            self.finish(send, export_time);
        }
        if self.buf.is_empty() {
            self.begin();
        }
        if self.set.is_none_or(|(open, _)| open != id) {
            // A set holds records of one template.
            self.close_set();
            self.set = Some((id, begin_set(&mut self.buf, id)));
        }
        self.encode(r);
        self.records += 1;
        self.flow_records += 1;
    }

    /// Finishes the message being built, if any, and hands it to `send`.
    pub fn finish(&mut self, send: &mut impl FnMut(Message<'_>), export_time: u32) {
        if self.buf.is_empty() {
            return;
        }
        self.close_set();
        let len = self.buf.len() as u16;
        self.buf[2..4].copy_from_slice(&len.to_be_bytes());
        self.buf[4..8].copy_from_slice(&export_time.to_be_bytes());
        self.buf[8..12].copy_from_slice(&self.sequence.to_be_bytes());
        // Counted whether or not the message reaches the collector, so that
        // a collector sees a lost UDP message as a gap.
        self.sequence = self.sequence.wrapping_add(self.records);
        send(Message {
            bytes: &self.buf,
            flow_records: self.flow_records,
        });
        self.buf.clear();
        self.records = 0;
        self.flow_records = 0;
    }

    /// Sends the templates alone, when they are due and no record is
    /// waiting (a quiet live link, or a run with no record at all).
    pub fn finish_templates(&mut self, send: &mut impl FnMut(Message<'_>), export_time: u32) {
        if self.templates_due && self.buf.is_empty() {
            self.begin();
        }
        self.finish(send, export_time);
    }

    /// The header, with length, time and sequence filled in by `finish`,
    /// and the templates if they are due.
    fn begin(&mut self) {
        self.buf.extend_from_slice(&VERSION.to_be_bytes());
        self.buf.extend_from_slice(&[0; 10]);
        self.buf.extend_from_slice(&self.domain.to_be_bytes());
        debug_assert_eq!(self.buf.len(), HEADER_LEN);
        if self.templates_due {
            self.buf.extend_from_slice(&self.templates);
            self.records += self.template_records;
            self.templates_due = false;
        }
    }

    fn close_set(&mut self) {
        if let Some((_, start)) = self.set.take() {
            end_set(&mut self.buf, start);
        }
    }

    /// One record in the order of [`template_fields`].
    fn encode(&mut self, r: &FlowRecord) {
        let b = &mut self.buf;
        let k = &r.key;
        if k.shape.is_v6() {
            b.extend_from_slice(&k.src);
            b.extend_from_slice(&k.dst);
        } else {
            // IPv4 is kept IPv4-mapped: the last 4 bytes.
            b.extend_from_slice(&k.src[12..]);
            b.extend_from_slice(&k.dst[12..]);
        }
        match k.shape.port_kind() {
            PortKind::Ports => {
                b.extend_from_slice(&k.src_port.to_be_bytes());
                b.extend_from_slice(&k.dst_port.to_be_bytes());
            }
            // icmpTypeCode: type × 256 + code, kept as the key's two halves.
            PortKind::Icmp => b.extend_from_slice(&[k.src_port as u8, k.dst_port as u8]),
            PortKind::None => {}
        }
        b.push(k.proto);
        b.push(r.tcp_flags().unwrap_or(0));
        // Under `--packet-sample N` mirrorflow's counts are N × the counted
        // ones; IPFIX carries what was counted and states N, and collectors
        // scale back up (docs/ipfix.md, "Sampling").
        for count in [r.bytes, r.packets, r.payload_bytes] {
            b.extend_from_slice(&(count / self.one_in).to_be_bytes());
        }
        b.extend_from_slice(&(r.first.nanos() / 1_000_000).to_be_bytes());
        b.extend_from_slice(&(r.last.nanos() / 1_000_000).to_be_bytes());
        b.extend_from_slice(&ntp(r.first.nanos()).to_be_bytes());
        b.extend_from_slice(&ntp(r.last.nanos()).to_be_bytes());
        b.extend_from_slice(&r.observation.interface.to_be_bytes());
        let segment = match (r.observation.encap, r.observation.vni) {
            (Some(capture::decode::EncapKind::Vxlan), Some(vni)) => {
                SEGMENT_VXLAN | u64::from(vni & 0x00ff_ffff)
            }
            // IANA's layer2SegmentId names VXLAN and NVGRE only: a Geneve
            // VNI is not carried (docs/ipfix.md, "The observation point").
            _ => 0,
        };
        b.extend_from_slice(&segment.to_be_bytes());
        b.push(if r.partial {
            END_LACK_OF_RESOURCES
        } else {
            END_ACTIVE_TIMEOUT
        });
    }
}

/// Nanoseconds since the Unix epoch as `dateTimeNanoseconds`: NTP seconds
/// in the high 32 bits, the fraction of a second in 2^-32 s below. The
/// fraction is rounded up, so that a reader that truncates back to
/// nanoseconds (tshark does) gets the nanosecond written: a step of 2^-32 s
/// is under a quarter of one.
fn ntp(nanos: u64) -> u64 {
    let secs = nanos / 1_000_000_000 + NTP_UNIX_OFFSET;
    let fraction = ((nanos % 1_000_000_000) << 32).div_ceil(1_000_000_000);
    (secs << 32) | fraction
}

fn push_ie(b: &mut Vec<u8>, ie: Ie) {
    b.extend_from_slice(&ie.0.to_be_bytes());
    b.extend_from_slice(&ie.1.to_be_bytes());
}

/// Writes a set header with its length left for [`end_set`]; returns where it is.
fn begin_set(b: &mut Vec<u8>, id: u16) -> usize {
    let start = b.len();
    b.extend_from_slice(&id.to_be_bytes());
    b.extend_from_slice(&[0, 0]);
    start
}

/// Pads the set to 4 bytes (RFC 7011 §3.3.1 allows it; tshark and nfdump
/// expect aligned sets) and fills in its length.
fn end_set(b: &mut Vec<u8>, start: usize) {
    while (b.len() - start) % 4 != 0 {
        b.push(0);
    }
    let len = (b.len() - start) as u16;
    b[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
}
