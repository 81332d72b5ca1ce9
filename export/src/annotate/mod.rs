//! What a record says about its two ends beyond their addresses
//! (docs/annotate.md): `reporter`, from the networks the user calls local
//! (`--local-net`, `--report-both-ends`), the VM and VPC of each end
//! from an inventory (`--inventory`), and where a non-local end is and its
//! AS from MaxMind databases (`--geoip`).
//!
//! Annotation happens once per record as it is written, never per packet:
//! the packet path pays nothing for it, and a run without these options pays
//! one test per batch ([`Annotator::is_active`]). Lookups allocate nothing
//! and never panic.

mod geoip;
mod inventory;
mod nets;

use std::{net::IpAddr, path::PathBuf};

use flowagg::FlowKey;
pub use geoip::Location;
pub use inventory::{Host, Instance, Vpc};
pub use ipnet::IpNet;

use crate::Error;
use geoip::GeoIp;
use nets::Nets;

/// Which end of a flow is "ours" (docs/record.md, `reporter`), as GCP names
/// the VM that logged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reporter {
    /// The source is local.
    Src,
    /// The destination is local (and the source is not, unless
    /// `--report-both-ends` wrote this as the second record).
    Dest,
}

impl Reporter {
    /// The value written: `SRC` or `DEST`.
    pub fn name(self) -> &'static str {
        match self {
            Reporter::Src => "SRC",
            Reporter::Dest => "DEST",
        }
    }
}

/// A network as the user writes it: a CIDR (`10.0.0.0/8`, `2001:db8::/32`)
/// or a single address (`/32` or `/128`).
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!("'{text}' is not an address or a CIDR (write e.g. 10.0.0.0/8, 2001:db8::/32)")
        })
}

/// What the user said about the addresses of the run.
#[derive(Debug, Clone, Default)]
pub struct AnnotateConfig {
    /// `--local-net`: the networks whose addresses are "ours".
    pub local_nets: Vec<IpNet>,
    /// `--report-both-ends`: a flow between two local ends gives two
    /// records, `SRC` and `DEST`, as GCP logs VM-to-VM traffic at both VMs.
    pub report_both_ends: bool,
    /// `--inventory`: a CSV of CIDRs and the VM and VPC of their addresses.
    /// Its CIDRs are the local networks when `local_nets` is empty.
    pub inventory: Option<PathBuf>,
    /// `--geoip`: MaxMind DB files (City or Country, ASN), looked up in
    /// this order for addresses that are not local.
    pub geoip: Vec<PathBuf>,
}

/// The records one flow record is written as, and what they say of its
/// ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Annotation<'a> {
    /// One entry per record to write: its `reporter`. Two entries only under
    /// `--report-both-ends` with both ends local.
    pub reporters: &'static [Option<Reporter>],
    /// The source.
    pub src: End<'a>,
    /// The destination.
    pub dest: End<'a>,
}

/// What is known of one end of a flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct End<'a> {
    /// The inventory row of the longest CIDR holding the address.
    pub host: Option<&'a Host>,
    /// Where the address is, for an address that is not local.
    pub location: Option<Location<'a>>,
}

/// The members of an annotation struct as the writers take them: its text
/// sub-fields in the schema's order, then its number (`asn`), if it has one.
pub type Members<'a, const K: usize> = ([Option<&'a str>; K], Option<u32>);

