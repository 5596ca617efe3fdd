//! A tantivy collector for one page of hits in (`@timestamp`, id) order after a cursor.
//!
//! tantivy's own top-docs collectors order by one fast field; paging needs a total order
//! (the timestamp alone has ties) and a strict "after this position" filter, so each
//! segment keeps its best `limit` hits in a bounded heap keyed by [`SortKey::rank`].

use std::collections::BinaryHeap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DateTime, DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::query::{SortKey, SortOrder};
use crate::schema::{SORT_HI_COLUMN, SORT_LO_COLUMN, TIMESTAMP_COLUMN};

/// Collects the first `limit` hits strictly after `after`, in `order`.
pub(crate) struct PageCollector {
    pub limit: usize,
    pub after: Option<SortKey>,
    pub order: SortOrder,
}

/// A hit's position and address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageHit {
    pub key: SortKey,
    pub address: DocAddress,
}

/// Heap entry: the largest rank (the worst hit kept) sits on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Ranked {
    rank: (u64, u128),
    key: SortKey,
    doc: DocId,
}

impl Collector for PageCollector {
    type Fruit = Vec<PageHit>;
    type Child = PageSegmentCollector;

    fn for_segment(
        &self,
        segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<PageSegmentCollector> {
        let fast = segment.fast_fields();
        Ok(PageSegmentCollector {
            segment: segment_local_id,
            timestamp: fast.date(TIMESTAMP_COLUMN)?,
            sort_hi: fast.u64(SORT_HI_COLUMN)?,
            sort_lo: fast.u64(SORT_LO_COLUMN)?,
            limit: self.limit,
            after: self.after.map(|a| a.rank(self.order)),
            order: self.order,
            heap: BinaryHeap::with_capacity(self.limit.min(4096) + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segment_fruits: Vec<Vec<PageHit>>) -> tantivy::Result<Vec<PageHit>> {
        let mut all: Vec<PageHit> = segment_fruits.into_iter().flatten().collect();
        all.sort_unstable_by_key(|hit| hit.key.rank(self.order));
        all.truncate(self.limit);
        Ok(all)
    }
}

/// The per-segment half of [`PageCollector`].
pub(crate) struct PageSegmentCollector {
    segment: SegmentOrdinal,
    timestamp: Column<DateTime>,
    sort_hi: Column<u64>,
    sort_lo: Column<u64>,
    limit: usize,
    after: Option<(u64, u128)>,
    order: SortOrder,
    heap: BinaryHeap<Ranked>,
}

impl SegmentCollector for PageSegmentCollector {
    type Fruit = Vec<PageHit>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let Some(timestamp) = self.timestamp.first(doc) else {
            return;
        };
        let hi = self.sort_hi.first(doc).unwrap_or(0);
        let lo = self.sort_lo.first(doc).unwrap_or(0);
        let key = SortKey {
            micros: timestamp.into_timestamp_micros(),
            key: (u128::from(hi) << 64) | u128::from(lo),
        };
        let rank = key.rank(self.order);
        if let Some(after) = self.after
            && rank <= after
        {
            return;
        }
        if self.heap.len() < self.limit {
            self.heap.push(Ranked { rank, key, doc });
        } else if let Some(worst) = self.heap.peek()
            && rank < worst.rank
        {
            self.heap.pop();
            self.heap.push(Ranked { rank, key, doc });
        }
    }

    fn harvest(self) -> Vec<PageHit> {
        let segment = self.segment;
        self.heap
            .into_iter()
            .map(|r| PageHit {
                key: r.key,
                address: DocAddress::new(segment, r.doc),
            })
            .collect()
    }
}
