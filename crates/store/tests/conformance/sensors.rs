//! The sensor registry's part of the conformance suite: sensors, lookups,
//! ingest tokens and health events, on every backend.

use std::collections::BTreeSet;
use std::net::IpAddr;

use nigehban_model::{
    AuditEntry, CertificateFingerprint, ExpectedInterval, HostOsType, SecretHash, Sensor,
    SensorFormat, SensorHealthEvent, SensorHealthEventId, SensorHealthKind, SensorId,
    SensorTokenId, SensorUpdate, SensorUtcOffset, SubjectCommonName, TenantId, Timestamp,
};
use nigehban_store::{AuditQuery, PageRequest, SensorChange, SensorHealthScope, Store, StoreError};

use crate::harness::{TestBackend, ctx, net, register, sensor, sensor_token, tree};

/// A change made to a sensor before registering it.
type SensorEdit = fn(&mut Sensor);

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn fingerprint(byte: u8) -> CertificateFingerprint {
    CertificateFingerprint::from_bytes([byte; 32])
}

fn cn(text: &str) -> SubjectCommonName {
    SubjectCommonName::parse(text).unwrap()
}

async fn all_audit(store: &dyn Store) -> Vec<AuditEntry> {
    store
        .list_audit(AuditQuery::default(), &PageRequest::first(1000))
        .await
        .unwrap()
        .items
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, mentions: &str) {
    match result {
        Err(StoreError::Conflict(message)) => {
            assert!(
                message.contains(mentions),
                "{message:?} should mention {mentions:?}"
            );
        }
        other => panic!("expected a conflict about {mentions}, got {other:?}"),
    }
}

pub(crate) async fn sensors_round_trip_and_list_by_subtree(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let mut firewall = sensor(store, tree.operator.id, "Core firewall");
    firewall.source_addresses = vec![net("198.51.100.0/24"), net("2001:db8:7::/48")];
    firewall.tls_client_fingerprints = vec![fingerprint(1), fingerprint(2)];
    firewall.tls_subject_cn = Some(cn("fw1.operator.example"));
    firewall.host_os_type = Some(HostOsType::Linux);
    firewall.utc_offset = Some(SensorUtcOffset::parse("+05:00").unwrap());
    let token = register(store, &firewall, "ngs_firewall").await;
    assert_eq!(store.sensor(firewall.id).await.unwrap().unwrap(), firewall);
    assert!(store.sensor(SensorId::new()).await.unwrap().is_none());

    let mut quiet = sensor(store, tree.bank.id, "Branch agent");
    quiet.expected_interval = None;
    quiet.expected_formats = vec![];
    register(store, &quiet, "ngs_bank").await;
    let mut more = Vec::new();
    for n in 0..4 {
        let extra = sensor(store, tree.telecom.id, &format!("Relay {n}"));
        register(store, &extra, &format!("ngs_relay_{n}")).await;
        more.push(extra.id);
    }

    let telecom: BTreeSet<SensorId> = store
        .list_sensors(tree.telecom.id, &PageRequest::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| s.id)
        .collect();
    let mut expected: BTreeSet<SensorId> = more.iter().copied().collect();
    expected.insert(firewall.id);
    assert_eq!(
        telecom, expected,
        "the sector's sensors and its organisations'"
    );
    let banking = store
        .list_sensors(tree.banking.id, &PageRequest::default())
        .await
        .unwrap()
        .items;
    assert_eq!(banking, vec![quiet.clone()]);

    // Paging through everything sees each sensor once, in id order.
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let batch = store.list_sensors(tree.national.id, &page).await.unwrap();
        assert!(batch.items.len() <= 2);
        seen.extend(batch.items.iter().map(|s| s.id));
        match batch.next {
            Some(next) => page = PageRequest::after(next, 2),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    let active = store
        .list_active_sensors(&PageRequest::first(1000))
        .await
        .unwrap()
        .items;
    assert_eq!(active.len(), 6);
    let bad = store
        .list_sensors(
            tree.national.id,
            &PageRequest::after(nigehban_store::Cursor::encode("tenants", "x"), 2),
        )
        .await
        .unwrap_err();
    assert!(matches!(bad, StoreError::BadCursor(_)), "{bad}");

    // The registration is audited with the sensor and its token, never a secret.
    let entries = all_audit(store).await;
    let registered = entries
        .iter()
        .find(|e| e.record_id == firewall.id.to_string())
        .unwrap();
    assert_eq!(registered.action.as_str(), "sensor.register");
    assert_eq!(registered.tenant, tree.operator.id);
    let after = registered.after.as_ref().unwrap().value();
    assert_eq!(after["name"], "Core firewall");
    assert_eq!(after["ingest_token"]["id"], token.id.to_string());
    assert!(!registered.after.as_ref().unwrap().as_str().contains("ngs_"));

    // An unknown tenant is refused, and leaves nothing behind.
    let head = store.audit_head().await.unwrap();
    let orphan = sensor(store, TenantId::new(), "Orphan");
    let error = store
        .insert_sensor(
            &orphan,
            &sensor_token(&orphan),
            &SecretHash::of("x"),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::NotFound { kind: "tenant", .. }),
        "{error}"
    );
    assert_eq!(store.audit_head().await.unwrap(), head);
    assert!(store.verify_audit().await.unwrap().is_intact());
}

