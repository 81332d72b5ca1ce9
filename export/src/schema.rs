//! The fields of a flow record (docs/record.md, "Fields"): one table, with each
//! field's JSON name, Arrow type and nullability.
//!
//! Both writers read their names from here ([`crate::NdjsonWriter`] and
//! [`crate::ParquetWriter`]), and the field table of docs/record.md is
//! checked against it by a test, so no field name is spelled twice.
//!
//! Fields added after the first files were written (`reporter`, …) come
//! last, so the columns of older files keep their positions; readers of
//! older files see the new fields as absent.

use std::sync::Arc;

use arrow_schema::{DataType, Field as ArrowField, Fields, Schema, SchemaRef, TimeUnit};

/// What a field holds, in Arrow terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text (`Utf8`); a JSON string.
    Utf8,
    /// `Int32`; a JSON number.
    Int32,
    /// `Int64`; a JSON number.
    Int64,
    /// `Float64`; a JSON number.
    Float64,
    /// `Boolean`; in JSON `true`, or absent when false.
    Boolean,
    /// `Timestamp(Microsecond, "UTC")` in Parquet (Spark and BigQuery do not
    /// read nanoseconds); RFC 3339 text with 9 fraction digits in JSON.
    Timestamp,
    /// A struct column of these fields; a JSON object.
    Struct(&'static [Field]),
}

/// One field of the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The name, as GCP VPC Flow Logs spells it (JSON key and Parquet column).
    pub name: &'static str,
    /// The type.
    pub kind: Kind,
    /// Whether it may be null (absent from the JSON object).
    pub nullable: bool,
    /// What it says, in a few words (the field table of docs/record.md).
    pub doc: &'static str,
}

impl Field {
    const fn new(name: &'static str, kind: Kind, doc: &'static str) -> Self {
        Field {
            name,
            kind,
            nullable: false,
            doc,
        }
    }

    const fn nullable(name: &'static str, kind: Kind, doc: &'static str) -> Self {
        Field {
            name,
            kind,
            nullable: true,
            doc,
        }
    }

    /// The Arrow data type.
    pub fn data_type(&self) -> DataType {
        match self.kind {
            Kind::Utf8 => DataType::Utf8,
            Kind::Int32 => DataType::Int32,
            Kind::Int64 => DataType::Int64,
            Kind::Float64 => DataType::Float64,
            Kind::Boolean => DataType::Boolean,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Kind::Struct(fields) => DataType::Struct(arrow_fields(fields)),
        }
    }

    /// The Arrow field.
    pub fn to_arrow(&self) -> ArrowField {
        ArrowField::new(self.name, self.data_type(), self.nullable)
    }

    /// The Arrow fields of a struct's children (empty for other kinds).
    pub fn arrow_children(&self) -> Fields {
        arrow_fields(self.children())
    }

    /// The child fields of a struct (empty for other kinds).
    pub fn children(&self) -> &'static [Field] {
        match self.kind {
            Kind::Struct(fields) => fields,
            _ => &[],
        }
    }
}

/// `connection.src_ip`.
pub const SRC_IP: Field = Field::new(
    "src_ip",
    Kind::Utf8,
    "source address, canonical text (RFC 5952 for IPv6)",
);
/// `connection.src_port`.
pub const SRC_PORT: Field = Field::nullable(
    "src_port",
    Kind::Int32,
    "TCP, UDP, SCTP, UDP-Lite, DCCP only",
);
/// `connection.dest_ip`.
pub const DEST_IP: Field = Field::new("dest_ip", Kind::Utf8, "destination address");
/// `connection.dest_port`.
pub const DEST_PORT: Field = Field::nullable("dest_port", Kind::Int32, "as `src_port`");
/// `connection.protocol`.
pub const PROTOCOL: Field = Field::new("protocol", Kind::Int32, "IANA protocol number");
/// The fields of `connection`, in order.
pub const CONNECTION_FIELDS: &[Field] = &[SRC_IP, SRC_PORT, DEST_IP, DEST_PORT, PROTOCOL];
/// `connection`: the flow's 5-tuple (innermost IP packet).
pub const CONNECTION: Field = Field::new(
    "connection",
    Kind::Struct(CONNECTION_FIELDS),
    "the flow, unidirectional",
);

