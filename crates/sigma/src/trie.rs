//! Byte tries for `startswith` and `endswith` patterns: walking a value's
//! first (or last) bytes finds every pattern it starts (or ends) with, without
//! scanning the whole value.
//!
//! Built with a hash map, then flattened so that a node's edges sit next to
//! each other (a short linear scan) and the root's children are one table
//! lookup: a walk touches few cache lines.

use rustc_hash::FxHashMap;

/// Builds an [`AffixTrie`].
#[derive(Debug, Clone)]
pub struct AffixTrieBuilder<T> {
    edges: FxHashMap<(u32, u8), u32>,
    outputs: Vec<Vec<T>>,
    reversed: bool,
}

impl<T: Clone + PartialEq> AffixTrieBuilder<T> {
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
            let next = u32::try_from(self.outputs.len()).unwrap_or(u32::MAX);
            let child = *self.edges.entry((*node, b)).or_insert(next);
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

    /// The flattened trie, or `None` when no pattern was added.
    pub fn build(self) -> Option<AffixTrie<T>> {
        if self.edges.is_empty() && self.outputs[0].is_empty() {
            return None;
        }
        let mut children: Vec<Vec<(u8, u32)>> = vec![Vec::new(); self.outputs.len()];
        for (&(from, b), &to) in &self.edges {
            children[from as usize].push((b, to));
        }
        // Breadth-first renumbering keeps shallow nodes together.
        let mut order = vec![0u32];
        let mut new_id = vec![u32::MAX; self.outputs.len()];
        new_id[0] = 0;
        let mut i = 0;
        while i < order.len() {
            let n = order[i] as usize;
            children[n].sort_unstable();
            for &(_, c) in &children[n] {
                new_id[c as usize] = u32::try_from(order.len()).unwrap_or(u32::MAX);
                order.push(c);
            }
            i += 1;
        }
        let mut t = AffixTrie {
            root: [u32::MAX; 256],
            dense: Vec::new(),
            nodes: Vec::with_capacity(order.len()),
            edge_bytes: Vec::new(),
            edge_targets: Vec::new(),
            outputs: Vec::new(),
            reversed: self.reversed,
        };
        for &old in &order {
            let old = old as usize;
            let edges_start = u32::try_from(t.edge_bytes.len()).unwrap_or(u32::MAX);
            for &(b, c) in &children[old] {
                t.edge_bytes.push(b);
                t.edge_targets.push(new_id[c as usize]);
            }
            let out_start = u32::try_from(t.outputs.len()).unwrap_or(u32::MAX);
            t.outputs.extend(self.outputs[old].iter().cloned());
            // A node with many edges (the letters before `.exe`) gets a
            // table of all 256 instead of a long scan.
            let dense = if children[old].len() >= DENSE_EDGES {
                let mut table = [u32::MAX; 256];
                for &(b, c) in &children[old] {
                    table[b as usize] = new_id[c as usize];
                }
                t.dense.push(table);
                u32::try_from(t.dense.len() - 1).unwrap_or(u32::MAX)
            } else {
                u32::MAX
            };
            t.nodes.push(Node {
                edges_start,
                edges_len: u32::try_from(children[old].len()).unwrap_or(0),
                out_start,
                out_len: u32::try_from(self.outputs[old].len()).unwrap_or(0),
                dense,
            });
        }
        for &(b, c) in &children[0] {
            t.root[b as usize] = new_id[c as usize];
        }
        Some(t)
    }
}

/// Nodes with at least this many edges are looked up in a table.
const DENSE_EDGES: usize = 12;

#[derive(Debug, Clone, Copy)]
struct Node {
    edges_start: u32,
    edges_len: u32,
    out_start: u32,
    out_len: u32,
    /// Index in `dense` of the node's table of children, or `u32::MAX`.
    dense: u32,
}

