//! Immutable hash tables, built once, laid out so that a lookup usually
//! reads one cache line.
//!
//! Both tables are *ordered* open-addressing tables: an entry's home slot
//! is its hash scaled to the table (`hash × slots / 2^64`, which keeps the
//! order of hashes), and entries are placed in hash order, each at its home
//! slot or the first free one after it (no wrap-around: a short tail of
//! slots follows the last home slot). So a lookup starts at the home slot
//! and stops at the first empty slot or the first entry with a greater
//! hash: a miss reads one or two slots, not a whole probe run. Load factor
//! 0.8.
//!
//! - [`FixedTable`] keeps fixed-width keys (an address, a file hash) inline
//!   in the slot beside the payload: a hit or a miss is one slot read;
//! - [`VarTable`] keeps a 64-bit hash and the payload in the slot and the
//!   variable-length key (a URL, a domain) in an arena, read only when the
//!   hash matches, to confirm the key.
//!
//! A key may be inserted more than once (one value, several indicators):
//! lookups yield every payload of the key.

use std::hash::BuildHasher as _;

/// The seed of every table hash (tables are built and read in one process).
const SEED: u64 = 0x6e69_6765_6862_616e;

/// The hash of a key.
#[inline]
pub(crate) fn hash(key: &[u8]) -> u64 {
    foldhash::fast::FixedState::with_seed(SEED).hash_one(key)
}

/// The hash of a domain suffix: its parent suffix's hash (or [`DOMAIN_ROOT`])
/// chained with its first label, so the suffixes of a name are hashed right
/// to left, one label each.
#[inline]
pub(crate) fn label_hash(parent: u64, label: &[u8]) -> u64 {
    foldhash::fast::FixedState::with_seed(parent).hash_one(label)
}

/// The chain hash of the empty suffix.
pub(crate) const DOMAIN_ROOT: u64 = SEED ^ 0x2e2e_2e2e_2e2e_2e2e;

/// Home slots for `len` entries (load factor 0.8).
fn home_slots(len: usize) -> usize {
    len + len / 4 + 1
}

/// The home slot of hash `h` among `homes` slots; monotone in `h`.
#[inline]
fn home(h: u64, homes: usize) -> usize {
    ((u128::from(h) * homes as u128) >> 64) as usize
}

/// A slot of a [`FixedTable`]: the key and the payload plus one (0: empty).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct FixedSlot<const N: usize> {
    key: [u8; N],
    payload: u32,
}

/// An immutable table from `N`-byte keys to payloads, keys inline.
#[derive(Debug, Default)]
pub(crate) struct FixedTable<const N: usize> {
    slots: Vec<FixedSlot<N>>,
    homes: usize,
    len: usize,
}

impl<const N: usize> FixedTable<N> {
    /// Builds a table of `entries` (key, payload). Payload `u32::MAX` cannot be kept (the builder refuses it).
    pub(crate) fn build(entries: Vec<([u8; N], u32)>) -> Self {
        let mut hashed: Vec<(u64, u32, [u8; N])> = entries
            .into_iter()
            .filter(|(_, payload)| *payload != u32::MAX)
            .map(|(key, payload)| (hash(&key), payload, key))
            .collect();
        if hashed.is_empty() {
            return FixedTable::default();
        }
        hashed.sort_unstable_by_key(|(h, payload, _)| (*h, *payload));
        let homes = home_slots(hashed.len());
        let empty = FixedSlot {
            key: [0; N],
            payload: 0,
        };
        let mut slots = Vec::with_capacity(homes + homes / 64 + 8);
        for (h, payload, key) in &hashed {
            let at = home(*h, homes).max(slots.len());
            slots.resize(at, empty);
            slots.push(FixedSlot {
                key: *key,
                payload: payload + 1,
            });
        }
        slots.shrink_to_fit();
        FixedTable {
            slots,
            homes,
            len: hashed.len(),
        }
    }

    /// Calls `found` with every payload stored under `key`.
    #[inline]
    pub(crate) fn each(&self, key: &[u8; N], found: impl FnMut(u32)) {
        if !self.slots.is_empty() {
            self.each_hashed(hash(key), key, found);
        }
    }

