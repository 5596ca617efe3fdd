//! `IndicatorSet`: indicators compiled into immutable lookup structures.
//!
//! - exact values (addresses, URLs, e-mail addresses, file hashes, JA3,
//!   JA4) in one [`KeyTable`] per kind; hex values are kept as their bytes
//!   (an SHA-256 takes 32 bytes, not 64);
//! - CIDR networks in a binary prefix trie per address family, walked bit
//!   by bit from the most significant: every network on the path of an
//!   address contains it;
//! - domains in a reversed-label trie (`com` → `example` → `evil`) whose
//!   edges are one [`KeyTable`] keyed by (parent node, label): a name is
//!   walked from its last label, and every indicator on the path matches,
//!   so `evil.example` also matches `a.b.evil.example`.
//!
//! Each indicator is added with a `u32` payload (the caller's index of it);
//! a lookup yields the payloads of every indicator the observed value
//! matches. The set is never changed after [`IndicatorSetBuilder::build`]:
//! a change builds a new set, which the [`crate::IntelHandle`] swaps in.

use std::collections::HashMap;
use std::net::IpAddr;

use nigehban_model::indicator::{IndicatorKind, IndicatorValue};

use crate::table::KeyTable;

/// A value seen in an event, normalised as indicators are (see [`crate::observables`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Observed {
    /// An address (matched by address and CIDR indicators).
    Ip(IpAddr),
    /// A domain name, lower-case, without a trailing dot (matched by it and every parent domain).
    Domain(String),
    /// A URL as [`nigehban_model::indicator::normalise_url`] writes it.
    Url(String),
    /// An e-mail address, lower-case.
    Email(String),
    /// An MD5 hash (hex).
    Md5(String),
    /// A SHA-1 hash (hex).
    Sha1(String),
    /// A SHA-256 hash (hex).
    Sha256(String),
    /// A JA3 fingerprint (hex).
    Ja3(String),
    /// A JA4 fingerprint, lower-case.
    Ja4(String),
}

impl Observed {
    /// The value as text (addresses in their canonical form).
    pub fn text(&self) -> String {
        match self {
            Observed::Ip(ip) => ip.to_string(),
            Observed::Domain(s)
            | Observed::Url(s)
            | Observed::Email(s)
            | Observed::Md5(s)
            | Observed::Sha1(s)
            | Observed::Sha256(s)
            | Observed::Ja3(s)
            | Observed::Ja4(s) => s.clone(),
        }
    }

    /// The indicator kind of an exact match.
    pub fn kind(&self) -> IndicatorKind {
        match self {
            Observed::Ip(IpAddr::V4(_)) => IndicatorKind::Ipv4,
            Observed::Ip(IpAddr::V6(_)) => IndicatorKind::Ipv6,
            Observed::Domain(_) => IndicatorKind::Domain,
            Observed::Url(_) => IndicatorKind::Url,
            Observed::Email(_) => IndicatorKind::Email,
            Observed::Md5(_) => IndicatorKind::Md5,
            Observed::Sha1(_) => IndicatorKind::Sha1,
            Observed::Sha256(_) => IndicatorKind::Sha256,
            Observed::Ja3(_) => IndicatorKind::Ja3,
            Observed::Ja4(_) => IndicatorKind::Ja4,
        }
    }
}

/// Exact-value tables, by kind.
const EXACT: [IndicatorKind; 9] = [
    IndicatorKind::Ipv4,
    IndicatorKind::Ipv6,
    IndicatorKind::Url,
    IndicatorKind::Email,
    IndicatorKind::Md5,
    IndicatorKind::Sha1,
    IndicatorKind::Sha256,
    IndicatorKind::Ja3,
    IndicatorKind::Ja4,
];

fn exact_slot(kind: IndicatorKind) -> Option<usize> {
    EXACT.iter().position(|k| *k == kind)
}

/// Key width of the kinds kept as fixed-size bytes.
fn fixed_width(kind: IndicatorKind) -> Option<usize> {
    match kind {
        IndicatorKind::Ipv4 => Some(4),
        IndicatorKind::Ipv6 | IndicatorKind::Md5 | IndicatorKind::Ja3 => Some(16),
        IndicatorKind::Sha1 => Some(20),
        IndicatorKind::Sha256 => Some(32),
        _ => None,
    }
}

/// Hex text to bytes into `out`; `None` if it is not `out.len() * 2` hex digits.
fn hex_into<'a>(text: &str, out: &'a mut [u8]) -> Option<&'a [u8]> {
    hex::decode_to_slice(text, out).ok()?;
    Some(out)
}

