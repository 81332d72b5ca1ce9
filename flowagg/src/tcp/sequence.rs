//! Which segments carry sequence numbers their sender already sent: the
//! retransmissions, as Wireshark's TCP analysis flags them
//! (`tcp.analysis.retransmission`), with its keep-alive, zero-window-probe,
//! out-of-order and fast-retransmission rules, so that a count compares
//! with tshark's on the same capture (docs/record.md, "TCP: round trips and retransmissions").

use capture::Timestamp;

/// TCP flag bits (RFC 9293 §3.1).
pub(crate) const FIN: u8 = 0x01;
pub(crate) const SYN: u8 = 0x02;
pub(crate) const RST: u8 = 0x04;
pub(crate) const ACK: u8 = 0x10;

/// An out-of-order segment comes within this of the highest one, until the
/// handshake measured a round trip (Wireshark's default).
const OUT_OF_ORDER_NANOS: u64 = 3_000_000;
/// A fast retransmission follows the receiver's duplicate ACKs within this.
const FAST_RETRANSMISSION_NANOS: u64 = 20_000_000;

/// `a` comes after `b` in sequence space (RFC 1982 arithmetic).
#[inline]
pub(crate) fn after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// One segment as the analysis reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub(crate) seq: u32,
    pub(crate) ack: u32,
    pub(crate) window: u16,
    pub(crate) flags: u8,
    /// Payload bytes (declared lengths).
    pub(crate) len: u32,
    pub(crate) ts: Timestamp,
}

impl Segment {
    /// Sequence numbers the segment takes: its payload, and one each for SYN and FIN.
    #[inline]
    pub(crate) fn end(&self) -> u32 {
        let flags = u32::from(self.flags & SYN != 0) + u32::from(self.flags & FIN != 0);
        self.seq.wrapping_add(self.len).wrapping_add(flags)
    }

    /// Whether it carries sequence numbers (data, SYN or FIN).
    #[inline]
    pub(crate) fn carries(&self) -> bool {
        self.len > 0 || self.flags & (SYN | FIN) != 0
    }
}

/// What a segment is, for its sender's sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// New sequence numbers, or none at all (a pure ACK).
    New,
    /// A keep-alive or a zero-window probe: not a retransmission.
    Probe,
    /// Sequence numbers sent before, arriving soon after the highest: reordered on the way.
    OutOfOrder,
    /// Sequence numbers sent before: counted in `retransmitted_packets`.
    Retransmission,
}

/// What one end sent and acknowledged, as far as the mirror saw. Zero
/// stands for "not seen yet" in `next_seq` and `last_ack`, as in Wireshark,
/// so that the two count alike.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sent {
    /// The sequence number after the highest this end sent.
    next_seq: u32,
    /// When `next_seq` last moved forward.
    next_time: Timestamp,
    /// The acknowledgement field of this end's last segment, and when.
    last_ack: u32,
    last_ack_time: Timestamp,
    /// Duplicate acknowledgements since `last_ack` last changed.
    dup_acks: u32,
    /// The window this end last advertised (`u32::MAX` before any).
    window: u32,
}

impl Default for Sent {
    fn default() -> Self {
        Sent {
            next_seq: 0,
            next_time: Timestamp(0),
            last_ack: 0,
            last_ack_time: Timestamp(0),
            dup_acks: 0,
            window: u32::MAX,
        }
    }
}

impl Sent {
    /// A word of the state, read to load it ahead.
    #[inline]
    pub(crate) fn touch(&self) -> u64 {
        u64::from(self.next_seq)
    }

    /// Classifies `seg`, sent by this end while `other` is the other end,
    /// and moves this end's state on. `handshake` is the connection's
    /// initial round trip, when measured: the out-of-order threshold.
    pub(crate) fn segment(&mut self, other: &Sent, seg: &Segment, handshake: Option<u64>) -> Kind {
        let control = seg.flags & (SYN | FIN | RST) != 0;
        let next = self.next_seq;
        let zero_window_probe = seg.len == 1 && next != 0 && seg.seq == next && other.window == 0;
        let keep_alive = !zero_window_probe
            && seg.len <= 1
            && !control
            && next != 0
            && seg.seq == next.wrapping_sub(1);
        if seg.ack != self.last_ack {
            self.dup_acks = 0;
        }
        if !zero_window_probe
            && !keep_alive
            && seg.len == 0
            && !control
            && seg.window != 0
            && u32::from(seg.window) == self.window
            && next != 0
            && seg.seq == next
            && seg.ack == self.last_ack
        {
            self.dup_acks += 1;
        }
        let kind = if zero_window_probe || keep_alive {
            Kind::Probe
        } else {
            self.classify(other, seg, handshake)
        };
        let end = seg.end();
        if !zero_window_probe && seg.carries() && (next == 0 || after(end, next)) {
            self.next_seq = end;
            self.next_time = seg.ts;
        }
        self.window = u32::from(seg.window);
        self.last_ack = seg.ack;
        self.last_ack_time = seg.ts;
        kind
    }