pub(crate) async fn sensor_collisions_are_refused_without_naming_the_owner(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let mut first = sensor(store, tree.operator.id, "Firewall");
    first.source_addresses = vec![net("203.0.113.0/24")];
    first.tls_client_fingerprints = vec![fingerprint(7)];
    first.tls_subject_cn = Some(cn("fw.example"));
    register(store, &first, "ngs_first").await;
    let head = store.audit_head().await.unwrap();

    let cases: [(SensorEdit, String); 3] = [
        (
            |s| s.source_addresses = vec![net("203.0.113.0/24")],
            "203.0.113.0/24".into(),
        ),
        (
            |s| s.tls_client_fingerprints = vec![fingerprint(7)],
            "07".repeat(32),
        ),
        (
            |s| s.tls_subject_cn = Some(cn("fw.example")),
            "fw.example".into(),
        ),
    ];
    for (edit, mentions) in cases {
        let mut other = sensor(store, tree.bank.id, "Bank firewall");
        edit(&mut other);
        let result = store
            .insert_sensor(
                &other,
                &sensor_token(&other),
                &SecretHash::of("ngs_x"),
                &ctx(),
            )
            .await;
        let Err(StoreError::Conflict(message)) = result else {
            panic!("expected a conflict about {mentions}, got {result:?}")
        };
        assert!(message.contains(&mentions), "{message:?}");
        for owner in [
            first.id.to_string(),
            tree.operator.id.to_string(),
            "Mobile Operator".to_owned(),
            "Firewall".to_owned(),
        ] {
            assert!(!message.contains(&owner), "{message:?} names the owner");
        }
        assert!(store.sensor(other.id).await.unwrap().is_none());
    }
    // The same name in another tenant is fine; in the same tenant it is not.
    let namesake = sensor(store, tree.bank.id, "Firewall");
    register(store, &namesake, "ngs_namesake").await;
    let twin = sensor(store, tree.operator.id, "Firewall");
    let result = store
        .insert_sensor(
            &twin,
            &sensor_token(&twin),
            &SecretHash::of("ngs_twin"),
            &ctx(),
        )
        .await;
    assert_conflict(result, "Firewall");
    // Refused registrations wrote nothing: one audit entry, the allowed one.
    assert_eq!(store.audit_head().await.unwrap().seq, head.seq + 1);
    assert_eq!(
        store.sensors_by_address(ip("203.0.113.9")).await.unwrap()[0]
            .0
            .id,
        first.id
    );

    // Within one tenant an overlapping but different network is not a
    // collision: the most specific wins.
    let mut narrower = sensor(store, tree.operator.id, "Operator host");
    narrower.source_addresses = vec![net("203.0.113.64/26")];
    register(store, &narrower, "ngs_narrow").await;

    // Updates collide the same way, with the sensor's own values allowed.
    let error = store
        .update_sensor(
            narrower.id,
            SensorChange::Update(SensorUpdate {
                tls_subject_cn: Some(Some(cn("fw.example"))),
                ..SensorUpdate::default()
            }),
            &ctx(),
        )
        .await;
    assert_conflict(error, "fw.example");
    store
        .update_sensor(
            first.id,
            SensorChange::Update(SensorUpdate {
                source_addresses: Some(vec![net("203.0.113.0/24"), net("192.0.2.1")]),
                tls_subject_cn: Some(Some(cn("fw.example"))),
                ..SensorUpdate::default()
            }),
            &ctx(),
        )
        .await
        .unwrap();

    // Deactivation frees the name, networks, fingerprints and common name.
    store
        .update_sensor(first.id, SensorChange::Deactivate, &ctx())
        .await
        .unwrap();
    let mut successor = sensor(store, tree.operator.id, "Firewall");
    successor.source_addresses = vec![net("203.0.113.0/24")];
    successor.tls_client_fingerprints = vec![fingerprint(7)];
    successor.tls_subject_cn = Some(cn("fw.example"));
    register(store, &successor, "ngs_successor").await;
    assert!(store.verify_audit().await.unwrap().is_intact());
}