/// The key an exact value is stored under.
fn exact_key(kind: IndicatorKind, text: &str, buffer: &mut [u8; 32]) -> Option<Box<[u8]>> {
    exact_key_ref(kind, text, buffer).map(Box::from)
}

fn exact_key_ref<'a>(
    kind: IndicatorKind,
    text: &'a str,
    buffer: &'a mut [u8; 32],
) -> Option<&'a [u8]> {
    match kind {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => match text.parse::<IpAddr>().ok()? {
            IpAddr::V4(v4) => {
                buffer[..4].copy_from_slice(&v4.octets());
                Some(&buffer[..4])
            }
            IpAddr::V6(v6) => {
                buffer[..16].copy_from_slice(&v6.octets());
                Some(&buffer[..16])
            }
        },
        IndicatorKind::Md5 | IndicatorKind::Ja3 => hex_into(text, &mut buffer[..16]),
        IndicatorKind::Sha1 => hex_into(text, &mut buffer[..20]),
        IndicatorKind::Sha256 => hex_into(text, &mut buffer[..32]),
        _ => Some(text.as_bytes()),
    }
}

/// A binary prefix trie of networks of one address family.
#[derive(Debug, Default)]
struct PrefixTrie {
    /// `[zero child, one child, payload list + 1]`; child 0 means none (the root is never a child).
    nodes: Vec<[u32; 3]>,
    /// Payload lists: (start, length) in `payloads`.
    lists: Vec<(u32, u32)>,
    payloads: Vec<u32>,
}

impl PrefixTrie {
    fn build(bits: u32, networks: &mut [(u128, u8, u32)]) -> Self {
        let mut trie = PrefixTrie::default();
        if networks.is_empty() {
            return trie;
        }
        trie.nodes.push([0, 0, 0]);
        // Sorted, so a node's payloads are contiguous.
        networks.sort_unstable();
        let mut current: Option<(u128, u8, u32)> = None;
        for &(network, length, payload) in networks.iter() {
            let mut node = 0usize;
            for depth in 0..u32::from(length) {
                let bit = ((network >> (bits - 1 - depth)) & 1) as usize;
                let next = trie.nodes[node][bit];
                node = if next == 0 {
                    trie.nodes.push([0, 0, 0]);
                    let created = trie.nodes.len() - 1;
                    trie.nodes[node][bit] = created as u32;
                    created
                } else {
                    next as usize
                };
            }
            let node_id = node as u32;
            match current {
                Some((n, l, _)) if n == network && l == length => {
                    if let Some(last) = trie.lists.last_mut() {
                        last.1 += 1;
                    }
                }
                _ => {
                    trie.lists.push((trie.payloads.len() as u32, 1));
                    trie.nodes[node][2] = trie.lists.len() as u32;
                }
            }
            current = Some((network, length, node_id));
            trie.payloads.push(payload);
        }
        trie.nodes.shrink_to_fit();
        trie
    }

    /// Calls `found` with the payloads of every network containing `address`
    /// whose prefix is at most `max_length` long.
    #[inline]
    fn each(&self, bits: u32, address: u128, max_length: u32, mut found: impl FnMut(u32)) {
        if self.nodes.is_empty() {
            return;
        }
        let mut node = 0usize;
        let mut depth = 0u32;
        loop {
            let [zero, one, list] = self.nodes[node];
            if list != 0 {
                let (start, len) = self.lists[list as usize - 1];
                for payload in &self.payloads[start as usize..(start + len) as usize] {
                    found(*payload);
                }
            }
            if depth >= max_length || depth >= bits {
                return;
            }
            let bit = (address >> (bits - 1 - depth)) & 1;
            let next = if bit == 0 { zero } else { one };
            if next == 0 {
                return;
            }
            node = next as usize;
            depth += 1;
        }
    }

    fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * 12 + self.lists.capacity() * 8 + self.payloads.capacity() * 4
    }
}