/// `icmp_type`.
pub const ICMP_TYPE: Field = Field::nullable("icmp_type", Kind::Int32, "ICMP and ICMPv6 only");
/// `icmp_code`.
pub const ICMP_CODE: Field = Field::nullable("icmp_code", Kind::Int32, "ICMP and ICMPv6 only");
/// `start_time`.
pub const START_TIME: Field = Field::new(
    "start_time",
    Kind::Timestamp,
    "first packet of the flow in the interval",
);
/// `end_time`.
pub const END_TIME: Field = Field::new(
    "end_time",
    Kind::Timestamp,
    "last packet of the flow in the interval",
);
/// `interval_start`.
pub const INTERVAL_START: Field = Field::new(
    "interval_start",
    Kind::Timestamp,
    "floor(packet time / interval_secs) × interval_secs; the partition key",
);
/// `interval_secs`.
pub const INTERVAL_SECS: Field = Field::new(
    "interval_secs",
    Kind::Int32,
    "interval length (`--interval`)",
);
/// `bytes_sent`.
pub const BYTES_SENT: Field = Field::new(
    "bytes_sent",
    Kind::Int64,
    "sum of declared IP datagram lengths",
);
/// `payload_bytes`.
pub const PAYLOAD_BYTES: Field = Field::new(
    "payload_bytes",
    Kind::Int64,
    "sum of transport payload lengths",
);
/// `packets_sent`.
pub const PACKETS_SENT: Field = Field::new("packets_sent", Kind::Int64, "packets");
/// `tcp_flags`.
pub const TCP_FLAGS: Field = Field::nullable(
    "tcp_flags",
    Kind::Int32,
    "OR of the TCP flags seen (TCP only)",
);

/// `mirror.encap`.
pub const ENCAP: Field = Field::nullable(
    "encap",
    Kind::Utf8,
    "outermost mirror tunnel removed: vxlan, geneve, gre, erspan1/2/3",
);
/// `mirror.vni`.
pub const VNI: Field = Field::nullable("vni", Kind::Int64, "VXLAN / Geneve VNI");
/// `mirror.session_id`.
pub const SESSION_ID: Field =
    Field::nullable("session_id", Kind::Int64, "ERSPAN session ID or GRE key");
/// `mirror.interface`.
pub const INTERFACE: Field = Field::new(
    "interface",
    Kind::Int32,
    "pcapng interface id (0 for classic pcap)",
);
/// The fields of `mirror`, in order.
pub const MIRROR_FIELDS: &[Field] = &[ENCAP, VNI, SESSION_ID, INTERFACE];
/// `mirror`: the observation point.
pub const MIRROR: Field = Field::new(
    "mirror",
    Kind::Struct(MIRROR_FIELDS),
    "where the packets were observed",
);

/// `sampling.flow_rate`.
pub const FLOW_RATE: Field = Field::new("flow_rate", Kind::Float64, "R of `--flow-sample R`");
/// `sampling.packet_rate`.
pub const PACKET_RATE: Field =
    Field::new("packet_rate", Kind::Float64, "1/N of `--packet-sample N`");
/// The fields of `sampling`, in order.
pub const SAMPLING_FIELDS: &[Field] = &[FLOW_RATE, PACKET_RATE];
/// `sampling`: the rates every count was taken at.
pub const SAMPLING: Field = Field::new(
    "sampling",
    Kind::Struct(SAMPLING_FIELDS),
    "sampling in force",
);

/// `partial`.
pub const PARTIAL: Field = Field::new(
    "partial",
    Kind::Boolean,
    "written early because `--max-flows` was reached; more records of the flow and interval may follow",
);

/// `reporter`.
pub const REPORTER: Field = Field::nullable(
    "reporter",
    Kind::Utf8,
    "SRC or DEST: which end is local (`--local-net`); absent when neither",
);

/// `vm_name` of `src_instance` / `dest_instance`.
pub const VM_NAME: Field = Field::nullable("vm_name", Kind::Utf8, "the VM's name (`--inventory`)");
/// `project_id` of the instance and VPC structs.
pub const PROJECT_ID: Field =
    Field::nullable("project_id", Kind::Utf8, "the project (`--inventory`)");
