//! What a record says about its two ends beyond their addresses
//! (docs/annotate.md): `reporter`, from the networks the user calls local
//! (`--local-net`, `--report-both-ends`).
//!
//! Annotation happens once per record as it is written, never per packet:
//! the packet path pays nothing for it, and a run without these options pays
//! one test per batch ([`Annotator::is_active`]). Lookups allocate nothing
//! and never panic.

mod nets;

use std::net::IpAddr;

use flowagg::FlowKey;
pub use ipnet::IpNet;

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
}

/// The records one flow record is written as, and what they say of its
/// ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Annotation {
    /// One entry per record to write: its `reporter`. Two entries only under
    /// `--report-both-ends` with both ends local.
    pub reporters: &'static [Option<Reporter>],
}

/// Annotates records from the configured networks. The default annotates
/// nothing ([`Annotator::is_active`] is false).
#[derive(Debug, Clone, Default)]
pub struct Annotator {
    local: Nets<()>,
    both_ends: bool,
}

impl Annotator {
    /// An annotator of `config`.
    pub fn new(config: &AnnotateConfig) -> Self {
        let mut local = Nets::default();
        for net in &config.local_nets {
            local.insert(*net, ());
        }
        Annotator {
            local,
            both_ends: config.report_both_ends,
        }
    }

    /// Whether any record gets an annotation; when not, writers skip
    /// [`Annotator::annotate`] and write every record once, as before.
    pub fn is_active(&self) -> bool {
        !self.local.is_empty()
    }

    /// The annotation of a record of `key`.
    pub fn annotate(&self, key: &FlowKey) -> Annotation {
        let (src, dest) = (self.is_local(key.src_ip()), self.is_local(key.dst_ip()));
        Annotation {
            reporters: reporters(src, dest, self.both_ends),
        }
    }

    fn is_local(&self, addr: IpAddr) -> bool {
        self.local.lookup(addr).is_some()
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

    #[test]
    fn an_annotator_without_networks_is_inactive() {
        assert!(!Annotator::default().is_active());
        let config = AnnotateConfig {
            local_nets: vec!["10.0.0.0/8".parse().unwrap()],
            ..AnnotateConfig::default()
        };
        assert!(Annotator::new(&config).is_active());
    }
}
