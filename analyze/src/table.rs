//! The group table: key words to sums, the hash table under `top` and
//! `report`.
//!
//! Open addressing (linear probing) over one flat `Vec<u64>` per partition:
//! a row is the key's hash, its key words and its sums, side by side, so a
//! lookup reads one or two cache lines and follows no pointer. A table is
//! split into [`PARTS`] partitions by the top bits of the hash; every worker
//! hashes with the same fixed seed, so partition `p` of one worker's table
//! holds the same keys as partition `p` of another's, and the tables merge
//! partition by partition on separate threads without sharing a row.
//!
//! Memory: per group, `1 + width + sums` words (the default key: 80 bytes
//! with one sum), at most 8/5 of that for the empty slots, plus a boxed set
//! of 16 bytes per distinct 5-tuple when flows are counted.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;

/// Distinct 5-tuples of a group, as their 128-bit hashes.
pub type TupleSet = hashbrown::HashSet<u128, foldhash::fast::RandomState>;

/// Partitions per table: enough that two to a few dozen threads share the
/// merge evenly.
const PARTS: usize = 16;

/// Set in every stored hash, so an empty slot (0) never matches one.
const OCCUPIED: u64 = 1 << 63;

/// One seed for every worker: partitions must agree across tables.
const SEED: u64 = 0x746f_702d_7461_626c;

/// The stored hash of a key: foldhash's, with [`OCCUPIED`] set. Bits 56–59
/// pick the partition, the low bits the slot.
pub fn hash(key: &[u64]) -> u64 {
    FixedState::with_seed(SEED).hash_one(key) | OCCUPIED
}

fn part_of(hash: u64) -> usize {
    (hash >> 56) as usize % PARTS
}

/// What a row holds: `width` key words, then the sums: records, then bytes
/// and packets when summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Key words.
    pub width: usize,
    /// Whether bytes are summed.
    pub bytes: bool,
    /// Whether packets are summed.
    pub packets: bool,
    /// Whether distinct 5-tuples are counted.
    pub flows: bool,
}

impl Shape {
    fn sums(&self) -> usize {
        1 + usize::from(self.bytes) + usize::from(self.packets)
    }

    fn stride(&self) -> usize {
        1 + self.width + self.sums()
    }
}

/// What one record adds to its group.
#[derive(Debug, Clone, Copy, Default)]
pub struct Add {
    /// Its `bytes_sent`.
    pub bytes: u64,
    /// Its `packets_sent`.
    pub packets: u64,
    /// Its 5-tuple's hash, when flows are counted.
    pub tuple: u128,
}

/// One partition: `slots` rows of `stride` words, and a tuple set per slot
/// when flows are counted.
#[derive(Default)]
struct Part {
    rows: Vec<u64>,
    sets: Vec<Option<Box<TupleSet>>>,
    mask: usize,
    len: usize,
}

impl Part {
    fn slots(&self) -> usize {
        if self.rows.is_empty() {
            0
        } else {
            self.mask + 1
        }
    }

    /// The slot of `key`, inserted with zero sums if absent. Grows past 5/8
    /// full: linear probing stays at one or two probes below that.
    fn slot(&mut self, shape: &Shape, hash: u64, key: &[u64]) -> usize {
        if (self.len + 1) * 8 > self.slots() * 5 {
            self.grow(shape);
        }
        let stride = shape.stride();
        let mut slot = hash as usize & self.mask;
        loop {
            let row = &mut self.rows[slot * stride..(slot + 1) * stride];
            if row[0] == 0 {
                row[0] = hash;
                row[1..=key.len()].copy_from_slice(key);
                self.len += 1;
                return slot;
            }
            if row[0] == hash && row[1..=key.len()] == *key {
                return slot;
            }
            slot = (slot + 1) & self.mask;
        }
    }

    /// Doubles the slots: the old rows are added into the empty table.
    fn grow(&mut self, shape: &Shape) {
        self.grow_to((self.slots() * 2).max(64), shape);
    }

    /// Room for `groups` groups without growing again.
    fn reserve(&mut self, groups: usize, shape: &Shape) {
        let slots = (groups * 8 / 5 + 1).next_power_of_two().max(64);
        if slots > self.slots() {
            self.grow_to(slots, shape);
        }
    }

    /// Moves the rows into a table of `slots` slots.
    fn grow_to(&mut self, slots: usize, shape: &Shape) {
        let mut grown = Part {
            rows: written_zeros(slots * shape.stride()),
            sets: Vec::new(),
            mask: slots - 1,
            len: 0,
        };
        if shape.flows {
            grown.sets.resize_with(slots, || None);
        }
        let old = std::mem::replace(self, grown);
        self.absorb(shape, old);
    }

