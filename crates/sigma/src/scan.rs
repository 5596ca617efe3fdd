//! Finding many literals in a value at once.
//!
//! SigmaHQ's process-creation rules alone hold thousands of `contains`
//! literals for `CommandLine`. An Aho-Corasick automaton that large spends
//! most of its time on cache misses, so literals of four bytes or more are
//! found with a gram filter instead: each literal is represented by one of
//! its 4-byte windows (the one fewest other literals chose), a bit table
//! small enough for the first-level cache says which windows exist, and only
//! positions whose window is in the table are looked up and verified. The
//! few shorter literals are found the same way by their first two bytes (a
//! table of all 65,536 pairs) or their one byte.

use rustc_hash::FxHashMap;

/// Finds which of a set of literals occur in a text; each literal has an id
/// (its index in the list given to [`LiteralScanner::new`]).
#[derive(Debug, Clone)]
pub struct LiteralScanner {
    /// All literal bytes, back to back.
    arena: Vec<u8>,
    /// Per literal id: (start in `arena`, length).
    spans: Vec<(u32, u32)>,
    shift: u32,
    /// ORed into every window before hashing: `0x2020_2020` when comparing
    /// without case, which maps each ASCII letter and its capital to one key.
    mask: u32,
    bits: Vec<u64>,
    /// Window key (the window ORed with `mask`) -> range of `entries`.
    windows: FxHashMap<u32, (u32, u32)>,
    entries: Vec<Entry>,
    /// Literals of one to three bytes.
    short: Option<Box<ShortLiterals>>,
    /// Compare ASCII letters without case (literals are lower case).
    ascii_ci: bool,
}

/// A literal filed under one of its windows.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u32,
    /// Offset of the window in the literal.
    offset: u32,
    /// The literal's first (up to) eight bytes, for a quick reject.
    head: u64,
    head_len: u32,
}

/// Literals of one to three bytes, filed under their first two bytes (or
/// their one byte), keyed as windows are (ORed with the scanner's mask).
#[derive(Debug, Clone)]
struct ShortLiterals {
    /// One bit per two-byte key.
    pairs: Vec<u64>,
    /// Literals of two or three bytes, by the key of their first two.
    by_pair: FxHashMap<u16, Vec<u32>>,
    /// One bit per one-byte key.
    singles: [u64; 4],
    /// Literals of one byte, by key.
    by_single: FxHashMap<u8, Vec<u32>>,
}

fn has_bit(bits: &[u64], k: usize) -> bool {
    bits.get(k >> 6)
        .is_some_and(|word| word & (1 << (k & 63)) != 0)
}

const MULT: u32 = 0x9E37_79B1;

/// Four-byte windows so frequent in Windows event text (paths, executables,
/// PowerShell) that a literal represented by one would be checked on almost
/// every event; a literal picks one of them only when it has nothing rarer.
const COMMON: &[&[u8; 4]] = &[
    b"wind", b"indo", b"ndow", b"dows", b"ows\\", b"\\win", b"c:\\w", b":\\wi", b"syst", b"yste",
    b"stem", b"tem3", b"em32", b"m32\\", b"\\sys", b".exe", b"exe ", b"exe\"", b".dll", b"prog",
    b"rogr", b"ogra", b"gram", b"file", b"iles", b"les\\", b"micr", b"icro", b"cros", b"roso",
    b"osof", b"soft", b"\\use", b"user", b"sers", b"ers\\", b"appd", b"ppda", b"pdat", b"data",
    b"ata\\", b"loca", b"ocal", b"powe", b"ower", b"wers", b"ersh", b"rshe", b"shel", b"hell",
    b"comm", b"omma", b"mman", b"mand", b"\\pro", b"\\app", b"temp", b"\\tem", b"emp\\", b"serv",
    b"ervi", b"rvic", b"vice", b"ice\\", b"http", b"ttp:", b"tp:/", b"p://", b"s://", b" -no",
    b"-exe", b"exec", b"xecu", b"ecut", b"cuti", b"utio", b"tion", b"ion ", b"ing ", b"the ",
];

