//! Grouping records by key and summing them: the engine under `top` and
//! `report`.
//!
//! A batch is filtered into a row mask, then each grouping turns its key
//! columns into machine words (text through an interner, so a key is a few
//! `u64`s) and adds each kept record into a hash table of sums. Text columns
//! arrive as dictionaries from Parquet, so an address is interned, masked or
//! tested once per dictionary entry rather than once per record.
//!
//! Memory: per group, the key words and 40 bytes of sums, plus 16 bytes per
//! distinct 5-tuple when flows are counted.

use std::{hash::BuildHasher, net::IpAddr, sync::Arc};

use arrow_array::{
    cast::AsArray,
    types::{Int32Type, Int64Type, TimestampMicrosecondType},
    Array, ArrayRef,
};
use arrow_schema::DataType;
use foldhash::quality::FixedState;

/// Tables hashed with foldhash: the keys are our own words and text, not
/// attacker-chosen in a way that would need SipHash.
type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<T> = hashbrown::HashSet<T, foldhash::fast::RandomState>;

use crate::{
    filter::{Filter, Test, TimeRange},
    net::Prefix,
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

/// The sums of one group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    /// Sum of `bytes_sent`.
    pub bytes: u64,
    /// Sum of `packets_sent`.
    pub packets: u64,
    /// Records.
    pub records: u64,
    /// Distinct 5-tuples (`src_ip, dest_ip, src_port, dest_port, protocol`).
    pub flows: u64,
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

/// Integers of a column (Int32, Int64 or a timestamp), `None` for null.
fn ints(array: &dyn Array) -> Vec<Option<i64>> {
    match array.data_type() {
        DataType::Int32 => array
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| v.map(i64::from))
            .collect(),
        DataType::Int64 => array.as_primitive::<Int64Type>().iter().collect(),
        DataType::Timestamp(_, _) => array
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .collect(),
        _ => vec![None; array.len()],
    }
}

/// Text ↔ id, for one key column of one worker.
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

/// One key column's reader: its interner and dictionary caches.
struct KeyReader {
    column: usize,
    kind: KeyKind,
    plain_type: Option<DataType>,
    interner: Interner,
    cache: DictCache<u64>,
}

/// The state of one grouping on one worker.
struct Table {
    layout: Layout,
    keys: Vec<KeyReader>,
    map: HashMap<Box<[u64]>, (Sums, HashSet<u128>)>,
    hash_cache: [DictCache<u64>; 2],
}

/// One worker's groupings, fed batch by batch (a [`crate::scan::Sink`]).
pub struct Worker {
    selection: Selection,
    filter_caches: Vec<DictCache<bool>>,
    tables: Vec<Table>,
}

impl Worker {
    /// A worker for these groupings under this selection.
    pub fn new(selection: &Selection, layouts: &[Layout]) -> Worker {
        Worker {
            filter_caches: selection.filters.iter().map(|_| DictCache::new()).collect(),
            selection: selection.clone(),
            tables: layouts
                .iter()
                .map(|layout| Table {
                    keys: layout
                        .keys
                        .iter()
                        .map(|&(column, kind)| KeyReader {
                            column,
                            kind,
                            plain_type: None,
                            interner: Interner::default(),
                            cache: DictCache::new(),
                        })
                        .collect(),
                    layout: layout.clone(),
                    map: HashMap::default(),
                    hash_cache: [DictCache::new(), DictCache::new()],
                })
                .collect(),
        }
    }

