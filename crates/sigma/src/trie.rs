//! Byte tries for `startswith` and `endswith` patterns: walking a value's
//! first (or last) bytes finds every pattern it starts (or ends) with, without
//! scanning the whole value.

use rustc_hash::FxHashMap;

/// A trie over pattern bytes, read forwards (prefixes) or backwards (suffixes).
#[derive(Debug, Clone, Default)]
pub struct AffixTrie<T> {
    edges: FxHashMap<u64, u32>,
    outputs: Vec<Vec<T>>,
    reversed: bool,
}

impl<T: Clone + PartialEq> AffixTrie<T> {
    /// An empty trie; `reversed` for suffixes.
    pub fn new(reversed: bool) -> Self {
        Self {
            edges: FxHashMap::default(),
            outputs: vec![Vec::new()],
            reversed,
        }
    }

    /// Adds a pattern with its payload.
    pub fn insert(&mut self, pattern: &[u8], value: T) {
        let mut node = 0u32;
        let mut step = |b: u8, node: &mut u32| {
            let key = (u64::from(*node) << 8) | u64::from(b);
            let next = u32::try_from(self.outputs.len()).unwrap_or(u32::MAX);
            let child = *self.edges.entry(key).or_insert(next);
            if child == next {
                self.outputs.push(Vec::new());
            }
            *node = child;
        };
        if self.reversed {
            pattern.iter().rev().for_each(|&b| step(b, &mut node));
        } else {
            pattern.iter().for_each(|&b| step(b, &mut node));
        }
        let out = &mut self.outputs[node as usize];
        if !out.contains(&value) {
            out.push(value);
        }
    }

    /// True when no pattern was added.
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty() && self.outputs[0].is_empty()
    }

    /// Calls `f` with the payloads of every pattern `hay` starts (or ends) with.
    pub fn walk(&self, hay: &[u8], mut f: impl FnMut(&T)) {
        self.outputs[0].iter().for_each(&mut f);
        let mut node = 0u32;
        let mut visit = |b: u8| -> bool {
            match self.edges.get(&((u64::from(node) << 8) | u64::from(b))) {
                Some(&child) => {
                    node = child;
                    self.outputs[child as usize].iter().for_each(&mut f);
                    true
                }
                None => false,
            }
        };
        if self.reversed {
            for &b in hay.iter().rev() {
                if !visit(b) {
                    break;
                }
            }
        } else {
            for &b in hay {
                if !visit(b) {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_suffixes() {
        let mut p = AffixTrie::new(false);
        p.insert(b"c:\\win", 1);
        p.insert(b"c:\\", 2);
        p.insert(b"d:", 3);
        let mut got = Vec::new();
        p.walk(b"c:\\windows", |v| got.push(*v));
        assert_eq!(got, [2, 1]);
        let mut s = AffixTrie::new(true);
        s.insert(b"\\cmd.exe", 1);
        s.insert(b".exe", 2);
        let mut got = Vec::new();
        s.walk(b"c:\\x\\cmd.exe", |v| got.push(*v));
        assert_eq!(got, [2, 1]);
        got.clear();
        s.walk(b"cmd.ex", |v| got.push(*v));
        assert!(got.is_empty());
    }
}
