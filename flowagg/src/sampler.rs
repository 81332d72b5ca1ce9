//! Flow sampling by key hash and packet sampling at random (docs/record.md, "Sampling").

/// SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijective mix whose
/// output bits all depend on every input bit.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Keeps a flow iff its (salted) key hash falls below `rate · 2^64`, so the
/// same flows are kept in every interval, thread and run with the same seed.
#[derive(Debug, Clone, Copy)]
pub struct FlowSampler {
    threshold: u128,
}

impl FlowSampler {
    /// A sampler keeping fraction `rate` of flows.
    pub fn new(rate: f64) -> Self {
        FlowSampler {
            threshold: (rate * 2f64.powi(64)) as u128,
        }
    }

    /// Whether the flow with this key hash is kept.
    ///
    /// The flow-table hash is remixed first: the table takes its slot from
    /// the hash's low bits and its tag from the high bits, and a threshold
    /// on the raw hash would leave kept flows with only low high bits.
    #[inline]
    pub fn keeps(&self, key_hash: u64) -> bool {
        u128::from(mix64(key_hash)) < self.threshold
    }
}

/// Counts one packet in N, chosen at random but reproducibly: packet number
/// `n` of the run is kept iff `mix(seed, n)` maps to 0 in `[0, N)`. Being a
/// function of the packet's position, the choice does not depend on how
/// packets are batched or threaded.
#[derive(Debug, Clone, Copy)]
pub struct PacketSampler {
    one_in: u64,
    seed: u64,
    position: u64,
}

impl PacketSampler {
    /// A sampler counting one packet in `one_in`.
    pub fn new(one_in: u64, seed: u64) -> Self {
        PacketSampler {
            one_in,
            seed: mix64(seed),
            position: 0,
        }
    }

    /// Whether the next packet is counted.
    #[inline]
    pub fn keep_next(&mut self) -> bool {
        if self.one_in == 1 {
            return true;
        }
        self.position += 1;
        let draw = mix64(self.seed ^ self.position.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        // Lemire's multiply-shift maps the draw uniformly onto [0, N).
        (u128::from(draw) * u128::from(self.one_in)) >> 64 == 0
    }

    /// N, the factor that scales observed counts into estimates.
    pub fn scale(&self) -> u64 {
        self.one_in
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_sampler_rate_one_keeps_every_hash() {
        let s = FlowSampler::new(1.0);
        assert!(s.keeps(0) && s.keeps(u64::MAX) && s.keeps(12345));
    }

    #[test]
    fn packet_sampler_keeps_about_one_in_n_and_repeats_with_seed() {
        let draws = |seed| {
            let mut s = PacketSampler::new(10, seed);
            (0..100_000).map(|_| s.keep_next()).collect::<Vec<_>>()
        };
        let a = draws(7);
        assert_eq!(a, draws(7));
        assert_ne!(a, draws(8));
        let kept = a.iter().filter(|k| **k).count();
        // Binomial(100000, 0.1): sd ≈ 95; 6 sd either side.
        assert!((9_430..=10_570).contains(&kept), "kept {kept}");
    }
}
