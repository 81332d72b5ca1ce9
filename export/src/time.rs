//! RFC 3339 text for capture timestamps (flow-record.md §4: UTC, 9 fraction digits).

use std::fmt;

use capture::Timestamp;

/// Length of `2026-11-24T07:00:00.` (date, time, and the decimal point).
const PREFIX_LEN: usize = 20;
/// Length of the whole text: the prefix, 9 fraction digits and `Z`.
pub const TEXT_LEN: usize = 30;

/// The text of the whole seconds: the civil date comes from `time`; the
/// layout is fixed-width, so it is written digit by digit.
fn prefix(secs: u64) -> [u8; PREFIX_LEN] {
    // A u64 of nanoseconds ends in 2554, well inside `time`'s range.
    let t = ::time::OffsetDateTime::from_unix_timestamp(secs as i64).expect("timestamp in range");
    let mut out = *b"0000-00-00T00:00:00.";
    digits(&mut out[0..4], t.year() as u64);
    digits(&mut out[5..7], u64::from(u8::from(t.month())));
    digits(&mut out[8..10], u64::from(t.day()));
    digits(&mut out[11..13], u64::from(t.hour()));
    digits(&mut out[14..16], u64::from(t.minute()));
    digits(&mut out[17..19], u64::from(t.second()));
    out
}

/// Writes `value` zero-padded into all of `out`.
fn digits(out: &mut [u8], mut value: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The RFC 3339 text of a timestamp: `2026-11-24T07:00:00.123456789Z`.
pub fn render(ts: Timestamp) -> [u8; TEXT_LEN] {
    let mut out = [0u8; TEXT_LEN];
    out[..PREFIX_LEN].copy_from_slice(&prefix(ts.secs()));
    digits(
        &mut out[PREFIX_LEN..TEXT_LEN - 1],
        ts.nanos() % Timestamp::NANOS_PER_SEC,
    );
    out[TEXT_LEN - 1] = b'Z';
    out
}

/// Renders timestamps, remembering the last second's date and time: records
/// of one interval share a handful of seconds, so the calendar is worked out
/// once per second, not once per field.
#[derive(Debug, Default)]
pub struct TimeText {
    cached: Option<(u64, [u8; PREFIX_LEN])>,
}

impl TimeText {
    /// Appends the text of `ts` to `out`.
    #[inline]
    pub fn write(&mut self, ts: Timestamp, out: &mut Vec<u8>) {
        let secs = ts.secs();
        let prefix = match self.cached {
            Some((cached, text)) if cached == secs => text,
            _ => {
                let text = prefix(secs);
                self.cached = Some((secs, text));
                text
            }
        };
        out.extend_from_slice(&prefix);
        let mut fraction = [0u8; TEXT_LEN - PREFIX_LEN];
        digits(&mut fraction[..9], ts.nanos() % Timestamp::NANOS_PER_SEC);
        fraction[9] = b'Z';
        out.extend_from_slice(&fraction);
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
mod tests {
    use super::*;

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
            1_709_164_800_999_999_999,
            1_709_164_801_000_000_000,
            5,
        ] {
            out.clear();
            text.write(Timestamp(ts), &mut out);
            assert_eq!(out, render(Timestamp(ts)), "{ts}");
        }
    }
}
