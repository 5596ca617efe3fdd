//! Finding many literals in a value at once.
//!
//! SigmaHQ's process-creation rules alone hold thousands of `contains`
//! literals for `CommandLine`. An Aho-Corasick automaton that large spends
//! most of its time on cache misses, so literals of four bytes or more are
//! found with a gram filter instead: each literal is represented by one of
//! its 4-byte windows (the one fewest other literals chose), a bit table
//! small enough for the first-level cache says which windows exist, and only
//! positions whose window is in the table are looked up and verified. The
//! few shorter literals go to a small automaton.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
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
    bits: Vec<u64>,
    /// Exact window -> range of `entries`.
    windows: FxHashMap<u32, (u32, u32)>,
    entries: Vec<Entry>,
    short: Option<AhoCorasick>,
    /// Automaton pattern id -> literal id.
    short_ids: Vec<u32>,
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

fn lower_window(w: u32) -> u32 {
    u32::from_le_bytes(w.to_le_bytes().map(|b| b.to_ascii_lowercase()))
}

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
        let mut short = Vec::new();
        let mut short_ids = Vec::new();
        for (i, l) in literals.iter().enumerate() {
            if l.len() >= 4 {
                long.push((i, l));
                for w in l.windows(4) {
                    *counts.entry(window(w)).or_default() += 1;
                }
            } else if !l.is_empty() {
                short.push(l.clone());
                short_ids.push(u32::try_from(i).unwrap_or(u32::MAX));
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
        let mut windows = FxHashMap::default();
        let mut entries = Vec::new();
        for (w, list) in windows_tmp {
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
            let w = if ascii_ci { lower_window(w) } else { w };
            let h = (w.wrapping_mul(MULT) >> shift) as usize;
            bits[h >> 6] |= 1 << (h & 63);
        }
        let short_ac = if short.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(ascii_ci)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&short)
                .ok()
        };
        Some(Self {
            arena,
            spans,
            shift,
            bits,
            windows,
            entries,
            short: short_ac,
            short_ids,
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
        if let Some(ac) = &self.short {
            for m in ac.find_overlapping_iter(hay) {
                f(self.short_ids[m.pattern().as_usize()], m.start());
            }
        }
        if hay.len() < 4 || self.windows.is_empty() {
            return probes;
        }
        let lower = |b: u8| {
            if self.ascii_ci {
                b.to_ascii_lowercase()
            } else {
                b
            }
        };
        let mut w =
            u32::from_le_bytes([lower(hay[0]), lower(hay[1]), lower(hay[2]), lower(hay[3])]);
        let bits = &self.bits[..];
        let mut i = 3;
        loop {
            let h = (w.wrapping_mul(MULT) >> self.shift) as usize;
            if bits[h >> 6] & (1 << (h & 63)) != 0 {
                probes += 1;
                self.probe(w, i - 3, hay, &mut f);
            }
            i += 1;
            let Some(&b) = hay.get(i) else {
                break;
            };
            w = (w >> 8) | (u32::from(lower(b)) << 24);
        }
        probes
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