pub(crate) async fn address_lookup_prefers_the_most_specific_network(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    // Nested networks are only allowed within one tenant (another tenant's
    // overlapping network is refused), so all three belong to the operator.
    let mut relay = sensor(store, tree.operator.id, "Operator relay");
    relay.source_addresses = vec![net("10.0.0.0/8"), net("2001:db8::/32")];
    register(store, &relay, "ngs_relay").await;
    let mut sector = sensor(store, tree.operator.id, "Site relay");
    // Two nested networks of one sensor: it is found once, by the narrower.
    sector.source_addresses = vec![net("10.1.0.0/16"), net("10.1.2.0/24")];
    register(store, &sector, "ngs_sector").await;
    let mut host = sensor(store, tree.operator.id, "Host");
    host.source_addresses = vec![net("10.1.2.7"), net("2001:db8:1::5")];
    register(store, &host, "ngs_host").await;

    let best = |text: &'static str| async move {
        store
            .sensors_by_address(ip(text))
            .await
            .unwrap()
            .into_iter()
            .map(|(s, n)| (s.id, n.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        best("10.1.2.7").await,
        vec![
            (host.id, "10.1.2.7".to_owned()),
            (sector.id, "10.1.2.0/24".to_owned()),
            (relay.id, "10.0.0.0/8".to_owned())
        ]
    );
    assert_eq!(best("::ffff:10.1.2.7").await[0].0, host.id, "IPv4-mapped");
    assert_eq!(
        best("10.1.9.9").await[0],
        (sector.id, "10.1.0.0/16".to_owned())
    );
    assert_eq!(
        best("10.200.0.1").await,
        vec![(relay.id, "10.0.0.0/8".to_owned())]
    );
    assert!(best("192.0.2.1").await.is_empty());
    assert!(best("11.0.0.0").await.is_empty());
    assert_eq!(
        best("10.255.255.255").await[0].0,
        relay.id,
        "the network's last address"
    );
    assert_eq!(best("2001:db8:1::5").await[0].0, host.id);
    assert_eq!(best("2001:db8:ffff::1").await[0].0, relay.id);
    assert!(best("2001:db9::1").await.is_empty());

    // Deactivated sensors drop out; the next most specific takes over.
    store
        .update_sensor(host.id, SensorChange::Deactivate, &ctx())
        .await
        .unwrap();
    assert_eq!(best("10.1.2.7").await[0].0, sector.id);
    // Moving networks moves the lookups.
    store
        .update_sensor(
            sector.id,
            SensorChange::Update(SensorUpdate {
                source_addresses: Some(vec![net("172.16.0.0/12")]),
                ..SensorUpdate::default()
            }),
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(best("10.1.2.7").await[0].0, relay.id);
    assert_eq!(best("172.20.1.1").await[0].0, sector.id);
}

pub(crate) async fn certificates_find_active_sensors(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let mut relay = sensor(store, tree.bank.id, "TLS relay");
    relay.tls_client_fingerprints = vec![fingerprint(0xab)];
    relay.tls_subject_cn = Some(cn("relay.bank.example"));
    register(store, &relay, "ngs_tls").await;
    let found = store
        .sensor_by_fingerprint(&fingerprint(0xab))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, relay);
    assert!(
        store
            .sensor_by_fingerprint(&fingerprint(0xac))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .sensor_by_subject_cn(&cn("relay.bank.example"))
            .await
            .unwrap()
            .unwrap()
            .id,
        relay.id
    );
    assert!(
        store
            .sensor_by_subject_cn(&cn("RELAY.bank.example"))
            .await
            .unwrap()
            .is_none(),
        "common names match exactly"
    );
    store
        .update_sensor(
            relay.id,
            SensorChange::Update(SensorUpdate {
                tls_client_fingerprints: Some(vec![fingerprint(0xcd)]),
                tls_subject_cn: Some(None),
                ..SensorUpdate::default()
            }),
            &ctx(),
        )
        .await
        .unwrap();
    assert!(
        store
            .sensor_by_fingerprint(&fingerprint(0xab))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .sensor_by_fingerprint(&fingerprint(0xcd))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .sensor_by_subject_cn(&cn("relay.bank.example"))
            .await
            .unwrap()
            .is_none()
    );
    store
        .update_sensor(relay.id, SensorChange::Deactivate, &ctx())
        .await
        .unwrap();
    assert!(
        store
            .sensor_by_fingerprint(&fingerprint(0xcd))
            .await
            .unwrap()
            .is_none()
    );
}

pub(crate) async fn sensor_changes_are_audited_with_before_and_after(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let mut agent = sensor(store, tree.bank.id, "Domain controller");
    agent.host_os_type = Some(HostOsType::Windows);
    let token = register(store, &agent, "ngs_agent").await;
    let context = ctx();
    let changed = store
        .update_sensor(
            agent.id,
            SensorChange::Update(SensorUpdate {
                expected_formats: Some(vec![SensorFormat::WindowsJson]),
                expected_interval: Some(Some(ExpectedInterval::from_secs(60).unwrap())),
                host_os_type: Some(None),
                ..SensorUpdate::default()
            }),
            &context,
        )
        .await
        .unwrap();
    assert_eq!(changed.expected_formats, vec![SensorFormat::WindowsJson]);
    assert_eq!(changed.host_os_type, None);
    assert_eq!(changed.updated_at, context.at);
    assert_eq!(changed.name, agent.name);
    assert_eq!(store.sensor(agent.id).await.unwrap().unwrap(), changed);

    let deactivated = store
        .update_sensor(agent.id, SensorChange::Deactivate, &ctx())
        .await
        .unwrap();
    assert!(!deactivated.active);
    let revoked = store.sensor_token(token.id).await.unwrap().unwrap();
    assert!(
        revoked.revoked_at.is_some(),
        "deactivation revokes the tokens"
    );
    let head = store.audit_head().await.unwrap();
    let again = store
        .update_sensor(agent.id, SensorChange::Deactivate, &ctx())
        .await
        .unwrap();
    assert_eq!(again, deactivated);
    assert_eq!(
        store.audit_head().await.unwrap(),
        head,
        "deactivating twice changes nothing"
    );
    let error = store
        .update_sensor(
            agent.id,
            SensorChange::Update(SensorUpdate {
                kind: Some(nigehban_model::SensorKind::Other),
                ..SensorUpdate::default()
            }),
            &ctx(),
        )
        .await;
    assert_conflict(error, "deactivated");
    let error = store
        .update_sensor(SensorId::new(), SensorChange::Deactivate, &ctx())
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::NotFound { kind: "sensor", .. }),
        "{error}"
    );
    assert!(
        store
            .list_active_sensors(&PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let entries: Vec<AuditEntry> = all_audit(store)
        .await
        .into_iter()
        .filter(|e| e.record_kind == "sensor")
        .collect();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["sensor.register", "sensor.update", "sensor.deactivate"]
    );
    let update = &entries[1];
    assert_eq!(update.tenant, tree.bank.id);
    assert_eq!(
        update.before.as_ref().unwrap().value()["host_os_type"],
        "windows"
    );
    assert!(update.after.as_ref().unwrap().value()["host_os_type"].is_null());
    assert_eq!(
        update.after.as_ref().unwrap().value()["expected_interval"],
        60
    );
    assert_eq!(entries[2].after.as_ref().unwrap().value()["active"], false);
    assert!(store.verify_audit().await.unwrap().is_intact());
}

