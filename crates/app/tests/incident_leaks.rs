//! Property: over random tenant trees and random incident histories (opened
//! anywhere, reports triaged in from below, escalated up, tasks given down,
//! any TLP), every caller lists and fetches exactly the incidents, tasks and
//! reports the rules of PRODUCT.md give it — computed here from the tree,
//! independently of the app's policy: custody (the owner and above) and
//! earlier owners see everything; the reporting and tasked tenants (and
//! those above them) see the incident as far as its TLP lets it travel;
//! nobody else learns it exists. Task inboxes and report lists hold exactly
//! the caller's subtree's. Alerts raised in the owner's subtree are linked
//! to the incident and name it to whoever sees them; an alert from outside
//! the owner's subtree is "not found" to the owner. Every incident shares
//! an address, so "similar incidents" of each incident a caller sees are
//! exactly the other incidents whose details it sees — never one it may not
//! see. Errors fail the test. On SQLite, and on
//! PostgreSQL (fewer cases: each needs a database of its own) when
//! `NIGEHBAN_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/world.rs"]
mod world;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use nigehban_app::incidents::Triage;
use nigehban_app::model::{
    AlertId, AlertRule, AlertSignal, DisplayName, IncidentSeverity, Pap, Password, Role, RsitClass,
    Sector, Severity, TaskKind, TenantId, TenantKind, TenantName, Timestamp, Tlp, Username,
};
use nigehban_app::policy::IncidentView;
use nigehban_app::{
    App, AppError, AppSettings, BootstrapOutcome, BootstrapRequest, Caller, IncidentListing,
    IncidentRef, ManualClock, NewTask, NewTenant, OpenIncident, PageRequest, StoreConfig,
};
use proptest::prelude::*;

/// One incident's random history, as indices into the tree (mapped to valid choices when run).
#[derive(Debug, Clone)]
struct History {
    owner: prop::sample::Index,
    reports: Vec<prop::sample::Index>,
    escalations: usize,
    tasks: Vec<prop::sample::Index>,
    /// Alerts raised below the owner (after escalation) and linked to it.
    alerts: Vec<prop::sample::Index>,
    tlp: Tlp,
}

fn history() -> impl Strategy<Value = History> {
    (
        any::<prop::sample::Index>(),
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        0usize..3,
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        prop::sample::select(Tlp::ALL.to_vec()),
    )
        .prop_map(
            |(owner, reports, escalations, tasks, alerts, tlp)| History {
                owner,
                reports,
                escalations,
                tasks,
                alerts,
                tlp,
            },
        )
}

/// A tree: node i + 1 hangs under one of nodes 0..=i (node 0 is the national CERT);
/// nodes directly under the root may be sectoral CERTs.
fn tree() -> impl Strategy<Value = Vec<(usize, bool)>> {
    prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 2..9).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (parent, sectoral))| {
                let parent = parent.index(i + 1);
                (parent, sectoral && parent == 0)
            })
            .collect()
    })
}

/// Tenant index → parent index.
fn parents(nodes: &[(usize, bool)]) -> Vec<Option<usize>> {
    std::iter::once(None)
        .chain(nodes.iter().map(|(p, _)| Some(*p)))
        .collect()
}

fn is_at_or_above(parents: &[Option<usize>], above: usize, mut node: usize) -> bool {
    loop {
        if node == above {
            return true;
        }
        match parents[node] {
            Some(parent) => node = parent,
            None => return false,
        }
    }
}

fn subtree(parents: &[Option<usize>], root: usize) -> Vec<usize> {
    (0..parents.len())
        .filter(|n| is_at_or_above(parents, root, *n))
        .collect()
}

/// What was built: per incident its readable id, TLP and tenant indices.
#[derive(Debug)]
struct Built {
    owner: usize,
    former: Vec<usize>,
    participants: Vec<usize>,
    tasked: Vec<usize>,
    /// The tenant of each report triaged into it (one entry per report).
    reporters: Vec<usize>,
    tlp: Tlp,
    readable: String,
    id: nigehban_app::model::IncidentId,
    /// The alerts linked to it, with their tenants.
    alerts: Vec<(AlertId, usize)>,
}

/// The address every incident of the test mentions, so each is "similar" to every other.
const SHARED_ADDRESS: &str = "192.0.2.1";

