//! Grouping records by key and summing them: the engine under `top` and
//! `report`.
//!
//! A batch is filtered into a row mask, then each grouping turns its key
//! columns into machine words (text through an interner, so a key is a few
//! `u64`s) and adds each kept record into a hash table of sums. Text columns
//! arrive as dictionaries from Parquet, so an address is interned, masked or
//! tested once per dictionary entry rather than once per record.
//!
//! The table itself, and what a group costs in memory, is [`crate::table`].

use std::{borrow::Cow, hash::BuildHasher, net::IpAddr, sync::Arc};

use arrow_array::{
    cast::AsArray,
    types::{Int32Type, Int64Type, TimestampMicrosecondType},
    Array, ArrayRef,
};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;
use foldhash::quality::FixedState;

/// Interners hashed with foldhash: the keys are our own text, not
/// attacker-chosen in a way that would need SipHash.
type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

use crate::{
    filter::{Filter, Test, TimeRange},
    net::Prefix,
    query::Metric,
    table::{self, Add, GroupId, GroupTable, Shape, Sums},
    top::Ranked,
    value::Value,
};

/// What a grouping adds up besides records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Need {
    /// Sum `bytes_sent`.
    pub bytes: bool,
    /// Sum `packets_sent`.
    pub packets: bool,
    /// Count distinct 5-tuples.
    pub flows: bool,
}

/// How a key column becomes a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Text, as it is.
    Text,
    /// An address masked to a prefix length: IPv4's, IPv6's.
    Net(u8, u8),
    /// Any other column: integers, floats, flags, times.
    Plain,
}

/// Column indices of one grouping, into the batch's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Key columns and how each is read.
    pub keys: Vec<(usize, KeyKind)>,
    /// `bytes_sent`, when summed.
    pub bytes: Option<usize>,
    /// `packets_sent`, when summed.
    pub packets: Option<usize>,
    /// The 5-tuple's columns, when flows are counted.
    pub flows: Option<[usize; 5]>,
}

/// Filters compiled against the batch's columns.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Each `--where` with its column.
    pub filters: Vec<(usize, Filter)>,
    /// `interval_start`'s column, when the range limits anything.
    pub time: Option<(usize, TimeRange)>,
}

/// A per-batch cache of a function over a dictionary's values, kept while
/// consecutive batches share the dictionary (a row group's).
struct DictCache<T> {
    /// The dictionary cached, held so that its buffer cannot be freed and
    /// its address reused by another dictionary while the cache names it.
    dictionary: Option<ArrayRef>,
    values: Vec<Option<T>>,
}

impl<T: Copy> DictCache<T> {
    fn new() -> Self {
        DictCache {
            dictionary: None,
            values: Vec::new(),
        }
    }

    fn holds(&self, values: &ArrayRef) -> bool {
        let Some(held) = &self.dictionary else {
            return false;
        };
        let (a, b) = (held.as_string::<i32>(), values.as_string::<i32>());
        a.len() == b.len()
            && a.values().as_ptr() == b.values().as_ptr()
            && a.offsets().as_ptr() == b.offsets().as_ptr()
    }

    /// `f` of each row's text, `None` for null rows.
    fn map(&mut self, array: &dyn Array, mut f: impl FnMut(&str) -> T) -> Vec<Option<T>> {
        match array.data_type() {
            DataType::Dictionary(_, _) => {
                let dict = array.as_dictionary::<Int32Type>();
                if !self.holds(dict.values()) {
                    self.dictionary = Some(dict.values().clone());
                    self.values.clear();
                    self.values.resize(dict.values().len(), None);
                }
                let values = dict.values().as_string::<i32>();
                dict.keys()
                    .iter()
                    .map(|k| {
                        let k = k? as usize;
                        if values.is_null(k) {
                            return None;
                        }
                        Some(*self.values[k].get_or_insert_with(|| f(values.value(k))))
                    })
                    .collect()
            }
            DataType::Utf8 => array
                .as_string::<i32>()
                .iter()
                .map(|s| s.map(&mut f))
                .collect(),
            // A column absent from a file arrives as nulls.
            _ => vec![None; array.len()],
        }
    }
}

/// An integer column (Int32, Int64 or a timestamp) as `i64` values, with
/// its nulls apart: Int64 and times are borrowed as they are, and the loops
/// over rows test a bitmap rather than build an `Option` per value. Any
/// other column (one absent from a file) is all nulls.
struct Ints<'a> {
    values: Cow<'a, [i64]>,
    nulls: Option<NullBuffer>,
}

