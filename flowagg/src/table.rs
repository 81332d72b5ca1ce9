//! The flow table of one interval: entries packed densely in arrival order,
//! found through a small open-addressing index.
//!
//! # Memory
//! One open flow costs one [`Entry`] (80 bytes: the 40-byte key, three
//! counts, two times) plus 4 to 8 bytes of index (`u32` slots, at most half
//! full). Entries are never moved by the index, so the vector grows by
//! `realloc` (pages remapped, not copied) and the untouched tail of its
//! capacity is never resident. On a million flows: 80 + 8.4 bytes per flow.
//! A hashbrown table of 88-byte entries cost twice that (load factor 7/16
//! to 7/8 applied to the whole entry, plus the transient copy at doubling).
//!
//! # Speed
//! A flow table bigger than the caches costs a cache miss or two per
//! packet. [`FlowTable::warm`] loads the slots and entries of a group of
//! observations before they are counted, so the misses of a group overlap
//! instead of queueing one after the other.

use capture::Timestamp;
use foldhash::fast::FixedState;

use crate::{FlowKey, FlowRecord, Interval, Observation, ObservationPoint};

/// Packets a flow counts in one interval before its count saturates: the
/// top byte of the count word holds the OR of the TCP flags, which keeps an
/// entry at 80 bytes. 2^56 packets is 20 years at 100 Gpps.
const PACKETS_MAX: u64 = (1 << 56) - 1;
const FLAGS_SHIFT: u32 = 56;

/// What a flow did so far in one interval.
///
/// `repr(C)`: the key comes first and `last` last, so [`FlowTable::warm_entries`]
/// touches both cache lines an entry can span by reading those two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Entry {
    pub(crate) key: FlowKey,
    /// Packets in the low 56 bits, TCP flags in the top 8.
    packets_flags: u64,
    pub(crate) bytes: u64,
    pub(crate) payload_bytes: u64,
    pub(crate) first: Timestamp,
    pub(crate) last: Timestamp,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 80);

impl Entry {
    pub(crate) fn new(key: FlowKey, ts: Timestamp) -> Self {
        Entry {
            key,
            packets_flags: 0,
            bytes: 0,
            payload_bytes: 0,
            first: ts,
            last: ts,
        }
    }

    pub(crate) fn packets(&self) -> u64 {
        self.packets_flags & PACKETS_MAX
    }

    pub(crate) fn tcp_flags(&self) -> u8 {
        (self.packets_flags >> FLAGS_SHIFT) as u8
    }

    #[inline]
    pub(crate) fn add(&mut self, obs: &Observation, scale: u64) {
        // Saturating: `--packet-sample` accepts any N, and no count may wrap.
        let packets = self.packets().saturating_add(scale).min(PACKETS_MAX);
        let flags = u64::from(self.tcp_flags() | obs.tcp_flags) << FLAGS_SHIFT;
        self.packets_flags = flags | packets;
        self.bytes = self
            .bytes
            .saturating_add(u64::from(obs.ip_len).saturating_mul(scale));
        self.payload_bytes = self
            .payload_bytes
            .saturating_add(u64::from(obs.payload_len).saturating_mul(scale));
        self.first = self.first.min(obs.ts);
        self.last = self.last.max(obs.ts);
    }

    pub(crate) fn record(&self, interval: Interval, points: &[ObservationPoint]) -> FlowRecord {
        FlowRecord {
            partial: false,
            interval,
            observation: points[usize::from(self.key.obs.0)],
            key: self.key,
            packets: self.packets(),
            bytes: self.bytes,
            payload_bytes: self.payload_bytes,
            first: self.first,
            last: self.last,
            tcp_flags: self.tcp_flags(),
        }
    }
}

/// At most this many entries in one table, so that an entry's index and a
/// tag of at least one bit fit a `u32` slot. Far beyond any memory budget.
pub(crate) const MAX_ENTRIES: usize = 1 << 30;

/// Slots of a table that never held a flow.
const MIN_SLOTS: usize = 16;

/// Observations whose slots or entries are loaded at once: enough misses
/// in flight to fill the memory pipeline.
pub(crate) const WARM_GROUP: usize = 16;

/// Flows of one interval, by key.
///
/// A slot holds 0 (empty) or `tag | (index + 1)`: the low `bits` bits are
/// the entry's index plus one (the table is at most half full, so it fits),
/// the rest the same bits of the key hash's upper half, so a probe rarely
/// reads an entry that is not the one it looks for.
#[derive(Debug)]
pub(crate) struct FlowTable {
    entries: Vec<Entry>,
    slots: Vec<u32>,
}

impl Default for FlowTable {
    fn default() -> Self {
        FlowTable::with_capacity(0)
    }
}

impl FlowTable {
    /// An empty table with room for `flows` flows before it grows.
    pub(crate) fn with_capacity(flows: usize) -> Self {
        let flows = flows.min(MAX_ENTRIES);
        FlowTable {
            entries: Vec::with_capacity(flows),
            slots: vec![0; slots_for(flows)],
        }
    }

