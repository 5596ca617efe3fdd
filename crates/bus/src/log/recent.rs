//! The ids of recently stored records, so that a re-sent copy is stored once.
//!
//! Kept by the writer thread alone (no lock) and in memory only: a copy is
//! recognised if it comes within the duplicate window and while fewer than
//! `capacity` newer ids were stored, in the process that owns the log. After
//! a restart the ids are forgotten; consumers recognise events by their event
//! id in any case (delivery is at-least-once).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the first copy of a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Copy {
    /// Already stored (or being stored in this group commit) at this offset.
    Stored(u64),
    /// Earlier in the same batch, at this index.
    InBatch(usize),
}

/// Recently stored record ids and their offsets.
#[derive(Debug)]
pub(crate) struct RecentIds {
    window: Duration,
    capacity: usize,
    offsets: HashMap<Arc<str>, u64>,
    order: VecDeque<(Instant, Arc<str>)>,
}

impl RecentIds {
    /// Remembers ids for `window`, at most `capacity` of them (0 remembers none).
    pub(crate) fn new(window: Duration, capacity: usize) -> Self {
        RecentIds {
            window,
            capacity,
            offsets: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Forgets ids older than the window.
    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some((at, id)) = self.order.front() {
            if now.saturating_duration_since(*at) < self.window && self.order.len() <= self.capacity
            {
                break;
            }
            self.offsets.remove(id);
            self.order.pop_front();
        }
    }

    /// For each record of a batch (by its id, if any), the copy it repeats;
    /// `None` when no record repeats one (the common case costs no allocation
    /// beyond the batch's own ids).
    pub(crate) fn copies(&self, ids: &[Option<String>]) -> Option<Vec<Option<Copy>>> {
        let mut copies: Option<Vec<Option<Copy>>> = None;
        let mut in_batch: HashMap<&str, usize> = HashMap::new();
        for (index, id) in ids.iter().enumerate() {
            let Some(id) = id.as_deref() else { continue };
            let copy = match self.offsets.get(id) {
                Some(offset) => Copy::Stored(*offset),
                None => match in_batch.get(id) {
                    Some(first) => Copy::InBatch(*first),
                    None => {
                        in_batch.insert(id, index);
                        continue;
                    }
                },
            };
            copies.get_or_insert_with(|| vec![None; ids.len()])[index] = Some(copy);
        }
        copies
    }

    /// Remembers that the record `id` was stored at `offset`.
    pub(crate) fn remember(&mut self, id: &str, offset: u64, now: Instant) {
        if self.capacity == 0 {
            return;
        }
        let id: Arc<str> = Arc::from(id);
        self.offsets.insert(id.clone(), offset);
        self.order.push_back((now, id));
        if self.order.len() > self.capacity
            && let Some((_, oldest)) = self.order.pop_front()
        {
            self.offsets.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[Option<&str>]) -> Vec<Option<String>> {
        list.iter().map(|id| id.map(str::to_owned)).collect()
    }

    #[test]
    fn copies_are_found_in_the_window_and_in_the_batch() {
        let start = Instant::now();
        let mut recent = RecentIds::new(Duration::from_secs(60), 10);
        assert_eq!(recent.copies(&ids(&[Some("a"), None, Some("b")])), None);
        recent.remember("a", 7, start);
        assert_eq!(
            recent.copies(&ids(&[Some("b"), Some("a"), None, Some("b"), None])),
            Some(vec![
                None,
                Some(Copy::Stored(7)),
                None,
                Some(Copy::InBatch(0)),
                None
            ])
        );
        // Past the window, the id is forgotten.
        recent.expire(start + Duration::from_secs(61));
        assert_eq!(recent.copies(&ids(&[Some("a")])), None);
    }

    #[test]
    fn capacity_bounds_what_is_remembered() {
        let now = Instant::now();
        let mut recent = RecentIds::new(Duration::from_secs(60), 2);
        for (offset, id) in ["a", "b", "c"].into_iter().enumerate() {
            recent.remember(id, offset as u64, now);
        }
        assert_eq!(recent.copies(&ids(&[Some("a")])), None);
        assert_eq!(
            recent.copies(&ids(&[Some("c")])),
            Some(vec![Some(Copy::Stored(2))])
        );
        let mut none = RecentIds::new(Duration::from_secs(60), 0);
        none.remember("a", 1, now);
        assert_eq!(none.copies(&ids(&[Some("a")])), None);
    }
}
