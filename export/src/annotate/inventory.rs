//! `--inventory FILE`: what the user knows of their addresses, as a CSV with
//! a header row and one row per address or CIDR (docs/annotate.md,
//! "Inventory"). The columns are named after GCP's sub-fields, in any order,
//! any of them empty; only `cidr` is required.
//!
//! The whole file is read before any packet is: a bad row fails the run at
//! start, naming the file, the line and the column.

use std::{io::Read, path::Path};

use csv::{ReaderBuilder, StringRecord, Trim};
use ipnet::IpNet;

use super::parse_net;
use crate::Error;

/// `src_instance` / `dest_instance`: GCP's `InstanceDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Instance {
    /// `vm_name`.
    pub vm_name: Option<String>,
    /// `project_id`.
    pub project_id: Option<String>,
    /// `zone`.
    pub zone: Option<String>,
    /// `region`.
    pub region: Option<String>,
}

/// `src_vpc` / `dest_vpc`: GCP's `VpcDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vpc {
    /// `project_id`.
    pub project_id: Option<String>,
    /// `vpc_name`.
    pub vpc_name: Option<String>,
    /// `subnetwork_name`.
    pub subnetwork_name: Option<String>,
}

/// What one inventory row says of the addresses of its CIDR. A struct is
/// present when any of its sub-fields is given: one `project_id` column
/// fills both, as the file has one project per row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Host {
    /// The VM, if the row names any of its sub-fields.
    pub instance: Option<Instance>,
    /// The VPC, if the row names any of its sub-fields.
    pub vpc: Option<Vpc>,
}

/// The columns of a row, by position in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Cidr,
    VmName,
    ProjectId,
    Zone,
    Region,
    VpcName,
    SubnetworkName,
}

const COLUMNS: [(&str, Column); 7] = [
    ("cidr", Column::Cidr),
    ("vm_name", Column::VmName),
    ("project_id", Column::ProjectId),
    ("zone", Column::Zone),
    ("region", Column::Region),
    ("vpc_name", Column::VpcName),
    ("subnetwork_name", Column::SubnetworkName),
];

/// Reads the inventory at `path`.
pub fn read(path: &Path) -> Result<Vec<(IpNet, Host)>, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::Open {
        path: path.to_owned(),
        source,
    })?;
    parse(file, path)
}

/// Reads an inventory from `input`; `path` names it in errors.
pub fn parse(input: impl Read, path: &Path) -> Result<Vec<(IpNet, Host)>, Error> {
    let bad = |line: u64, column: String, reason: String| Error::Inventory {
        path: path.to_owned(),
        line,
        column,
        reason,
    };
    let read_error = |source| Error::InventoryRead {
        path: path.to_owned(),
        source,
    };
    // Flexible: a row of the wrong length is reported here, naming the column.
    let mut reader = ReaderBuilder::new()
        .trim(Trim::All)
        .flexible(true)
        .from_reader(input);
    let header = reader.headers().map_err(read_error)?.clone();
    let mut columns = Vec::with_capacity(header.len());
    for (i, name) in header.iter().enumerate() {
        let column = COLUMNS
            .iter()
            .find(|(known, _)| *known == name)
            .map(|&(_, c)| c)
            .ok_or_else(|| {
                let known: Vec<_> = COLUMNS.iter().map(|(n, _)| *n).collect();
                bad(
                    1,
                    format!("{} ('{name}')", i + 1),
                    format!("not a column of an inventory: {}", known.join(", ")),
                )
            })?;
        if columns.contains(&column) {
            return Err(bad(
                1,
                format!("{} ('{name}')", i + 1),
                "given twice".into(),
            ));
        }
        columns.push(column);
    }
    if !columns.contains(&Column::Cidr) {
        return Err(bad(
            1,
            "cidr".into(),
            "the header has no cidr column".into(),
        ));
    }

    let mut rows = Vec::new();
    let mut record = StringRecord::new();
    while reader.read_record(&mut record).map_err(read_error)? {
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != columns.len() {
            let at = record.len().min(columns.len()) + 1;
            return Err(bad(
                line,
                at.to_string(),
                format!(
                    "{} fields where the header has {}",
                    record.len(),
                    columns.len()
                ),
            ));
        }
        let mut net = None;
        let mut host = Host::default();
        for (i, (&column, text)) in columns.iter().zip(record.iter()).enumerate() {
            let value = (!text.is_empty()).then(|| text.to_owned());
            match column {
                Column::Cidr => {
                    net = Some(
                        parse_net(text)
                            .map_err(|reason| bad(line, format!("{} (cidr)", i + 1), reason))?,
                    )
                }
                Column::VmName => instance(&mut host).vm_name = value,
                Column::ProjectId => {
                    if value.is_some() {
                        instance(&mut host).project_id.clone_from(&value);
                        vpc(&mut host).project_id = value;
                    }
                }
                Column::Zone => instance(&mut host).zone = value,
                Column::Region => instance(&mut host).region = value,
                Column::VpcName => vpc(&mut host).vpc_name = value,
                Column::SubnetworkName => vpc(&mut host).subnetwork_name = value,
            }
        }
        if let Some(net) = net {
            rows.push((net, tidy(host)));
        }
    }
    Ok(rows)
}