/// IPv4 networks: those of /16 and longer in buckets by their first 16
/// bits (the trie's first level, one stride of 16 bits, as a table), each
/// bucket sorted by network; shorter ones in a [`PrefixTrie`]. A lookup
/// reads one bucket, a few contiguous entries, instead of walking up to 32
/// nodes scattered in memory.
#[derive(Debug, Default)]
struct V4Networks {
    short: PrefixTrie,
    /// Bucket `b` is `entries[starts[b]..starts[b + 1]]`; empty when there are no long networks.
    starts: Vec<u32>,
    entries: Vec<V4Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct V4Entry {
    network: u32,
    length: u8,
    payload: u32,
}

impl V4Networks {
    fn build(networks: Vec<(u128, u8, u32)>) -> Self {
        let (mut short, long): (Vec<_>, Vec<_>) = networks
            .into_iter()
            .partition(|(_, length, _)| *length < 16);
        let mut entries: Vec<V4Entry> = long
            .into_iter()
            .map(|(network, length, payload)| V4Entry {
                network: network as u32,
                length,
                payload,
            })
            .collect();
        entries.sort_unstable();
        let mut starts = Vec::new();
        if !entries.is_empty() {
            starts = vec![0u32; (1 << 16) + 1];
            for entry in &entries {
                starts[(entry.network >> 16) as usize + 1] += 1;
            }
            for b in 0..(1 << 16) {
                starts[b + 1] += starts[b];
            }
        }
        entries.shrink_to_fit();
        V4Networks {
            short: PrefixTrie::build(32, &mut short),
            starts,
            entries,
        }
    }

