//! Round trips as a mirror sees them (docs/record.md, "TCP: round trips and retransmissions").
//!
//! A mirror sits between the ends, so it sees each round trip in two
//! halves: from a segment one end sends to the acknowledgement coming back
//! from the other (the far end's half), and the same the other way. A
//! sample is the sum of the half just measured and the other end's latest.
//! One segment per end is timed at a time (its probe), and only an
//! acknowledgement of exactly its last sequence number completes it: a
//! cumulative ACK past it could be answering a later segment, and a
//! retransmitted probe is dropped (Karn), so every half is one segment's
//! own round trip.

use capture::Timestamp;

use super::sequence::after;

/// The segment of one end being timed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timing {
    /// The sequence number after the probe, and when the probe was seen.
    probe: Option<(u32, Timestamp)>,
    /// The latest half measured from this end's segments, in nanoseconds
    /// (0: none yet; a measured half is at least 1).
    half: u64,
}

impl Timing {
    /// A word of the state, read to load it ahead.
    #[inline]
    pub(crate) fn touch(&self) -> u64 {
        self.half
    }

    /// A segment of this end that carried new sequence numbers up to `end`:
    /// timed, unless one is already.
    pub(crate) fn sent(&mut self, end: u32, ts: Timestamp) {
        if self.probe.is_none() {
            self.probe = Some((end, ts));
        }
    }

    /// This end retransmitted: its probe may be answered by either copy.
    pub(crate) fn retransmitted(&mut self) {
        self.probe = None;
    }

    /// The other end acknowledged up to `ack` at `ts`: the half it
    /// completes, and when the timed segment was seen.
    pub(crate) fn acknowledged(&mut self, ack: u32, ts: Timestamp) -> Option<(u64, Timestamp)> {
        let (end, sent) = self.probe?;
        if ack == end {
            self.probe = None;
            let half = ts.0.saturating_sub(sent.0).max(1);
            self.half = half;
            Some((half, sent))
        } else {
            if after(ack, end) {
                self.probe = None;
            }
            None
        }
    }

    /// The latest half measured from this end's segments.
    pub(crate) fn half(&self) -> Option<u64> {
        (self.half > 0).then_some(self.half)
    }
}

/// Samples kept per direction and interval for the median: beyond, a
/// uniform choice of them (reservoir sampling), so memory stays fixed.
const KEEP: usize = 7;

/// The round-trip samples of one direction in one interval, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Samples {
    interval: Timestamp,
    seen: u32,
    kept: [u32; KEEP],
}

impl Samples {
    /// Adds a sample of the interval starting at `interval`. A sample of a
    /// newer interval first hands back the median of the one held.
    pub(crate) fn add(&mut self, interval: Timestamp, usec: u32) -> Option<(Timestamp, u32)> {
        let done = if self.seen > 0 && self.interval != interval {
            self.take()
        } else {
            None
        };
        if self.seen == 0 {
            self.interval = interval;
        }
        let at = self.seen as usize;
        if at < KEEP {
            self.kept[at] = usec;
        } else {
            // Deterministic: the same capture keeps the same samples.
            let draw =
                splitmix(u64::from(self.seen) ^ u64::from(usec)) % (u64::from(self.seen) + 1);
            if let Some(slot) = self.kept.get_mut(draw as usize) {
                *slot = usec;
            }
        }
        self.seen = self.seen.saturating_add(1);
        done
    }

    /// The interval held, if any sample is.
    pub(crate) fn interval(&self) -> Option<Timestamp> {
        (self.seen > 0).then_some(self.interval)
    }

    /// The median of the samples held (the lower of the middle two), and
    /// their interval; empties the set.
    pub(crate) fn take(&mut self) -> Option<(Timestamp, u32)> {
        let n = (self.seen as usize).min(KEEP);
        if n == 0 {
            return None;
        }
        self.seen = 0;
        let kept = &mut self.kept[..n];
        let (_, median, _) = kept.select_nth_unstable((n - 1) / 2);
        Some((self.interval, *median))
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_exact_acknowledgement_times_the_probe() {
        let mut t = Timing::default();
        t.sent(1000, Timestamp(10));
        t.sent(2000, Timestamp(20));
        assert_eq!(t.acknowledged(500, Timestamp(30)), None, "partial");
        assert_eq!(
            t.acknowledged(1000, Timestamp(45)),
            Some((35, Timestamp(10)))
        );
        t.sent(3000, Timestamp(50));
        assert_eq!(t.acknowledged(4000, Timestamp(60)), None, "past it");
        assert_eq!(t.acknowledged(3000, Timestamp(70)), None, "dropped");
        t.sent(5000, Timestamp(80));
        t.retransmitted();
        assert_eq!(t.acknowledged(5000, Timestamp(90)), None, "Karn");
        assert_eq!(t.half(), Some(35));
    }

    #[test]
    fn the_median_of_an_interval_comes_out_when_the_next_begins() {
        let mut s = Samples::default();
        for usec in [30, 10, 20, 40] {
            assert_eq!(s.add(Timestamp(5), usec), None);
        }
        assert_eq!(s.add(Timestamp(10), 7), Some((Timestamp(5), 20)));
        assert_eq!(s.take(), Some((Timestamp(10), 7)));
        assert_eq!(s.take(), None);
    }

    #[test]
    fn beyond_what_is_kept_the_median_stays_among_the_samples() {
        let mut s = Samples::default();
        for usec in 0..1000u32 {
            s.add(Timestamp(0), 25_000 + usec % 3);
        }
        let (_, median) = s.take().unwrap();
        assert!((25_000..=25_002).contains(&median));
    }
}
