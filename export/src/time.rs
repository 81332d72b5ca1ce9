//! RFC 3339 text for capture timestamps (docs/record.md, "Fields": UTC, 9
//! fraction digits).

use std::fmt;

use capture::Timestamp;

use crate::decimal::pair;

/// Length of `2026-11-24T07:` (the date and the hour).
const HOUR_LEN: usize = 14;
/// Length of the whole text: the hour, `MM:SS.`, 9 fraction digits and `Z`.
pub const TEXT_LEN: usize = 30;
const SECS_PER_HOUR: u64 = 3600;

/// The UTC calendar date and time of a second since the epoch: the one
/// place calendar arithmetic happens (RFC 3339 text here, Parquet partition
/// folders and file names in `export::parquet`).
pub fn utc(secs: u64) -> ::time::OffsetDateTime {
    // A `Timestamp` (u64 nanoseconds) ends in 2554, well inside `time`'s
    // range (year 9999), so the fallback is never taken.
    i64::try_from(secs)
        .ok()
        .and_then(|secs| ::time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or(::time::OffsetDateTime::UNIX_EPOCH)
}

/// The text of an hour since the epoch: the civil date comes from `time`,
/// once per hour, which is all a run of 5 s intervals ever asks for.
fn hour_text(hour: u64) -> [u8; HOUR_LEN] {
    let t = utc(hour * SECS_PER_HOUR);
    let year = t.year() as u32;
    let [y1, y2] = pair(year / 100);
    let [y3, y4] = pair(year % 100);
    let [mo1, mo2] = pair(u8::from(t.month()).into());
    let [d1, d2] = pair(t.day().into());
    let [h1, h2] = pair(t.hour().into());
    [
        y1, y2, y3, y4, b'-', mo1, mo2, b'-', d1, d2, b'T', h1, h2, b':',
    ]
}

/// Length of `MM:SS.123456789Z`: what follows the hour.
const REST_LEN: usize = TEXT_LEN - HOUR_LEN;

/// The text after the hour: plain arithmetic on the timestamp.
#[inline]
fn rest(ts: Timestamp) -> [u8; REST_LEN] {
    let in_hour = (ts.secs() % SECS_PER_HOUR) as u32;
    let [m1, m2] = pair(in_hour / 60);
    let [s1, s2] = pair(in_hour % 60);
    let nanos = (ts.nanos() % Timestamp::NANOS_PER_SEC) as u32;
    let first = b'0' + (nanos / 100_000_000) as u8;
    let (high, low) = (nanos % 100_000_000 / 10_000, nanos % 10_000);
    let [f1, f2] = pair(high / 100);
    let [f3, f4] = pair(high % 100);
    let [f5, f6] = pair(low / 100);
    let [f7, f8] = pair(low % 100);
    [
        m1, m2, b':', s1, s2, b'.', first, f1, f2, f3, f4, f5, f6, f7, f8, b'Z',
    ]
}

/// The RFC 3339 text of a timestamp: `2026-11-24T07:00:00.123456789Z`.
pub fn render(ts: Timestamp) -> [u8; TEXT_LEN] {
    let mut out = [0; TEXT_LEN];
    out[..HOUR_LEN].copy_from_slice(&hour_text(ts.secs() / SECS_PER_HOUR));
    out[HOUR_LEN..].copy_from_slice(&rest(ts));
    out
}

/// Renders timestamps, remembering the last hour's date and hour: the three
/// timestamps of a record are usually in different seconds but the same
/// hour, so the calendar is worked out once per hour, not once per field.
#[derive(Debug)]
pub struct TimeText {
    hour: u64,
    /// The text of `hour`, always: no "empty" state to test for.
    text: [u8; HOUR_LEN],
}

impl Default for TimeText {
    fn default() -> Self {
        TimeText {
            hour: 0,
            text: hour_text(0),
        }
    }
}

impl TimeText {
    /// Appends the text of `ts` to `out`. Always inlined, as
    /// [`crate::decimal::number`] is, for the same measured reason.
    #[inline(always)]
    pub fn write(&mut self, ts: Timestamp, out: &mut Vec<u8>) {
        let hour = ts.secs() / SECS_PER_HOUR;
        if hour != self.hour {
            self.hour = hour;
            self.text = hour_text(hour);
        }
        // Copied from where it is kept, not through a local: a 14-byte copy
        // of a fresh local stalls on store forwarding (perf annotate).
        out.extend_from_slice(&self.text);
        out.extend_from_slice(&rest(ts));
    }
}

/// Displays a timestamp as RFC 3339 text, without allocating.
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339(pub Timestamp);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = render(self.0);
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The text the `time` crate formats for `ts`: the oracle of the tests.
    pub(crate) fn by_time(ts: Timestamp) -> String {
        let format = ::time::format_description::parse_borrowed::<2>(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z",
        )
        .unwrap();
        ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ts.0))
            .unwrap()
            .format(&format)
            .unwrap()
    }

    /// Any timestamp, or one in three hours of 2020: consecutive draws of
    /// the second kind often share an hour and sometimes cross one, so a
    /// cache is both hit and missed.
    pub(crate) fn timestamp() -> impl Strategy<Value = Timestamp> {
        prop_oneof![
            any::<u64>().prop_map(Timestamp),
            (1_600_000_000..1_600_010_800u64, 0..Timestamp::NANOS_PER_SEC)
                .prop_map(|(secs, nanos)| Timestamp::from_parts(secs, nanos)),
        ]
    }

    #[test]
    fn formats_epoch_and_a_known_date_with_nine_digits() {
        assert_eq!(
            Rfc3339(Timestamp(0)).to_string(),
            "1970-01-01T00:00:00.000000000Z"
        );
        // date -u -d @1795012439 → Wed Nov 18 14:33:59 UTC 2026
        let ts = Timestamp::from_parts(1_795_012_439, 5);
        assert_eq!(Rfc3339(ts).to_string(), "2026-11-18T14:33:59.000000005Z");
        // A leap day: date -u -d @1709164800 → 2024-02-29 00:00:00
        let leap = Timestamp::from_parts(1_709_164_800, 999_999_999);
        assert_eq!(Rfc3339(leap).to_string(), "2024-02-29T00:00:00.999999999Z");
    }

    #[test]
    fn the_cache_gives_the_same_text_as_a_fresh_render() {
        let mut text = TimeText::default();
        let mut out = Vec::new();
        for ts in [
            0,
            999_999_999,
            1_000_000_000,
            3_599_999_999_999,
            3_600_000_000_000,
            1_709_164_800_999_999_999,
            1_709_164_801_000_000_000,
            5,
        ] {
            out.clear();
            text.write(Timestamp(ts), &mut out);
            assert_eq!(out, render(Timestamp(ts)), "{ts}");
        }
    }

    proptest! {
        #[test]
        fn cached_and_fresh_texts_are_the_time_crate_texts(
            stamps in proptest::collection::vec(timestamp(), 1..16),
        ) {
            let mut text = TimeText::default();
            let mut out = Vec::new();
            for ts in stamps {
                let want = by_time(ts);
                out.clear();
                text.write(ts, &mut out);
                prop_assert_eq!(std::str::from_utf8(&out).unwrap(), &want);
                prop_assert_eq!(Rfc3339(ts).to_string(), want);
            }
        }
    }
}
