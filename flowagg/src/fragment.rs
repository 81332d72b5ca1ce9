//! Attributing later IP fragments to their first fragment's flow (docs/record.md, "The flow key").

use std::collections::HashMap;

use capture::Timestamp;
use foldhash::fast::FixedState;

use crate::{
    key::{FlowKey, PortKind},
    ObsId,
};

/// How long a first fragment's ports are remembered, in packet time: Linux's
/// default reassembly timeout (`ipfrag_time`, 30 s).
const WINDOW_NANOS: u64 = 30 * Timestamp::NANOS_PER_SEC;
/// At most this many datagrams remembered at once; beyond it the entries
/// older than the window are dropped, and if none are, all of them.
const CAPACITY: usize = 1 << 16;

/// A datagram: what RFC 791 §3.2 / RFC 8200 §4.5 say identifies its fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct DatagramId {
    obs: ObsId,
    v6: bool,
    src: [u8; 16],
    dst: [u8; 16],
    proto: u8,
    id: u32,
}

#[derive(Debug, Clone, Copy)]
struct FirstFragment {
    port_kind: PortKind,
    src_port: u16,
    dst_port: u16,
    seen: Timestamp,
}

/// Remembers first fragments' ports, bounded in time and memory.
#[derive(Debug)]
pub struct FragmentTracker {
    /// Hashed as flow keys are (foldhash, the run's seed), not with std's
    /// SipHash: a fragment costs one cheap hash, and the seed keeps the
    /// table's layout the same from run to run.
    firsts: HashMap<DatagramId, FirstFragment, FixedState>,
}

impl FragmentTracker {
    /// An empty tracker hashing with `hasher`.
    pub fn new(hasher: FixedState) -> Self {
        FragmentTracker {
            firsts: HashMap::with_hasher(hasher),
        }
    }

    /// Records a first fragment (offset 0, more fragments follow).
    pub fn first(&mut self, key: &FlowKey, id: u32, ts: Timestamp) {
        if self.firsts.len() >= CAPACITY {
            self.firsts
                .retain(|_, first| ts.0.saturating_sub(first.seen.0) <= WINDOW_NANOS);
            if self.firsts.len() >= CAPACITY {
                self.firsts.clear();
            }
        }
        self.firsts.insert(
            datagram(key, id),
            FirstFragment {
                port_kind: key.shape.port_kind(),
                src_port: key.src_port,
                dst_port: key.dst_port,
                seen: ts,
            },
        );
    }

    /// Gives a later fragment its first fragment's ports; returns false when
    /// the first fragment was not seen within the window (ports stay null).
    pub fn later(&mut self, key: &mut FlowKey, id: u32, ts: Timestamp) -> bool {
        match self.firsts.get(&datagram(key, id)) {
            Some(first) if ts.0.saturating_sub(first.seen.0) <= WINDOW_NANOS => {
                key.set_ports(first.port_kind, first.src_port, first.dst_port);
                true
            }
            _ => false,
        }
    }
}

fn datagram(key: &FlowKey, id: u32) -> DatagramId {
    DatagramId {
        obs: key.obs,
        v6: key.shape.is_v6(),
        src: key.src,
        dst: key.dst,
        proto: key.proto,
        id,
    }
}
