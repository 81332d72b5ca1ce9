//! Counters of packets that did not make it into a flow, by layer and reason.

use crate::decode::{DecodeError, Decoded, ErrorKind, Layer, NotPeeled};

/// Per-(layer, reason) counts of packets that stopped decoding, and counts
/// of decoded packets whose tunnel was not peeled, by reason.
///
/// Fixed tables indexed by enum discriminants: counting is one add, with no
/// hashing or allocation, so it can sit on the per-packet path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeStats {
    counts: [[u64; ErrorKind::ALL.len()]; Layer::ALL.len()],
    not_peeled: [u64; NotPeeled::ALL.len()],
}

impl DecodeStats {
    /// Counts one packet that stopped with `error`.
    #[inline]
    pub fn record(&mut self, error: &DecodeError) {
        self.counts[error.layer as usize][error.kind as usize] += 1;
    }

    /// Counts what a decoded packet adds: a tunnel that was not peeled (the
    /// packet itself counts in its record).
    #[inline]
    pub fn record_decoded(&mut self, decoded: &Decoded<'_>) {
        if let Some(why) = decoded.not_peeled {
            self.not_peeled[why as usize] += 1;
        }
    }

    /// Adds another table's counts (from another reader thread).
    pub fn merge(&mut self, other: &DecodeStats) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            for (m, t) in mine.iter_mut().zip(theirs) {
                *m += t;
            }
        }
        for (m, t) in self.not_peeled.iter_mut().zip(&other.not_peeled) {
            *m += t;
        }
    }

    /// The non-zero "tunnel not peeled" counts, as (reason, count).
    pub fn not_peeled(&self) -> impl Iterator<Item = (NotPeeled, u64)> + '_ {
        NotPeeled::ALL
            .iter()
            .map(|&why| (why, self.not_peeled[why as usize]))
            .filter(|&(_, count)| count > 0)
    }

    /// Total packets stopped with `kind`, over all layers.
    pub fn total(&self, kind: ErrorKind) -> u64 {
        self.counts.iter().map(|row| row[kind as usize]).sum()
    }

    /// The non-zero counts, as (layer, reason, count), in a fixed order.
    pub fn nonzero(&self) -> impl Iterator<Item = (Layer, ErrorKind, u64)> + '_ {
        Layer::ALL.iter().flat_map(move |&layer| {
            ErrorKind::ALL.iter().filter_map(move |&kind| {
                let count = self.counts[layer as usize][kind as usize];
                (count > 0).then_some((layer, kind, count))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_merge_count_by_layer_and_kind() {
        let mut a = DecodeStats::default();
        a.record(&DecodeError::new(Layer::Ipv4, ErrorKind::Truncated, 14));
        a.record(&DecodeError::new(Layer::Ipv4, ErrorKind::Truncated, 14));
        let mut b = DecodeStats::default();
        b.record(&DecodeError::new(Layer::Ethernet, ErrorKind::NotIp, 0));
        a.merge(&b);
        assert_eq!(a.total(ErrorKind::Truncated), 2);
        assert_eq!(a.total(ErrorKind::NotIp), 1);
        let rows: Vec<_> = a.nonzero().collect();
        assert_eq!(
            rows,
            vec![
                (Layer::Ethernet, ErrorKind::NotIp, 1),
                (Layer::Ipv4, ErrorKind::Truncated, 2)
            ]
        );
    }
}