impl<'a> Ints<'a> {
    fn of(array: &'a dyn Array) -> Ints<'a> {
        let (values, nulls) = match array.data_type() {
            DataType::Int32 => {
                let values = array.as_primitive::<Int32Type>().values();
                (
                    values.iter().map(|&v| i64::from(v)).collect(),
                    array.nulls(),
                )
            }
            DataType::Int64 => (
                Cow::Borrowed(&array.as_primitive::<Int64Type>().values()[..]),
                array.nulls(),
            ),
            DataType::Timestamp(_, _) => (
                Cow::Borrowed(&array.as_primitive::<TimestampMicrosecondType>().values()[..]),
                array.nulls(),
            ),
            _ => {
                let all = NullBuffer::new_null(array.len());
                return Ints {
                    values: vec![0; array.len()].into(),
                    nulls: Some(all),
                };
            }
        };
        Ints {
            values,
            nulls: nulls.cloned(),
        }
    }

    /// Row `row`'s value, `None` for null.
    #[inline]
    fn get(&self, row: usize) -> Option<i64> {
        let valid = self.nulls.as_ref().is_none_or(|n| n.is_valid(row));
        valid.then(|| self.values[row])
    }
}

/// Text longer than a packed key holds (an IPv6 address) ↔ id, for one key
/// column of one worker.
#[derive(Default)]
struct Interner {
    ids: HashMap<Box<str>, u32>,
    values: Vec<Arc<str>>,
}

impl Interner {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(text.into());
        self.ids.insert(text.into(), id);
        id
    }
}

/// The top byte of a packed text that holds an interner id, not text.
const INTERNED: u8 = 0xff;

/// Text as two key words: up to 15 bytes in place (an IPv4 address, a
/// tunnel name) with its length in the top byte, so the group table holds
/// the text itself and a lookup follows no pointer; longer text as an
/// interner id, marked [`INTERNED`]. With a million addresses, the second
/// table lookup and the pointer to compare through were most of a query's
/// time.
fn pack(text: &str, interner: &mut Interner) -> u128 {
    let mut packed = [0u8; 16];
    if text.len() < 16 {
        packed[..text.len()].copy_from_slice(text.as_bytes());
        packed[15] = text.len() as u8;
    } else {
        packed[..4].copy_from_slice(&interner.id(text).to_le_bytes());
        packed[15] = INTERNED;
    }
    u128::from_le_bytes(packed)
}

fn unpack(packed: u128, interner: &Interner) -> Arc<str> {
    let bytes = packed.to_le_bytes();
    match bytes[15] {
        INTERNED => interner.values[packed as u32 as usize].clone(),
        len => String::from_utf8_lossy(&bytes[..usize::from(len)]).into(),
    }
}

/// One key column's reader: its interner and dictionary caches.
struct KeyReader {
    column: usize,
    kind: KeyKind,
    plain_type: Option<DataType>,
    interner: Interner,
    cache: DictCache<u128>,
    /// Where its words start in the key: text takes two, anything else one.
    offset: usize,
}

impl KeyKind {
    fn is_text(self) -> bool {
        matches!(self, KeyKind::Text | KeyKind::Net(..))
    }
}

/// The state of one grouping on one worker.
struct Table {
    layout: Layout,
    keys: Vec<KeyReader>,
    groups: GroupTable,
    hash_cache: [DictCache<u64>; 2],
    /// The batch's key words, row after row: kept between batches.
    words: Vec<u64>,
    /// The kept rows of the batch and their keys' hashes: kept between batches.
    hashes: Vec<(usize, u64)>,
}

/// Rows whose slots are touched ([`GroupTable::touch`]) before they are
/// added: about the loads a core keeps in flight.
const TOUCHED: usize = 32;

/// One worker's groupings, fed batch by batch (a [`crate::scan::Sink`]).
pub struct Worker {
    selection: Selection,
    filter_caches: Vec<DictCache<bool>>,
    tables: Vec<Table>,
    /// Records of the row group begun, until its first batch is counted.
    expected: Option<usize>,
}