/// `zone` of `src_instance` / `dest_instance`.
pub const ZONE: Field = Field::nullable("zone", Kind::Utf8, "the VM's zone (`--inventory`)");
/// `region` of `src_instance` / `dest_instance`.
pub const REGION: Field = Field::nullable("region", Kind::Utf8, "the VM's region (`--inventory`)");
/// The fields of `src_instance` / `dest_instance`, GCP's `InstanceDetails`.
pub const INSTANCE_FIELDS: &[Field] = &[VM_NAME, PROJECT_ID, ZONE, REGION];
/// `src_instance`.
pub const SRC_INSTANCE: Field = Field::nullable(
    "src_instance",
    Kind::Struct(INSTANCE_FIELDS),
    "the source's VM",
);
/// `dest_instance`.
pub const DEST_INSTANCE: Field = Field::nullable(
    "dest_instance",
    Kind::Struct(INSTANCE_FIELDS),
    "the destination's VM",
);
/// `vpc_name` of `src_vpc` / `dest_vpc`.
pub const VPC_NAME: Field = Field::nullable("vpc_name", Kind::Utf8, "the VPC (`--inventory`)");
/// `subnetwork_name` of `src_vpc` / `dest_vpc`.
pub const SUBNETWORK_NAME: Field =
    Field::nullable("subnetwork_name", Kind::Utf8, "the subnet (`--inventory`)");
/// The fields of `src_vpc` / `dest_vpc`, GCP's `VpcDetails`.
pub const VPC_FIELDS: &[Field] = &[PROJECT_ID, VPC_NAME, SUBNETWORK_NAME];
/// `src_vpc`.
pub const SRC_VPC: Field = Field::nullable("src_vpc", Kind::Struct(VPC_FIELDS), "the source's VPC");
/// `dest_vpc`.
pub const DEST_VPC: Field = Field::nullable(
    "dest_vpc",
    Kind::Struct(VPC_FIELDS),
    "the destination's VPC",
);

/// `continent` of `src_location` / `dest_location`.
pub const CONTINENT: Field = Field::nullable(
    "continent",
    Kind::Utf8,
    "continent, English name (`--geoip`)",
);
/// `country` of `src_location` / `dest_location`.
pub const COUNTRY: Field = Field::nullable(
    "country",
    Kind::Utf8,
    "ISO 3166-1 alpha-2 country code (`--geoip`)",
);
/// `region` of `src_location` / `dest_location`.
pub const LOCATION_REGION: Field = Field::nullable(
    "region",
    Kind::Utf8,
    "first subdivision (state, province), English name (`--geoip`)",
);
/// `city` of `src_location` / `dest_location`.
pub const CITY: Field = Field::nullable("city", Kind::Utf8, "city, English name (`--geoip`)");
/// `asn` of `src_location` / `dest_location`.
pub const ASN: Field = Field::nullable(
    "asn",
    Kind::Int64,
    "autonomous system number (`--geoip` ASN database)",
);
/// The fields of `src_location` / `dest_location`: GCP's
/// `GeographicDetails` and its `asn`.
pub const LOCATION_FIELDS: &[Field] = &[CONTINENT, COUNTRY, LOCATION_REGION, CITY, ASN];
/// `src_location`.
pub const SRC_LOCATION: Field = Field::nullable(
    "src_location",
    Kind::Struct(LOCATION_FIELDS),
    "where a non-local source is",
);
/// `dest_location`.
pub const DEST_LOCATION: Field = Field::nullable(
    "dest_location",
    Kind::Struct(LOCATION_FIELDS),
    "where a non-local destination is",
);

/// `rtt_msec`.
pub const RTT_MSEC: Field = Field::nullable(
    "rtt_msec",
    Kind::Int64,
    "TCP: median round trip of the interval as the mirror saw it, both halves (ms)",
);
/// `retransmitted_packets`.
pub const RETRANSMITTED_PACKETS: Field = Field::nullable(
    "retransmitted_packets",
    Kind::Int64,
    "TCP: packets carrying sequence numbers already sent (as Wireshark flags retransmissions)",
);

/// The fields of a record, in order.
pub const RECORD: &[Field] = &[
    CONNECTION,
    ICMP_TYPE,
    ICMP_CODE,
    START_TIME,
    END_TIME,
    INTERVAL_START,
    INTERVAL_SECS,
    BYTES_SENT,
    PAYLOAD_BYTES,
    PACKETS_SENT,
    TCP_FLAGS,
    MIRROR,
    SAMPLING,
    PARTIAL,
    REPORTER,
    SRC_INSTANCE,
    DEST_INSTANCE,
    SRC_VPC,
    DEST_VPC,
    SRC_LOCATION,
    DEST_LOCATION,
    RTT_MSEC,
    RETRANSMITTED_PACKETS,
];