    /// The rows of a batch that pass every filter.
    fn mask(&mut self, columns: &[ArrayRef], rows: usize) -> Vec<bool> {
        let mut keep = vec![true; rows];
        if let Some((column, range)) = &self.selection.time {
            for (k, t) in keep.iter_mut().zip(ints(columns[*column].as_ref())) {
                *k &= t.is_some_and(|t| range.contains(t));
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
                Test::Range(lo, hi) => ints(array)
                    .into_iter()
                    .map(|v| v.map(|v| (*lo..=*hi).contains(&v)))
                    .collect(),
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
            table.add(columns, rows, &keep);
        }
    }

    /// Each grouping's groups, keys decoded, ready to merge with other workers'.
    pub fn finish(self) -> Vec<Groups> {
        self.tables.into_iter().map(Table::finish).collect()
    }
}

impl crate::scan::Sink for Worker {
    fn batch(&mut self, columns: &[ArrayRef], rows: usize) -> Result<(), crate::Error> {
        self.add(columns, rows);
        Ok(())
    }
}

/// The 5-tuple hasher: fixed seeds, so every worker gives a tuple the same
/// 128 bits and their sets merge by union.
const SEEDS: [u64; 2] = [0x6d69_7272_6f72_666c, 0x6f77_2d66_6c6f_7773];

impl Table {
    fn add(&mut self, columns: &[ArrayRef], rows: usize, keep: &[bool]) {
        let width = self.keys.len() + 1;
        // Column by column: each key's words, and a null bit per key in the last word.
        let mut words = vec![0u64; rows * width];
        for (k, reader) in self.keys.iter_mut().enumerate() {
            let array = columns[reader.column].as_ref();
            let cells: Vec<Option<u64>> = match reader.kind {
                KeyKind::Text => {
                    let interner = &mut reader.interner;
                    reader.cache.map(array, |s| u64::from(interner.id(s)))
                }
                KeyKind::Net(v4, v6) => {
                    let interner = &mut reader.interner;
                    reader.cache.map(array, |s| {
                        let net = s
                            .parse::<IpAddr>()
                            .map(|a| Prefix::of(a, if a.is_ipv4() { v4 } else { v6 }).to_string())
                            .unwrap_or_else(|_| s.to_string());
                        u64::from(interner.id(&net))
                    })
                }
                KeyKind::Plain => {
                    reader.plain_type = Some(array.data_type().clone());
                    plain_words(array)
                }
            };
            for (row, cell) in cells.into_iter().enumerate() {
                match cell {
                    Some(w) => words[row * width + k] = w,
                    None => words[row * width + width - 1] |= 1 << k,
                }
            }
        }
        let bytes = self.layout.bytes.map(|c| ints(columns[c].as_ref()));
        let packets = self.layout.packets.map(|c| ints(columns[c].as_ref()));
        let flows = self.layout.flows.map(|c| self.five_tuples(columns, c));
        for row in (0..rows).filter(|&r| keep[r]) {
            let key = &words[row * width..(row + 1) * width];
            let (sums, tuples) = match self.map.get_mut(key) {
                Some(entry) => entry,
                None => self.map.entry(key.into()).or_default(),
            };
            sums.records += 1;
            if let Some(b) = &bytes {
                sums.bytes += b[row].unwrap_or(0) as u64;
            }
            if let Some(p) = &packets {
                sums.packets += p[row].unwrap_or(0) as u64;
            }
            if let Some(f) = &flows {
                tuples.insert(f[row]);
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
            ints(columns[c[2]].as_ref()),
            ints(columns[c[3]].as_ref()),
            ints(columns[c[4]].as_ref()),
        );
        (0..src.len())
            .map(|r| {
                let tuple = (src[r], dst[r], sport[r], dport[r], proto[r]);
                let [lo, hi] = SEEDS.map(|seed| FixedState::with_seed(seed).hash_one(tuple));
                (u128::from(hi) << 64) | u128::from(lo)
            })
            .collect()
    }

    fn finish(self) -> Groups {
        let Table { keys, map, .. } = self;
        let width = keys.len() + 1;
        let groups = map
            .into_iter()
            .map(|(words, (mut sums, tuples))| {
                let key = keys
                    .iter()
                    .enumerate()
                    .map(|(k, reader)| {
                        if words[width - 1] & (1 << k) != 0 {
                            return Value::Null;
                        }
                        let w = words[k];
                        match (reader.kind, &reader.plain_type) {
                            (KeyKind::Text | KeyKind::Net(..), _) => {
                                Value::Str(reader.interner.values[w as usize].clone())
                            }
                            (KeyKind::Plain, Some(ty)) => plain_value(ty, w),
                            (KeyKind::Plain, None) => Value::Null,
                        }
                    })
                    .collect();
                sums.flows = tuples.len() as u64;
                (key, (sums, tuples))
            })
            .collect();
        Groups { groups }
    }
}

/// Words of a non-text column: integers and times as their bits, floats as
/// theirs, flags as 0/1.
fn plain_words(array: &dyn Array) -> Vec<Option<u64>> {
    match array.data_type() {
        DataType::Float64 => array
            .as_primitive::<arrow_array::types::Float64Type>()
            .iter()
            .map(|v| v.map(f64::to_bits))
            .collect(),
        DataType::Boolean => array
            .as_boolean()
            .iter()
            .map(|v| v.map(u64::from))
            .collect(),
        _ => ints(array)
            .into_iter()
            .map(|v| v.map(|v| v as u64))
            .collect(),
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

/// The groups of one grouping: key values to sums (and the 5-tuples seen,
/// until workers are merged).
#[derive(Default)]
pub struct Groups {
    groups: HashMap<Vec<Value>, (Sums, HashSet<u128>)>,
}

impl Groups {
    /// Adds another worker's groups of the same grouping.
    pub fn merge(&mut self, other: Groups) {
        if self.groups.is_empty() {
            *self = other;
            return;
        }
        for (key, (sums, tuples)) in other.groups {
            let (mine, my_tuples) = self.groups.entry(key).or_default();
            mine.bytes += sums.bytes;
            mine.packets += sums.packets;
            mine.records += sums.records;
            my_tuples.extend(tuples);
            mine.flows = my_tuples.len() as u64;
        }
    }

    /// Every group, in no order.
    pub fn into_rows(self) -> Rows {
        self.groups
            .into_iter()
            .map(|(key, (sums, _))| (key, sums))
            .collect()
    }
}