impl Worker {
    /// A worker for these groupings under this selection.
    pub fn new(selection: &Selection, layouts: &[Layout]) -> Worker {
        Worker {
            filter_caches: selection.filters.iter().map(|_| DictCache::new()).collect(),
            expected: None,
            selection: selection.clone(),
            tables: layouts
                .iter()
                .map(|layout| Table {
                    keys: layout
                        .keys
                        .iter()
                        .scan(0, |offset, &(column, kind)| {
                            let reader = KeyReader {
                                column,
                                kind,
                                plain_type: None,
                                interner: Interner::default(),
                                cache: DictCache::new(),
                                offset: *offset,
                            };
                            *offset += if reader.kind.is_text() { 2 } else { 1 };
                            Some(reader)
                        })
                        .collect(),
                    layout: layout.clone(),
                    groups: GroupTable::new(Shape {
                        width: width(layout),
                        bytes: layout.bytes.is_some(),
                        packets: layout.packets.is_some(),
                        flows: layout.flows.is_some(),
                    }),
                    hash_cache: [DictCache::new(), DictCache::new()],
                    words: Vec::new(),
                    hashes: Vec::new(),
                })
                .collect(),
        }
    }

    /// The rows of a batch that pass every filter.
    fn mask(&mut self, columns: &[ArrayRef], rows: usize) -> Vec<bool> {
        let mut keep = vec![true; rows];
        if let Some((column, range)) = &self.selection.time {
            let times = Ints::of(columns[*column].as_ref());
            for (row, k) in keep.iter_mut().enumerate() {
                *k &= times.get(row).is_some_and(|t| range.contains(t));
            }
        }
        for ((column, filter), cache) in self.selection.filters.iter().zip(&mut self.filter_caches)
        {
            let array = columns[*column].as_ref();
            let hits: Vec<Option<bool>> = match &filter.test {
                Test::Text(want) => cache.map(array, |s| s == want),
                Test::Net(prefix) => cache.map(array, |s| {
                    s.parse::<IpAddr>().is_ok_and(|a| prefix.contains(a))
                }),
                Test::Range(lo, hi) => {
                    let ints = Ints::of(array);
                    (0..rows)
                        .map(|row| ints.get(row).map(|v| (*lo..=*hi).contains(&v)))
                        .collect()
                }
                Test::Float(want) => array
                    .as_primitive::<arrow_array::types::Float64Type>()
                    .iter()
                    .map(|v| v.map(|v| v == *want))
                    .collect(),
                Test::Bool(want) => array
                    .as_boolean()
                    .iter()
                    .map(|v| v.map(|v| v == *want))
                    .collect(),
            };
            for (k, hit) in keep.iter_mut().zip(hits) {
                // A null never equals a value: `=` drops it, `!=` keeps it.
                *k &= hit.unwrap_or(false) != filter.negate;
            }
        }
        keep
    }

    /// Adds one batch.
    pub fn add(&mut self, columns: &[ArrayRef], rows: usize) {
        let keep = self.mask(columns, rows);
        if !keep.contains(&true) {
            return;
        }
        for table in &mut self.tables {
            let before = table.groups.len();
            table.add(columns, rows, &keep);
            // Sized once, from the first batch of a row group: its groups
            // new per record, times the row group's records, is what the
            // table will hold (a port ranking, a few groups; a 5-tuple
            // ranking, nearly one a record), without a doubling and a copy
            // at every power of two on the way.
            if let Some(expected) = self.expected {
                let new = table.groups.len() - before;
                table
                    .groups
                    .reserve(table.groups.len() + new * expected.saturating_sub(rows) / rows);
            }
        }
        self.expected = None;
    }

    /// Each grouping's groups over all `workers` (of the same groupings),
    /// merged on up to `threads` threads.
    pub fn merge(workers: Vec<Worker>, threads: usize) -> Vec<Groups> {
        let mut tables: Vec<Vec<Table>> = Vec::new();
        for worker in workers {
            tables.resize_with(worker.tables.len(), Vec::new);
            for (list, table) in tables.iter_mut().zip(worker.tables) {
                list.push(table);
            }
        }
        tables
            .into_iter()
            .filter_map(|list| {
                let mut list = list.into_iter();
                let Table {
                    mut keys, groups, ..
                } = list.next()?;
                let mut tables = vec![groups];
                tables.extend(list.map(|other| adopt(&mut keys, other)));
                let table = GroupTable::merge(tables, threads)?;
                Some(Groups { keys, table })
            })
            .collect()
    }
}

impl crate::scan::Sink for Worker {
    fn batch(&mut self, columns: &[ArrayRef], rows: usize) -> Result<(), crate::Error> {
        self.add(columns, rows);
        Ok(())
    }

    fn expect(&mut self, rows: usize) {
        self.expected = Some(rows);
    }
}

