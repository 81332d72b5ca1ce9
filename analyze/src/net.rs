//! Address prefixes: the `src_net/N` keys and the CIDR filters.

use std::net::IpAddr;

/// An address prefix, `ADDR/BITS`, with the host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    addr: IpAddr,
    bits: u8,
}

impl Prefix {
    /// `addr` masked to `bits` (at most the address's length: 32 for IPv4,
    /// 128 for IPv6).
    pub fn of(addr: IpAddr, bits: u8) -> Prefix {
        match addr {
            IpAddr::V4(a) => {
                let bits = bits.min(32);
                let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
                Prefix {
                    addr: IpAddr::V4((u32::from(a) & mask).into()),
                    bits,
                }
            }
            IpAddr::V6(a) => {
                let bits = bits.min(128);
                let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
                Prefix {
                    addr: IpAddr::V6((u128::from(a) & mask).into()),
                    bits,
                }
            }
        }
    }

    /// Parses `ADDR/BITS`; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Prefix> {
        let (addr, bits) = text.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (bits <= max).then(|| Prefix::of(addr, bits))
    }

    /// Whether `addr` is in the prefix (never across address families).
    pub fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv4() == self.addr.is_ipv4() && Prefix::of(addr, self.bits) == *self
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_both_families() {
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(Prefix::of(v4, 24).to_string(), "10.1.2.0/24");
        assert_eq!(Prefix::of(v4, 64).to_string(), "10.1.2.3/32");
        assert_eq!(Prefix::of(v4, 0).to_string(), "0.0.0.0/0");
        let v6: IpAddr = "2001:db8:1:2::5".parse().unwrap();
        assert_eq!(Prefix::of(v6, 48).to_string(), "2001:db8:1::/48");
    }

    #[test]
    fn contains_only_its_family() {
        let p = Prefix::parse("10.0.0.0/8").unwrap();
        assert!(p.contains("10.200.0.1".parse().unwrap()));
        assert!(!p.contains("11.0.0.1".parse().unwrap()));
        assert!(!Prefix::parse("::/0")
            .unwrap()
            .contains("10.0.0.1".parse().unwrap()));
        assert!(Prefix::parse("10.0.0.0/33").is_none());
    }
}
