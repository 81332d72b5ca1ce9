//! Packet time for the whole run: which packets are late, and when intervals close.
//!
//! The clock runs where packets are read, before they are split between
//! shards, so every shard sees the same decisions whatever the thread count:
//! a packet is late iff its interval had closed when it was read, and an
//! interval closes when packet time (the watermark, the latest timestamp
//! read) reaches its end plus the lateness (docs/record.md, "Files and runs").

use capture::Timestamp;

use crate::Interval;

/// The run's watermark and the intervals still open.
#[derive(Debug, Clone)]
pub struct Clock {
    secs: u32,
    lateness_secs: u32,
    watermark: Timestamp,
    /// Open intervals, oldest first: usually one or two.
    open: Vec<Interval>,
    /// Intervals closed so far.
    closed: u64,
}

/// What the clock says of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// The packet's interval had already closed: count it in a late record.
    pub late: bool,
    /// After this packet, one or more intervals are closed: shards must
    /// close them at [`Clock::watermark`].
    pub closes: bool,
}

impl Clock {
    /// A clock for intervals of `secs` seconds staying open `lateness_secs` longer.
    pub fn new(secs: u32, lateness_secs: u32) -> Self {
        Clock {
            secs,
            lateness_secs,
            watermark: Timestamp(0),
            open: Vec::new(),
            closed: 0,
        }
    }

    /// Advances packet time by one packet at `ts`.
    #[inline]
    pub fn tick(&mut self, ts: Timestamp) -> Tick {
        // Nearly every packet falls in the newest open interval and closes
        // nothing: answered without the division that finds an interval.
        // An open interval is not closed, so the packet is not late; the
        // oldest interval closes first, so if it stays open, all do.
        if let (Some(newest), Some(oldest)) = (self.open.last(), self.open.first()) {
            if newest.start <= ts
                && ts < newest.end()
                && !oldest.is_closed_at(ts, self.lateness_secs)
            {
                self.watermark = self.watermark.max(ts);
                return Tick {
                    late: false,
                    closes: false,
                };
            }
        }
        let interval = Interval::containing(ts, self.secs);
        let late = interval.is_closed_at(self.watermark, self.lateness_secs);
        if !late && !self.open.contains(&interval) {
            let at = self.open.partition_point(|i| i.start < interval.start);
            self.open.insert(at, interval);
        }
        let mut closes = false;
        if ts > self.watermark {
            self.watermark = ts;
            let closed = self
                .open
                .iter()
                .take_while(|i| i.is_closed_at(ts, self.lateness_secs))
                .count();
            if closed > 0 {
                self.open.drain(..closed);
                self.closed += closed as u64;
                closes = true;
            }
        }
        Tick { late, closes }
    }

    /// Advances time to `now` without a packet: a live capture calls this
    /// with the wall clock when the link is quiet, so intervals still close
    /// (docs/record.md, "Files and runs": "in a live capture also when the
    /// wall clock does"). Returns
    /// whether intervals closed: shards must then close them at
    /// [`Clock::watermark`]. Packets of a closed interval read later are
    /// late, as after any closing; time never moves back.
    pub fn advance_to(&mut self, now: Timestamp) -> bool {
        if now <= self.watermark {
            return false;
        }
        self.watermark = now;
        let closed = self
            .open
            .iter()
            .take_while(|i| i.is_closed_at(now, self.lateness_secs))
            .count();
        self.open.drain(..closed);
        self.closed += closed as u64;
        closed > 0
    }

    /// Intervals that held a packet and have closed so far.
    pub fn intervals_closed(&self) -> u64 {
        self.closed
    }

    /// The latest packet time read.
    pub fn watermark(&self) -> Timestamp {
        self.watermark
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = Timestamp::NANOS_PER_SEC;

    #[test]
    fn closes_once_packet_time_passes_end_plus_lateness() {
        let mut clock = Clock::new(5, 1);
        assert_eq!(
            clock.tick(Timestamp(S)),
            Tick {
                late: false,
                closes: false
            }
        );
        assert_eq!(
            clock.tick(Timestamp(6 * S - 1)),
            Tick {
                late: false,
                closes: false
            }
        );
        assert_eq!(
            clock.tick(Timestamp(6 * S)),
            Tick {
                late: false,
                closes: true
            }
        );
        // [0,5) is closed now: a packet of it is late; [5,10) is still open.
        assert_eq!(
            clock.tick(Timestamp(4 * S)),
            Tick {
                late: true,
                closes: false
            }
        );
        assert_eq!(
            clock.tick(Timestamp(9 * S)),
            Tick {
                late: false,
                closes: false
            }
        );
    }

    #[test]
    fn advance_to_closes_on_time_without_a_packet() {
        let mut clock = Clock::new(5, 1);
        clock.tick(Timestamp(S));
        assert!(!clock.advance_to(Timestamp(6 * S - 1)), "lateness not over");
        assert!(clock.advance_to(Timestamp(6 * S)));
        assert_eq!(clock.watermark(), Timestamp(6 * S));
        assert_eq!(clock.intervals_closed(), 1);
        // Nothing open: time moves, nothing closes; it never moves back.
        assert!(!clock.advance_to(Timestamp(60 * S)));
        assert!(!clock.advance_to(Timestamp(7 * S)));
        assert_eq!(clock.watermark(), Timestamp(60 * S));
        // A packet of the interval closed by the wall clock is late.
        assert!(clock.tick(Timestamp(2 * S)).late);
    }

    #[test]
    fn a_jump_closes_every_interval_passed() {
        let mut clock = Clock::new(5, 1);
        clock.tick(Timestamp(S));
        clock.tick(Timestamp(7 * S));
        assert_eq!(
            clock.tick(Timestamp(100 * S)),
            Tick {
                late: false,
                closes: true
            }
        );
        assert_eq!(
            clock.tick(Timestamp(7 * S)),
            Tick {
                late: true,
                closes: false
            }
        );
    }

    proptest::proptest! {
        /// Against a model written from the spec's words (a set of open
        /// interval starts): the same late and closing decisions, packet by
        /// packet, whatever the order of timestamps.
        #[test]
        fn decides_as_the_spec_model_does(
            steps in proptest::collection::vec(-4000i64..6000, 1..400),
            secs in proptest::sample::select(vec![1u32, 5, 60]),
            lateness in 0u32..3,
        ) {
            let mut clock = Clock::new(secs, lateness);
            let (mut watermark, mut open) = (0u64, std::collections::BTreeSet::new());
            let mut t: i64 = 1_000_000;
            for step in steps {
                t = (t + step).max(0);
                let ts = Timestamp(t as u64 * 1_000_000);
                let interval = Interval::containing(ts, secs);
                let late = interval.is_closed_at(Timestamp(watermark), lateness);
                if !late {
                    open.insert(interval.start);
                }
                let mut closes = false;
                if ts.0 > watermark {
                    watermark = ts.0;
                    let closed: Vec<_> = open
                        .iter()
                        .copied()
                        .filter(|&start| Interval { start, secs }.is_closed_at(ts, lateness))
                        .collect();
                    closes = !closed.is_empty();
                    for start in closed {
                        open.remove(&start);
                    }
                }
                proptest::prop_assert_eq!(clock.tick(ts), Tick { late, closes });
                proptest::prop_assert_eq!(clock.watermark(), Timestamp(watermark));
            }
        }
    }
}
