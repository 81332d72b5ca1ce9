//! RFC 3339 text for capture timestamps (flow-record.md §4: UTC, 9 fraction digits).

use std::fmt;

use capture::Timestamp;

/// Displays a timestamp as `2026-11-24T07:00:00.123456789Z`, without allocating.
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339(pub Timestamp);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The civil date comes from `time`; the text is fixed-width, so it is
        // written directly rather than through a format description.
        let secs = self.0.secs() as i64;
        let nanos = self.0.nanos() % Timestamp::NANOS_PER_SEC;
        let t = ::time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| fmt::Error)?;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            nanos
        )
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
}