/// The 5-tuple hasher: fixed seeds, so every worker gives a tuple the same
/// 128 bits and their sets merge by union.
const SEEDS: [u64; 2] = [0x6d69_7272_6f72_666c, 0x6f77_2d66_6c6f_7773];

impl Table {
    fn add(&mut self, columns: &[ArrayRef], rows: usize, keep: &[bool]) {
        let width = width(&self.layout);
        // Column by column: each key's words, and a null bit per key in the last word.
        let words = &mut self.words;
        words.clear();
        words.resize(rows * width, 0);
        for (k, reader) in self.keys.iter_mut().enumerate() {
            let array = columns[reader.column].as_ref();
            let interner = &mut reader.interner;
            let at = reader.offset;
            let cells: Vec<Option<u128>> = match reader.kind {
                KeyKind::Text => reader.cache.map(array, |s| pack(s, interner)),
                KeyKind::Net(v4, v6) => reader.cache.map(array, |s| {
                    let net = s
                        .parse::<IpAddr>()
                        .map(|a| Prefix::of(a, if a.is_ipv4() { v4 } else { v6 }).to_string())
                        .unwrap_or_else(|_| s.to_string());
                    pack(&net, interner)
                }),
                KeyKind::Plain => {
                    reader.plain_type = Some(array.data_type().clone());
                    let plain = plain_words(array);
                    for (row, key) in words.chunks_exact_mut(width).enumerate() {
                        match plain.get(row) {
                            Some(w) => key[at] = w as u64,
                            None => key[width - 1] |= 1 << k,
                        }
                    }
                    continue;
                }
            };
            for (key, cell) in words.chunks_exact_mut(width).zip(cells) {
                match cell {
                    Some(w) => {
                        key[at] = w as u64;
                        key[at + 1] = (w >> 64) as u64;
                    }
                    None => key[width - 1] |= 1 << k,
                }
            }
        }
        let bytes = self.layout.bytes.map(|c| Ints::of(columns[c].as_ref()));
        let packets = self.layout.packets.map(|c| Ints::of(columns[c].as_ref()));
        let flows = self.layout.flows.map(|c| self.five_tuples(columns, c));
        let hashes = &mut self.hashes;
        hashes.clear();
        hashes.extend(
            (0..rows)
                .filter(|&r| keep[r])
                .map(|r| (r, table::hash(&self.words[r * width..(r + 1) * width]))),
        );
        for run in hashes.chunks(TOUCHED) {
            let touched = run.iter().fold(0, |t, &(_, h)| t ^ self.groups.touch(h));
            std::hint::black_box(touched);
            for &(row, hash) in run {
                let add = Add {
                    bytes: bytes.as_ref().map_or(0, |b| b.get(row).unwrap_or(0) as u64),
                    packets: packets
                        .as_ref()
                        .map_or(0, |p| p.get(row).unwrap_or(0) as u64),
                    tuple: flows.as_ref().map_or(0, |f| f[row]),
                };
                self.groups
                    .add(hash, &self.words[row * width..(row + 1) * width], add);
            }
        }
    }

    /// The 5-tuple of each row as 128 bits.
    fn five_tuples(&mut self, columns: &[ArrayRef], c: [usize; 5]) -> Vec<u128> {
        let text = |cache: &mut DictCache<u64>, column: usize| {
            cache.map(columns[column].as_ref(), |s| {
                FixedState::with_seed(0).hash_one(s)
            })
        };
        let [src_cache, dst_cache] = &mut self.hash_cache;
        let src = text(src_cache, c[0]);
        let dst = text(dst_cache, c[1]);
        let (sport, dport, proto) = (
            Ints::of(columns[c[2]].as_ref()),
            Ints::of(columns[c[3]].as_ref()),
            Ints::of(columns[c[4]].as_ref()),
        );
        (0..src.len())
            .map(|r| {
                let tuple = (src[r], dst[r], sport.get(r), dport.get(r), proto.get(r));
                let [lo, hi] = SEEDS.map(|seed| FixedState::with_seed(seed).hash_one(tuple));
                (u128::from(hi) << 64) | u128::from(lo)
            })
            .collect()
    }
}

