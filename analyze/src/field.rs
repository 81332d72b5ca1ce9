//! Field names as a query spells them: the record's leaves from the one schema
//! table (`export::schema`, the annotations included), any further leaf a
//! Parquet file carries (a field newer than this build), and the derived
//! keys `src_net/N`, `dest_net/N` and `interval`.

use arrow_schema::{DataType, Fields, TimeUnit};
use export::schema;

use crate::Error;

/// The type of a leaf field, as the reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Text.
    Utf8,
    /// A 32-bit integer.
    Int32,
    /// A 64-bit integer.
    Int64,
    /// A float.
    Float64,
    /// A flag.
    Boolean,
    /// Microseconds since the Unix epoch, UTC.
    Timestamp,
}

/// A leaf field of the record, by its dotted name (`connection.src_ip`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The dotted name, as in docs/record.md and in SQL over the Parquet files.
    pub name: String,
    /// Its type.
    pub ty: Type,
}

/// The dotted names of the record fields a metric or the flow count reads
/// (top-level ones from the schema table; the dotted ones are checked
/// against it by a test).
pub mod names {
    use export::schema;

    /// `bytes_sent`.
    pub const BYTES: &str = schema::BYTES_SENT.name;
    /// `packets_sent`.
    pub const PACKETS: &str = schema::PACKETS_SENT.name;
    /// `interval_start`: the time filter and the `interval` key.
    pub const INTERVAL_START: &str = schema::INTERVAL_START.name;
    /// `connection.src_ip`.
    pub const SRC_IP: &str = "connection.src_ip";
    /// `connection.dest_ip`.
    pub const DEST_IP: &str = "connection.dest_ip";
    /// `connection.src_port`.
    pub const SRC_PORT: &str = "connection.src_port";
    /// `connection.dest_port`.
    pub const DEST_PORT: &str = "connection.dest_port";
    /// `connection.protocol`.
    pub const PROTOCOL: &str = "connection.protocol";
    /// The flow's 5-tuple, what `--metric flows` counts distinct values of.
    pub const FIVE_TUPLE: [&str; 5] = [SRC_IP, DEST_IP, SRC_PORT, DEST_PORT, PROTOCOL];
}

/// The fields a query may name: the schema table's leaves and whatever further
/// leaves the inputs' Parquet schemas carry.
#[derive(Debug, Clone)]
pub struct Catalog {
    leaves: Vec<Leaf>,
}

impl Default for Catalog {
    fn default() -> Self {
        let mut leaves = Vec::new();
        fn walk(prefix: &str, fields: &[schema::Field], out: &mut Vec<Leaf>) {
            for f in fields {
                let name = format!("{prefix}{}", f.name);
                let ty = match f.kind {
                    schema::Kind::Struct(children) => {
                        walk(&format!("{name}."), children, out);
                        continue;
                    }
                    schema::Kind::Utf8 => Type::Utf8,
                    schema::Kind::Int32 => Type::Int32,
                    schema::Kind::Int64 => Type::Int64,
                    schema::Kind::Float64 => Type::Float64,
                    schema::Kind::Boolean => Type::Boolean,
                    schema::Kind::Timestamp => Type::Timestamp,
                };
                out.push(Leaf { name, ty });
            }
        }
        walk("", schema::RECORD, &mut leaves);
        Catalog { leaves }
    }
}

impl Catalog {
    /// Adds the leaves of a file's Arrow schema that the table does not list
    /// (of the types above; others cannot be keys or filters).
    pub fn extend_with(&mut self, fields: &Fields) {
        fn walk(prefix: &str, fields: &Fields, out: &mut Vec<Leaf>) {
            for f in fields {
                let name = format!("{prefix}{}", f.name());
                let ty = match f.data_type() {
                    DataType::Struct(children) => {
                        walk(&format!("{name}."), children, out);
                        continue;
                    }
                    DataType::Utf8 => Type::Utf8,
                    DataType::Int32 => Type::Int32,
                    DataType::Int64 => Type::Int64,
                    DataType::Float64 => Type::Float64,
                    DataType::Boolean => Type::Boolean,
                    DataType::Timestamp(TimeUnit::Microsecond, _) => Type::Timestamp,
                    DataType::Dictionary(_, v) if **v == DataType::Utf8 => Type::Utf8,
                    _ => continue,
                };
                if !out.iter().any(|l| l.name == name) {
                    out.push(Leaf { name, ty });
                }
            }
        }
        walk("", fields, &mut self.leaves);
    }