/// A flattened trie over pattern bytes, read forwards (prefixes) or backwards (suffixes).
#[derive(Debug, Clone)]
pub struct AffixTrie<T> {
    root: [u32; 256],
    /// Child tables of the nodes with many edges.
    dense: Vec<[u32; 256]>,
    nodes: Vec<Node>,
    edge_bytes: Vec<u8>,
    edge_targets: Vec<u32>,
    outputs: Vec<T>,
    reversed: bool,
}

impl<T> AffixTrie<T> {
    fn emit(&self, node: u32, f: &mut impl FnMut(&T)) {
        let n = self.nodes[node as usize];
        if n.out_len > 0 {
            let s = n.out_start as usize;
            self.outputs[s..s + n.out_len as usize].iter().for_each(f);
        }
    }

    fn child(&self, node: u32, b: u8) -> Option<u32> {
        if node == 0 {
            let c = self.root[b as usize];
            return (c != u32::MAX).then_some(c);
        }
        let n = self.nodes[node as usize];
        if let Some(table) = self.dense.get(n.dense as usize) {
            let c = table[b as usize];
            return (c != u32::MAX).then_some(c);
        }
        let s = n.edges_start as usize;
        let bytes = &self.edge_bytes[s..s + n.edges_len as usize];
        bytes
            .iter()
            .position(|&x| x == b)
            .map(|i| self.edge_targets[s + i])
    }

    /// Calls `f` with the payloads of every pattern `hay` starts (or ends)
    /// with; with `ascii_ci`, ASCII letters of `hay` are lower-cased first.
    pub fn walk(&self, hay: &[u8], ascii_ci: bool, mut f: impl FnMut(&T)) {
        self.emit(0, &mut f);
        let mut node = 0u32;
        let lower = |b: u8| if ascii_ci { b.to_ascii_lowercase() } else { b };
        if self.reversed {
            for &b in hay.iter().rev() {
                let b = lower(b);
                match self.child(node, b) {
                    Some(c) => node = c,
                    None => return,
                }
                self.emit(node, &mut f);
            }
        } else {
            for &b in hay {
                let b = lower(b);
                match self.child(node, b) {
                    Some(c) => node = c,
                    None => return,
                }
                self.emit(node, &mut f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_with_many_edges_find_every_child() {
        let mut s = AffixTrieBuilder::new(true);
        let names: Vec<String> = (b'a'..=b'z')
            .map(|c| format!("\\{}x.exe", c as char))
            .collect();
        for (i, name) in names.iter().enumerate() {
            s.insert(name.as_bytes(), i);
        }
        s.insert(b".exe", 100);
        let s = s.build().unwrap();
        assert!(!s.dense.is_empty());
        for (i, name) in names.iter().enumerate() {
            let mut got = Vec::new();
            s.walk(format!("c:\\tools{name}").as_bytes(), false, |v| {
                got.push(*v)
            });
            assert_eq!(got, [100, i], "{name}");
        }
        let mut got = Vec::new();
        s.walk(b"c:\\tools\\1x.exe", false, |v| got.push(*v));
        assert_eq!(got, [100]);
    }

    #[test]
    fn prefixes_and_suffixes() {
        let mut p = AffixTrieBuilder::new(false);
        p.insert(b"c:\\win", 1);
        p.insert(b"c:\\", 2);
        p.insert(b"d:", 3);
        let p = p.build().unwrap();
        let mut got = Vec::new();
        p.walk(b"C:\\Windows", true, |v| got.push(*v));
        assert_eq!(got, [2, 1]);
        let mut s = AffixTrieBuilder::new(true);
        s.insert(b"\\cmd.exe", 1);
        s.insert(b".exe", 2);
        let s = s.build().unwrap();
        let mut got = Vec::new();
        s.walk(b"c:\\x\\cmd.exe", false, |v| got.push(*v));
        assert_eq!(got, [2, 1]);
        got.clear();
        s.walk(b"cmd.ex", false, |v| got.push(*v));
        assert!(got.is_empty());
        let mut e = AffixTrieBuilder::new(false);
        e.insert(b"", 7);
        let e = e.build().unwrap();
        let mut got = Vec::new();
        e.walk(b"anything", false, |v| got.push(*v));
        assert_eq!(got, [7]);
    }
}
