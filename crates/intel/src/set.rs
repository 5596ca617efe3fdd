//! `IndicatorSet`: indicators compiled into immutable lookup structures.
//!
//! - exact values in one table per kind: addresses and file hashes (MD5,
//!   SHA-1, SHA-256, JA3) as fixed-width bytes inline in the slot of a
//!   [`FixedTable`] (an SHA-256 in 32 bytes, not 64 hex digits), so a
//!   lookup reads one slot; URLs, e-mail addresses and JA4 in a
//!   [`VarTable`] (hash in the slot, key in an arena, read on a hash match);
//! - IPv4 networks of /16 and longer in buckets by their first 16 bits,
//!   shorter ones and IPv6 networks in a binary prefix trie per family:
//!   every network on the path of an address contains it;
//! - domains in a [`VarTable`] keyed by the hash of each suffix, chained
//!   label by label from the right (`example`, then `evil.example`), with a
//!   mark on each suffix that has indicators below it: a name is looked up
//!   one hash probe per label from its last label, with no pointers to
//!   chase, and every indicator among its suffixes matches, so
//!   `evil.example` also matches `a.b.evil.example`.
//!
//! Each indicator is added with a `u32` payload (the caller's index of it;
//! `u32::MAX` is refused); a lookup yields the payloads of every indicator
//! the observed value matches. The set is never changed after
//! [`IndicatorSetBuilder::build`]: a change builds a new set, which the
//! [`crate::IntelHandle`] swaps in.

use std::net::IpAddr;

use nigehban_model::indicator::{IndicatorKind, IndicatorValue};

use crate::table::{DOMAIN_ROOT, FixedTable, VarEntries, VarTable, hash, label_hash};

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

/// The value of a hex digit, or 0xff.
const HEX: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// `2 × N` hex digits (either case) as `N` bytes; `None` otherwise.
#[inline]
fn hex_bytes<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    // One check at the end: an invalid digit sets the high bits of `bad`.
    let mut bad = 0u8;
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (high, low) = (HEX[usize::from(pair[0])], HEX[usize::from(pair[1])]);
        bad |= high | low;
        *byte = (high << 4) | (low & 0x0f);
    }
    (bad & 0xf0 == 0).then_some(out)
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

/// Domains: a [`VarTable`] keyed by the chained hash of each suffix
/// ([`label_hash`]); a suffix that is an indicator holds its payloads and
/// its text (to confirm a hit), one with indicators below it a mark.
#[derive(Debug, Default)]
struct DomainTable {
    table: VarTable,
}

/// Adds `domain` (labels checked by the caller) to `entries` under `payload`.
fn push_domain(entries: &mut VarEntries, domain: &str, payload: u32) -> bool {
    let bytes = domain.as_bytes();
    let mut h = DOMAIN_ROOT;
    let mut end = bytes.len();
    loop {
        let start = bytes[..end]
            .iter()
            .rposition(|&b| b == b'.')
            .map_or(0, |dot| dot + 1);
        h = label_hash(h, &bytes[start..end]);
        if start == 0 {
            return entries.push(h, bytes, payload);
        }
        entries.push_interior(h);
        end = start - 1;
    }
}

impl DomainTable {
    /// Calls `found` with the payloads of every indicator among the suffixes of `name`.
    #[inline]
    fn each(&self, name: &str, mut found: impl FnMut(u32)) {
        if self.table.is_empty() {
            return;
        }
        let bytes = name.as_bytes();
        let mut h = DOMAIN_ROOT;
        let mut end = bytes.len();
        loop {
            let start = bytes[..end]
                .iter()
                .rposition(|&b| b == b'.')
                .map_or(0, |dot| dot + 1);
            let label = &bytes[start..end];
            if label.is_empty() || label.len() > LABEL_MAX {
                return;
            }
            h = label_hash(h, label);
            let below = self.table.scan(h, &bytes[start..], &mut found);
            if !below || start == 0 {
                return;
            }
            end = start - 1;
        }
    }

    fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
    }
}

/// Collects indicators; [`IndicatorSetBuilder::build`] compiles them.
#[derive(Debug, Default)]
pub struct IndicatorSetBuilder {
    ipv4: Vec<([u8; 4], u32)>,
    ipv6: Vec<([u8; 16], u32)>,
    md5: Vec<([u8; 16], u32)>,
    sha1: Vec<([u8; 20], u32)>,
    sha256: Vec<([u8; 32], u32)>,
    ja3: Vec<([u8; 16], u32)>,
    url: VarEntries,
    email: VarEntries,
    ja4: VarEntries,
    domains: VarEntries,
    v4: Vec<(u128, u8, u32)>,
    v6: Vec<(u128, u8, u32)>,
    count: usize,
}