fn window(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The mask that makes window keys blind to ASCII case (see `LiteralScanner::mask`).
///
/// ORing `0x20` into a byte maps `A`-`Z` to `a`-`z` (and also a few
/// punctuation bytes onto others, which only makes the filter a little less
/// sharp: every candidate is compared in full).
const CASE_MASK: u32 = 0x2020_2020;

impl LiteralScanner {
    /// Builds a scanner for `literals` (non-empty byte strings). With
    /// `ascii_ci` the literals must be lower case, and text is compared with
    /// ASCII letters folded, so ASCII text needs no folded copy.
    pub fn new(literals: Vec<Vec<u8>>, ascii_ci: bool) -> Option<Self> {
        if literals.is_empty() {
            return None;
        }
        let mut counts: FxHashMap<u32, u32> = FxHashMap::default();
        let mut long: Vec<(usize, &[u8])> = Vec::new();
        let mask = if ascii_ci { CASE_MASK } else { 0 };
        let mut short: Option<Box<ShortLiterals>> = None;
        for (i, l) in literals.iter().enumerate() {
            if l.len() >= 4 {
                long.push((i, l));
                for w in l.windows(4) {
                    *counts.entry(window(w)).or_default() += 1;
                }
            } else if !l.is_empty() {
                let short = short.get_or_insert_with(|| {
                    Box::new(ShortLiterals {
                        pairs: vec![0; 1 << 10],
                        by_pair: FxHashMap::default(),
                        singles: [0; 4],
                        by_single: FxHashMap::default(),
                    })
                });
                let id = u32::try_from(i).unwrap_or(u32::MAX);
                match *l.as_slice() {
                    [b] => {
                        let k = b | mask as u8;
                        short.singles[usize::from(k) >> 6] |= 1 << (k & 63);
                        short.by_single.entry(k).or_default().push(id);
                    }
                    [b0, b1, ..] => {
                        let k = u16::from_le_bytes([b0, b1]) | mask as u16;
                        short.pairs[usize::from(k) >> 6] |= 1 << (k & 63);
                        short.by_pair.entry(k).or_default().push(id);
                    }
                    [] => {}
                }
            }
        }
        // Each literal takes its window that is rarest among all literals'
        // windows, then counts once more on it, spreading literals out.
        let common: Vec<u32> = COMMON.iter().map(|g| window(&g[..])).collect();
        let mut chosen_count: FxHashMap<u32, u32> = FxHashMap::default();
        let mut windows_tmp: FxHashMap<u32, Vec<(u32, u32)>> = FxHashMap::default();
        long.sort_by_key(|(_, l)| l.len());
        for (i, l) in long {
            let (off, w) = l
                .windows(4)
                .enumerate()
                .map(|(o, w)| (o, window(w)))
                .min_by_key(|(o, w)| {
                    (
                        u32::from(common.contains(w)) * 1000
                            + counts.get(w).copied().unwrap_or(0)
                            + 4 * chosen_count.get(w).copied().unwrap_or(0),
                        *o,
                    )
                })
                .unwrap_or((0, window(l)));
            *chosen_count.entry(w).or_default() += 1;
            windows_tmp.entry(w).or_default().push((
                u32::try_from(i).unwrap_or(u32::MAX),
                u32::try_from(off).unwrap_or(0),
            ));
        }
        // About one bit in 32 set: rare false hits, table of at most 128 KiB.
        let want = (windows_tmp.len().max(1) * 64)
            .next_power_of_two()
            .clamp(1 << 10, 1 << 21);
        let log = want.trailing_zeros();
        let mut bits = vec![0u64; want / 64];
        let shift = 32 - log;
        let mut arena = Vec::new();
        let mut spans = Vec::with_capacity(literals.len());
        for l in &literals {
            spans.push((
                u32::try_from(arena.len()).unwrap_or(u32::MAX),
                u32::try_from(l.len()).unwrap_or(0),
            ));
            arena.extend_from_slice(l);
        }
        // Windows that differ only in bit 0x20 of a byte share a key.
        let mut by_key: FxHashMap<u32, Vec<(u32, u32)>> = FxHashMap::default();
        for (w, list) in windows_tmp {
            by_key.entry(w | mask).or_default().extend(list);
        }
        let mut windows = FxHashMap::default();
        let mut entries = Vec::new();
        for (w, list) in by_key {
            let start = u32::try_from(entries.len()).unwrap_or(u32::MAX);
            for (id, offset) in list {
                let lit = &literals[id as usize];
                let n = lit.len().min(8);
                let mut head = [0u8; 8];
                head[..n].copy_from_slice(&lit[..n]);
                entries.push(Entry {
                    id,
                    offset,
                    head: u64::from_le_bytes(head),
                    head_len: u32::try_from(n).unwrap_or(0),
                });
            }
            let end = u32::try_from(entries.len()).unwrap_or(u32::MAX);
            windows.insert(w, (start, end));
        }
        for &w in windows.keys() {
            let h = (w.wrapping_mul(MULT) >> shift) as usize;
            bits[h >> 6] |= 1 << (h & 63);
        }
        Some(Self {
            arena,
            spans,
            shift,
            mask,
            bits,
            windows,
            entries,
            short,
            ascii_ci,
        })
    }

    /// The literal with this id.
    pub fn literal(&self, id: u32) -> &[u8] {
        let (s, n) = self.spans[id as usize];
        &self.arena[s as usize..(s + n) as usize]
    }

    /// Checks the literals filed under window `w`, which starts at `at`.
    fn probe(&self, w: u32, at: usize, hay: &[u8], f: &mut impl FnMut(u32, usize)) {
        let Some(&(from, to)) = self.windows.get(&w) else {
            return;
        };
        for e in &self.entries[from as usize..to as usize] {
            let off = e.offset as usize;
            if off > at {
                continue;
            }
            let start = at - off;
            if !self.head_matches(e, hay, start) {
                continue;
            }
            let lit = self.literal(e.id);
            let Some(candidate) = hay.get(start..start + lit.len()) else {
                continue;
            };
            let equal = if self.ascii_ci {
                candidate.eq_ignore_ascii_case(lit)
            } else {
                candidate == lit
            };
            if equal {
                f(e.id, start);
            }
        }
    }

    fn head_matches(&self, e: &Entry, hay: &[u8], start: usize) -> bool {
        let n = e.head_len as usize;
        let Some(h) = hay.get(start..start + n) else {
            return false;
        };
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(h);
        if self.ascii_ci {
            b.make_ascii_lowercase();
        }
        u64::from_le_bytes(b) == e.head
    }

    /// Calls `f(id, start)` for occurrences of literals in `hay`: every
    /// literal that occurs is reported at least once (possibly more often).
    /// Returns how many positions passed the bit table (for tuning).
    pub fn scan(&self, hay: &[u8], mut f: impl FnMut(u32, usize)) -> usize {
        let mut probes = 0;
        if let Some(short) = &self.short {
            self.scan_short(short, hay, &mut f);
        }
        if hay.len() < 4 || self.windows.is_empty() {
            return probes;
        }
        let mut i = 0;
        // Eight bytes at a time hold five whole windows.
        while let Some(chunk) = hay.get(i..).and_then(|rest| rest.first_chunk::<8>()) {
            let x = u64::from_le_bytes(*chunk);
            for k in 0..5 {
                let w = (x >> (8 * k)) as u32 | self.mask;
                if self.may_hold(w) {
                    probes += 1;
                    self.probe(w, i + k, hay, &mut f);
                }
            }
            i += 5;
        }
        while let Some(chunk) = hay.get(i..).and_then(|rest| rest.first_chunk::<4>()) {
            let w = u32::from_le_bytes(*chunk) | self.mask;
            if self.may_hold(w) {
                probes += 1;
                self.probe(w, i, hay, &mut f);
            }
            i += 1;
        }
        probes
    }

    /// Finds the literals of one to three bytes.
    fn scan_short(&self, short: &ShortLiterals, hay: &[u8], f: &mut impl FnMut(u32, usize)) {
        let mask = self.mask as u16;
        let mut check = |ids: Option<&Vec<u32>>, at: usize| {
            for &id in ids.into_iter().flatten() {
                let lit = self.literal(id);
                let Some(candidate) = hay.get(at..at + lit.len()) else {
                    continue;
                };
                let equal = if self.ascii_ci {
                    candidate.eq_ignore_ascii_case(lit)
                } else {
                    candidate == lit
                };
                if equal {
                    f(id, at);
                }
            }
        };
        if !short.by_single.is_empty() {
            for (at, &b) in hay.iter().enumerate() {
                let k = b | mask as u8;
                if has_bit(&short.singles, usize::from(k)) {
                    check(short.by_single.get(&k), at);
                }
            }
        }
        if !short.by_pair.is_empty() {
            for (at, pair) in hay.windows(2).enumerate() {
                let k = u16::from_le_bytes([pair[0], pair[1]]) | mask;
                if has_bit(&short.pairs, usize::from(k)) {
                    check(short.by_pair.get(&k), at);
                }
            }
        }
    }

    /// Whether the window key `w` may be one of the literals' (the bit table).
    #[inline(always)]
    fn may_hold(&self, w: u32) -> bool {
        let h = (w.wrapping_mul(MULT) >> self.shift) as usize;
        self.bits
            .get(h >> 6)
            .is_some_and(|word| word & (1 << (h & 63)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(lits: &[&str], hay: &str) -> Vec<u32> {
        let s = LiteralScanner::new(lits.iter().map(|l| l.as_bytes().to_vec()).collect(), false)
            .unwrap();
        let mut out = Vec::new();
        s.scan(hay.as_bytes(), |id, start| {
            assert_eq!(
                &hay.as_bytes()[start..start + lits[id as usize].len()],
                lits[id as usize].as_bytes()
            );
            out.push(id);
        });
        out.sort_unstable();
        out.dedup();
        out
    }

    #[test]
    fn finds_long_and_short_literals() {
        let lits = ["powershell", " -nop", "-c", "x", "\\appdata\\", "shell -n"];
        assert_eq!(found(&lits, "powershell -nop -c x"), [0, 1, 2, 3, 5]);
        assert_eq!(found(&lits, "c:\\users\\a\\appdata\\"), [4]);
        assert!(found(&lits, "nothing here").is_empty());
        assert!(found(&lits, "pow").is_empty());
    }

    #[test]
    fn ascii_case_insensitive() {
        let s = LiteralScanner::new(vec![b"powershell".to_vec(), b"-c".to_vec()], true).unwrap();
        let mut out = Vec::new();
        s.scan(b"PowerShell -C x", |id, _| out.push(id));
        out.sort_unstable();
        assert_eq!(out, [0, 1]);
    }

    #[test]
    fn keys_blind_to_case_never_confuse_punctuation() {
        // `\\` and `|` differ only in bit 0x20, like `B` and `b`.
        let lits = ["|a", "\\b", "x|y\\z", "@", "`q"];
        let s = LiteralScanner::new(lits.iter().map(|l| l.as_bytes().to_vec()).collect(), true)
            .unwrap();
        let found = |hay: &str| {
            let mut out = Vec::new();
            s.scan(hay.as_bytes(), |id, _| out.push(id));
            out.sort_unstable();
            out.dedup();
            out
        };
        assert!(found("\\a |b x\\y|z `").is_empty());
        assert_eq!(found("@q"), [3]);
        assert_eq!(found("|A \\B X|Y\\Z @ `Q"), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn agrees_with_naive_search() {
        for n in [10, 300] {
            let lits: Vec<String> = (0..n).map(|i| format!("lit{i}x")).collect();
            let refs: Vec<&str> = lits.iter().map(String::as_str).collect();
            let hay = "zzlit17xlit2xlit299xlit300lit7x";
            let want: Vec<u32> = (0..n as u32)
                .filter(|&i| hay.contains(refs[i as usize]))
                .collect();
            assert_eq!(found(&refs, hay), want);
        }
    }

    #[test]
    fn agrees_with_naive_search_large() {
        let lits: Vec<String> = (0..300).map(|i| format!("lit{i}x")).collect();
        let refs: Vec<&str> = lits.iter().map(String::as_str).collect();
        let hay = "zzlit17xlit2xlit299xlit300";
        let want: Vec<u32> = (0..300u32)
            .filter(|&i| hay.contains(refs[i as usize]))
            .collect();
        assert_eq!(found(&refs, hay), want);
    }
}
