//! Observation points: where a packet was seen (`mirror.*`, docs/record.md,
//! "The observation point").
//!
//! A point is interned into a 2-byte [`ObsId`] on the reader side, so the
//! flow key stays at 40 bytes; shards turn ids back into points when they
//! write records, through the shared [`ObservationPoints`] table.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
};

use capture::decode::EncapKind;

/// Where packets were observed: capture interface and outermost mirror tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ObservationPoint {
    /// pcapng interface id (0 for classic pcap).
    pub interface: u32,
    /// The outermost mirror encapsulation removed, if any.
    pub encap: Option<EncapKind>,
    /// VXLAN / Geneve VNI.
    pub vni: Option<u32>,
    /// ERSPAN session ID or GRE key.
    pub session_id: Option<u32>,
}

/// An interned [`ObservationPoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ObsId(pub u16);

/// The shared table of interned points (cheap to clone: one `Arc`).
///
/// Written only when a reader meets a point for the first time, read when an
/// interval closes: never per packet.
#[derive(Debug, Clone, Default)]
pub struct ObservationPoints(Arc<RwLock<Table>>);

#[derive(Debug, Default)]
struct Table {
    points: Vec<ObservationPoint>,
    ids: HashMap<ObservationPoint, ObsId>,
}

/// At most this many distinct observation points in a run: ids are 16 bits.
pub const MAX_POINTS: usize = 1 << 16;

impl ObservationPoints {
    /// The point an id stands for.
    pub fn resolve(&self, id: ObsId) -> ObservationPoint {
        self.read().points[usize::from(id.0)]
    }

    /// A copy of the whole table (for resolving many ids at once).
    pub fn snapshot(&self) -> Vec<ObservationPoint> {
        self.read().points.clone()
    }

    /// The whole table into `out`, in its memory: for a caller that
    /// resolves often and must not allocate each time.
    pub fn snapshot_into(&self, out: &mut Vec<ObservationPoint>) {
        out.clear();
        out.extend_from_slice(&self.read().points);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        // A panic while holding the lock cannot leave the table half-updated
        // (the map is written after the push), so a poisoned table is valid.
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(&self, point: ObservationPoint) -> Option<ObsId> {
        let mut table = self.0.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(id) = table.ids.get(&point) {
            return Some(*id);
        }
        if table.points.len() >= MAX_POINTS {
            return None;
        }
        let id = ObsId(table.points.len() as u16);
        table.points.push(point);
        table.ids.insert(point, id);
        Some(id)
    }
}

/// A reader's view of the table: a local map, and the last point seen, since
/// consecutive packets nearly always share their observation point.
#[derive(Debug)]
pub struct Interner {
    shared: ObservationPoints,
    local: HashMap<ObservationPoint, ObsId>,
    last: Option<(ObservationPoint, ObsId)>,
}

impl Interner {
    /// An interner adding to `shared`.
    pub fn new(shared: ObservationPoints) -> Self {
        Interner {
            shared,
            local: HashMap::new(),
            last: None,
        }
    }

    /// The id of `point`, or `None` once [`MAX_POINTS`] distinct points exist.
    #[inline]
    pub fn intern(&mut self, point: ObservationPoint) -> Option<ObsId> {
        if let Some((last, id)) = self.last {
            if last == point {
                return Some(id);
            }
        }
        let id = match self.local.get(&point) {
            Some(id) => *id,
            None => {
                let id = self.shared.add(point)?;
                self.local.insert(point, id);
                id
            }
        };
        self.last = Some((point, id));
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_gives_stable_ids_and_resolves_back() {
        let table = ObservationPoints::default();
        let mut a = Interner::new(table.clone());
        let mut b = Interner::new(table.clone());
        let p = ObservationPoint {
            interface: 0,
            encap: Some(EncapKind::Vxlan),
            vni: Some(7),
            session_id: None,
        };
        let q = ObservationPoint::default();
        let id_p = a.intern(p).unwrap();
        let id_q = a.intern(q).unwrap();
        assert_ne!(id_p, id_q);
        assert_eq!(b.intern(p), Some(id_p), "another reader gets the same id");
        assert_eq!(a.intern(p), Some(id_p));
        assert_eq!((table.resolve(id_p), table.resolve(id_q)), (p, q));
    }

    #[test]
    fn the_table_is_bounded() {
        let table = ObservationPoints::default();
        let mut interner = Interner::new(table.clone());
        for vni in 0..MAX_POINTS as u32 {
            let point = ObservationPoint {
                vni: Some(vni),
                ..ObservationPoint::default()
            };
            assert!(interner.intern(point).is_some());
        }
        let one_more = ObservationPoint {
            vni: Some(u32::MAX),
            ..ObservationPoint::default()
        };
        assert_eq!(interner.intern(one_more), None);
        assert_eq!(table.snapshot().len(), MAX_POINTS);
    }
}