    /// An empty table with room for `flows` flows, in the memory of a
    /// table used before: no page faults, no growth on a steady run.
    pub(crate) fn reuse(mut entries: Vec<Entry>, mut slots: Vec<u32>, flows: usize) -> Self {
        let flows = flows.min(MAX_ENTRIES);
        entries.clear();
        entries.reserve(flows);
        slots.clear();
        slots.resize(slots_for(flows), 0);
        FlowTable { entries, slots }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry of `obs.key`, if the table holds it.
    #[inline]
    pub(crate) fn find_mut(&mut self, obs: &Observation) -> Option<&mut Entry> {
        match self.probe(&obs.key, obs.hash) {
            Ok(index) => Some(&mut self.entries[index]),
            Err(_) => None,
        }
    }

    /// Adds a flow the table does not hold; `hasher` re-derives key hashes
    /// when the index grows.
    pub(crate) fn insert_new(&mut self, entry: Entry, hash: u64, hasher: &FixedState) {
        debug_assert!(self.probe(&entry.key, hash).is_err(), "key already held");
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            self.grow(hasher);
        }
        let slot = self.probe(&entry.key, hash).expect_err("new key");
        self.slots[slot] = tag(hash, self.bits()) | (self.entries.len() as u32 + 1);
        self.entries.push(entry);
    }

    /// Loads the first slot of each observation of a group: the first
    /// stage of [`crate::Shard::push_batch`]'s pipeline. The loads are kept
    /// (through `black_box`), but nothing waits for them until the group's
    /// entries are loaded, a group later.
    #[inline]
    pub(crate) fn warm_slots(&self, group: &[Observation]) {
        let mask = self.slots.len() - 1;
        let mut touched = 0u32;
        for obs in group {
            touched ^= self.slots[obs.hash as usize & mask];
        }
        std::hint::black_box(touched);
    }

    /// Loads the entry each observation of a group will find, both its
    /// cache lines: its slot (in cache since [`FlowTable::warm_slots`]) is
    /// found by tag, as [`FlowTable::probe`] would, without comparing keys.
    #[inline]
    pub(crate) fn warm_entries(&self, group: &[Observation]) {
        let mask = self.slots.len() - 1;
        let bits = self.bits();
        let index_mask = (1u32 << bits) - 1;
        let mut touched = 0u64;
        for obs in group {
            let want = tag(obs.hash, bits);
            let mut at = obs.hash as usize & mask;
            loop {
                let slot = self.slots[at];
                if slot == 0 {
                    break;
                }
                if slot & !index_mask == want {
                    let entry = &self.entries[(slot & index_mask) as usize - 1];
                    touched ^= u64::from(entry.key.src[0]) ^ entry.last.0;
                    break;
                }
                at = (at + 1) & mask;
            }
        }
        std::hint::black_box(touched);
    }

    /// The flows, in arrival order, to be sorted and handed over, and the
    /// index's memory, for the next table.
    pub(crate) fn into_parts(self) -> (Vec<Entry>, Vec<u32>) {
        (self.entries, self.slots)
    }

    /// Removes the entries `evict` picks, in order, handing them to `out`;
    /// the index is rebuilt. Costs a pass over the table: for the rare
    /// eviction under `--max-flows`, not for the hot path.
    pub(crate) fn evict(
        &mut self,
        mut evict: impl FnMut(&Entry) -> bool,
        mut out: impl FnMut(Entry),
        hasher: &FixedState,
    ) {
        self.entries.retain(|e| {
            let gone = evict(e);
            if gone {
                out(*e);
            }
            !gone
        });
        self.rebuild(self.slots.len(), hasher);
    }