    /// The retransmission family, for a segment that is not a probe.
    fn classify(&self, other: &Sent, seg: &Segment, handshake: Option<u64>) -> Kind {
        if !seg.carries() {
            return Kind::New;
        }
        let next = self.next_seq;
        let behind =
            next != 0 && after(next, seg.seq) && !(seg.len > 1 && seg.seq == next.wrapping_sub(1));
        // Already acknowledged by the other end: spurious, and counted.
        if seg.len > 0
            && other.last_ack != 0
            && !after(seg.seq.wrapping_add(seg.len), other.last_ack)
        {
            return Kind::Retransmission;
        }
        if !behind {
            return Kind::New;
        }
        // Time differences wrap, as Wireshark's do: a timestamp that went
        // back never makes a fast retransmission or a reordering.
        let since = |then: Timestamp| seg.ts.0.wrapping_sub(then.0);
        if other.dup_acks >= 2
            && other.last_ack == seg.seq
            && since(other.last_ack_time) < FAST_RETRANSMISSION_NANOS
        {
            return Kind::Retransmission;
        }
        let threshold = handshake.unwrap_or(OUT_OF_ORDER_NANOS);
        if since(self.next_time) < threshold && next != seg.end() {
            return Kind::OutOfOrder;
        }
        Kind::Retransmission
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// A segment of `len` bytes at `seq`, acknowledging `ack`, at `ms`.
    fn seg(seq: u32, len: u32, flags: u8, ms: u64) -> Segment {
        Segment {
            seq,
            ack: 1,
            window: 1000,
            flags,
            len,
            ts: Timestamp(ms * MS),
        }
    }

    /// The other end's bare ACK of `ack`, at `ms`.
    fn ack_of(ack: u32, ms: u64) -> Segment {
        Segment {
            ack,
            ..seg(1, 0, ACK, ms)
        }
    }

    /// Kinds of `segments`, all from one end, the other end silent.
    fn kinds(segments: &[Segment]) -> Vec<Kind> {
        let (mut me, other) = (Sent::default(), Sent::default());
        segments
            .iter()
            .map(|s| me.segment(&other, s, None))
            .collect()
    }

    #[test]
    fn data_sent_again_is_a_retransmission_unless_it_comes_at_once() {
        use Kind::*;
        let a = seg(100, 50, ACK, 0);
        let b = seg(150, 50, ACK, 1);
        assert_eq!(
            kinds(&[a, b, seg(100, 50, ACK, 500)]),
            [New, New, Retransmission],
            "half a second later"
        );
        assert_eq!(
            kinds(&[a, b, seg(100, 50, ACK, 2)]),
            [New, New, OutOfOrder],
            "1 ms after the highest, within 3 ms"
        );
        assert_eq!(
            kinds(&[a, b, seg(150, 50, ACK, 2)]),
            [New, New, Retransmission],
            "ending where the highest did: sent twice, not reordered"
        );
    }

    #[test]
    fn keep_alives_and_pure_acks_are_not_retransmissions() {
        use Kind::*;
        let a = seg(100, 50, ACK, 0);
        assert_eq!(
            kinds(&[a, seg(149, 0, ACK, 60_000), seg(149, 1, ACK, 120_000)]),
            [New, Probe, Probe]
        );
        assert_eq!(kinds(&[a, seg(100, 0, ACK, 600)]), [New, New], "no data");
        assert_eq!(
            kinds(&[a, seg(149, 2, ACK, 600)]),
            [New, New],
            "two bytes one below the next: new data, as Wireshark has it"
        );
    }

    #[test]
    fn a_zero_window_probe_is_not_one() {
        let mut me = Sent::default();
        let mut other = Sent::default();
        me.segment(&other, &seg(100, 50, ACK, 0), None);
        let closed = Segment {
            window: 0,
            ..ack_of(150, 1)
        };
        other.segment(&me, &closed, None);
        assert_eq!(
            me.segment(&other, &seg(150, 1, ACK, 200), None),
            Kind::Probe
        );
        assert_eq!(
            me.segment(&other, &seg(150, 1, ACK, 400), None),
            Kind::Probe,
            "the probe did not move the next sequence number"
        );
    }

    #[test]
    fn data_the_receiver_acknowledged_is_a_spurious_retransmission() {
        let mut me = Sent::default();
        let mut other = Sent::default();
        me.segment(&other, &seg(100, 50, ACK, 0), None);
        other.segment(&me, &ack_of(150, 1), None);
        assert_eq!(
            me.segment(&other, &seg(100, 50, ACK, 2), None),
            Kind::Retransmission,
            "within 3 ms, yet acknowledged already"
        );
    }

    #[test]
    fn after_two_duplicate_acks_the_missing_segment_is_a_fast_retransmission() {
        let mut me = Sent::default();
        let mut other = Sent::default();
        for (i, s) in [100, 150, 200].into_iter().enumerate() {
            me.segment(&other, &seg(s, 50, ACK, i as u64), None);
        }
        // The receiver lost 150..200: it acknowledges 150 three times.
        for ms in [3, 4, 5] {
            other.segment(&me, &ack_of(150, ms), None);
        }
        assert_eq!(
            me.segment(&other, &seg(150, 50, ACK, 6), None),
            Kind::Retransmission,
            "3 ms after the highest would be out of order, but two duplicate ACKs came first"
        );
    }

    #[test]
    fn sequence_numbers_wrap() {
        use Kind::*;
        let top = u32::MAX - 9;
        assert_eq!(
            kinds(&[
                seg(top, 20, ACK, 0),
                seg(10, 5, ACK, 1),
                seg(top, 20, ACK, 900)
            ]),
            [New, New, Retransmission]
        );
    }
}
