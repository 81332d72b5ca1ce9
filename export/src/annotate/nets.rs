//! Longest-prefix match of addresses against a set of networks, IPv4 and
//! IPv6, through `prefix-trie` (docs/design.md, "Annotations": why this
//! crate).
//!
//! An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, RFC 4291 §2.5.5.2) is
//! looked up as the IPv4 address it carries: a dual-stack socket shows IPv4
//! peers so, and the user who wrote `10.0.0.0/8` means them too.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;

/// Networks, each with a value; a lookup finds the longest one holding an
/// address. Lookups allocate nothing and never panic.
#[derive(Debug, Clone)]
pub struct Nets<T> {
    v4: PrefixMap<Ipv4Net, T>,
    v6: PrefixMap<Ipv6Net, T>,
}

impl<T> Default for Nets<T> {
    fn default() -> Self {
        Nets {
            v4: PrefixMap::new(),
            v6: PrefixMap::new(),
        }
    }
}

impl<T> Nets<T> {
    /// Adds `net` (host bits ignored: `10.1.2.3/8` is `10.0.0.0/8`); a
    /// network given twice keeps the later value, as a later line of a
    /// file overrides an earlier one.
    pub fn insert(&mut self, net: IpNet, value: T) {
        match net.trunc() {
            IpNet::V4(net) => self.v4.insert(net, value),
            IpNet::V6(net) => self.v6.insert(net, value),
        };
    }

    /// The value of the longest network holding `addr`.
    pub fn lookup(&self, addr: IpAddr) -> Option<&T> {
        match addr.to_canonical() {
            IpAddr::V4(a) => self.v4.get_lpm(&Ipv4Net::from(a)).map(|(_, v)| v),
            IpAddr::V6(a) => self.v6.get_lpm(&Ipv6Net::from(a)).map(|(_, v)| v),
        }
    }

    /// Whether no network was added.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[(&str, u32)]) -> Nets<u32> {
        let mut nets = Nets::default();
        for (net, value) in list {
            nets.insert(net.parse().unwrap(), *value);
        }
        nets
    }

    fn lookup(nets: &Nets<u32>, addr: &str) -> Option<u32> {
        nets.lookup(addr.parse().unwrap()).copied()
    }

    #[test]
    fn overlapping_networks_give_the_longest() {
        let n = nets(&[("10.0.0.0/8", 8), ("10.1.0.0/16", 16), ("10.1.2.0/24", 24)]);
        assert_eq!(lookup(&n, "10.1.2.3"), Some(24));
        assert_eq!(lookup(&n, "10.1.3.3"), Some(16));
        assert_eq!(lookup(&n, "10.2.0.1"), Some(8));
        assert_eq!(lookup(&n, "11.0.0.1"), None);
    }

    #[test]
    fn host_bits_of_a_network_are_ignored() {
        let n = nets(&[("10.1.2.3/16", 1)]);
        assert_eq!(lookup(&n, "10.1.200.200"), Some(1));
    }

    #[test]
    fn ipv6_networks_and_a_host_route() {
        let n = nets(&[("2001:db8::/32", 32), ("2001:db8::1/128", 128)]);
        assert_eq!(lookup(&n, "2001:db8::1"), Some(128));
        assert_eq!(lookup(&n, "2001:db8::2"), Some(32));
        assert_eq!(lookup(&n, "2001:db9::1"), None);
        // An IPv6 network does not hold IPv4 addresses, nor the reverse.
        assert_eq!(lookup(&n, "32.1.13.184"), None);
    }

    #[test]
    fn ipv4_mapped_addresses_match_ipv4_networks() {
        let n = nets(&[("192.168.0.0/16", 4)]);
        assert_eq!(lookup(&n, "::ffff:192.168.7.1"), Some(4));
        assert_eq!(lookup(&n, "::ffff:192.169.7.1"), None);
        // IPv4-compatible (deprecated, ::a.b.c.d) is not mapped.
        assert_eq!(lookup(&n, "::192.168.7.1"), None);
    }

    #[test]
    fn the_default_route_holds_every_address_of_its_family() {
        let n = nets(&[("0.0.0.0/0", 0), ("10.0.0.0/8", 8)]);
        assert_eq!(lookup(&n, "203.0.113.9"), Some(0));
        assert_eq!(lookup(&n, "10.9.9.9"), Some(8));
        assert_eq!(lookup(&n, "::ffff:203.0.113.9"), Some(0));
        assert_eq!(lookup(&n, "2001:db8::1"), None);
        let n = nets(&[("::/0", 6)]);
        assert_eq!(lookup(&n, "2001:db8::1"), Some(6));
        assert_eq!(lookup(&n, "203.0.113.9"), None);
    }
}