/// Raises one alert in `tenant` that matched [`SHARED_ADDRESS`] (a rule of
/// its own, so it never folds into another).
async fn raise_alert(app: &App, tenant: TenantId) -> AlertId {
    let unique = AlertId::new();
    let mut signal = AlertSignal::new(
        tenant,
        AlertRule::new(format!("rule-{unique}"), "Beacon", Severity::High),
        format!("event-{unique}"),
        Timestamp::now(),
    );
    signal
        .matched_fields
        .insert("DestinationIp".into(), SHARED_ADDRESS.into());
    app.alerts().raise(vec![signal]).await.unwrap().alerts[0].unwrap()
}

async fn check(app: App, nodes: Vec<(usize, bool)>, histories: Vec<History>) {
    let BootstrapOutcome::Created { root, .. } = app
        .bootstrap(BootstrapRequest {
            national_name: TenantName::parse("National CERT").unwrap(),
            admin_username: Username::parse("admin").unwrap(),
            admin_display_name: DisplayName::parse("Admin").unwrap(),
            admin_password: Some(Password::parse(world::ADMIN_PASSWORD).unwrap()),
        })
        .await
        .unwrap()
    else {
        panic!("fresh platform")
    };
    let admin = app.operator(None).await.unwrap();
    let parents = parents(&nodes);
    let mut tenants: Vec<TenantId> = vec![root.id];
    for (i, (parent, sectoral)) in nodes.iter().enumerate() {
        let kind = if *sectoral {
            TenantKind::Sectoral {
                sector: Sector::ALL[i % Sector::ALL.len()],
            }
        } else {
            TenantKind::Organisation {
                critical_infrastructure: false,
            }
        };
        let created = app
            .tenants()
            .create(
                &admin,
                NewTenant {
                    parent: tenants[*parent],
                    name: TenantName::parse(&format!("tenant {}", i + 1)).unwrap(),
                    kind,
                },
            )
            .await
            .unwrap();
        tenants.push(created.id);
    }
    let mut callers: BTreeMap<(usize, Role), Caller> = BTreeMap::new();
    for (index, tenant) in tenants.iter().enumerate() {
        for role in [
            Role::Analyst,
            Role::ConstituentReporter,
            Role::CouncilMember,
        ] {
            // (An analyst in every tenant links alerts and reads them.)
            callers.insert(
                (index, role),
                world::caller(&app, &admin, *tenant, role).await,
            );
        }
    }
    let analyst = |n: usize| callers[&(n, Role::Analyst)].clone();
    let incidents = app.incidents();
    let mut built = Vec::new();
    for history in &histories {
        let mut owner = history.owner.index(tenants.len());
        let opened = incidents
            .open(
                &analyst(owner),
                OpenIncident {
                    owner: None,
                    title: format!("incident at tenant {owner}"),
                    description: format!("beacons to {SHARED_ADDRESS}"),
                    classification: RsitClass::parse("other", "undetermined").unwrap(),
                    severity: IncidentSeverity::Low,
                    tlp: history.tlp,
                    pap: Pap::Green,
                    aware_at: None,
                    affected_tenants: Vec::new(),
                    observables: Vec::new(),
                    regulatory_profile: None,
                    alerts: Vec::new(),
                },
            )
            .await
            .unwrap();
        let reference = IncidentRef::Id(opened.id());
        let mut record = Built {
            owner,
            tlp: history.tlp,
            readable: opened.readable_id().to_string(),
            former: Vec::new(),
            participants: Vec::new(),
            tasked: Vec::new(),
            reporters: Vec::new(),
            id: opened.id(),
            alerts: Vec::new(),
        };
        // Reports from organisations strictly below the owner, triaged into it.
        let below: Vec<usize> = subtree(&parents, owner)
            .into_iter()
            .filter(|n| *n != owner)
            .collect();
        for pick in &history.reports {
            if below.is_empty() {
                break;
            }
            let reporter = below[pick.index(below.len())];
            let report = incidents
                .file_report(
                    &callers[&(reporter, Role::ConstituentReporter)],
                    nigehban_app::incidents::NewReport {
                        tenant: None,
                        title: format!("report from {reporter}"),
                        description: String::new(),
                        noticed_at: app.clock().now(),
                        occurred_at: None,
                        affected_systems: Vec::new(),
                        observables: Vec::new(),
                        tlp: Tlp::Clear,
                    },
                )
                .await
                .unwrap();
            incidents
                .triage_report(
                    &analyst(owner),
                    report.id,
                    Triage::Existing(reference.clone()),
                )
                .await
                .unwrap();
            record.reporters.push(reporter);
            if !record.participants.contains(&reporter) {
                record.participants.push(reporter);
            }
        }
        for _ in 0..history.escalations {
            let Some(parent) = parents[owner] else { break };
            incidents
                .escalate(&analyst(owner), &reference, None)
                .await
                .unwrap();
            record.former.push(owner);
            owner = parent;
        }
        record.owner = owner;
        let reachable = subtree(&parents, owner);
        for pick in &history.tasks {
            let assignee = reachable[pick.index(reachable.len())];
            incidents
                .task(
                    &analyst(owner),
                    &reference,
                    NewTask {
                        assignee_tenant: tenants[assignee],
                        assignee_user: None,
                        kind: TaskKind::Investigation,
                        title: format!("task for {assignee}"),
                        description: String::new(),
                        due_at: None,
                    },
                )
                .await
                .unwrap();
            record.tasked.push(assignee);
            if !record.participants.contains(&assignee) {
                record.participants.push(assignee);
            }
        }
        // Alerts of the owner's subtree are linked; one from outside it is "not found".
        for pick in &history.alerts {
            let tenant = reachable[pick.index(reachable.len())];
            let alert = raise_alert(&app, tenants[tenant]).await;
            incidents
                .link_alerts(&analyst(owner), &reference, &[alert])
                .await
                .unwrap();
            record.alerts.push((alert, tenant));
        }
        if !history.alerts.is_empty()
            && let Some(outside) = (0..tenants.len()).find(|n| !reachable.contains(n))
        {
            let alert = raise_alert(&app, tenants[outside]).await;
            let refused = incidents
                .link_alerts(&analyst(owner), &reference, &[alert])
                .await;
            assert!(
                matches!(refused, Err(AppError::NotFound { kind: "alert", .. })),
                "tenant {owner} linking an alert of tenant {outside}: {refused:?}"
            );
        }
        built.push(record);
    }
    // Every tenant, as an analyst and as a constituent reporter, sees exactly its share.
    for caller_index in 0..tenants.len() {
        let above = |n: usize| is_at_or_above(&parents, caller_index, n);
        for role in [Role::Analyst, Role::ConstituentReporter] {
            let caller = &callers[&(caller_index, role)];
            let mut want = BTreeSet::new();
            for incident in &built {
                let view = if above(incident.owner) || incident.former.iter().any(|f| above(*f)) {
                    Some(IncidentView::Full)
                } else if incident.participants.iter().any(|p| above(*p)) {
                    match incident.tlp {
                        Tlp::Clear | Tlp::Green | Tlp::Amber => Some(IncidentView::Participant),
                        Tlp::AmberStrict => Some(IncidentView::Limited),
                        Tlp::Red => None,
                    }
                } else {
                    None
                };
                let fetched = incidents
                    .get(caller, &incident.readable.parse().unwrap())
                    .await;
                match view {
                    Some(view) => {
                        assert_eq!(
                            fetched.unwrap().view(),
                            view,
                            "tenant {caller_index} {role} fetching {incident:?}"
                        );
                        want.insert((incident.readable.clone(), view));
                    }
                    None => assert!(
                        matches!(fetched, Err(AppError::NotFound { .. })),
                        "tenant {caller_index} {role} must not learn of {incident:?}: {fetched:?}"
                    ),
                }
            }
            let listed: BTreeSet<(String, IncidentView)> = incidents
                .list(
                    caller,
                    IncidentListing::default(),
                    &PageRequest::first(1000),
                )
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|s| (s.readable_id().to_string(), s.view()))
                .collect();
            assert_eq!(listed, want, "tenant {caller_index} as {role}");
            // Similar incidents: of each incident whose details the caller
            // sees, exactly the others whose details it sees.
            let detailed: BTreeSet<&String> = want
                .iter()
                .filter(|(_, view)| *view >= IncidentView::Participant)
                .map(|(readable, _)| readable)
                .collect();
            for (readable, view) in &want {
                let similar: BTreeSet<String> = incidents
                    .similar(caller, &readable.parse().unwrap(), 100)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|s| s.incident.readable_id().to_string())
                    .collect();
                let expected: BTreeSet<String> = if *view >= IncidentView::Participant {
                    detailed
                        .iter()
                        .filter(|other| **other != readable)
                        .map(|other| (*other).clone())
                        .collect()
                } else {
                    BTreeSet::new()
                };
                assert_eq!(
                    similar, expected,
                    "tenant {caller_index} as {role}: incidents similar to {readable}"
                );
            }
            // Linked alerts name their incident to whoever sees them.
            if role == Role::Analyst {
                for incident in &built {
                    for (alert, tenant) in &incident.alerts {
                        let seen = app.alerts().get(caller, *alert).await;
                        if above(*tenant) {
                            assert_eq!(
                                seen.unwrap().incident,
                                Some(incident.id),
                                "tenant {caller_index}: alert of {tenant}"
                            );
                        } else {
                            assert!(
                                matches!(seen, Err(AppError::NotFound { .. })),
                                "tenant {caller_index} must not see the alert of {tenant}"
                            );
                        }
                    }
                }
            }
            // The task inbox: exactly the tasks given to the caller's subtree.
            let mut want_tasks: Vec<String> = built
                .iter()
                .flat_map(|i| i.tasked.iter().copied())
                .filter(|t| above(*t))
                .map(|t| format!("task for {t}"))
                .collect();
            want_tasks.sort();
            let mut got_tasks: Vec<String> = incidents
                .tasks(caller, None, true)
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.task.title)
                .collect();
            got_tasks.sort();
            assert_eq!(
                got_tasks, want_tasks,
                "tenant {caller_index} as {role}: tasks"
            );
            // Reports: exactly those filed by the caller's subtree.
            let mut want_reports: Vec<String> = built
                .iter()
                .flat_map(|i| i.reporters.iter().copied())
                .filter(|r| above(*r))
                .map(|r| format!("report from {r}"))
                .collect();
            want_reports.sort();
            let mut got_reports: Vec<String> = incidents
                .reports(caller, None, &PageRequest::first(1000))
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|r| r.title)
                .collect();
            got_reports.sort();
            assert_eq!(
                got_reports, want_reports,
                "tenant {caller_index} as {role}: reports"
            );
        }
        // Council members see aggregates, never incidents.
        let council = &callers[&(caller_index, Role::CouncilMember)];
        assert!(matches!(
            incidents
                .list(council, IncidentListing::default(), &PageRequest::default())
                .await,
            Err(AppError::Forbidden(_))
        ));
    }
}

