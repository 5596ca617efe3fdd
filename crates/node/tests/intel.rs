//! Indicator matching with real components (SQLite, the tantivy event
//! index, the alert service): a retro-hunt over 30 days of stored events
//! finds the one planted match and raises exactly one retrospective alert,
//! once however often it runs; live matching raises one alert per hit for
//! the tenants that may use the indicator, and a redelivered batch raises
//! nothing new.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::SystemTime;

use nigehban_app::model::indicator::{IndicatorValue, ShareRecipient};
use nigehban_app::model::{
    DisplayName, Pap, Password, Role, Sector, Tenant, TenantKind, TenantName, Tlp, TokenName,
    Username,
};
use nigehban_app::{
    AlertListing, App, AppSettings, BootstrapOutcome, BootstrapRequest, Caller, NewApiToken,
    NewIndicator, NewTenant, PageRequest, StoreConfig,
};
use nigehban_bus::{Delivery, Record};
use nigehban_node::IndicatorMatching;
use nigehban_normalise::envelope::encode_event;
use nigehban_normalise::{Format, SourceHint, normalise};
use nigehban_search::{EventIndex, IndexOptions};
use time::OffsetDateTime;

struct Platform {
    app: App,
    _dir: tempfile::TempDir,
    admin: Caller,
    telecom: Tenant,
    operator: Tenant,
    bank: Tenant,
}

async fn platform() -> Platform {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(
        &StoreConfig::Sqlite {
            data_dir: dir.path().to_path_buf(),
        },
        AppSettings::insecure_fast_for_tests(),
    )
    .await
    .unwrap();
    let BootstrapOutcome::Created { root, .. } = app
        .bootstrap(BootstrapRequest {
            national_name: TenantName::parse("National CERT").unwrap(),
            admin_username: Username::parse("admin").unwrap(),
            admin_display_name: DisplayName::parse("Admin").unwrap(),
            admin_password: Some(Password::parse("national admin password").unwrap()),
        })
        .await
        .unwrap()
    else {
        panic!("not bootstrapped")
    };
    let admin = app
        .auth()
        .login("admin", "national admin password", None)
        .await
        .unwrap()
        .caller;
    let tenant = |parent, name: &str, kind| {
        let (app, admin) = (app.clone(), admin.clone());
        let name = TenantName::parse(name).unwrap();
        async move {
            app.tenants()
                .create(&admin, NewTenant { parent, name, kind })
                .await
                .unwrap()
        }
    };
    let telecom = tenant(
        root.id,
        "CERT Telecom",
        TenantKind::Sectoral {
            sector: Sector::Telecom,
        },
    )
    .await;
    let banking = tenant(
        root.id,
        "CERT Banking",
        TenantKind::Sectoral {
            sector: Sector::Banking,
        },
    )
    .await;
    let operator = tenant(
        telecom.id,
        "Mobile Operator",
        TenantKind::Organisation {
            critical_infrastructure: true,
        },
    )
    .await;
    let bank = tenant(
        banking.id,
        "First Bank",
        TenantKind::Organisation {
            critical_infrastructure: false,
        },
    )
    .await;
    Platform {
        app,
        _dir: dir,
        admin,
        telecom,
        operator,
        bank,
    }
}