    /// [`FixedTable::each`] with the key's hash already computed.
    #[inline]
    pub(crate) fn each_hashed(&self, h: u64, key: &[u8; N], mut found: impl FnMut(u32)) {
        let mut at = home(h, self.homes);
        while let Some(slot) = self.slots.get(at) {
            if slot.payload == 0 {
                return;
            }
            if slot.key == *key {
                found(slot.payload - 1);
            } else if hash(&slot.key) > h {
                return;
            }
            at += 1;
        }
    }

    /// How many entries it holds.
    #[allow(dead_code)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes of memory it holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<FixedSlot<N>>()
    }
}

/// `record` of a [`VarTable`] slot that marks a domain suffix with
/// indicators below it (no key kept: a false mark only prolongs a walk).
const INTERIOR: u32 = u32::MAX;

/// A slot of a [`VarTable`]: the key's hash, its record start plus one in the
/// arena (0: empty; [`INTERIOR`]: a mark without key), the payload.
#[derive(Debug, Clone, Copy)]
struct VarSlot {
    hash: u64,
    record: u32,
    payload: u32,
}

/// Collects variable-length keys for a [`VarTable`]: records in an arena
/// (two bytes of length, then the key), one entry per key.
#[derive(Debug, Default)]
pub(crate) struct VarEntries {
    arena: Vec<u8>,
    /// (hash, record start plus one or [`INTERIOR`], payload).
    entries: Vec<(u64, u32, u32)>,
}

/// Longest variable-length key (the model caps values far below it).
pub(crate) const MAX_KEY: usize = u16::MAX as usize;

impl VarEntries {
    /// Adds `key` under `payload`, hashed as `h`; false if it cannot be kept
    /// (longer than [`MAX_KEY`], payload `u32::MAX`, or the arena's 4 GiB are full).
    pub(crate) fn push(&mut self, h: u64, key: &[u8], payload: u32) -> bool {
        let start = self.arena.len();
        if key.len() > MAX_KEY || payload == u32::MAX || start + 2 + key.len() >= INTERIOR as usize
        {
            return false;
        }
        self.arena
            .extend_from_slice(&(key.len() as u16).to_le_bytes());
        self.arena.extend_from_slice(key);
        self.entries.push((h, start as u32 + 1, payload));
        true
    }

    /// Adds a mark under hash `h` (a domain suffix with indicators below it).
    pub(crate) fn push_interior(&mut self, h: u64) {
        self.entries.push((h, INTERIOR, 0));
    }
}

/// An immutable table from variable-length keys to payloads.
#[derive(Debug, Default)]
pub(crate) struct VarTable {
    slots: Vec<VarSlot>,
    arena: Vec<u8>,
    homes: usize,
}

impl VarTable {
    /// Builds the table of `entries`.
    pub(crate) fn build(entries: VarEntries) -> Self {
        let VarEntries {
            mut arena,
            mut entries,
        } = entries;
        if entries.is_empty() {
            return VarTable::default();
        }
        entries.sort_unstable_by_key(|(h, record, payload)| (*h, *record == INTERIOR, *payload));
        entries.dedup_by(|a, b| a.1 == INTERIOR && b.1 == INTERIOR && a.0 == b.0);
        let homes = home_slots(entries.len());
        let empty = VarSlot {
            hash: 0,
            record: 0,
            payload: 0,
        };
        let mut slots = Vec::with_capacity(homes + homes / 64 + 8);
        for (h, record, payload) in entries {
            let at = home(h, homes).max(slots.len());
            slots.resize(at, empty);
            slots.push(VarSlot {
                hash: h,
                record,
                payload,
            });
        }
        slots.shrink_to_fit();
        arena.shrink_to_fit();
        VarTable {
            slots,
            arena,
            homes,
        }
    }

    /// The key of the record starting at `record - 1`.
    #[inline]
    fn key(&self, record: u32) -> &[u8] {
        let start = record as usize - 1;
        let length = match self.arena.get(start..start + 2) {
            Some(&[lo, hi]) => usize::from(u16::from_le_bytes([lo, hi])),
            _ => return &[],
        };
        self.arena.get(start + 2..start + 2 + length).unwrap_or(&[])
    }

