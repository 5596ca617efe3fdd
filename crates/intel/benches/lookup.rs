//! Indicator lookups at national scale: 10 million mixed indicators (file
//! hashes, addresses, CIDR networks, domains, URLs, e-mail addresses, JA3),
//! then lookups of event observables against them (half of them hits).
//!
//! Prints the load time (parsing and compiling every indicator; the
//! compile runs one thread per large table) and the bytes per indicator of
//! the compiled set. Lookups run on one thread; criterion reports lookups
//! per second of wall time, and the bench also prints lookups per second of
//! the thread's CPU time: the figure per core when other processes share
//! the machine. `NIGEHBAN_BENCH_INDICATORS` sets
//! the number of indicators (default 10,000,000). Run:
//!
//! ```text
//! cargo bench -p nigehban-intel --bench lookup
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nigehban_intel::{IndicatorSet, IndicatorSetBuilder, Observed};
use nigehban_model::indicator::IndicatorValue;

/// A small deterministic generator (xorshift64*), so every run builds the same set.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const TLDS: [&str; 8] = ["com", "net", "org", "pk", "example", "info", "ru", "io"];

/// The `i`-th indicator of the mix, as (kind, value) text, and its observed form.
fn indicator(rng: &mut Rng) -> (&'static str, String, Observed) {
    let r = rng.next();
    let pick = r % 100;
    let a = rng.next();
    let b = rng.next();
    let hex = |bytes: usize| {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(bytes * 2);
        let mut x = a ^ b.rotate_left(17);
        for i in 0..bytes {
            if i % 8 == 0 {
                x = x
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .wrapping_add(i as u64 + 1);
            }
            let byte = (x >> ((i % 8) * 8)) as u8;
            s.push(char::from(DIGITS[usize::from(byte >> 4)]));
            s.push(char::from(DIGITS[usize::from(byte & 15)]));
        }
        s
    };
    match pick {
        0..=29 => {
            let v = hex(32);
            ("sha256", v.clone(), Observed::Sha256(v))
        }
        30..=39 => {
            let v = hex(16);
            ("md5", v.clone(), Observed::Md5(v))
        }
        40..=49 => {
            let v = hex(20);
            ("sha1", v.clone(), Observed::Sha1(v))
        }
        50..=64 => {
            let ip = Ipv4Addr::from((a >> 32) as u32);
            ("ipv4", ip.to_string(), Observed::Ip(IpAddr::V4(ip)))
        }
        65..=69 => {
            let ip = Ipv6Addr::from((u128::from(a) << 64) | u128::from(b));
            ("ipv6", ip.to_string(), Observed::Ip(IpAddr::V6(ip)))
        }
        70..=74 => {
            let length = 16 + (b % 13) as u32;
            let ip = Ipv4Addr::from((a >> 32) as u32);
            let inside = Ipv4Addr::from(u32::from(ip) | ((b as u32) >> length));
            (
                "cidr",
                format!("{ip}/{length}"),
                Observed::Ip(IpAddr::V4(inside)),
            )
        }
        75..=89 => {
            let name = format!("x{:x}.{}", a % 100_000_000_000, TLDS[(b % 8) as usize]);
            (
                "domain",
                name.clone(),
                Observed::Domain(format!("www.{name}")),
            )
        }
        90..=97 => {
            let url = format!(
                "http://h{:x}.{}/p/{:x}",
                a % 1_000_000,
                TLDS[(b % 8) as usize],
                b
            );
            ("url", url.clone(), Observed::Url(url))
        }
        98 => {
            let email = format!("u{:x}@m{:x}.com", a % 1_000_000_000, b % 10_000);
            ("email", email.clone(), Observed::Email(email))
        }
        _ => {
            let v = hex(16);
            ("ja3", v.clone(), Observed::Ja3(v))
        }
    }
}

/// Builds the set of `count` indicators; returns it with probes (half hits, half misses).
fn load(count: usize) -> (IndicatorSet, Vec<Observed>) {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut probes = Vec::with_capacity(200_000);
    let mut parse_and_add = std::time::Duration::ZERO;
    let mut builder = IndicatorSetBuilder::new();
    for i in 0..count {
        // Making up the test values is not loading: only parsing and adding are timed.
        let (kind, text, observed) = indicator(&mut rng);
        let started = Instant::now();
        let value = IndicatorValue::parse(kind, &text).unwrap();
        builder.add(&value, i as u32);
        parse_and_add += started.elapsed();
        if i % (count / 100_000).max(1) == 0 && probes.len() < 100_000 {
            probes.push(observed);
        }
    }
    let (started, cpu) = (Instant::now(), cpu_time::ProcessTime::now());
    let set = builder.build();
    let (compile, compile_cpu) = (started.elapsed(), cpu.elapsed());
    // Misses: values from another stream, same mix.
    let mut other = Rng(0xdead_beef_0bad_f00d);
    while probes.len() < 200_000 {
        probes.push(indicator(&mut other).2);
    }
    // Interleave hits and misses.
    let (hits, misses) = probes.split_at(100_000);
    let probes: Vec<Observed> = hits
        .iter()
        .zip(misses)
        .flat_map(|(h, m)| [h.clone(), m.clone()])
        .collect();
    let bytes = set.heap_bytes();
    eprintln!(
        "loaded {} indicators in {:.1} s ({:.1} s parsing and adding, one thread; {:.1} s compiling, {:.1} s of CPU time on all threads); {} bytes, {:.1} bytes per indicator",
        set.len(),
        (parse_and_add + compile).as_secs_f64(),
        parse_and_add.as_secs_f64(),
        compile.as_secs_f64(),
        compile_cpu.as_secs_f64(),
        bytes,
        bytes as f64 / set.len() as f64
    );
    (set, probes)
}

/// One pass over `probes`; returns a sum of the payloads found.
fn pass(set: &IndicatorSet, probes: &[Observed]) -> u32 {
    let mut found = 0u32;
    for probe in probes {
        set.each_match(black_box(probe), |p| found = found.wrapping_add(p));
    }
    found
}

/// Lookups per second of wall time and of this thread's CPU time, over about 5 s.
fn per_cpu_second(set: &IndicatorSet, probes: &[Observed]) -> (f64, f64) {
    let (wall, cpu) = (Instant::now(), cpu_time::ThreadTime::now());
    let mut passes = 0u64;
    while wall.elapsed().as_secs() < 5 {
        black_box(pass(set, probes));
        passes += 1;
    }
    let lookups = (passes * probes.len() as u64) as f64;
    (
        lookups / wall.elapsed().as_secs_f64(),
        lookups / cpu.elapsed().as_secs_f64(),
    )
}

fn lookups(c: &mut Criterion) {
    let count = std::env::var("NIGEHBAN_BENCH_INDICATORS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let (set, probes) = load(count);
    let mut hits = 0usize;
    for probe in &probes {
        set.each_match(probe, |_| hits += 1);
    }
    eprintln!("{hits} matches among {} probes", probes.len());
    let (wall, cpu) = per_cpu_second(&set, &probes);
    eprintln!(
        "lookups: {wall:.0} per second of wall time, {cpu:.0} per second of the thread's CPU time"
    );
    let mut group = c.benchmark_group("intel");
    group.throughput(Throughput::Elements(probes.len() as u64));
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(15));
    group.bench_function("lookup_mixed_observables", |b| {
        b.iter(|| pass(&set, &probes))
    });
    group.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
