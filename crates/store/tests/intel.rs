//! The storage conformance suite for shared threat intelligence: every test
//! runs against SQLite and PostgreSQL (see `conformance.rs` for how
//! PostgreSQL is found).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "conformance/harness.rs"]
#[allow(dead_code)] // the sensor helpers serve the other suite
mod harness;

use harness::{TestBackend, ctx, tree};
use nigehban_model::indicator::{
    Indicator, IndicatorKind, IndicatorValue, ShareRecipient, Sighting, SightingOrigin,
};
use nigehban_model::{IndicatorId, Pap, SightingId, TenantId, Timestamp, Tlp};
use nigehban_store::{IndicatorQuery, SightingRecorded, Store, StoreError};

conformance_tests!(
    indicators_round_trip_and_changes_are_versioned_and_audited,
    a_tenant_holds_one_indicator_per_value,
    indicators_are_listed_by_kind_value_owner_and_page,
    sightings_are_recorded_once_per_indicator_tenant_and_event,
);

fn indicator(store: &dyn Store, tenant: TenantId, kind: &str, value: &str) -> Indicator {
    let now = Timestamp::now();
    Indicator {
        id: IndicatorId::new(),
        instance: store.instance(),
        tenant,
        value: IndicatorValue::parse(kind, value).unwrap(),
        title: format!("{kind} {value}"),
        description: "seen in a phishing wave".into(),
        valid_from: now,
        valid_until: None,
        confidence: 80,
        source: "partner feed".into(),
        tags: vec!["attack.t1566".into()],
        tlp: Tlp::Amber,
        pap: Pap::Green,
        shared_with: vec![ShareRecipient::Tenant(TenantId::new())],
        revoked: false,
        version: 0,
        created_at: now,
        updated_at: now,
        updated_by: None,
    }
}

async fn indicators_round_trip_and_changes_are_versioned_and_audited(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let revision = store.intel_revision().await.unwrap();
    let made = indicator(store, tree.operator.id, "domain", "Evil.Example");
    let stored = store.put_indicator(&made, 0, Some(&ctx())).await.unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(
        store.indicator(made.id).await.unwrap(),
        Some(stored.clone())
    );
    assert!(store.intel_revision().await.unwrap() > revision);

    let mut changed = stored.clone();
    changed.tlp = Tlp::Red;
    changed.confidence = 40;
    let changed = store
        .put_indicator(&changed, 1, Some(&ctx()))
        .await
        .unwrap();
    assert_eq!(changed.version, 2);
    assert_eq!(changed.created_at, stored.created_at);
    // A change made against the first version again is refused.
    let stale = store.put_indicator(&stored, 1, Some(&ctx())).await;
    assert!(matches!(stale, Err(StoreError::Stale { .. })), "{stale:?}");

    let gone = store.delete_indicator(made.id, &ctx()).await.unwrap();
    assert_eq!(gone.tlp, Tlp::Red);
    assert_eq!(store.indicator(made.id).await.unwrap(), None);
    let actions: Vec<String> = store
        .audit_of_record("indicator", &made.id.to_string())
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.action.to_string())
        .collect();
    assert_eq!(
        actions,
        ["indicator.create", "indicator.update", "indicator.delete"]
    );
}

async fn a_tenant_holds_one_indicator_per_value(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let first = indicator(store, tree.operator.id, "ip", "192.0.2.7");
    store.put_indicator(&first, 0, None).await.unwrap();
    let again = indicator(store, tree.operator.id, "ipv4", "192.0.2[.]7");
    let refused = store.put_indicator(&again, 0, None).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    // Another tenant may hold the same value.
    let elsewhere = indicator(store, tree.bank.id, "ip", "192.0.2.7");
    store.put_indicator(&elsewhere, 0, None).await.unwrap();
    let found = store
        .indicator_by_value(tree.operator.id, &first.value)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, first.id);
}

async fn indicators_are_listed_by_kind_value_owner_and_page(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let mut made = Vec::new();
    for (tenant, kind, value) in [
        (tree.operator.id, "domain", "a.example"),
        (tree.operator.id, "cidr", "198.51.100.0/24"),
        (tree.bank.id, "domain", "a.example"),
        (tree.bank.id, "sha256", &"ab".repeat(32)),
    ] {
        let indicator = indicator(store, tenant, kind, value);
        made.push(store.put_indicator(&indicator, 0, None).await.unwrap());
    }
    let mut revoked = made[3].clone();
    revoked.revoked = true;
    store.put_indicator(&revoked, 1, None).await.unwrap();

    let ids = |list: Vec<Indicator>| list.into_iter().map(|i| i.id).collect::<Vec<_>>();
    let all = IndicatorQuery {
        limit: 100,
        ..IndicatorQuery::default()
    };
    let everything = ids(store.list_indicators(&all).await.unwrap());
    assert_eq!(everything, made.iter().map(|i| i.id).collect::<Vec<_>>());
    let domains = IndicatorQuery {
        kind: Some(IndicatorKind::Domain),
        value: Some("a.example".into()),
        ..all.clone()
    };
    assert_eq!(
        ids(store.list_indicators(&domains).await.unwrap()),
        vec![made[0].id, made[2].id]
    );
    let banks = IndicatorQuery {
        tenant: Some(tree.bank.id),
        active_only: true,
        ..all.clone()
    };
    assert_eq!(
        ids(store.list_indicators(&banks).await.unwrap()),
        vec![made[2].id]
    );
    let page = IndicatorQuery {
        after: Some(made[0].id),
        limit: 2,
        ..all
    };
    assert_eq!(
        ids(store.list_indicators(&page).await.unwrap()),
        vec![made[1].id, made[2].id]
    );
}

async fn sightings_are_recorded_once_per_indicator_tenant_and_event(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let seen = indicator(store, tree.operator.id, "url", "http://evil.example/x");
    store.put_indicator(&seen, 0, None).await.unwrap();
    let sighting = |tenant: TenantId, event: Option<&str>, at: i64| Sighting {
        id: SightingId::new(),
        indicator: seen.id,
        tenant,
        seen_at: Timestamp::from_unix_micros(at),
        count: 1,
        sensor: None,
        event_id: event.map(str::to_owned),
        note: "proxy".into(),
        origin: SightingOrigin::Live,
        reported_by: None,
        recorded_at: Timestamp::now(),
    };
    let first = sighting(tree.bank.id, Some("event-1"), 2);
    assert_eq!(
        store.record_sighting(&first).await.unwrap(),
        SightingRecorded::New
    );
    assert_eq!(
        store
            .record_sighting(&sighting(tree.bank.id, Some("event-1"), 3))
            .await
            .unwrap(),
        SightingRecorded::Duplicate
    );
    let other = sighting(tree.operator.id, Some("event-1"), 1);
    assert_eq!(
        store.record_sighting(&other).await.unwrap(),
        SightingRecorded::New
    );
    // Reports without an event are each kept.
    let reported = sighting(tree.bank.id, None, 5);
    store.record_sighting(&reported).await.unwrap();
    store
        .record_sighting(&sighting(tree.bank.id, None, 6))
        .await
        .unwrap();
    let kept = store.sightings(seen.id).await.unwrap();
    assert_eq!(
        kept.iter()
            .map(|s| s.seen_at.unix_micros())
            .collect::<Vec<_>>(),
        vec![1, 2, 5, 6]
    );
    assert_eq!(kept[1], first);
}
