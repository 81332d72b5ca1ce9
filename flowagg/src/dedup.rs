//! Dropping duplicate copies of a packet (`--dedup WINDOW`, docs/decoding.md, "`--dedup`").
//!
//! A mirror of both ends of a conversation, or two SPAN sessions, deliver the
//! same packet twice. A copy is recognised by a fingerprint of the innermost
//! IP header and the transport header, leaving out what changes per hop
//! (IPv4 TTL and header checksum, IPv6 hop limit), whatever tunnel or
//! interface it came through.
//!
//! Memory is a fixed table of 2^20 (fingerprint, time) slots, 16 MiB, indexed
//! by the fingerprint: one hash and one memory access per packet. A slot is
//! overwritten by a later packet that maps to it, so a copy arriving after
//! about a million other packets is no longer recognised; within a few
//! milliseconds at mirror rates that does not happen.

use std::hash::BuildHasher;

use capture::{
    decode::{Decoded, IpView},
    Timestamp,
};
use foldhash::fast::FixedState;

const SLOTS: usize = 1 << 20;

/// IPv4 header bytes that change per hop (RFC 791): TTL (8) and checksum (10–11).
const IPV4_TTL: usize = 8;
const IPV4_CHECKSUM_END: usize = 12;
/// IPv6 hop limit (RFC 8200): byte 7.
const IPV6_HOP_LIMIT: usize = 7;

/// A time-windowed set of packet fingerprints.
#[derive(Debug)]
pub struct Dedup {
    window: u64,
    hasher: FixedState,
    /// (fingerprint | 1, first time seen); fingerprint 0 marks an empty slot.
    slots: Box<[(u64, u64)]>,
}

impl Dedup {
    /// A filter dropping copies seen within `window_nanos` of the first.
    pub fn new(window_nanos: u64) -> Self {
        Dedup {
            window: window_nanos,
            hasher: FixedState::with_seed(0x6d69_7272_6f72),
            slots: vec![(0, 0); SLOTS].into_boxed_slice(),
        }
    }

    /// Whether this packet is a copy of one seen within the window; if not,
    /// it is remembered.
    #[inline]
    pub fn is_duplicate(&mut self, decoded: &Decoded<'_>, ts: Timestamp) -> bool {
        let fingerprint = self.fingerprint(decoded) | 1;
        let slot = &mut self.slots[fingerprint as usize & (SLOTS - 1)];
        if slot.0 == fingerprint && ts.0.abs_diff(slot.1) <= self.window {
            return true;
        }
        *slot = (fingerprint, ts.0);
        false
    }

    fn fingerprint(&self, decoded: &Decoded<'_>) -> u64 {
        let transport = decoded.transport_header();
        match &decoded.ip {
            IpView::V4(h) => {
                let b = h.slice();
                self.hasher.hash_one((
                    &b[..IPV4_TTL],
                    b[IPV4_TTL + 1],
                    &b[IPV4_CHECKSUM_END..],
                    transport,
                ))
            }
            IpView::V6(h) => {
                let b = h.slice();
                self.hasher
                    .hash_one((&b[..IPV6_HOP_LIMIT], &b[IPV6_HOP_LIMIT + 1..], transport))
            }
        }
    }
}
