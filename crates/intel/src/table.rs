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
//! Built tables of 2 MiB and more live in memory backed by huge pages
//! ([`Region`]), so that random lookups into hundreds of megabytes do not
//! also miss the TLB. A key may be inserted more than once (one value, several indicators):
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

/// Tables of at least this many bytes are mapped apart and backed by huge pages.
const HUGE_PAGE: usize = 2 << 20;

/// The bytes of a built table. Large ones are an anonymous mapping the
/// kernel is asked to back with 2 MiB pages (`madvise(MADV_HUGEPAGE)`, which
/// transparent huge pages honour in their default `madvise` mode): lookups
/// land anywhere in hundreds of megabytes, and with 4 KiB pages nearly each
/// one would also miss the TLB (a page walk, costly in a VM). Read-only once built.
#[derive(Debug, Default)]
pub(crate) enum Region {
    /// Nothing.
    #[default]
    Empty,
    /// A small table, on the heap.
    Heap(Box<[u8]>),
    /// A large table, mapped.
    Mapped(memmap2::Mmap),
}

impl Region {
    /// Moves `bytes` into a region (mapped when large, on the heap if mapping fails).
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        if bytes.is_empty() {
            return Region::Empty;
        }
        if bytes.len() >= HUGE_PAGE {
            match Self::mapped(&bytes) {
                Ok(map) => return Region::Mapped(map),
                Err(error) => {
                    tracing::debug!(%error, "intel: table kept on the heap (no mapping)");
                }
            }
        }
        Region::Heap(bytes.into_boxed_slice())
    }

    fn mapped(bytes: &[u8]) -> std::io::Result<memmap2::Mmap> {
        let mut map = memmap2::MmapMut::map_anon(bytes.len())?;
        // Before the first write, so the pages are faulted in huge; refused
        // advice (THP off) leaves ordinary pages, which still work.
        #[cfg(target_os = "linux")]
        if let Err(error) = map.advise(memmap2::Advice::HugePage) {
            tracing::debug!(%error, "intel: no huge pages for a table");
        }
        map.copy_from_slice(bytes);
        map.make_read_only()
    }

    /// The bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Region::Empty => &[],
            Region::Heap(bytes) => bytes,
            Region::Mapped(map) => map,
        }
    }

    /// Bytes of memory it holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes().len()
    }
}

/// The little-endian `u32` at `at` (0 past the end).
#[inline]
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_le_bytes)
}

/// The little-endian `u64` at `at` (0 past the end).
#[inline]
fn u64_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_le_bytes)
}

/// An immutable table from `N`-byte keys to payloads. Slot: the key, then
/// the payload plus one (4 bytes, little-endian; 0: empty), so a lookup
/// reads one slot.
#[derive(Debug, Default)]
pub(crate) struct FixedTable<const N: usize> {
    slots: Region,
    homes: usize,
    len: usize,
}

impl<const N: usize> FixedTable<N> {
    const STRIDE: usize = N + 4;

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
        let mut slots: Vec<u8> = Vec::with_capacity((homes + homes / 64 + 8) * Self::STRIDE);
        for (h, payload, key) in &hashed {
            let at = home(*h, homes).max(slots.len() / Self::STRIDE);
            slots.resize(at * Self::STRIDE, 0);
            slots.extend_from_slice(key);
            slots.extend_from_slice(&(payload + 1).to_le_bytes());
        }
        FixedTable {
            slots: Region::new(slots),
            homes,
            len: hashed.len(),
        }
    }

    /// Calls `found` with every payload stored under `key`.
    #[inline]
    pub(crate) fn each(&self, key: &[u8; N], mut found: impl FnMut(u32)) {
        let slots = self.slots.bytes();
        if slots.is_empty() {
            return;
        }
        let h = hash(key);
        let mut at = home(h, self.homes) * Self::STRIDE;
        while let Some(slot) = slots.get(at..at + Self::STRIDE) {
            let payload = u32_at(slot, N);
            if payload == 0 {
                return;
            }
            let stored = &slot[..N];
            if stored == key {
                found(payload - 1);
            } else if hash(stored) > h {
                return;
            }
            at += Self::STRIDE;
        }
    }

    /// How many entries it holds.
    #[allow(dead_code)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes of memory it holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.heap_bytes()
    }
}

