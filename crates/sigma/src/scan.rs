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
    literals: Vec<Box<[u8]>>,
    shift: u32,
    bits: Vec<u64>,
    /// Exact window -> (literal id, offset of the window in the literal).
    windows: FxHashMap<u32, Vec<(u32, u32)>>,
    short: Option<AhoCorasick>,
    /// Automaton pattern id -> literal id.
    short_ids: Vec<u32>,
    /// Compare ASCII letters without case (literals are lower case).
    ascii_ci: bool,
}

const MULT: u32 = 0x9E37_79B1;

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
        let mut chosen_count: FxHashMap<u32, u32> = FxHashMap::default();
        let mut windows: FxHashMap<u32, Vec<(u32, u32)>> = FxHashMap::default();
        long.sort_by_key(|(_, l)| l.len());
        for (i, l) in long {
            let (off, w) = l
                .windows(4)
                .enumerate()
                .map(|(o, w)| (o, window(w)))
                .min_by_key(|(o, w)| {
                    (
                        counts.get(w).copied().unwrap_or(0) + 4 * chosen_count.get(w).copied().unwrap_or(0),
                        *o,
                    )
                })
                .unwrap_or((0, window(l)));
            *chosen_count.entry(w).or_default() += 1;
            windows
                .entry(w)
                .or_default()
                .push((u32::try_from(i).unwrap_or(u32::MAX), u32::try_from(off).unwrap_or(0)));
        }
        // About one bit in 32 set: rare false hits, table of at most 128 KiB.
        let want = (windows.len().max(1) * 32).next_power_of_two().clamp(1 << 10, 1 << 20);
        let log = want.trailing_zeros();
        let mut bits = vec![0u64; want / 64];
        let shift = 32 - log;
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
            literals: literals.into_iter().map(Vec::into_boxed_slice).collect(),
            shift,
            bits,
            windows,
            short: short_ac,
            short_ids,
            ascii_ci,
        })
    }

    /// The literal with this id.
    pub fn literal(&self, id: u32) -> &[u8] {
        &self.literals[id as usize]
    }

    /// Calls `f(id, start)` for occurrences of literals in `hay`: every
    /// literal that occurs is reported at least once (possibly more often).
    pub fn scan(&self, hay: &[u8], mut f: impl FnMut(u32, usize)) {
        if let Some(ac) = &self.short {
            for m in ac.find_overlapping_iter(hay) {
                f(self.short_ids[m.pattern().as_usize()], m.start());
            }
        }
        if hay.len() < 4 || self.windows.is_empty() {
            return;
        }
        let mut w = 0u32;
        for (i, &b) in hay.iter().enumerate() {
            let b = if self.ascii_ci { b.to_ascii_lowercase() } else { b };
            w = (w >> 8) | (u32::from(b) << 24);
            if i < 3 {
                continue;
            }
            let h = (w.wrapping_mul(MULT) >> self.shift) as usize;
            if self.bits[h >> 6] & (1 << (h & 63)) == 0 {
                continue;
            }
            let Some(entries) = self.windows.get(&w) else {
                continue;
            };
            let at = i - 3;
            for &(id, off) in entries {
                let off = off as usize;
                if off > at {
                    continue;
                }
                let start = at - off;
                let lit = &self.literals[id as usize];
                let Some(candidate) = hay.get(start..start + lit.len()) else {
                    continue;
                };
                let equal = if self.ascii_ci {
                    candidate.eq_ignore_ascii_case(lit)
                } else {
                    candidate == &lit[..]
                };
                if equal {
                    f(id, start);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(lits: &[&str], hay: &str) -> Vec<u32> {
        let s = LiteralScanner::new(lits.iter().map(|l| l.as_bytes().to_vec()).collect(), false).unwrap();
        let mut out = Vec::new();
        s.scan(hay.as_bytes(), |id, start| {
            assert_eq!(&hay.as_bytes()[start..start + lits[id as usize].len()], lits[id as usize].as_bytes());
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
        let lits: Vec<String> = (0..300).map(|i| format!("lit{i}x")).collect();
        let refs: Vec<&str> = lits.iter().map(String::as_str).collect();
        let hay = "zzlit17xlit2xlit299xlit300";
        let want: Vec<u32> = (0..300u32).filter(|&i| hay.contains(refs[i as usize])).collect();
        assert_eq!(found(&refs, hay), want);
    }
}