pub(crate) async fn sensor_tokens_rotate_and_revoke(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let probe = sensor(store, tree.operator.id, "Zeek probe");
    let first = register(store, &probe, "ngs_first").await;
    assert_eq!(
        store
            .sensor_token_by_secret(&SecretHash::of("ngs_first"))
            .await
            .unwrap()
            .unwrap(),
        first
    );
    assert!(
        store
            .sensor_token_by_secret(&SecretHash::of("ngs_other"))
            .await
            .unwrap()
            .is_none()
    );
    let used = Timestamp::now();
    store
        .touch_sensor_token(first.id, used, Some("198.51.100.4".into()))
        .await
        .unwrap();
    let touched = store.sensor_token(first.id).await.unwrap().unwrap();
    assert_eq!(touched.last_used_at, Some(used));
    assert_eq!(touched.last_used_from.as_deref(), Some("198.51.100.4"));

    // Rotation with a grace period: the old token works until then.
    let context = ctx();
    let until = context.at.plus(std::time::Duration::from_secs(3600));
    let second = sensor_token(&probe);
    let ended = store
        .rotate_sensor_token(&second, &SecretHash::of("ngs_second"), until, &context)
        .await
        .unwrap();
    assert_eq!(ended.len(), 1);
    assert_eq!(
        (ended[0].id, ended[0].expires_at, ended[0].revoked_at),
        (first.id, Some(until), None)
    );
    let old = store.sensor_token(first.id).await.unwrap().unwrap();
    assert!(old.is_usable_at(context.at));
    assert!(!old.is_usable_at(until));
    assert_eq!(
        store
            .sensor_token_by_secret(&SecretHash::of("ngs_second"))
            .await
            .unwrap()
            .unwrap()
            .id,
        second.id
    );

    // Rotation without grace: every usable token is revoked at once.
    let context = ctx();
    let third = sensor_token(&probe);
    let ended = store
        .rotate_sensor_token(&third, &SecretHash::of("ngs_third"), context.at, &context)
        .await
        .unwrap();
    let ended_ids: BTreeSet<SensorTokenId> = ended.iter().map(|t| t.id).collect();
    assert_eq!(ended_ids, BTreeSet::from([first.id, second.id]));
    assert!(ended.iter().all(|t| t.revoked_at == Some(context.at)));
    let tokens = store.list_sensor_tokens(probe.id).await.unwrap();
    assert_eq!(
        tokens.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![first.id, second.id, third.id],
        "oldest first"
    );
    let usable: Vec<SensorTokenId> = tokens
        .iter()
        .filter(|t| t.is_usable_at(Timestamp::now()))
        .map(|t| t.id)
        .collect();
    assert_eq!(usable, vec![third.id]);

    // Revoking one token; twice keeps the first time.
    let revoke = ctx();
    let revoked = store.revoke_sensor_token(third.id, &revoke).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(revoke.at));
    let again = store.revoke_sensor_token(third.id, &ctx()).await.unwrap();
    assert_eq!(again.revoked_at, Some(revoke.at));
    let error = store
        .revoke_sensor_token(SensorTokenId::new(), &ctx())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");

    // A deactivated sensor's tokens cannot be rotated.
    store
        .update_sensor(probe.id, SensorChange::Deactivate, &ctx())
        .await
        .unwrap();
    let fourth = sensor_token(&probe);
    let error = store
        .rotate_sensor_token(
            &fourth,
            &SecretHash::of("ngs_fourth"),
            Timestamp::now(),
            &ctx(),
        )
        .await;
    assert_conflict(error, "deactivated");
    assert!(store.sensor_token(fourth.id).await.unwrap().is_none());

    let actions: Vec<String> = all_audit(store)
        .await
        .into_iter()
        .filter(|e| e.record_kind.starts_with("sensor"))
        .map(|e| e.action.as_str().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "sensor.register",
            "sensor.rotate_token",
            "sensor.rotate_token",
            "sensor.revoke_token",
            "sensor.deactivate"
        ]
    );
    assert!(store.verify_audit().await.unwrap().is_intact());
}