/// Another worker's groups in terms of `keys` (the first worker's): its
/// plain types taken where `keys` saw none, its text ids mapped to `keys`'
/// interners (once per distinct text), and its table rekeyed if any id moved.
fn adopt(keys: &mut [KeyReader], other: Table) -> GroupTable {
    let remaps: Vec<Vec<u32>> = keys
        .iter_mut()
        .zip(&other.keys)
        .map(|(mine, theirs)| {
            if mine.plain_type.is_none() {
                mine.plain_type.clone_from(&theirs.plain_type);
            }
            let interner = &mut mine.interner;
            theirs
                .interner
                .values
                .iter()
                .map(|text| interner.id(text))
                .collect()
        })
        .collect();
    let moved = remaps
        .iter()
        .any(|remap| remap.iter().enumerate().any(|(id, &to)| id != to as usize));
    if !moved {
        return other.groups;
    }
    let width = width(&other.layout);
    other.groups.rekey(|words| {
        for (k, (reader, remap)) in keys.iter().zip(&remaps).enumerate() {
            let at = reader.offset;
            let interned = reader.kind.is_text()
                && words[width - 1] & (1 << k) == 0
                && (words[at + 1] >> 56) as u8 == INTERNED;
            if interned {
                let id = remap[words[at] as u32 as usize];
                words[at] = (words[at] & !u64::from(u32::MAX)) | u64::from(id);
            }
        }
    })
}

/// Every group of one grouping, merged over the workers: ranked by
/// [`crate::Top::rank`] on their figures, keys decoded only for the rows shown.
pub struct Groups {
    keys: Vec<KeyReader>,
    table: GroupTable,
}

impl Groups {
    /// The key values of a group.
    fn key(&self, id: GroupId) -> Vec<Value> {
        let words = self.table.key(id);
        let nulls = words[words.len() - 1];
        self.keys
            .iter()
            .enumerate()
            .map(|(k, reader)| {
                if nulls & (1 << k) != 0 {
                    return Value::Null;
                }
                let w = words[reader.offset];
                match (reader.kind, &reader.plain_type) {
                    (KeyKind::Text | KeyKind::Net(..), _) => {
                        let high = u128::from(words[reader.offset + 1]) << 64;
                        Value::Str(unpack(high | u128::from(w), &reader.interner))
                    }
                    (KeyKind::Plain, Some(ty)) => plain_value(ty, w),
                    (KeyKind::Plain, None) => Value::Null,
                }
            })
            .collect()
    }

    /// Every group, key decoded, in no order.
    pub fn rows(&self) -> Rows {
        self.table
            .ids()
            .map(|id| (self.key(id), self.table.sums(id)))
            .collect()
    }
}

impl Ranked for Groups {
    fn figures(&self, metric: Metric) -> Vec<(u64, usize)> {
        self.table
            .ids()
            .map(|id| (metric.of(&self.table.sums(id)), id))
            .collect()
    }

    fn key(&self, id: usize) -> Vec<Value> {
        Groups::key(self, id)
    }
}

/// Words in a group key of this layout: two per text key, one per other
/// key, and one of null bits.
fn width(layout: &Layout) -> usize {
    let words = |kind: KeyKind| if kind.is_text() { 2 } else { 1 };
    layout.keys.iter().map(|&(_, k)| words(k)).sum::<usize>() + 1
}

/// Words of a non-text column: integers and times as their bits, floats as
/// theirs, flags as 0/1.
fn plain_words(array: &dyn Array) -> Ints<'_> {
    let values: Cow<[i64]> = match array.data_type() {
        DataType::Float64 => array
            .as_primitive::<arrow_array::types::Float64Type>()
            .values()
            .iter()
            .map(|v| v.to_bits() as i64)
            .collect(),
        DataType::Boolean => array.as_boolean().values().iter().map(i64::from).collect(),
        _ => return Ints::of(array),
    };
    Ints {
        values,
        nulls: array.nulls().cloned(),
    }
}

fn plain_value(ty: &DataType, w: u64) -> Value {
    match ty {
        DataType::Float64 => Value::Float(f64::from_bits(w)),
        DataType::Boolean => Value::Bool(w != 0),
        DataType::Timestamp(_, _) => Value::Time(w as i64),
        _ => Value::Int(w as i64),
    }
}

/// Each group of a grouping: its key values and its sums.
pub type Rows = Vec<(Vec<Value>, Sums)>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_packs_in_place_up_to_15_bytes_and_interns_beyond() {
        let mut interner = Interner::default();
        for text in [
            "",
            "10.1.2.3",
            "255.255.255.255",
            "2001:db8::1234:5678",
            "x",
        ] {
            let packed = pack(text, &mut interner);
            assert_eq!(&*unpack(packed, &interner), text);
            let interned = (packed >> 120) as u8 == INTERNED;
            assert_eq!(interned, text.len() >= 16, "{text}");
        }
        assert_eq!(interner.values.len(), 1);
    }
}
