//! `KeyTable`: an immutable open-addressing hash table from byte keys to
//! `u32` payloads, built once.
//!
//! Keys live in one arena (fixed-width keys without offsets; variable ones
//! with one `u32` end offset each) and the index is one `u64` per slot: the
//! upper 32 bits of the key's hash as a tag and the entry number plus one.
//! A probe reads the arena only when the tag matches, so a miss usually
//! costs one or two cache lines. A key may be inserted more than once (one
//! value, several indicators): lookups yield every payload of the key.

use std::hash::BuildHasher as _;

/// The hash of a key (fixed seed: tables are built and read in one process).
pub(crate) fn hash(key: &[u8]) -> u64 {
    foldhash::fast::FixedState::with_seed(0x6e69_6765_6862_616e).hash_one(key)
}

/// An immutable byte-key → payloads table.
#[derive(Debug, Default)]
pub(crate) struct KeyTable {
    /// `Some(w)`: every key is `w` bytes; `None`: `ends` gives each key's end.
    width: Option<usize>,
    arena: Vec<u8>,
    ends: Vec<u32>,
    payloads: Vec<u32>,
    slots: Vec<u64>,
}

impl KeyTable {
    /// Builds a table of `entries` (key, payload); `width` when all keys have that length.
    pub(crate) fn build(width: Option<usize>, entries: &[(Box<[u8]>, u32)]) -> Self {
        let mut table = KeyTable {
            width,
            arena: Vec::with_capacity(entries.iter().map(|(k, _)| k.len()).sum()),
            ends: Vec::with_capacity(if width.is_some() { 0 } else { entries.len() }),
            payloads: Vec::with_capacity(entries.len()),
            slots: Vec::new(),
        };
        if entries.is_empty() {
            return table;
        }
        // Load factor between 3/8 and 3/4.
        let capacity = (entries.len() * 4 / 3 + 1).next_power_of_two().max(8);
        table.slots = vec![0; capacity];
        let mask = capacity - 1;
        for (index, (key, payload)) in entries.iter().enumerate() {
            debug_assert!(width.is_none_or(|w| w == key.len()));
            table.arena.extend_from_slice(key);
            if width.is_none() {
                table
                    .ends
                    .push(u32::try_from(table.arena.len()).unwrap_or(u32::MAX));
            }
            table.payloads.push(*payload);
            let h = hash(key);
            let mut slot = (h as usize) & mask;
            while table.slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            // Entry numbers fit in 32 bits: at most 2^32 - 2 indicators per table.
            table.slots[slot] = (h & 0xffff_ffff_0000_0000) | (index as u64 + 1);
        }
        table.arena.shrink_to_fit();
        table
    }

    fn key(&self, index: usize) -> &[u8] {
        match self.width {
            Some(w) => &self.arena[index * w..(index + 1) * w],
            None => {
                let start = if index == 0 {
                    0
                } else {
                    self.ends[index - 1] as usize
                };
                &self.arena[start..self.ends[index] as usize]
            }
        }
    }

    /// Calls `found` with every payload stored under `key`.
    #[inline]
    pub(crate) fn each(&self, key: &[u8], mut found: impl FnMut(u32)) {
        if self.slots.is_empty() {
            return;
        }
        let mask = self.slots.len() - 1;
        let h = hash(key);
        let tag = h & 0xffff_ffff_0000_0000;
        let mut slot = (h as usize) & mask;
        loop {
            let entry = self.slots[slot];
            if entry == 0 {
                return;
            }
            if entry & 0xffff_ffff_0000_0000 == tag {
                let index = (entry & 0xffff_ffff) as usize - 1;
                if self.key(index) == key {
                    found(self.payloads[index]);
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The first payload stored under `key`.
    #[inline]
    pub(crate) fn first(&self, key: &[u8]) -> Option<u32> {
        let mut first = None;
        self.each(key, |payload| {
            if first.is_none() {
                first = Some(payload);
            }
        });
        first
    }

    /// Bytes of memory it holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.ends.capacity() * 4
            + self.payloads.capacity() * 4
            + self.slots.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_payload_of_a_key_is_found_and_misses_find_none() {
        let entries: Vec<(Box<[u8]>, u32)> = (0..1000u32)
            .map(|i| {
                (
                    format!("key-{}", i % 500).into_bytes().into_boxed_slice(),
                    i,
                )
            })
            .collect();
        let table = KeyTable::build(None, &entries);
        let mut found = Vec::new();
        table.each(b"key-7", |p| found.push(p));
        found.sort_unstable();
        assert_eq!(found, vec![7, 507]);
        assert_eq!(table.first(b"key-1000"), None);
        let fixed: Vec<(Box<[u8]>, u32)> = (0..100u32)
            .map(|i| (i.to_le_bytes().to_vec().into_boxed_slice(), i * 2))
            .collect();
        let table = KeyTable::build(Some(4), &fixed);
        assert_eq!(table.first(&42u32.to_le_bytes()), Some(84));
        assert_eq!(table.first(&420u32.to_le_bytes()), None);
        assert_eq!(KeyTable::build(None, &[]).first(b"x"), None);
    }
}