fn health(sensor: &Sensor, kind: SensorHealthKind, at: Timestamp) -> SensorHealthEvent {
    SensorHealthEvent {
        id: SensorHealthEventId::new(),
        instance: sensor.instance,
        sensor: sensor.id,
        tenant: sensor.tenant,
        kind,
        at,
    }
}

pub(crate) async fn health_events_are_append_only_and_newest_first(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let operator_fw = sensor(store, tree.operator.id, "Operator firewall");
    register(store, &operator_fw, "ngs_op").await;
    let bank_fw = sensor(store, tree.bank.id, "Bank firewall");
    register(store, &bank_fw, "ngs_bank").await;
    let head = store.audit_head().await.unwrap();

    let since = Timestamp::from_unix_micros(1_700_000_000_000_000);
    let silent_at = Timestamp::from_unix_micros(since.unix_micros() + 301_000_000);
    let back_at = Timestamp::from_unix_micros(since.unix_micros() + 900_000_000);
    let silent = health(
        &operator_fw,
        SensorHealthKind::Silent {
            since,
            expected_interval_seconds: 300,
        },
        silent_at,
    );
    store.insert_sensor_health(&silent).await.unwrap();
    let recovered = health(
        &operator_fw,
        SensorHealthKind::recovered(since, back_at),
        back_at,
    );
    store.insert_sensor_health(&recovered).await.unwrap();
    let bank_silent = health(
        &bank_fw,
        SensorHealthKind::Silent {
            since,
            expected_interval_seconds: 300,
        },
        silent_at,
    );
    store.insert_sensor_health(&bank_silent).await.unwrap();
    assert_eq!(
        store.audit_head().await.unwrap(),
        head,
        "health events are not written to the audit log"
    );

    let of_operator = store
        .list_sensor_health(
            SensorHealthScope::Sensor(operator_fw.id),
            &PageRequest::default(),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(
        of_operator,
        vec![recovered.clone(), silent.clone()],
        "newest first"
    );
    let first = store
        .list_sensor_health(
            SensorHealthScope::Subtree(tree.national.id),
            &PageRequest::first(2),
        )
        .await
        .unwrap();
    assert_eq!(first.items, vec![bank_silent.clone(), recovered.clone()]);
    let rest = store
        .list_sensor_health(
            SensorHealthScope::Subtree(tree.national.id),
            &PageRequest::after(first.next.unwrap(), 2),
        )
        .await
        .unwrap();
    assert_eq!(rest.items, vec![silent.clone()]);
    assert!(rest.next.is_none());
    let telecom = store
        .list_sensor_health(
            SensorHealthScope::Subtree(tree.telecom.id),
            &PageRequest::default(),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(telecom.len(), 2);
    assert!(telecom.iter().all(|e| e.tenant == tree.operator.id));
    assert!(
        store
            .list_sensor_health(
                SensorHealthScope::Subtree(tree.banking.id),
                &PageRequest::default()
            )
            .await
            .unwrap()
            .items
            .iter()
            .all(|e| e.sensor == bank_fw.id)
    );

    // Unknown sensors and tenants that are not the sensor's are refused.
    let mut unknown = health(&operator_fw, recovered.kind, back_at);
    unknown.sensor = SensorId::new();
    let error = store.insert_sensor_health(&unknown).await.unwrap_err();
    assert!(
        matches!(error, StoreError::NotFound { kind: "sensor", .. }),
        "{error}"
    );
    let mut misfiled = health(&operator_fw, recovered.kind, back_at);
    misfiled.tenant = tree.bank.id;
    assert_conflict(
        store.insert_sensor_health(&misfiled).await,
        "does not belong",
    );

    // Append-only even for someone with SQL access who does not drop the guards.
    assert!(
        !backend
            .try_raw("UPDATE sensor_health_events SET seconds = 1")
            .await
    );
    assert!(!backend.try_raw("DELETE FROM sensor_health_events").await);
    assert_eq!(
        store
            .list_sensor_health(
                SensorHealthScope::Subtree(tree.national.id),
                &PageRequest::default()
            )
            .await
            .unwrap()
            .items
            .len(),
        3
    );
}

/// Registers `networks` for a new sensor of `tenant`.
async fn try_register(
    store: &dyn Store,
    tenant: TenantId,
    name: &str,
    networks: &[&str],
) -> Result<Sensor, StoreError> {
    let mut new = sensor(store, tenant, name);
    new.source_addresses = networks.iter().map(|n| net(n)).collect();
    store
        .insert_sensor(
            &new,
            &sensor_token(&new),
            &SecretHash::of(&format!("ngs_{name}")),
            &ctx(),
        )
        .await
        .map(|()| new)
}

/// Asserts a refusal for overlapping another tenant's network that names the
/// network asked for and nothing of the tenant or sensor holding it.
#[track_caller]
fn assert_overlap_refused<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    network: &str,
    holder: &[String],
) -> String {
    let Err(StoreError::Conflict(message)) = result else {
        panic!("{network}: expected a conflict, got {result:?}")
    };
    assert!(message.contains(network), "{message:?}");
    assert!(message.contains("another tenant"), "{message:?}");
    for secret in holder {
        assert!(
            !message.contains(secret.as_str()),
            "{message:?} names {secret}"
        );
    }
    message
}

pub(crate) async fn source_networks_never_overlap_another_tenants(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    // A sibling of the operator under the same sectoral CERT.
    let sibling = crate::harness::tenant(
        store,
        Some(tree.telecom.id),
        "Second Operator",
        nigehban_model::TenantKind::Organisation {
            critical_infrastructure: false,
        },
    );
    store.insert_tenant(&sibling, &ctx()).await.unwrap();
    let held = [
        ("198.51.100.0/24", "198.51.100.0/25", "198.51.0.0/16"),
        ("2001:db8:40::/48", "2001:db8:40:1::/64", "2001:db8::/32"),
    ];
    let holder = try_register(store, tree.operator.id, "Holder", &[held[0].0, held[1].0])
        .await
        .unwrap();
    let secrets = vec![
        holder.id.to_string(),
        tree.operator.id.to_string(),
        "Mobile Operator".to_owned(),
        "Holder".to_owned(),
    ];
    let head = store.audit_head().await.unwrap();
    // Equal, longer (inside) and shorter (around), from a sibling, an
    // unrelated tenant, the parent and the national root: all refused with
    // one message whoever asks.
    let mut messages = BTreeSet::new();
    for (equal, inside, around) in held {
        for tenant in [sibling.id, tree.bank.id, tree.telecom.id, tree.national.id] {
            for network in [equal, inside, around] {
                let result = try_register(store, tenant, "Intruder", &[network]).await;
                let message = assert_overlap_refused(result, network, &secrets);
                messages.insert(message.replace(network, "<network>"));
            }
        }
    }
    assert_eq!(
        messages.len(),
        1,
        "one message whoever holds the range: {messages:?}"
    );
    assert_eq!(
        store.audit_head().await.unwrap().seq,
        head.seq,
        "nothing written"
    );

    // Updates are refused the same way, and leave the sensor as it was.
    let bystander = try_register(store, sibling.id, "Bystander", &["192.0.2.0/24"])
        .await
        .unwrap();
    for network in ["198.51.100.128/25", "198.0.0.0/8", "2001:db8:40::/48"] {
        let result = store
            .update_sensor(
                bystander.id,
                SensorChange::Update(SensorUpdate {
                    source_addresses: Some(vec![net("192.0.2.0/24"), net(network)]),
                    ..SensorUpdate::default()
                }),
                &ctx(),
            )
            .await;
        assert_overlap_refused(result, network, &secrets);
    }
    assert_eq!(
        store
            .sensor(bystander.id)
            .await
            .unwrap()
            .unwrap()
            .source_addresses,
        vec![net("192.0.2.0/24")]
    );
    assert_eq!(
        store
            .sensors_by_address(ip("198.51.100.200"))
            .await
            .unwrap()[0]
            .0
            .id,
        holder.id,
        "the holder still receives its syslog"
    );

    // The holder's own tenant may nest networks; adjacent ranges of others are fine.
    try_register(store, tree.operator.id, "Operator host", &["198.51.100.7"])
        .await
        .unwrap();
    try_register(
        store,
        tree.bank.id,
        "Neighbour",
        &["198.51.101.0/24", "2001:db8:41::/48"],
    )
    .await
    .unwrap();
    // Once the holder is deactivated its ranges are free for another tenant,
    // except what the holder's own tenant still holds.
    store
        .update_sensor(holder.id, SensorChange::Deactivate, &ctx())
        .await
        .unwrap();
    let result = try_register(store, sibling.id, "Successor", &["198.51.100.0/24"]).await;
    assert_overlap_refused(result, "198.51.100.0/24", &secrets);
    try_register(store, sibling.id, "Successor", &["2001:db8:40::/48"])
        .await
        .unwrap();
    assert!(store.verify_audit().await.unwrap().is_intact());
}

pub(crate) async fn concurrent_overlapping_registrations_admit_one_tenant(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    // Two tenants race for nested ranges; the store's transaction lets only one in.
    for round in 0..8u8 {
        let outer = format!("10.{round}.0.0/16");
        let inner = format!("10.{round}.3.0/24");
        let (name_a, name_b) = (format!("A{round}"), format!("B{round}"));
        let (outer, inner) = ([outer.as_str()], [inner.as_str()]);
        let (a, b) = tokio::join!(
            try_register(store, tree.operator.id, &name_a, &outer),
            try_register(store, tree.bank.id, &name_b, &inner),
        );
        assert!(
            a.is_ok() != b.is_ok(),
            "round {round}: exactly one may win, got {a:?} and {b:?}"
        );
    }
}