    /// The leaf named `name`: its dotted name, or its last part when only one
    /// leaf ends so (`dest_port` for `connection.dest_port`).
    pub fn leaf(&self, name: &str) -> Result<&Leaf, Error> {
        if let Some(leaf) = self.leaves.iter().find(|l| l.name == name) {
            return Ok(leaf);
        }
        let mut tails = self
            .leaves
            .iter()
            .filter(|l| l.name.rsplit('.').next() == Some(name));
        match (tails.next(), tails.next()) {
            (Some(leaf), None) => Ok(leaf),
            _ => Err(self.unknown(name)),
        }
    }

    /// The error for a name that is no field, listing those that are.
    pub fn unknown(&self, name: &str) -> Error {
        let mut known: Vec<&str> = self.leaves.iter().map(|l| l.name.as_str()).collect();
        known.extend(["src_net/N", "dest_net/N", "interval"]);
        Error::UnknownField {
            name: name.to_string(),
            known: known.join(", "),
        }
    }
}

/// One part of a group key (`--by`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// A record field, as it is.
    Field(Leaf),
    /// `src_net/N` or `dest_net/N`: the address masked to N bits (an IPv4
    /// address to at most 32), written `ADDR/N`.
    Net {
        /// `connection.src_ip` or `connection.dest_ip`.
        address: Leaf,
        /// The prefix length of IPv4 addresses.
        v4: u8,
        /// The prefix length of IPv6 addresses.
        v6: u8,
    },
    /// `interval`: the record's `interval_start`.
    Interval,
}

impl Key {
    /// Parses one `--by` name.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<Key, Error> {
        let text = text.trim();
        if text == "interval" {
            return Ok(Key::Interval);
        }
        for (prefix, address) in [("src_net/", names::SRC_IP), ("dest_net/", names::DEST_IP)] {
            if let Some(bits) = text.strip_prefix(prefix) {
                let bits = bits
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= 128)
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "'{text}': the prefix length is a number from 0 to 128"
                        ))
                    })?;
                let address = catalog.leaf(address)?.clone();
                return Ok(Key::Net {
                    address,
                    v4: bits,
                    v6: bits,
                });
            }
        }
        Ok(Key::Field(catalog.leaf(text)?.clone()))
    }

    /// The name shown as the column heading.
    pub fn name(&self) -> String {
        match self {
            Key::Field(leaf) => leaf.name.clone(),
            Key::Net { address, v4, v6 } => {
                let end = if address.name == names::SRC_IP {
                    "src"
                } else {
                    "dest"
                };
                match v4 == v6 {
                    true => format!("{end}_net/{v4}"),
                    false => format!("{end}_net/{v4}+{v6}"),
                }
            }
            Key::Interval => "interval".to_string(),
        }
    }

    /// The record field the key is read from.
    pub fn leaf_name(&self) -> &str {
        match self {
            Key::Field(leaf) | Key::Net { address: leaf, .. } => &leaf.name,
            Key::Interval => names::INTERVAL_START,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_a_query_reads_are_leaves_of_the_schema_table() {
        let catalog = Catalog::default();
        let mut used = vec![names::BYTES, names::PACKETS, names::INTERVAL_START];
        used.extend(names::FIVE_TUPLE);
        for name in used {
            assert_eq!(catalog.leaf(name).unwrap().name, name);
        }
    }

    #[test]
    fn short_names_resolve_when_unique() {
        let catalog = Catalog::default();
        assert_eq!(
            catalog.leaf("dest_port").unwrap().name,
            "connection.dest_port"
        );
        assert_eq!(catalog.leaf("mirror.vni").unwrap().ty, Type::Int64);
    }

    #[test]
    fn unknown_field_lists_the_fields() {
        let err = Catalog::default().leaf("dst_port").unwrap_err().to_string();
        assert!(err.contains("no field 'dst_port'"), "{err}");
        assert!(err.contains("connection.dest_port"), "{err}");
        assert!(err.contains("src_net/N"), "{err}");
    }

    #[test]
    fn net_keys_parse_and_name_themselves() {
        let catalog = Catalog::default();
        let key = Key::parse("dest_net/24", &catalog).unwrap();
        assert_eq!(key.name(), "dest_net/24");
        assert_eq!(key.leaf_name(), names::DEST_IP);
        assert!(Key::parse("src_net/200", &catalog).is_err());
    }
}
