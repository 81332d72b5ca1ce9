//! Intervals on packet time: the only place interval arithmetic happens.

use capture::Timestamp;

/// An epoch-aligned aggregation interval `[start, start + secs)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    /// First instant of the interval, a multiple of `secs` since the epoch.
    pub start: Timestamp,
    /// Length in seconds.
    pub secs: u32,
}

impl Interval {
    /// The interval holding `ts`: `floor(t / L) * L` (docs/record.md, "Intervals").
    #[inline]
    pub fn containing(ts: Timestamp, secs: u32) -> Interval {
        let len = u64::from(secs) * Timestamp::NANOS_PER_SEC;
        Interval {
            start: Timestamp(ts.0 - ts.0 % len),
            secs,
        }
    }

    /// First instant after the interval; the last instant a timestamp can
    /// hold for an interval that reaches past it (year 2554: only a damaged
    /// or hostile capture gets there).
    pub fn end(&self) -> Timestamp {
        Timestamp(
            self.start
                .0
                .saturating_add(u64::from(self.secs) * Timestamp::NANOS_PER_SEC),
        )
    }

    /// Whether the interval is closed once packet time has reached
    /// `watermark`: packet time has passed its end by the lateness or more.
    #[inline]
    pub fn is_closed_at(&self, watermark: Timestamp, lateness_secs: u32) -> bool {
        let closes = self
            .end()
            .0
            .saturating_add(u64::from(lateness_secs) * Timestamp::NANOS_PER_SEC);
        watermark.0 >= closes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = Timestamp::NANOS_PER_SEC;

    #[test]
    fn interval_containing_exact_boundary_starts_there() {
        let i = Interval::containing(Timestamp(10 * S), 5);
        assert_eq!(i.start, Timestamp(10 * S));
        assert_eq!(i.end(), Timestamp(15 * S));
    }

    #[test]
    fn interval_containing_last_nanosecond_stays_in_interval() {
        let i = Interval::containing(Timestamp(15 * S - 1), 5);
        assert_eq!(i.start, Timestamp(10 * S));
    }

    #[test]
    fn interval_60_is_epoch_aligned_to_minutes() {
        // 2026-11-18T14:33:59.5Z (date -u -d @1795012439)
        let ts = Timestamp(1_795_012_439 * S + S / 2);
        let i = Interval::containing(ts, 60);
        assert_eq!(i.start.secs(), 1_795_012_380);
        assert_eq!(i.start.secs() % 60, 0);
    }

    #[test]
    fn issue_8_an_interval_at_the_end_of_time_does_not_overflow() {
        // Found by the `replay` fuzz target: a pcapng timestamp near u64::MAX.
        let i = Interval::containing(Timestamp(u64::MAX - 1), 3600);
        assert_eq!(i.end(), Timestamp(u64::MAX));
        assert!(!i.is_closed_at(Timestamp(u64::MAX - 1), 1));
        assert!(i.is_closed_at(Timestamp(u64::MAX), 1));
    }

    #[test]
    fn closes_when_watermark_reaches_end_plus_lateness() {
        let i = Interval::containing(Timestamp(12 * S), 5);
        assert!(!i.is_closed_at(Timestamp(16 * S - 1), 1));
        assert!(i.is_closed_at(Timestamp(16 * S), 1));
        assert!(i.is_closed_at(Timestamp(15 * S), 0));
    }
}
