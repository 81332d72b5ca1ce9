//! `--where` and `--since` / `--until`: which records a query counts.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{
    field::{names, Catalog, Leaf, Type},
    net::Prefix,
    Error,
};

/// `interval_start` in `[since, until)`, in microseconds since the epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// The first interval start counted.
    pub since: Option<i64>,
    /// The first interval start not counted.
    pub until: Option<i64>,
}

impl TimeRange {
    /// Parses `--since` / `--until`: RFC 3339 (`2026-11-24T07:00:00Z`) or a
    /// time before `now` (`-15m`, `-2h`, `-1d`).
    pub fn parse(since: Option<&str>, until: Option<&str>, now: SystemTime) -> Result<Self, Error> {
        let time = |text: &str| -> Result<i64, Error> {
            let t = match text.strip_prefix('-') {
                Some(ago) => humantime::parse_duration(ago)
                    .ok()
                    .and_then(|d| now.checked_sub(d)),
                None => humantime::parse_rfc3339_weak(text).ok(),
            }
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "'{text}' is not a time: RFC 3339 (2026-11-24T07:00:00Z) or relative (-15m, -2h)"
                ))
            })?;
            Ok(micros(t))
        };
        Ok(TimeRange {
            since: since.map(time).transpose()?,
            until: until.map(time).transpose()?,
        })
    }

    /// Whether the range holds `t` (microseconds).
    pub fn contains(&self, t: i64) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// Whether any time in `[lo, hi]` is in the range.
    pub fn overlaps(&self, lo: i64, hi: i64) -> bool {
        self.since.is_none_or(|s| hi >= s) && self.until.is_none_or(|u| lo < u)
    }

    /// Whether the range limits anything.
    pub fn is_all(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }
}

fn micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_micros() as i64,
        Err(e) => -(e.duration().as_micros() as i64),
    }
}

/// What a `--where` compares a field with.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Text equal to this.
    Text(String),
    /// An address in this prefix.
    Net(Prefix),
    /// An integer in `[lo, hi]`.
    Range(i64, i64),
    /// A float equal to this.
    Float(f64),
    /// A flag equal to this.
    Bool(bool),
}

/// One `--where` expression: `field=value` or `field!=value`. A record
/// without the field (a null port) never equals a value, so `!=` keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The field compared.
    pub leaf: Leaf,
    /// `!=` rather than `=`.
    pub negate: bool,
    /// The comparison.
    pub test: Test,
}

/// IANA protocol numbers by the names `--where protocol=NAME` takes.
const PROTOCOLS: &[(&str, i64)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("tcp", 6),
    ("udp", 17),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("icmpv6", 58),
    ("sctp", 132),
    ("udplite", 136),
];

/// The name of a protocol number, when it has one here.
pub fn protocol_name(number: i64) -> Option<&'static str> {
    PROTOCOLS
        .iter()
        .find(|(_, n)| *n == number)
        .map(|(s, _)| *s)
}

impl Filter {
    /// Parses `field=value` / `field!=value`, the value read by the field's type.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<Filter, Error> {
        let (name, negate, value) = if let Some((n, v)) = text.split_once("!=") {
            (n, true, v)
        } else if let Some((n, v)) = text.split_once('=') {
            (n, false, v)
        } else {
            return Err(Error::Invalid(format!(
                "--where '{text}': expected FIELD=VALUE or FIELD!=VALUE"
            )));
        };
        let leaf = catalog.leaf(name.trim())?.clone();
        let value = value.trim();
        let bad =
            |what: &str| Error::Invalid(format!("--where '{text}': {} takes {what}", leaf.name));
        let test = match leaf.ty {
            Type::Utf8 => match Prefix::parse(value) {
                Some(prefix) if leaf.name.ends_with("_ip") => Test::Net(prefix),
                _ => Test::Text(value.to_string()),
            },
            Type::Int32 | Type::Int64 => {
                let named = (leaf.name == names::PROTOCOL)
                    .then(|| {
                        PROTOCOLS
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(value))
                    })
                    .flatten();
                let range = match (named, value.split_once('-')) {
                    (Some((_, n)), _) => Some((*n, *n)),
                    (None, Some((lo, hi))) => lo.trim().parse().ok().zip(hi.trim().parse().ok()),
                    (None, None) => value.parse().ok().map(|n| (n, n)),
                };
                match range {
                    Some((lo, hi)) if lo <= hi => Test::Range(lo, hi),
                    _ if leaf.name == names::PROTOCOL => {
                        return Err(bad("a number, LO-HI, or tcp, udp, icmp, icmpv6, sctp…"))
                    }
                    _ => return Err(bad("a number or a range LO-HI")),
                }
            }
            Type::Float64 => Test::Float(value.parse().map_err(|_| bad("a number"))?),
            Type::Boolean => Test::Bool(value.parse().map_err(|_| bad("true or false"))?),
            Type::Timestamp => return Err(bad("no --where; use --since and --until")),
        };
        Ok(Filter { leaf, negate, test })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn where_values_follow_the_field_type() {
        let c = Catalog::default();
        let f = Filter::parse("dest_port=8000-8999", &c).unwrap();
        assert_eq!(f.test, Test::Range(8000, 8999));
        let f = Filter::parse("protocol=tcp", &c).unwrap();
        assert_eq!(f.test, Test::Range(6, 6));
        let f = Filter::parse("connection.src_ip!=10.0.0.0/8", &c).unwrap();
        assert!(f.negate);
        assert_eq!(f.test, Test::Net(Prefix::parse("10.0.0.0/8").unwrap()));
        assert!(Filter::parse("dest_port=http", &c).is_err());
        assert!(Filter::parse("start_time=1", &c).is_err());
        assert!(Filter::parse("nosuch=1", &c).is_err());
    }

    #[test]
    fn relative_times_count_back_from_now() {
        let now = UNIX_EPOCH + Duration::from_secs(10_000);
        let r = TimeRange::parse(Some("-15m"), Some("1970-01-01T03:00:00Z"), now).unwrap();
        assert_eq!(r.since, Some(micros(now - Duration::from_secs(900))));
        assert_eq!(r.until, Some(10_800_000_000));
        assert!(r.contains(10_799_999_999) && !r.contains(10_800_000_000));
        assert!(r.contains(9_100_000_000) && !r.contains(9_099_999_999));
        assert!(TimeRange::parse(Some("yesterday"), None, now).is_err());
    }
}
