//! Raising alerts: batches of signals through `app.alerts().raise` on the
//! embedded store (SQLite, `synchronous=FULL`: every batch is one durable
//! commit), signals/s.
//!
//! Run: `cargo bench -p nigehban-app --bench raise`.
//!
//! - `fold_into_one`: a burst of one rule on one host (brute force): every
//!   signal of the batch folds into the same alert.
//! - `fold_into_100`: 100 hosts, 10 signals each per batch of 1,000.
//! - `open_each`: every signal a different host, so each opens an alert
//!   (the worst case: one alert row and one feed entry per signal).
//! - `redelivered`: the bus delivers a batch raised before: every signal is
//!   recognised as a duplicate.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use nigehban_app::model::{
    AlertRule, AlertSignal, DisplayName, Password, Severity, TenantId, TenantName, Timestamp,
    Username,
};
use nigehban_app::{App, AppSettings, BootstrapOutcome, BootstrapRequest, StoreConfig};

const BATCH: usize = 1000;

/// Names the host of the `i`th signal of a batch.
type HostOf = fn(usize) -> String;

static NEXT_EVENT: AtomicU64 = AtomicU64::new(0);

fn platform(runtime: &tokio::runtime::Runtime) -> (App, TenantId, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        let app = App::open(
            &StoreConfig::Sqlite {
                data_dir: dir.path().to_path_buf(),
            },
            AppSettings::insecure_fast_for_tests(),
        )
        .await
        .unwrap();
        let outcome = app
            .bootstrap(BootstrapRequest {
                national_name: TenantName::parse("National CERT").unwrap(),
                admin_username: Username::parse("admin").unwrap(),
                admin_display_name: DisplayName::parse("Administrator").unwrap(),
                admin_password: Some(Password::parse("bench password 123").unwrap()),
            })
            .await
            .unwrap();
        let BootstrapOutcome::Created { root, .. } = outcome else {
            panic!("fresh store was already bootstrapped")
        };
        (app, root.id, dir)
    })
}

/// A batch of signals with fresh event ids; `host_of(i)` names each one's host.
fn batch(tenant: TenantId, host_of: impl Fn(usize) -> String) -> Vec<AlertSignal> {
    let mut rule = AlertRule::new(
        "5af54681-df95-4c26-854f-2565e13cfab0",
        "Failed logon from a remote address",
        Severity::Medium,
    );
    rule.author = Some("Nigehban".into());
    rule.tags = vec!["attack.credential_access".into(), "attack.t1110.001".into()];
    let now = Timestamp::now();
    (0..BATCH)
        .map(|i| {
            let event = NEXT_EVENT.fetch_add(1, Ordering::Relaxed);
            let mut signal = AlertSignal::new(
                tenant,
                rule.clone(),
                format!("0190b5c6-{:04x}-7000-8000-{event:012x}", i % 0x10000),
                now,
            );
            signal.host = Some(host_of(i));
            signal.user = Some("administrator".into());
            signal.matched_fields.insert("EventID".into(), 4625.into());
            signal.matched_fields.insert("LogonType".into(), 3.into());
            signal
        })
        .collect()
}

fn raise(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, tenant, _dir) = platform(&runtime);
    let mut group = c.benchmark_group("raise");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(30);
    let cases: [(&str, HostOf); 3] = [
        ("fold_into_one", |_| "dc-01".to_owned()),
        ("fold_into_100", |i| format!("ws-{:03}", i % 100)),
        ("open_each", |i| {
            format!("host-{}-{i}", NEXT_EVENT.load(Ordering::Relaxed))
        }),
    ];
    for (name, host_of) in cases {
        group.bench_function(format!("{name}_batch_of_1000"), |b| {
            b.iter_batched(
                || batch(tenant, host_of),
                |signals| {
                    let outcome = runtime.block_on(app.alerts().raise(signals)).unwrap();
                    assert!(outcome.rejected.is_empty());
                    black_box(outcome)
                },
                BatchSize::PerIteration,
            );
        });
    }
    let already = batch(tenant, |i| format!("ws-{:03}", i % 100));
    runtime
        .block_on(app.alerts().raise(already.clone()))
        .unwrap();
    group.bench_function("redelivered_batch_of_1000", |b| {
        b.iter_batched(
            || already.clone(),
            |signals| {
                let outcome = runtime.block_on(app.alerts().raise(signals)).unwrap();
                assert_eq!(outcome.duplicates, BATCH as u64);
                black_box(outcome)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, raise);
criterion_main!(benches);