/// How many random histories to try (more with `NIGEHBAN_PROPTEST_CASES`).
fn cases(default: u32) -> u32 {
    std::env::var("NIGEHBAN_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::default()
    }
}

async fn sqlite_app() -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig::Sqlite {
        data_dir: dir.path().to_path_buf(),
    };
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let app = App::open_with_clock(&config, AppSettings::insecure_fast_for_tests(), clock)
        .await
        .unwrap();
    (app, dir)
}

proptest! {
    #![proptest_config(config(cases(12)))]

    #[test]
    fn incidents_never_leak_on_sqlite(nodes in tree(), histories in prop::collection::vec(history(), 1..5)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let (app, _dir) = sqlite_app().await;
            check(app, nodes, histories).await;
        });
    }
}

proptest! {
    #![proptest_config(config(cases(3)))]

    #[test]
    fn incidents_never_leak_on_postgresql(nodes in tree(), histories in prop::collection::vec(history(), 1..5)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let Some(url) = world::postgres_database().await else { return };
            let clock = Arc::new(ManualClock::new(Timestamp::now()));
            let key_dir = tempfile::tempdir().unwrap();
            let app = App::open_with_clock(
                &StoreConfig::Postgres { url, pool_size: 4 },
                AppSettings {
                    audit_key_file: Some(key_dir.path().join(nigehban_app::AUDIT_KEY_FILE)),
                    ..AppSettings::insecure_fast_for_tests()
                },
                clock,
            )
            .await
            .unwrap();
            check(app, nodes, histories).await;
        });
    }
}