impl IndicatorSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an indicator value with the caller's `payload` for it (below `u32::MAX`).
    pub fn add(&mut self, value: &IndicatorValue, payload: u32) {
        if payload == u32::MAX {
            tracing::warn!("intel: payload u32::MAX cannot be matched; indicator left out");
            return;
        }
        let text = value.value();
        let kept = match value.kind() {
            IndicatorKind::Domain => {
                text.split('.')
                    .all(|l| !l.is_empty() && l.len() <= LABEL_MAX)
                    && push_domain(&mut self.domains, text, payload)
            }
            IndicatorKind::Cidr => match value.network() {
                Some((IpAddr::V4(v4), length)) => {
                    self.v4.push((u128::from(u32::from(v4)), length, payload));
                    true
                }
                Some((IpAddr::V6(v6), length)) => {
                    self.v6.push((u128::from(v6), length, payload));
                    true
                }
                None => false,
            },
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => match text.parse::<IpAddr>() {
                Ok(IpAddr::V4(v4)) => {
                    self.ipv4.push((v4.octets(), payload));
                    true
                }
                Ok(IpAddr::V6(v6)) => {
                    self.ipv6.push((v6.octets(), payload));
                    true
                }
                Err(_) => false,
            },
            IndicatorKind::Md5 => push_hex(&mut self.md5, text, payload),
            IndicatorKind::Sha1 => push_hex(&mut self.sha1, text, payload),
            IndicatorKind::Sha256 => push_hex(&mut self.sha256, text, payload),
            IndicatorKind::Ja3 => push_hex(&mut self.ja3, text, payload),
            IndicatorKind::Url => self
                .url
                .push(hash(text.as_bytes()), text.as_bytes(), payload),
            IndicatorKind::Email => {
                self.email
                    .push(hash(text.as_bytes()), text.as_bytes(), payload)
            }
            IndicatorKind::Ja4 => self
                .ja4
                .push(hash(text.as_bytes()), text.as_bytes(), payload),
        };
        if kept {
            self.count += 1;
        }
    }

    /// How many indicators were added.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether none was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Compiles the set (the tables in parallel, on as many threads as there are cores).
    pub fn build(self) -> IndicatorSet {
        let IndicatorSetBuilder {
            ipv4,
            ipv6,
            md5,
            sha1,
            sha256,
            ja3,
            url,
            email,
            ja4,
            domains,
            mut v4,
            mut v6,
            count,
        } = self;
        // One thread per large table (the OS shares them among the cores);
        // the small ones on this thread.
        std::thread::scope(|scope| {
            let sha256 = scope.spawn(|| FixedTable::build(sha256));
            let md5 = scope.spawn(|| FixedTable::build(md5));
            let sha1 = scope.spawn(|| FixedTable::build(sha1));
            let ipv4 = scope.spawn(|| FixedTable::build(ipv4));
            let domains = scope.spawn(|| DomainTable {
                table: VarTable::build(domains),
            });
            let url = scope.spawn(|| VarTable::build(url));
            let set = IndicatorSet {
                ipv4: FixedTable::default(),
                ipv6: FixedTable::build(ipv6),
                md5: FixedTable::default(),
                sha1: FixedTable::default(),
                sha256: FixedTable::default(),
                ja3: FixedTable::build(ja3),
                url: VarTable::default(),
                email: VarTable::build(email),
                ja4: VarTable::build(ja4),
                domains: DomainTable::default(),
                v4: V4Networks::build(std::mem::take(&mut v4)),
                v6: PrefixTrie::build(128, &mut v6),
                count,
            };
            IndicatorSet {
                sha256: joined(sha256),
                md5: joined(md5),
                sha1: joined(sha1),
                ipv4: joined(ipv4),
                domains: joined(domains),
                url: joined(url),
                ..set
            }
        })
    }
}
/// The result of a build thread; a panic in it (a bug: running out of memory aborts) goes on here.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Adds a hex value as bytes; false if it is not `2 × N` hex digits.
fn push_hex<const N: usize>(to: &mut Vec<([u8; N], u32)>, text: &str, payload: u32) -> bool {
    match hex_bytes::<N>(text) {
        Some(key) => {
            to.push((key, payload));
            true
        }
        None => false,
    }
}

/// Indicators compiled for lookups; immutable.
#[derive(Debug, Default)]
pub struct IndicatorSet {
    ipv4: FixedTable<4>,
    ipv6: FixedTable<16>,
    md5: FixedTable<16>,
    sha1: FixedTable<20>,
    sha256: FixedTable<32>,
    ja3: FixedTable<16>,
    url: VarTable,
    email: VarTable,
    ja4: VarTable,
    domains: DomainTable,
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
        self.ipv4.heap_bytes()
            + self.ipv6.heap_bytes()
            + self.md5.heap_bytes()
            + self.sha1.heap_bytes()
            + self.sha256.heap_bytes()
            + self.ja3.heap_bytes()
            + self.url.heap_bytes()
            + self.email.heap_bytes()
            + self.ja4.heap_bytes()
            + self.domains.heap_bytes()
            + self.v4.heap_bytes()
            + self.v6.heap_bytes()
    }

    /// Calls `found` with the payload of every indicator `observed` matches.
    #[inline]
    pub fn each_match(&self, observed: &Observed, mut found: impl FnMut(u32)) {
        match observed {
            Observed::Ip(IpAddr::V4(v4)) => {
                self.ipv4.each(&v4.octets(), &mut found);
                self.v4.each(u32::from(*v4), 32, &mut found);
            }
            Observed::Ip(IpAddr::V6(v6)) => {
                self.ipv6.each(&v6.octets(), &mut found);
                self.v6.each(128, u128::from(*v6), 128, &mut found);
            }
            Observed::Domain(name) => self.domains.each(name, found),
            Observed::Url(s) => self.url.each(s.as_bytes(), found),
            Observed::Email(s) => self.email.each(s.as_bytes(), found),
            Observed::Ja4(s) => self.ja4.each(s.as_bytes(), found),
            Observed::Md5(s) => {
                if let Some(key) = hex_bytes(s) {
                    self.md5.each(&key, found);
                }
            }
            Observed::Sha1(s) => {
                if let Some(key) = hex_bytes(s) {
                    self.sha1.each(&key, found);
                }
            }
            Observed::Sha256(s) => {
                if let Some(key) = hex_bytes(s) {
                    self.sha256.each(&key, found);
                }
            }
            Observed::Ja3(s) => {
                if let Some(key) = hex_bytes(s) {
                    self.ja3.each(&key, found);
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