impl<'a> End<'a> {
    /// `src_instance` / `dest_instance`: `vm_name`, `project_id`, `zone`,
    /// `region` (the schema's `INSTANCE_FIELDS`).
    pub fn instance(&self) -> Option<Members<'a, 4>> {
        let i = self.host?.instance.as_ref()?;
        let text = [&i.vm_name, &i.project_id, &i.zone, &i.region].map(|t| t.as_deref());
        Some((text, None))
    }

    /// `src_vpc` / `dest_vpc`: `project_id`, `vpc_name`, `subnetwork_name`
    /// (the schema's `VPC_FIELDS`).
    pub fn vpc(&self) -> Option<Members<'a, 3>> {
        let v = self.host?.vpc.as_ref()?;
        let text = [&v.project_id, &v.vpc_name, &v.subnetwork_name].map(|t| t.as_deref());
        Some((text, None))
    }

    /// `src_location` / `dest_location`: `continent`, `country`, `region`,
    /// `city`, then `asn` (the schema's `LOCATION_FIELDS`).
    pub fn location(&self) -> Option<Members<'a, 4>> {
        let l = self.location?;
        Some(([l.continent, l.country, l.region, l.city], l.asn))
    }
}

/// Annotates records from the configured networks and files. The default
/// annotates nothing ([`Annotator::is_active`] is false). Shared between
/// writers in an `Arc`, not cloned: its tables and databases are large.
#[derive(Debug, Default)]
pub struct Annotator {
    local: Nets<()>,
    both_ends: bool,
    inventory: Nets<Host>,
    geoip: GeoIp,
}

impl Annotator {
    /// An annotator of `config`, its files read whole: a bad file fails
    /// here, before any packet is read.
    pub fn load(config: &AnnotateConfig) -> Result<Self, Error> {
        let mut annotator = Annotator {
            both_ends: config.report_both_ends,
            geoip: GeoIp::open(&config.geoip)?,
            ..Annotator::default()
        };
        for net in &config.local_nets {
            annotator.local.insert(*net, ());
        }
        if let Some(path) = &config.inventory {
            for (net, host) in inventory::read(path)? {
                // An inventory lists the user's own addresses: they are the
                // local ones unless --local-net says otherwise (issue 17).
                if config.local_nets.is_empty() {
                    annotator.local.insert(net, ());
                }
                annotator.inventory.insert(net, host);
            }
        }
        Ok(annotator)
    }

    /// Whether any record gets an annotation; when not, writers skip
    /// [`Annotator::annotate`] and write every record once, as before.
    pub fn is_active(&self) -> bool {
        !self.local.is_empty() || !self.inventory.is_empty() || !self.geoip.is_empty()
    }

    /// The annotation of a record of `key`.
    pub fn annotate(&self, key: &FlowKey) -> Annotation<'_> {
        let (src, dest) = (key.src_ip(), key.dst_ip());
        let (src_local, dest_local) = (self.is_local(src), self.is_local(dest));
        Annotation {
            reporters: reporters(src_local, dest_local, self.both_ends),
            src: self.end(src, src_local),
            dest: self.end(dest, dest_local),
        }
    }

    fn is_local(&self, addr: IpAddr) -> bool {
        self.local.lookup(addr).is_some()
    }

    /// An end; only a non-local one is looked up in the GeoIP databases:
    /// a local address's place is the user's own (issue 17), and private
    /// ranges have none.
    fn end(&self, addr: IpAddr, local: bool) -> End<'_> {
        End {
            host: self.inventory.lookup(addr),
            location: if local { None } else { self.geoip.lookup(addr) },
        }
    }
}