impl Platform {
    async fn caller(&self, tenant: &Tenant, role: Role) -> Caller {
        let created = self
            .app
            .tokens()
            .create(
                &self.admin,
                NewApiToken {
                    name: TokenName::parse(&format!("{role} {}", tenant.id)).unwrap(),
                    tenant: Some(tenant.id),
                    role: Some(role),
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        self.app
            .tokens()
            .authenticate(created.secret.expose(), None)
            .await
            .unwrap()
    }
}

/// A Suricata DNS event of `tenant` asking for `name`, at `at`, as intake would put it on the bus.
fn dns_event(offset: u64, tenant: &Tenant, name: &str, at: OffsetDateTime) -> Delivery {
    dns_event_to(offset, tenant, name, "10.9.9.9", at)
}

/// [`dns_event`] sent to the resolver at `resolver`.
fn dns_event_to(
    offset: u64,
    tenant: &Tenant,
    name: &str,
    resolver: &str,
    at: OffsetDateTime,
) -> Delivery {
    let when = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let line = format!(
        r#"{{"timestamp":"{when}","event_type":"dns","src_ip":"10.1.2.3","src_port":5353,"dest_ip":"{resolver}","dest_port":53,"proto":"UDP","dns":{{"type":"query","id":{offset},"rrname":"{name}","rrtype":"A"}}}}"#
    );
    let mut hint = SourceHint::new(Format::Auto, at);
    hint.tenant_id = Some(tenant.id.to_string());
    let event = normalise(line.as_bytes(), &hint).unwrap();
    let id = uuid::Uuid::now_v7();
    Delivery {
        offset,
        appended_at: SystemTime::now(),
        delivery_count: 1,
        record: Record {
            tenant_id: tenant.id.to_string(),
            sensor_id: String::new(),
            received_at: SystemTime::now(),
            content_type: nigehban_normalise::envelope::EVENT_CONTENT_TYPE.to_owned(),
            payload: encode_event(id, &event).unwrap(),
            id: None,
        },
    }
}

async fn alerts_of(p: &Platform, tenant: &Tenant) -> Vec<nigehban_app::model::Alert> {
    let analyst = p.caller(tenant, Role::Analyst).await;
    p.app
        .alerts()
        .list(&analyst, AlertListing::default(), &PageRequest::first(1000))
        .await
        .unwrap()
        .items
}

fn indicator(name: &str, tlp: Tlp, shared_with: Vec<ShareRecipient>) -> NewIndicator {
    indicator_of("domain", name, tlp, shared_with)
}

fn indicator_of(
    kind: &str,
    value: &str,
    tlp: Tlp,
    shared_with: Vec<ShareRecipient>,
) -> NewIndicator {
    NewIndicator {
        tenant: None,
        value: IndicatorValue::parse(kind, value).unwrap(),
        title: "Planted C2".into(),
        description: String::new(),
        valid_from: None,
        valid_until: None,
        confidence: Some(90),
        source: "CERT Telecom malware lab".into(),
        tags: vec!["attack.t1071.004".into()],
        tlp,
        pap: Pap::Amber,
        shared_with,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retro_hunt_over_30_days_raises_the_planted_match_once() {
    let p = platform().await;
    let index_dir = tempfile::tempdir().unwrap();
    let index = EventIndex::open(index_dir.path(), IndexOptions::default()).unwrap();
    let now = OffsetDateTime::now_utc();
    // 30 days of the bank's DNS traffic, 24 queries a day, one of them for the C2.
    let mut deliveries = Vec::new();
    for hour in 0..(30 * 24) {
        let at = now - time::Duration::hours(hour) - time::Duration::minutes(5);
        let name = if hour == 12 * 24 + 3 {
            "c2.planted.example".to_owned()
        } else {
            format!("host{hour}.benign.example")
        };
        deliveries.push(dns_event(hour as u64, &p.bank, &name, at));
    }
    // The same name in the operator's traffic: the indicator is not shared with it.
    deliveries.push(dns_event(
        100_000,
        &p.operator,
        "c2.planted.example",
        now - time::Duration::days(3),
    ));
    index.add_deliveries(&deliveries).unwrap();
    index.commit().unwrap();

    let (matching, _) = IndicatorMatching::load(p.app.clone()).await.unwrap();
    let publisher = p.caller(&p.telecom, Role::IntelAnalyst).await;
    let made = p
        .app
        .intel()
        .create(
            &publisher,
            indicator(
                "c2.planted.example",
                Tlp::AmberStrict,
                vec![ShareRecipient::Tenant(p.bank.id)],
            ),
        )
        .await
        .unwrap();
    // The new indicator is what a refresh finds changed.
    let (_, changed) = matching.refresh(0).await.unwrap();
    assert_eq!(
        changed.iter().map(|u| u.indicator.id).collect::<Vec<_>>(),
        vec![made.id]
    );
    assert_eq!(matching.len(), 1);

    let first = matching.retro_hunt(&index, &changed[0], 30).await.unwrap();
    assert_eq!(first.hits, 1, "{first:?}");
    let again = matching.retro_hunt(&index, &changed[0], 30).await.unwrap();
    assert_eq!(again.hits, 0, "a second hunt raises nothing: {again:?}");

    let alerts = alerts_of(&p, &p.bank).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert!(alert.retrospective);
    assert_eq!(alert.rule.id, format!("nigehban:indicator:{}", made.id));
    assert_eq!(
        alert.matched_fields["indicator.source"],
        "CERT Telecom malware lab"
    );
    assert_eq!(
        alert.matched_fields["dns.question.name"],
        "c2.planted.example"
    );
    assert_eq!(alert.count, 1);
    assert!(alerts_of(&p, &p.operator).await.is_empty());
    // The sighting names the event, for the publisher.
    let sightings = p.app.intel().sightings(&publisher, made.id).await.unwrap();
    assert_eq!(sightings.len(), 1);
    assert_eq!(sightings[0].tenant, p.bank.id);

    // A hunt over 5 days does not reach the event 12 days back.
    let (_, _) = matching.refresh(0).await.unwrap();
    let short = matching.retro_hunt(&index, &changed[0], 5).await.unwrap();
    assert_eq!(short.events, 0, "{short:?}");
    index.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retro_hunt_finds_names_below_a_domain_and_addresses_inside_a_network() {
    let p = platform().await;
    let index_dir = tempfile::tempdir().unwrap();
    let index = EventIndex::open(index_dir.path(), IndexOptions::default()).unwrap();
    let now = OffsetDateTime::now_utc();
    let day = |n: i64| now - time::Duration::days(n);
    let events = [
        ("www.a.evil-zone.example", "10.9.9.9", day(2)),
        ("evil-zone.example", "10.9.9.9", day(4)),
        // A longer label ending the same way is not below the domain.
        ("notevil-zone.example", "10.9.9.9", day(5)),
        ("evil-zone.example.other", "10.9.9.9", day(6)),
        // A resolver inside the network, one just outside it.
        ("cdn.benign.example", "5.188.10.77", day(7)),
        ("cdn.benign.example", "5.188.11.1", day(8)),
    ];
    let deliveries: Vec<Delivery> = events
        .iter()
        .enumerate()
        .map(|(i, (name, resolver, at))| dns_event_to(i as u64, &p.bank, name, resolver, *at))
        .collect();
    index.add_deliveries(&deliveries).unwrap();
    index.commit().unwrap();

    let (matching, _) = IndicatorMatching::load(p.app.clone()).await.unwrap();
    let publisher = p.caller(&p.telecom, Role::IntelAnalyst).await;
    let mut made = Vec::new();
    for (kind, value) in [("domain", "evil-zone.example"), ("cidr", "5.188.10.0/24")] {
        let share = vec![ShareRecipient::Tenant(p.bank.id)];
        let indicator = indicator_of(kind, value, Tlp::AmberStrict, share);
        made.push(p.app.intel().create(&publisher, indicator).await.unwrap());
    }
    let (_, changed) = matching.refresh(0).await.unwrap();
    assert_eq!(changed.len(), 2);
    let hunted = |id| changed.iter().find(|u| u.indicator.id == id).unwrap();

    let domain = matching
        .retro_hunt(&index, hunted(made[0].id), 30)
        .await
        .unwrap();
    assert_eq!(
        domain.hits, 2,
        "the domain and the name below it: {domain:?}"
    );
    let network = matching
        .retro_hunt(&index, hunted(made[1].id), 30)
        .await
        .unwrap();
    assert_eq!(
        network.hits, 1,
        "the address inside the network: {network:?}"
    );

    // One sighting per matching event, naming it.
    let mut names: Vec<String> = Vec::new();
    for indicator in &made {
        for sighting in p
            .app
            .intel()
            .sightings(&publisher, indicator.id)
            .await
            .unwrap()
        {
            assert_eq!(sighting.tenant, p.bank.id);
            names.push(format!(
                "{} {}",
                indicator.value,
                sighting.event_id.unwrap_or_default()
            ));
        }
    }
    assert_eq!(names.len(), 3, "{names:?}");
    let alerts = alerts_of(&p, &p.bank).await;
    let mut matched: Vec<String> = alerts
        .iter()
        .flat_map(|a| {
            ["dns.question.name", "destination.ip"]
                .into_iter()
                .filter_map(|f| {
                    let value = a.matched_fields.get(f)?.as_str()?;
                    Some(format!("{f}={value}"))
                })
        })
        .collect();
    matched.sort();
    assert!(alerts.iter().all(|a| a.retrospective), "{alerts:?}");
    assert!(
        matched.contains(&"dns.question.name=www.a.evil-zone.example".to_owned())
            && matched.contains(&"destination.ip=5.188.10.77".to_owned()),
        "{matched:?}"
    );
    assert!(
        !matched
            .iter()
            .any(|m| m.contains("notevil") || m.contains(".other") || m.contains("5.188.11.1")),
        "{matched:?}"
    );
    index.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_matching_raises_one_alert_per_hit_for_those_who_may_use_it() {
    let p = platform().await;
    let publisher = p.caller(&p.telecom, Role::IntelAnalyst).await;
    let made = p
        .app
        .intel()
        .create(
            &publisher,
            indicator(
                "evil.example",
                Tlp::Amber,
                vec![ShareRecipient::Tenant(p.bank.id)],
            ),
        )
        .await
        .unwrap();
    let (matching, _) = IndicatorMatching::load(p.app.clone()).await.unwrap();
    let now = OffsetDateTime::now_utc();
    let batch = vec![
        // A name below the indicator's domain, in the bank (a recipient).
        dns_event(1, &p.bank, "www.cdn.evil.example", now),
        dns_event(2, &p.bank, "evil.example.org", now),
        // The operator is below the publisher: not in its custody, not a recipient.
        dns_event(3, &p.operator, "evil.example", now),
    ];
    let outcome = matching.match_deliveries(&batch).await.unwrap();
    assert_eq!((outcome.events, outcome.hits), (3, 1), "{outcome:?}");
    let alerts = alerts_of(&p, &p.bank).await;
    assert_eq!(alerts.len(), 1);
    assert!(!alerts[0].retrospective);
    assert_eq!(
        alerts[0].source,
        nigehban_app::model::AlertSource::IndicatorMatch
    );
    assert_eq!(
        alerts[0].matched_fields["indicator.id"],
        made.id.to_string()
    );
    assert!(alerts_of(&p, &p.operator).await.is_empty());
    // The bus redelivers the batch: nothing new.
    let again = matching.match_deliveries(&batch).await.unwrap();
    assert_eq!(again.hits, 0);
    let alerts = alerts_of(&p, &p.bank).await;
    assert_eq!((alerts.len(), alerts[0].count), (1, 1));
    // Withdrawn, it matches nothing after the next refresh.
    p.app
        .intel()
        .update(
            &publisher,
            made.id,
            nigehban_app::IndicatorUpdate {
                revoked: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    matching.refresh(0).await.unwrap();
    assert!(matching.is_empty());
    let later = vec![dns_event(
        4,
        &p.bank,
        "evil.example",
        now + time::Duration::seconds(1),
    )];
    assert_eq!(matching.match_deliveries(&later).await.unwrap().hits, 0);
}