    /// Iterates the flows in arrival order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// `Ok(entry index)` if `key` is held, else `Err(empty slot)` where it goes.
    #[inline]
    fn probe(&self, key: &FlowKey, hash: u64) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let bits = self.bits();
        let index_mask = (1u32 << bits) - 1;
        let want = tag(hash, bits);
        let mut at = hash as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return Err(at);
            }
            if slot & !index_mask == want {
                let index = (slot & index_mask) as usize - 1;
                if self.entries[index].key == *key {
                    return Ok(index);
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// Bits of a slot that hold the entry index (the rest is the tag).
    #[inline]
    fn bits(&self) -> u32 {
        self.slots.len().trailing_zeros()
    }

    #[cold]
    fn grow(&mut self, hasher: &FixedState) {
        assert!(self.entries.len() < MAX_ENTRIES, "flow table full");
        let slots = (self.slots.len() * 2).max(MIN_SLOTS);
        self.rebuild(slots, hasher);
    }

    fn rebuild(&mut self, slots: usize, hasher: &FixedState) {
        self.slots.clear();
        self.slots.resize(slots.max(MIN_SLOTS), 0);
        let mask = self.slots.len() - 1;
        let bits = self.bits();
        for (index, entry) in self.entries.iter().enumerate() {
            let hash = entry.key.hash(hasher);
            let mut at = hash as usize & mask;
            while self.slots[at] != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = tag(hash, bits) | (index as u32 + 1);
        }
    }
}

/// Slots for `flows` flows at most half full: a power of two.
fn slots_for(flows: usize) -> usize {
    (flows * 2).next_power_of_two().max(MIN_SLOTS)
}

/// The upper half of the hash with its low `bits` bits cleared. The slot
/// position comes from the lower half, so tag and position are independent.
#[inline]
fn tag(hash: u64, bits: u32) -> u32 {
    ((hash >> 32) as u32) & !((1u32 << bits) - 1)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::key::{KeyShape, PortKind};
    use crate::ObsId;

    fn key(n: u32) -> FlowKey {
        let mut src = [0; 16];
        src[12..].copy_from_slice(&n.to_be_bytes());
        FlowKey {
            obs: ObsId(0),
            shape: KeyShape::new(false, PortKind::Ports),
            src,
            dst: [1; 16],
            proto: 6,
            src_port: (n % 7) as u16,
            dst_port: 80,
        }
    }

    fn obs(n: u32, hash: u64, ts: u64) -> Observation {
        Observation {
            key: key(n),
            hash,
            ts: Timestamp(ts),
            ip_len: 100,
            payload_len: 60,
            tcp_flags: 1 << (n % 8),
            late: false,
        }
    }

    /// Counts `stream` into a table, as the shard does.
    fn count(table: &mut FlowTable, stream: &[Observation], hasher: &FixedState) {
        for o in stream {
            if let Some(entry) = table.find_mut(o) {
                entry.add(o, 1);
            } else {
                let mut entry = Entry::new(o.key, o.ts);
                entry.add(o, 1);
                table.insert_new(entry, o.hash, hasher);
            }
        }
    }

    #[test]
    fn counts_and_flags_share_a_word_without_mixing() {
        let mut entry = Entry::new(key(1), Timestamp(5));
        let mut o = obs(1, 0, 7);
        o.tcp_flags = 0xff;
        entry.add(&o, PACKETS_MAX - 1);
        entry.add(&o, 1);
        assert_eq!((entry.packets(), entry.tcp_flags()), (PACKETS_MAX, 0xff));
        entry.add(&o, 5);
        assert_eq!(
            entry.packets(),
            PACKETS_MAX,
            "saturates, never wraps into the flags"
        );
        assert_eq!((entry.first, entry.last), (Timestamp(5), Timestamp(7)));
    }

    proptest! {
        /// Against a std HashMap, with real hashes and with colliding ones
        /// (few distinct hashes: long probe runs, equal tags, other keys).
        #[test]
        fn holds_what_a_hash_map_holds(
            flows in prop::collection::vec(0u32..3000, 1..3000),
            collide in any::<bool>(),
            presize in 0usize..5000,
        ) {
            let hasher = FixedState::with_seed(3);
            let stream: Vec<_> = flows
                .iter()
                .enumerate()
                .map(|(t, &n)| {
                    let hash = if collide { u64::from(n % 5) << 40 | u64::from(n % 3) } else { key(n).hash(&hasher) };
                    obs(n, hash, t as u64)
                })
                .collect();
            // Colliding hashes must also be what a rebuild derives, so the
            // collision test uses a table that never grows past its start.
            let mut table = FlowTable::with_capacity(if collide { 3000 } else { presize });
            count(&mut table, &stream, &hasher);
            let mut expected = std::collections::HashMap::new();
            for o in &stream {
                let e = expected.entry(o.key).or_insert((0u64, u8::MAX, 0u8));
                e.0 += 1;
                e.2 |= o.tcp_flags;
            }
            prop_assert_eq!(table.len(), expected.len());
            for entry in table.iter() {
                let (packets, _, flags) = expected[&entry.key];
                prop_assert_eq!((entry.packets(), entry.tcp_flags()), (packets, flags));
                prop_assert_eq!(entry.bytes, 100 * packets);
            }
            for o in &stream {
                prop_assert!(table.find_mut(o).is_some());
            }
        }

        #[test]
        fn eviction_keeps_the_rest_findable(
            flows in prop::collection::vec(0u32..2000, 1..2000),
            cut in 0u32..2000,
        ) {
            let hasher = FixedState::with_seed(1);
            let stream: Vec<_> = flows
                .iter()
                .enumerate()
                .map(|(t, &n)| obs(n, key(n).hash(&hasher), t as u64))
                .collect();
            let mut table = FlowTable::default();
            count(&mut table, &stream, &hasher);
            let before = table.len();
            let mut gone = Vec::new();
            table.evict(|e| e.key.src[15] as u32 % 3 == cut % 3, |e| gone.push(e.key), &hasher);
            prop_assert_eq!(table.len() + gone.len(), before);
            for o in &stream {
                prop_assert_eq!(table.find_mut(o).is_some(), !gone.contains(&o.key));
            }
        }
    }
}