/// The `reporter` of each record written for a flow whose source and
/// destination are local or not (docs/annotate.md, "Reporter").
fn reporters(src: bool, dest: bool, both_ends: bool) -> &'static [Option<Reporter>] {
    match (src, dest) {
        (true, true) if both_ends => &[Some(Reporter::Src), Some(Reporter::Dest)],
        (true, _) => &[Some(Reporter::Src)],
        (false, true) => &[Some(Reporter::Dest)],
        (false, false) => &[None],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Option<Reporter> = Some(Reporter::Src);
    const DEST: Option<Reporter> = Some(Reporter::Dest);

    #[test]
    fn reporter_for_every_combination_of_local_ends() {
        for (src, dest, both_ends, want) in [
            (true, false, false, &[SRC][..]),
            (false, true, false, &[DEST]),
            (true, true, false, &[SRC]),
            (false, false, false, &[None]),
            (true, false, true, &[SRC]),
            (false, true, true, &[DEST]),
            (true, true, true, &[SRC, DEST]),
            (false, false, true, &[None]),
        ] {
            assert_eq!(
                reporters(src, dest, both_ends),
                want,
                "src local {src}, dest local {dest}, --report-both-ends {both_ends}"
            );
        }
    }

    #[test]
    fn a_network_is_a_cidr_or_an_address() {
        assert_eq!(parse_net("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_net(" 10.0.0.1 ").unwrap().to_string(), "10.0.0.1/32");
        assert_eq!(
            parse_net("2001:db8::1").unwrap().to_string(),
            "2001:db8::1/128"
        );
        let err = parse_net("10.0.0/8").unwrap_err();
        assert!(err.contains("'10.0.0/8'"), "{err}");
        assert!(parse_net("10.0.0.0/33").is_err());
    }

    fn with_inventory(test: &str, text: &str, local_nets: &[&str]) -> Annotator {
        crate::testing::annotator(test, local_nets, false, Some(text))
    }

    const HOSTS: &str = "cidr,vm_name\n10.0.0.0/8,any\n10.1.2.3,web-1\n";

    #[test]
    fn inventory_rows_are_local_unless_local_net_is_given() {
        let a = with_inventory("local", HOSTS, &[]);
        assert!(a.is_local("10.9.9.9".parse().unwrap()));
        assert!(!a.is_local("192.0.2.1".parse().unwrap()));
        let a = with_inventory("override", HOSTS, &["192.0.2.0/24"]);
        assert!(!a.is_local("10.9.9.9".parse().unwrap()));
        assert!(a.is_local("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn each_end_gets_its_longest_inventory_row() {
        let a = with_inventory("ends", HOSTS, &[]);
        let vm = |addr: &str| {
            let end = a.end(addr.parse().unwrap(), true);
            end.host
                .and_then(|h| h.instance.as_ref())
                .and_then(|i| i.vm_name.clone())
        };
        assert_eq!(vm("10.1.2.3").as_deref(), Some("web-1"));
        assert_eq!(vm("::ffff:10.1.2.3").as_deref(), Some("web-1"));
        assert_eq!(vm("10.1.2.4").as_deref(), Some("any"));
        assert_eq!(vm("192.0.2.1"), None);
    }

    #[test]
    #[ignore = "needs python3's mmdb-writer: scripts/test.sh runs it"]
    fn geoip_locates_only_the_ends_that_are_not_local() {
        let dir = geoip::tests::databases("annotator");
        let a = Annotator::load(&AnnotateConfig {
            local_nets: vec!["10.0.0.0/8".parse().unwrap()],
            geoip: vec![dir.join("city.mmdb"), dir.join("asn.mmdb")],
            ..AnnotateConfig::default()
        })
        .unwrap();
        // 10.0.0.1 is in the databases (Frankfurt) but local: not looked up.
        let local = a.end("10.0.0.1".parse().unwrap(), true);
        assert_eq!(local.location, None);
        let far = a.end("203.0.113.9".parse().unwrap(), false);
        let (text, asn) = far.location().unwrap();
        assert_eq!(
            text,
            [
                Some("Oceania"),
                Some("AU"),
                Some("New South Wales"),
                Some("Sydney")
            ]
        );
        assert_eq!(asn, Some(64500));
        assert_eq!(a.end("198.51.100.1".parse().unwrap(), false).location, None);
    }

    #[test]
    fn a_missing_inventory_names_its_path() {
        let err = Annotator::load(&AnnotateConfig {
            inventory: Some("/nonexistent/hosts.csv".into()),
            ..AnnotateConfig::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/hosts.csv"), "{err}");
    }

    #[test]
    fn an_annotator_without_networks_is_inactive() {
        assert!(!Annotator::default().is_active());
        assert!(crate::testing::annotator("active", &["10.0.0.0/8"], false, None).is_active());
    }
}
