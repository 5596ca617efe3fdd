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
    /// `Some(w)`: every key is `w` bytes, and record `i` is at `i * (w + 4)`;
    /// `None`: each record starts with its key's length (two bytes, little-endian).
    width: Option<usize>,
    /// Records: (length,) key, payload (4 bytes, little-endian) — the key
    /// and its payload share a cache line, so a hit reads two lines at most
    /// (the slot and the record).
    arena: Vec<u8>,
    /// Tag (upper 32 bits of the hash) and record start plus one (lower 32 bits); 0 = empty.
    slots: Vec<u64>,
    len: usize,
}

/// Longest variable-length key (the model caps values far below it).
pub(crate) const MAX_KEY: usize = u16::MAX as usize;

impl KeyTable {
    /// Builds a table of `entries` (key, payload); `width` when all keys have that length.
    /// Variable-length keys longer than [`MAX_KEY`] bytes are left out.
    pub(crate) fn build(width: Option<usize>, entries: &[(Box<[u8]>, u32)]) -> Self {
        let kept: Vec<&(Box<[u8]>, u32)> = entries
            .iter()
            .filter(|(key, _)| width.is_some() || key.len() <= MAX_KEY)
            .collect();
        let mut table = KeyTable {
            width,
            arena: Vec::with_capacity(kept.iter().map(|(k, _)| k.len() + 6).sum()),
            slots: Vec::new(),
            len: kept.len(),
        };
        if kept.is_empty() {
            return table;
        }
        // Load factor between 3/8 and 3/4.
        let capacity = (kept.len() * 4 / 3 + 1).next_power_of_two().max(8);
        table.slots = vec![0; capacity];
        let mask = capacity - 1;
        for (key, payload) in kept {
            debug_assert!(width.is_none_or(|w| w == key.len()));
            let start = table.arena.len();
            if width.is_none() {
                table
                    .arena
                    .extend_from_slice(&(key.len() as u16).to_le_bytes());
            }
            table.arena.extend_from_slice(key);
            table.arena.extend_from_slice(&payload.to_le_bytes());
            let h = hash(key);
            let mut slot = (h as usize) & mask;
            while table.slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            // Record starts fit in 32 bits: at most 4 GiB of keys per table.
            table.slots[slot] = (h & 0xffff_ffff_0000_0000) | (start as u64 + 1);
        }
        table.arena.shrink_to_fit();
        table
    }

    /// The key and payload of the record starting at `start`.
    #[inline]
    fn record(&self, start: usize) -> (&[u8], u32) {
        let (key_start, key_len) = match self.width {
            Some(w) => (start, w),
            None => (
                start + 2,
                usize::from(u16::from_le_bytes([
                    self.arena[start],
                    self.arena[start + 1],
                ])),
            ),
        };
        let key = &self.arena[key_start..key_start + key_len];
        let mut payload = [0u8; 4];
        payload.copy_from_slice(&self.arena[key_start + key_len..key_start + key_len + 4]);
        (key, u32::from_le_bytes(payload))
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
                let (stored, payload) = self.record((entry & 0xffff_ffff) as usize - 1);
                if stored == key {
                    found(payload);
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

    /// How many records it holds.
    #[allow(dead_code)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes of memory it holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.arena.capacity() + self.slots.capacity() * 8
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
        // Long keys (a 2 KiB URL) are kept whole.
        let long = vec![b'u'; 2048].into_boxed_slice();
        let table = KeyTable::build(None, &[(long.clone(), 9), (Box::from(&b"u"[..]), 1)]);
        assert_eq!(table.first(&long), Some(9));
        assert_eq!(table.first(&long[..2047]), None);
    }
}