fn arrow_fields(fields: &[Field]) -> Fields {
    fields.iter().map(Field::to_arrow).collect()
}

/// The Arrow schema of a record batch (and of every Parquet file).
pub fn arrow_schema() -> SchemaRef {
    Arc::new(Schema::new(arrow_fields(RECORD)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_within_each_struct() {
        fn check(fields: &[Field]) {
            let mut names: Vec<_> = fields.iter().map(|f| f.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), fields.len());
            fields.iter().for_each(|f| check(f.children()));
        }
        check(RECORD);
    }

    #[test]
    fn arrow_types_are_those_of_the_spec() {
        // The types docs/record.md ("Fields") promises, written out here by
        // hand, independently of the table.
        let utc_micros = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let schema = arrow_schema();
        let field = |path: &str| -> (DataType, bool) {
            let mut parts = path.split('.');
            let mut f = schema
                .field_with_name(parts.next().unwrap())
                .unwrap()
                .clone();
            for part in parts {
                let DataType::Struct(children) = f.data_type() else {
                    panic!("{path}: not a struct")
                };
                f = children
                    .iter()
                    .find(|c| c.name() == part)
                    .unwrap()
                    .as_ref()
                    .clone();
            }
            (f.data_type().clone(), f.is_nullable())
        };
        for (path, ty, nullable) in [
            ("connection.src_ip", DataType::Utf8, false),
            ("connection.src_port", DataType::Int32, true),
            ("connection.dest_ip", DataType::Utf8, false),
            ("connection.dest_port", DataType::Int32, true),
            ("connection.protocol", DataType::Int32, false),
            ("icmp_type", DataType::Int32, true),
            ("icmp_code", DataType::Int32, true),
            ("start_time", utc_micros.clone(), false),
            ("end_time", utc_micros.clone(), false),
            ("interval_start", utc_micros, false),
            ("interval_secs", DataType::Int32, false),
            ("bytes_sent", DataType::Int64, false),
            ("payload_bytes", DataType::Int64, false),
            ("packets_sent", DataType::Int64, false),
            ("tcp_flags", DataType::Int32, true),
            ("mirror.encap", DataType::Utf8, true),
            ("mirror.vni", DataType::Int64, true),
            ("mirror.session_id", DataType::Int64, true),
            ("mirror.interface", DataType::Int32, false),
            ("sampling.flow_rate", DataType::Float64, false),
            ("sampling.packet_rate", DataType::Float64, false),
            // Not a GCP field: issue 8's flag for --max-flows.
            ("partial", DataType::Boolean, false),
            ("reporter", DataType::Utf8, true),
            ("src_instance.vm_name", DataType::Utf8, true),
            ("src_instance.project_id", DataType::Utf8, true),
            ("src_instance.zone", DataType::Utf8, true),
            ("src_instance.region", DataType::Utf8, true),
            ("dest_instance.vm_name", DataType::Utf8, true),
            ("dest_instance.region", DataType::Utf8, true),
            ("src_vpc.project_id", DataType::Utf8, true),
            ("src_vpc.vpc_name", DataType::Utf8, true),
            ("src_vpc.subnetwork_name", DataType::Utf8, true),
            ("dest_vpc.subnetwork_name", DataType::Utf8, true),
            ("src_location.continent", DataType::Utf8, true),
            ("src_location.country", DataType::Utf8, true),
            ("src_location.region", DataType::Utf8, true),
            ("src_location.city", DataType::Utf8, true),
            ("src_location.asn", DataType::Int64, true),
            ("dest_location.asn", DataType::Int64, true),
            ("rtt_msec", DataType::Int64, true),
            ("retransmitted_packets", DataType::Int64, true),
        ] {
            assert_eq!(field(path), (ty, nullable), "{path}");
        }
        for name in [
            "src_instance",
            "dest_instance",
            "src_vpc",
            "dest_vpc",
            "src_location",
            "dest_location",
        ] {
            assert!(
                schema.field_with_name(name).unwrap().is_nullable(),
                "{name}"
            );
        }
        assert_eq!(schema.fields().len(), 23);
    }
}