    /// Adds `other`'s groups into this partition's.
    fn absorb(&mut self, shape: &Shape, other: Part) {
        let stride = shape.stride();
        let mut sets = other.sets.into_iter();
        for row in other.rows.chunks_exact(stride) {
            let set = sets.next().flatten();
            if row[0] != 0 {
                self.add_row(shape, row[0], &row[1..=shape.width], row, set);
            }
        }
    }

    /// Adds a whole row's sums (and tuple set) under `key`.
    fn add_row(
        &mut self,
        shape: &Shape,
        hash: u64,
        key: &[u64],
        row: &[u64],
        set: Option<Box<TupleSet>>,
    ) {
        let slot = self.slot(shape, hash, key);
        let stride = shape.stride();
        let sums = 1 + shape.width..stride;
        for (mine, theirs) in self.rows[slot * stride..][sums.clone()]
            .iter_mut()
            .zip(&row[sums])
        {
            *mine += theirs;
        }
        if let Some(set) = set {
            match &mut self.sets[slot] {
                Some(mine) => mine.extend(set.iter()),
                empty => *empty = Some(set),
            }
        }
    }
}

/// A group's place in a table, for [`GroupTable::key`] and
/// [`GroupTable::sums`].
pub type GroupId = usize;

/// Slots per partition are below 2^40, so an id is a partition and a slot.
const SLOT_BITS: u32 = 40;

/// Groups by key words, each with its sums.
pub struct GroupTable {
    shape: Shape,
    parts: Vec<Part>,
}

/// The sums of one group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    /// Sum of `bytes_sent` (0 unless summed).
    pub bytes: u64,
    /// Sum of `packets_sent` (0 unless summed).
    pub packets: u64,
    /// Records.
    pub records: u64,
    /// Distinct 5-tuples (`src_ip, dest_ip, src_port, dest_port, protocol`;
    /// 0 unless counted).
    pub flows: u64,
}

impl GroupTable {
    /// An empty table of rows shaped so.
    pub fn new(shape: Shape) -> GroupTable {
        GroupTable {
            shape,
            parts: (0..PARTS).map(|_| Part::default()).collect(),
        }
    }

    /// Room for `groups` groups in all without growing on the way. Parts
    /// take an even share, an eighth more for the spread.
    pub fn reserve(&mut self, groups: usize) {
        let share = groups / PARTS + groups / PARTS / 8;
        let shape = self.shape;
        for part in &mut self.parts {
            part.reserve(share, &shape);
        }
    }

    /// Groups held.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len).sum()
    }

    /// Counts one record under `key` (whose [`hash`] is `hash`).
    #[inline]
    pub fn add(&mut self, hash: u64, key: &[u64], add: Add) {
        let shape = self.shape;
        let part = &mut self.parts[part_of(hash)];
        let slot = part.slot(&shape, hash, key);
        let stride = shape.stride();
        let sums = &mut part.rows[slot * stride + 1 + shape.width..(slot + 1) * stride];
        sums[0] += 1;
        let mut at = 1;
        if shape.bytes {
            sums[at] += add.bytes;
            at += 1;
        }
        if shape.packets {
            sums[at] += add.packets;
        }
        if shape.flows {
            part.sets[slot].get_or_insert_default().insert(add.tuple);
        }
    }

    /// Reads the first word of the slot `hash` probes first. A run of rows
    /// touched before it is added: their loads from memory overlap, instead
    /// of each lookup waiting for its own in turn.
    #[inline]
    pub fn touch(&self, hash: u64) -> u64 {
        let part = &self.parts[part_of(hash)];
        let at = (hash as usize & part.mask) * self.shape.stride();
        part.rows.get(at).copied().unwrap_or(0)
    }

    /// Every group's id, in no order.
    pub fn ids(&self) -> impl Iterator<Item = GroupId> + '_ {
        let stride = self.shape.stride();
        self.parts.iter().enumerate().flat_map(move |(p, part)| {
            part.rows
                .chunks_exact(stride)
                .enumerate()
                .filter(|(_, row)| row[0] != 0)
                .map(move |(slot, _)| (p << SLOT_BITS) | slot)
        })
    }

    fn row(&self, id: GroupId) -> (&Part, &[u64]) {
        let stride = self.shape.stride();
        let part = &self.parts[id >> SLOT_BITS];
        let slot = id & ((1 << SLOT_BITS) - 1);
        (part, &part.rows[slot * stride..(slot + 1) * stride])
    }

    /// The key words of a group.
    pub fn key(&self, id: GroupId) -> &[u64] {
        &self.row(id).1[1..=self.shape.width]
    }

    /// The sums of a group.
    pub fn sums(&self, id: GroupId) -> Sums {
        let (part, row) = self.row(id);
        let sums = &row[1 + self.shape.width..];
        let mut at = 1;
        let mut next = |on: bool| {
            let v = if on { sums[at] } else { 0 };
            at += usize::from(on);
            v
        };
        let (bytes, packets) = (next(self.shape.bytes), next(self.shape.packets));
        let flows = match self.shape.flows {
            true => part.sets[id & ((1 << SLOT_BITS) - 1)]
                .as_ref()
                .map_or(0, |s| s.len() as u64),
            false => 0,
        };
        Sums {
            records: sums[0],
            bytes,
            packets,
            flows,
        }
    }

    /// The same groups with each key rewritten by `f` (which must not map
    /// two keys to one), hashed anew.
    pub fn rekey(self, mut f: impl FnMut(&mut [u64])) -> GroupTable {
        let shape = self.shape;
        let mut table = GroupTable::new(shape);
        let mut key = vec![0; shape.width];
        for part in self.parts {
            let mut sets = part.sets.into_iter();
            for row in part.rows.chunks_exact(shape.stride()) {
                let set = sets.next().flatten();
                if row[0] != 0 {
                    key.copy_from_slice(&row[1..=shape.width]);
                    f(&mut key);
                    let hash = hash(&key);
                    table.parts[part_of(hash)].add_row(&shape, hash, &key, row, set);
                }
            }
        }
        table
    }

    /// One table of every group of `tables` (all of one shape), merged
    /// partition by partition on up to `threads` threads.
    pub fn merge(tables: Vec<GroupTable>, threads: usize) -> Option<GroupTable> {
        let mut tables = tables.into_iter();
        let mut all = tables.next()?;
        let shape = all.shape;
        let mut theirs: Vec<Vec<Part>> = (0..PARTS).map(|_| Vec::new()).collect();
        for table in tables {
            for (list, part) in theirs.iter_mut().zip(table.parts) {
                list.push(part);
            }
        }
        let per_thread = PARTS.div_ceil(threads.max(1));
        std::thread::scope(|scope| {
            for (mine, theirs) in all
                .parts
                .chunks_mut(per_thread)
                .zip(theirs.chunks_mut(per_thread))
            {
                scope.spawn(move || {
                    for (mine, theirs) in mine.iter_mut().zip(theirs) {
                        for part in theirs.drain(..) {
                            mine.absorb(&shape, part);
                        }
                    }
                });
            }
        });
        Some(all)
    }
}

