//! One cell of a group key, with the order results are sorted by.

use std::{cmp::Ordering, fmt, hash::Hash, sync::Arc};

use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// A key value: what a field held, or a derived network or interval.
#[derive(Debug, Clone)]
pub enum Value {
    /// The record had no value (a null port, an absent VNI).
    Null,
    /// Text: an address, a network, a tunnel name.
    Str(Arc<str>),
    /// An integer field.
    Int(i64),
    /// A float field.
    Float(f64),
    /// A flag.
    Bool(bool),
    /// A time, microseconds since the epoch (UTC).
    Time(i64),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Str(s) => s.hash(state),
            Value::Int(n) | Value::Time(n) => n.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::Bool(b) => b.hash(state),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Ascending, nulls last (SQL's `ASC NULLS LAST`, DuckDB's default); text by
/// bytes, as SQL engines order `VARCHAR` without a collation.
impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Null, _) => Ordering::Greater,
            (_, Null) => Ordering::Less,
            (Str(a), Str(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Int(a), Int(b)) | (Time(a), Time(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Bool(a), Bool(b)) => a.cmp(b),
            // A column holds one kind; any fixed order will do across kinds.
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Str(_) => 0,
        Value::Int(_) => 1,
        Value::Float(_) => 2,
        Value::Bool(_) => 3,
        Value::Time(_) => 4,
        Value::Null => 5,
    }
}

/// RFC 3339 in UTC, with the fraction only when there is one
/// (`2014-12-09T17:16:05Z`).
pub fn rfc3339(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| micros.to_string())
}

/// Empty for null; RFC 3339 for times: the form CSV and the table print.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Str(s) => f.write_str(s),
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Time(t) => f.write_str(&rfc3339(*t)),
        }
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Str(v) => s.serialize_str(v),
            Value::Int(n) => s.serialize_i64(*n),
            Value::Float(x) => s.serialize_f64(*x),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Time(t) => s.serialize_str(&rfc3339(*t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_sort_last_and_text_by_bytes() {
        let mut v = [
            Value::Null,
            Value::Str("b".into()),
            Value::Str("B".into()),
            Value::Str("a".into()),
        ];
        v.sort();
        let text: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        assert_eq!(text, ["B", "a", "b", ""]);
    }

    #[test]
    fn times_print_as_rfc3339() {
        assert_eq!(rfc3339(1_418_145_365_000_000), "2014-12-09T17:16:05Z");
        assert_eq!(rfc3339(1_500_000), "1970-01-01T00:00:01.5Z");
    }
}