fn instance(host: &mut Host) -> &mut Instance {
    host.instance.get_or_insert_with(Instance::default)
}

fn vpc(host: &mut Host) -> &mut Vpc {
    host.vpc.get_or_insert_with(Vpc::default)
}

/// `host` without the structs whose sub-fields were all empty.
fn tidy(mut host: Host) -> Host {
    host.instance = host.instance.filter(|i| *i != Instance::default());
    host.vpc = host.vpc.filter(|v| *v != Vpc::default());
    host
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(text: &str) -> Result<Vec<(IpNet, Host)>, Error> {
        parse(text.as_bytes(), Path::new("hosts.csv"))
    }

    #[test]
    fn rows_fill_instance_and_vpc_from_their_columns() {
        let rows = inventory(
            "cidr,vm_name,project_id,zone,region,vpc_name,subnetwork_name\n\
             10.0.0.5,web-1,shop,europe-west1-b,europe-west1,prod,web\n\
             10.1.0.0/16,,,,,prod,\n\
             2001:db8::/48,,,,,,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        let text = |s: &str| Some(s.to_owned());
        assert_eq!(rows[0].0.to_string(), "10.0.0.5/32");
        assert_eq!(
            rows[0].1,
            Host {
                instance: Some(Instance {
                    vm_name: text("web-1"),
                    project_id: text("shop"),
                    zone: text("europe-west1-b"),
                    region: text("europe-west1"),
                }),
                vpc: Some(Vpc {
                    project_id: text("shop"),
                    vpc_name: text("prod"),
                    subnetwork_name: text("web"),
                }),
            }
        );
        assert_eq!(rows[1].1.instance, None);
        assert_eq!(rows[1].1.vpc.as_ref().unwrap().vpc_name, text("prod"));
        assert_eq!(rows[2].1, Host::default());
    }

    #[test]
    fn columns_in_any_order_and_only_cidr_required() {
        let rows = inventory("vm_name, cidr\n db-1 , 192.0.2.0/24\n").unwrap();
        assert_eq!(rows[0].0.to_string(), "192.0.2.0/24");
        let instance = rows[0].1.instance.as_ref().unwrap();
        assert_eq!(instance.vm_name.as_deref(), Some("db-1"));
    }

    fn error(text: &str) -> String {
        inventory(text).unwrap_err().to_string()
    }

    #[test]
    fn a_bad_cidr_names_file_line_and_column() {
        let err = error("cidr,vm_name\n10.0.0.1,a\n10.0.0/8,b\n");
        assert!(
            err.contains("hosts.csv") && err.contains("line 3") && err.contains("column 1 (cidr)"),
            "{err}"
        );
        assert!(err.contains("'10.0.0/8'"), "{err}");
    }

    #[test]
    fn a_short_or_long_row_names_file_line_and_column() {
        let err = error("cidr,vm_name,zone\n10.0.0.1,a\n");
        assert!(
            err.contains("hosts.csv") && err.contains("line 2, column 3"),
            "{err}"
        );
        let err = error("cidr,vm_name\n10.0.0.1,a\n10.0.0.2,b,c\n");
        assert!(err.contains("line 3, column 3"), "{err}");
    }

    #[test]
    fn an_unknown_or_missing_column_names_the_header() {
        let err = error("cidr,hostname\n10.0.0.1,a\n");
        assert!(err.contains("line 1, column 2 ('hostname')"), "{err}");
        let err = error("vm_name\na\n");
        assert!(
            err.contains("line 1") && err.contains("no cidr column"),
            "{err}"
        );
    }
}