/// `record` of a [`VarTable`] slot that marks a domain suffix with
/// indicators below it (no key kept: a false mark only prolongs a walk).
const INTERIOR: u32 = u32::MAX;

/// Bytes of a [`VarTable`] slot: the key's hash (8), its record start plus
/// one in the arena (4; 0: empty, [`INTERIOR`]: a mark without key), the payload (4).
const VAR_SLOT: usize = 16;

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
    slots: Region,
    arena: Region,
    homes: usize,
}

impl VarTable {
    /// Builds the table of `entries`.
    pub(crate) fn build(entries: VarEntries) -> Self {
        let VarEntries { arena, mut entries } = entries;
        if entries.is_empty() {
            return VarTable::default();
        }
        entries.sort_unstable_by_key(|(h, record, payload)| (*h, *record == INTERIOR, *payload));
        entries.dedup_by(|a, b| a.1 == INTERIOR && b.1 == INTERIOR && a.0 == b.0);
        let homes = home_slots(entries.len());
        let mut slots: Vec<u8> = Vec::with_capacity((homes + homes / 64 + 8) * VAR_SLOT);
        for (h, record, payload) in entries {
            let at = home(h, homes).max(slots.len() / VAR_SLOT);
            slots.resize(at * VAR_SLOT, 0);
            slots.extend_from_slice(&h.to_le_bytes());
            slots.extend_from_slice(&record.to_le_bytes());
            slots.extend_from_slice(&payload.to_le_bytes());
        }
        VarTable {
            slots: Region::new(slots),
            arena: Region::new(arena),
            homes,
        }
    }

    /// The key of the record starting at `record - 1`.
    #[inline]
    fn key(&self, record: u32) -> &[u8] {
        let arena = self.arena.bytes();
        let start = record as usize - 1;
        let length = match arena.get(start..start + 2) {
            Some(&[lo, hi]) => usize::from(u16::from_le_bytes([lo, hi])),
            _ => return &[],
        };
        arena.get(start + 2..start + 2 + length).unwrap_or(&[])
    }

    /// Calls `found` with every payload stored under `key` (hashed as `h`);
    /// returns whether a mark is stored under `h`.
    #[inline]
    pub(crate) fn scan(&self, h: u64, key: &[u8], mut found: impl FnMut(u32)) -> bool {
        let slots = self.slots.bytes();
        let mut marked = false;
        let mut at = home(h, self.homes) * VAR_SLOT;
        while let Some(slot) = slots.get(at..at + VAR_SLOT) {
            let (stored, record) = (u64_at(slot, 0), u32_at(slot, 8));
            if record == 0 || stored > h {
                break;
            }
            if stored == h {
                if record == INTERIOR {
                    marked = true;
                } else if self.key(record) == key {
                    found(u32_at(slot, 12));
                }
            }
            at += VAR_SLOT;
        }
        marked
    }

    /// Calls `found` with every payload stored under `key` (hashed with [`hash`]).
    #[inline]
    pub(crate) fn each(&self, key: &[u8], found: impl FnMut(u32)) {
        if !self.is_empty() {
            self.scan(hash(key), key, found);
        }
    }

    /// Whether it holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.slots.bytes().is_empty()
    }

    /// Bytes of memory it holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.heap_bytes() + self.arena.heap_bytes()
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
    fn large_tables_are_mapped_and_find_every_key() {
        let entries: Vec<([u8; 16], u32)> = (0..150_000u32)
            .map(|i| {
                (
                    u128::from(i)
                        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                        .to_le_bytes(),
                    i,
                )
            })
            .collect();
        let table = FixedTable::<16>::build(entries.clone());
        assert!(
            matches!(table.slots, Region::Mapped(_)),
            "{} bytes",
            table.heap_bytes()
        );
        assert!(table.heap_bytes() >= HUGE_PAGE);
        for (key, payload) in entries.iter().step_by(7) {
            let mut found = Vec::new();
            table.each(key, |p| found.push(p));
            assert_eq!(found, vec![*payload]);
        }
        let absent = u128::MAX.to_le_bytes();
        table.each(&absent, |p| panic!("found {p} for an absent key"));
        // Small ones stay on the heap.
        let small = FixedTable::<16>::build(entries[..10].to_vec());
        assert!(matches!(small.slots, Region::Heap(_)));
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