    #[inline]
    fn each(&self, address: u32, max_length: u32, mut found: impl FnMut(u32)) {
        self.short
            .each(32, u128::from(address), max_length.min(15), &mut found);
        if self.starts.is_empty() || max_length < 16 {
            return;
        }
        let bucket = (address >> 16) as usize;
        let (start, end) = (
            self.starts[bucket] as usize,
            self.starts[bucket + 1] as usize,
        );
        for entry in &self.entries[start..end] {
            if entry.network > address {
                break;
            }
            let length = u32::from(entry.length);
            if length <= max_length && (address ^ entry.network) >> (32 - length) == 0 {
                found(entry.payload);
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.short.heap_bytes() + self.starts.capacity() * 4 + self.entries.capacity() * 12
    }
}

/// Longest label kept in a domain trie key (DNS labels are at most 63 bytes).
const LABEL_MAX: usize = 63;

/// The bit of an edge's child saying that domains end at the child.
const TERMINAL: u32 = 1 << 31;

/// A reversed-label trie of domains (node numbers below 2^31).
#[derive(Debug, Default)]
struct DomainTrie {
    /// (parent node, label) → child node.
    edges: KeyTable,
    /// Node → payloads of the domains ending there.
    terminals: KeyTable,
}

impl DomainTrie {
    fn build(domains: &[(String, u32)]) -> Self {
        let mut edges: HashMap<(u32, &str), u32> = HashMap::new();
        let mut terminals: Vec<(Box<[u8]>, u32)> = Vec::with_capacity(domains.len());
        let mut next_node = 1u32;
        let mut ends_domain = std::collections::HashSet::new();
        for (domain, payload) in domains {
            let mut node = 0u32;
            for label in domain.rsplit('.') {
                node = *edges.entry((node, label)).or_insert_with(|| {
                    next_node += 1;
                    next_node - 1
                });
            }
            ends_domain.insert(node);
            terminals.push((node.to_le_bytes().to_vec().into_boxed_slice(), *payload));
        }
        // An edge's child carries TERMINAL when domains end there, so a
        // walk looks up payloads only where there are some.
        let edge_entries: Vec<(Box<[u8]>, u32)> = edges
            .into_iter()
            .map(|((parent, label), child)| {
                let flagged = if ends_domain.contains(&child) {
                    child | TERMINAL
                } else {
                    child
                };
                (edge_key(parent, label).into_boxed_slice(), flagged)
            })
            .collect();
        DomainTrie {
            edges: KeyTable::build(None, &edge_entries),
            terminals: KeyTable::build(Some(4), &terminals),
        }
    }

    #[inline]
    fn each(&self, name: &str, mut found: impl FnMut(u32)) {
        let mut key = [0u8; 4 + LABEL_MAX];
        let mut node = 0u32;
        for label in name.rsplit('.') {
            if label.len() > LABEL_MAX || label.is_empty() {
                return;
            }
            key[..4].copy_from_slice(&node.to_le_bytes());
            key[4..4 + label.len()].copy_from_slice(label.as_bytes());
            let Some(child) = self.edges.first(&key[..4 + label.len()]) else {
                return;
            };
            node = child & !TERMINAL;
            if child & TERMINAL != 0 {
                self.terminals.each(&node.to_le_bytes(), &mut found);
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.edges.heap_bytes() + self.terminals.heap_bytes()
    }
}

fn edge_key(parent: u32, label: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + label.len());
    key.extend_from_slice(&parent.to_le_bytes());
    key.extend_from_slice(label.as_bytes());
    key
}

/// Collects indicators; [`IndicatorSetBuilder::build`] compiles them.
#[derive(Debug, Default)]
pub struct IndicatorSetBuilder {
    exact: [Vec<(Box<[u8]>, u32)>; 9],
    domains: Vec<(String, u32)>,
    v4: Vec<(u128, u8, u32)>,
    v6: Vec<(u128, u8, u32)>,
    count: usize,
}

impl IndicatorSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an indicator value with the caller's `payload` for it.
    pub fn add(&mut self, value: &IndicatorValue, payload: u32) {
        let kind = value.kind();
        let mut buffer = [0u8; 32];
        match kind {
            IndicatorKind::Domain => {
                if value
                    .value()
                    .split('.')
                    .all(|l| !l.is_empty() && l.len() <= LABEL_MAX)
                {
                    self.domains.push((value.value().to_owned(), payload));
                } else {
                    return;
                }
            }
            IndicatorKind::Cidr => match value.network() {
                Some((IpAddr::V4(v4), length)) => {
                    self.v4.push((u128::from(u32::from(v4)), length, payload));
                }
                Some((IpAddr::V6(v6), length)) => {
                    self.v6.push((u128::from(v6), length, payload));
                }
                None => return,
            },
            other => {
                let (Some(slot), Some(key)) = (
                    exact_slot(other),
                    exact_key(other, value.value(), &mut buffer),
                ) else {
                    return;
                };
                self.exact[slot].push((key, payload));
            }
        }
        self.count += 1;
    }

    /// How many indicators were added.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether none was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Compiles the set.
    pub fn build(mut self) -> IndicatorSet {
        let exact = std::array::from_fn(|slot| {
            KeyTable::build(
                fixed_width(EXACT[slot]),
                &std::mem::take(&mut self.exact[slot]),
            )
        });
        IndicatorSet {
            exact,
            domains: DomainTrie::build(&self.domains),
            v4: V4Networks::build(std::mem::take(&mut self.v4)),
            v6: PrefixTrie::build(128, &mut self.v6),
            count: self.count,
        }
    }
}

/// Indicators compiled for lookups; immutable.
#[derive(Debug, Default)]
pub struct IndicatorSet {
    exact: [KeyTable; 9],
    domains: DomainTrie,
    v4: V4Networks,
    v6: PrefixTrie,
    count: usize,
}

impl IndicatorSet {
    /// An empty set.
    pub fn empty() -> Self {
        Self::default()
    }

    /// How many indicators it holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of memory its structures hold.
    pub fn heap_bytes(&self) -> usize {
        self.exact.iter().map(KeyTable::heap_bytes).sum::<usize>()
            + self.domains.heap_bytes()
            + self.v4.heap_bytes()
            + self.v6.heap_bytes()
    }

    /// Calls `found` with the payload of every indicator `observed` matches.
    #[inline]
    pub fn each_match(&self, observed: &Observed, mut found: impl FnMut(u32)) {
        let mut buffer = [0u8; 32];
        match observed {
            Observed::Ip(IpAddr::V4(v4)) => {
                self.exact[0].each(&v4.octets(), &mut found);
                self.v4.each(u32::from(*v4), 32, &mut found);
            }
            Observed::Ip(IpAddr::V6(v6)) => {
                self.exact[1].each(&v6.octets(), &mut found);
                self.v6.each(128, u128::from(*v6), 128, &mut found);
            }
            Observed::Domain(name) => self.domains.each(name, &mut found),
            other => {
                let kind = other.kind();
                let text = match other {
                    Observed::Url(s)
                    | Observed::Email(s)
                    | Observed::Md5(s)
                    | Observed::Sha1(s)
                    | Observed::Sha256(s)
                    | Observed::Ja3(s)
                    | Observed::Ja4(s) => s.as_str(),
                    Observed::Ip(_) | Observed::Domain(_) => return,
                };
                if let (Some(slot), Some(key)) =
                    (exact_slot(kind), exact_key_ref(kind, text, &mut buffer))
                {
                    self.exact[slot].each(key, &mut found);
                }
            }
        }
    }

    /// The payloads of every indicator `observed` matches.
    pub fn matches(&self, observed: &Observed) -> Vec<u32> {
        let mut out = Vec::new();
        self.each_match(observed, |p| out.push(p));
        out
    }

    /// The payloads of the indicators that cover an indicator value: the
    /// same value, a CIDR network containing an address or a network, a
    /// parent domain of a domain (for warninglists at import).
    pub fn covering(&self, value: &IndicatorValue) -> Vec<u32> {
        let mut out = Vec::new();
        match value.kind() {
            IndicatorKind::Cidr => {
                if let Some((address, length)) = value.network() {
                    match address {
                        IpAddr::V4(v4) => self
                            .v4
                            .each(u32::from(v4), u32::from(length), |p| out.push(p)),
                        IpAddr::V6(v6) => {
                            self.v6
                                .each(128, u128::from(v6), u32::from(length), |p| out.push(p))
                        }
                    }
                }
            }
            _ => {
                if let Some(observed) = as_observed(value) {
                    self.each_match(&observed, |p| out.push(p));
                }
            }
        }
        out
    }
}

/// An indicator value as if it had been observed.
pub fn as_observed(value: &IndicatorValue) -> Option<Observed> {
    let text = value.value().to_owned();
    Some(match value.kind() {
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => Observed::Ip(text.parse().ok()?),
        IndicatorKind::Cidr => return None,
        IndicatorKind::Domain => Observed::Domain(text),
        IndicatorKind::Url => Observed::Url(text),
        IndicatorKind::Email => Observed::Email(text),
        IndicatorKind::Md5 => Observed::Md5(text),
        IndicatorKind::Sha1 => Observed::Sha1(text),
        IndicatorKind::Sha256 => Observed::Sha256(text),
        IndicatorKind::Ja3 => Observed::Ja3(text),
        IndicatorKind::Ja4 => Observed::Ja4(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[(&str, &str)]) -> IndicatorSet {
        let mut builder = IndicatorSetBuilder::new();
        for (i, (kind, value)) in values.iter().enumerate() {
            builder.add(&IndicatorValue::parse(kind, value).unwrap(), i as u32);
        }
        builder.build()
    }

    fn ip(text: &str) -> Observed {
        Observed::Ip(text.parse().unwrap())
    }

    #[test]
    fn addresses_match_exactly_and_by_every_containing_network() {
        let set = set(&[
            ("ip", "192.0.2.7"),
            ("cidr", "192.0.2.0/24"),
            ("cidr", "192.0.0.0/16"),
            ("cidr", "10.0.0.0/8"),
            ("ip", "2001:db8::1"),
            ("cidr", "2001:db8::/32"),
            ("cidr", "0.0.0.0/0"),
        ]);
        let mut hits = set.matches(&ip("192.0.2.7"));
        hits.sort_unstable();
        assert_eq!(hits, vec![0, 1, 2, 6]);
        assert_eq!(set.matches(&ip("192.0.3.1")), vec![6, 2]);
        assert_eq!(set.matches(&ip("11.0.0.1")), vec![6]);
        let mut v6 = set.matches(&ip("2001:db8::1"));
        v6.sort_unstable();
        assert_eq!(v6, vec![4, 5]);
        assert!(set.matches(&ip("2001:db9::1")).is_empty());
    }

    #[test]
    fn domains_match_themselves_and_every_name_below() {
        let set = set(&[("domain", "evil.example"), ("domain", "b.evil.example")]);
        assert_eq!(
            set.matches(&Observed::Domain("evil.example".into())),
            vec![0]
        );
        assert_eq!(
            set.matches(&Observed::Domain("a.b.evil.example".into())),
            vec![0, 1]
        );
        assert!(
            set.matches(&Observed::Domain("notevil.example".into()))
                .is_empty()
        );
        assert!(set.matches(&Observed::Domain("example".into())).is_empty());
    }

    #[test]
    fn hashes_urls_and_fingerprints_match_exactly_in_any_case() {
        let sha = "ab".repeat(32);
        let set = set(&[
            ("sha256", &sha),
            ("url", "http://evil.example/x"),
            ("ja3", &"0f".repeat(16)),
            ("email", "bad@evil.example"),
        ]);
        assert_eq!(set.matches(&Observed::Sha256(sha.to_uppercase())), vec![0]);
        assert_eq!(
            set.matches(&Observed::Url("http://evil.example/x".into())),
            vec![1]
        );
        assert!(
            set.matches(&Observed::Url("http://evil.example/y".into()))
                .is_empty()
        );
        assert_eq!(set.matches(&Observed::Ja3("0f".repeat(16))), vec![2]);
        assert_eq!(
            set.matches(&Observed::Email("bad@evil.example".into())),
            vec![3]
        );
        assert!(set.matches(&Observed::Md5("zz".into())).is_empty());
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn covering_finds_networks_around_a_network() {
        let set = set(&[("cidr", "10.0.0.0/8")]);
        let inside = IndicatorValue::parse("cidr", "10.1.0.0/16").unwrap();
        assert_eq!(set.covering(&inside), vec![0]);
        let wider = IndicatorValue::parse("cidr", "10.0.0.0/7").unwrap();
        assert!(set.covering(&wider).is_empty());
    }
}