/// `len` zeros, written rather than mapped lazily. `vec![0; n]` takes
/// zeroed pages from the kernel that read as the shared zero page: the first
/// write to each (after `touch` read it) is then a copy-on-write fault whose
/// TLB flush interrupts every other thread of the process. With two threads
/// adding to their tables, those flushes were 42% of the time of a 1 M-group
/// query; writing the zeros costs a pass over the memory instead.
// `vec![0; len]` and `repeat_n(0, len).collect()` both become a zeroed
// allocation again (measured: 2.4 s against 1.15 s), so the lint's advice is
// what this function exists to avoid.
#[allow(clippy::slow_vector_initialization)]
fn written_zeros(len: usize) -> Vec<u64> {
    let mut rows = Vec::with_capacity(len);
    rows.resize(len, 0);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: Shape = Shape {
        width: 2,
        bytes: true,
        packets: false,
        flows: true,
    };

    fn table(keys: impl Iterator<Item = u64>) -> GroupTable {
        let mut table = GroupTable::new(SHAPE);
        for k in keys {
            let key = [k, k * 7];
            let add = Add {
                bytes: k,
                packets: 0,
                tuple: u128::from(k % 3),
            };
            table.add(hash(&key), &key, add);
        }
        table
    }

    #[test]
    fn groups_survive_growth_and_merge_by_partition() {
        let a = table(0..5000);
        let b = table(2500..10_000);
        let all = GroupTable::merge(vec![a, b], 3).unwrap();
        assert_eq!(all.ids().count(), 10_000);
        for id in all.ids() {
            let k = all.key(id)[0];
            let sums = all.sums(id);
            let twice = (2500..5000).contains(&k);
            assert_eq!(sums.records, if twice { 2 } else { 1 }, "{k}");
            assert_eq!(sums.bytes, sums.records * k);
            assert_eq!(sums.flows, 1);
            assert_eq!(all.key(id)[1], k * 7);
        }
    }

    #[test]
    fn rekey_moves_groups_to_their_new_hash() {
        let moved = table(0..1000).rekey(|key| key[0] += 1_000_000);
        let mut keys: Vec<u64> = moved.ids().map(|id| moved.key(id)[0]).collect();
        keys.sort_unstable();
        assert_eq!(keys, (1_000_000..1_001_000).collect::<Vec<_>>());
        let mut again = moved;
        let key = [1_000_005, 5 * 7];
        again.add(hash(&key), &key, Add::default());
        assert_eq!(again.ids().count(), 1000);
    }
}