    /// Calls `found` with every payload stored under `key` (hashed as `h`);
    /// returns whether a mark is stored under `h`.
    #[inline]
    pub(crate) fn scan(&self, h: u64, key: &[u8], mut found: impl FnMut(u32)) -> bool {
        let mut marked = false;
        let mut at = home(h, self.homes);
        while let Some(slot) = self.slots.get(at) {
            if slot.record == 0 || slot.hash > h {
                break;
            }
            if slot.hash == h {
                if slot.record == INTERIOR {
                    marked = true;
                } else if self.key(slot.record) == key {
                    found(slot.payload);
                }
            }
            at += 1;
        }
        marked
    }

    /// Calls `found` with every payload stored under `key` (hashed with [`hash`]).
    #[inline]
    pub(crate) fn each(&self, key: &[u8], found: impl FnMut(u32)) {
        if !self.slots.is_empty() {
            self.scan(hash(key), key, found);
        }
    }

    /// Whether it holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bytes of memory it holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<VarSlot>() + self.arena.capacity()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// xorshift64*, fixed seed: the same inputs every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn fixed_tables_agree_with_a_hash_map_on_random_keys() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for size in [0usize, 1, 7, 100, 5_000, 40_000] {
            // Few distinct keys for small sizes, so keys repeat (several payloads per key).
            let distinct = (size / 3).max(1) as u64;
            let mut reference: HashMap<[u8; 4], Vec<u32>> = HashMap::new();
            let mut entries = Vec::new();
            for payload in 0..size as u32 {
                let key = ((rng.next() % distinct) as u32)
                    .wrapping_mul(2_654_435_761)
                    .to_le_bytes();
                reference.entry(key).or_default().push(payload);
                entries.push((key, payload));
            }
            let table = FixedTable::<4>::build(entries);
            assert_eq!(table.len(), size);
            for probe in 0..(distinct as u32 + 50) {
                let key = probe.wrapping_mul(2_654_435_761).to_le_bytes();
                let mut found = Vec::new();
                table.each(&key, |p| found.push(p));
                found.sort_unstable();
                let expected = reference.get(&key).cloned().unwrap_or_default();
                assert_eq!(found, expected, "size {size}, key {probe}");
            }
        }
    }

    #[test]
    fn var_tables_agree_with_a_hash_map_and_confirm_keys() {
        let mut rng = Rng(0x0bad_cafe_f00d_0001);
        let mut entries = VarEntries::default();
        let mut reference: HashMap<Vec<u8>, Vec<u32>> = HashMap::new();
        for payload in 0..20_000u32 {
            let key =
                format!("http://h{}.example/{}", rng.next() % 7_000, rng.next() % 3).into_bytes();
            assert!(entries.push(hash(&key), &key, payload));
            reference.entry(key).or_default().push(payload);
        }
        // A key stored under another key's hash is never confirmed.
        assert!(entries.push(hash(b"alpha"), b"beta", 99_999));
        let table = VarTable::build(entries);
        for (key, expected) in &reference {
            let mut found = Vec::new();
            table.each(key, |p| found.push(p));
            found.sort_unstable();
            assert_eq!(&found, expected);
        }
        let mut found = Vec::new();
        table.each(b"alpha", |p| found.push(p));
        table.each(b"http://h7001.example/0", |p| found.push(p));
        assert!(found.is_empty(), "{found:?}");
        // Long keys (a 2 KiB URL) are kept whole; longer than MAX_KEY are refused.
        let mut entries = VarEntries::default();
        let long = vec![b'u'; 2048];
        assert!(entries.push(hash(&long), &long, 9));
        assert!(!entries.push(hash(b"x"), &vec![b'x'; MAX_KEY + 1], 1));
        assert!(!entries.push(hash(b"y"), b"y", u32::MAX));
        let table = VarTable::build(entries);
        let mut found = Vec::new();
        table.each(&long, |p| found.push(p));
        table.each(&long[..2047], |p| found.push(p));
        assert_eq!(found, vec![9]);
        VarTable::default().each(b"x", |_| panic!("empty table"));
    }
}
