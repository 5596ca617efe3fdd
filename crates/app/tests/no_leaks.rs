//! Property: over random tenant trees, no caller ever reaches a sibling's or
//! an ancestor's records through the services' get and list calls — tenants,
//! users, API tokens, the audit log, sensors and their health events — and
//! the event search scope is exactly the caller's subtree (its own tenant for
//! constituent reporters, nothing for council members).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/world.rs"]
mod world;

use std::collections::{BTreeSet, HashMap};

use nigehban_app::model::{
    DisplayName, Password, Role, Sector, SensorHealthKind, SensorId, SensorKind, SensorName,
    SensorUpdate, SourceNetwork, TenantId, TenantKind, TenantName, Timestamp, UserId, Username,
};
use nigehban_app::policy::{self, Action, Reach};
use nigehban_app::{
    AppError, AppSettings, AuditListing, BootstrapOutcome, BootstrapRequest, Caller, NewSensor,
    NewTenant, NewUser, PageRequest, SensorHealthReport,
};
use proptest::prelude::*;

/// A node of a generated tree: where it hangs and what it is.
#[derive(Debug, Clone)]
struct Node {
    /// Index of the parent among earlier nodes (node 0 is the national CERT).
    parent: usize,
    /// Sectoral (only directly under the national CERT) or organisation.
    sectoral: bool,
    /// The role of the one user created in this tenant.
    role: Role,
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

fn tree() -> impl Strategy<Value = (Vec<Node>, Option<(usize, usize)>)> {
    (
        prop::collection::vec((any::<prop::sample::Index>(), any::<bool>(), role()), 1..9),
        prop::option::of((any::<prop::sample::Index>(), any::<prop::sample::Index>())),
    )
        .prop_map(|(raw, raw_move)| {
            let mut nodes = Vec::new();
            for (i, (parent, sectoral, role)) in raw.into_iter().enumerate() {
                // Node i + 1 hangs under one of nodes 0..=i.
                let parent = parent.index(i + 1);
                nodes.push(Node {
                    parent,
                    sectoral: sectoral && parent == 0,
                    role,
                });
            }
            let movement = raw_move
                .map(|(which, to)| (which.index(nodes.len()) + 1, to.index(nodes.len() + 1)));
            (nodes, movement)
        })
}

/// Tenant index → parent index, node 0 at the root.
fn parents(nodes: &[Node]) -> Vec<Option<usize>> {
    std::iter::once(None)
        .chain(nodes.iter().map(|n| Some(n.parent)))
        .collect()
}

fn subtree(parents: &[Option<usize>], root: usize) -> BTreeSet<usize> {
    let mut below = BTreeSet::from([root]);
    loop {
        let before = below.len();
        for (i, parent) in parents.iter().enumerate() {
            if parent.is_some_and(|p| below.contains(&p)) {
                below.insert(i);
            }
        }
        if below.len() == before {
            return below;
        }
    }
}

const CALLER_ROLES: [Role; 5] = [
    Role::Administrator,
    Role::Analyst,
    Role::ConstituentReporter,
    Role::CouncilMember,
    Role::Auditor,
];

#[track_caller]
fn assert_hidden<T: std::fmt::Debug>(result: Result<T, AppError>, what: &str) {
    match result {
        Err(AppError::NotFound { .. }) => {}
        other => {
            panic!("{what}: expected NotFound (no leak, not even of existence), got {other:?}")
        }
    }
}

async fn check(nodes: Vec<Node>, movement: Option<(usize, usize)>) {
    let (app, _dir) = world::app_with(AppSettings::insecure_fast_for_tests()).await;
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
    let admin = app
        .auth()
        .login("admin", world::ADMIN_PASSWORD, None)
        .await
        .unwrap()
        .caller;

    let mut ids: Vec<TenantId> = vec![root.id];
    let mut kinds = vec![TenantKind::National];
    for (i, node) in nodes.iter().enumerate() {
        let kind = if node.sectoral {
            TenantKind::Sectoral {
                sector: Sector::ALL[i % Sector::ALL.len()],
            }
        } else {
            TenantKind::Organisation {
                critical_infrastructure: i % 2 == 0,
            }
        };
        let tenant = app
            .tenants()
            .create(
                &admin,
                NewTenant {
                    parent: ids[node.parent],
                    name: TenantName::parse(&format!("Tenant {i}")).unwrap(),
                    kind,
                },
            )
            .await
            .unwrap();
        ids.push(tenant.id);
        kinds.push(kind);
    }
    let mut parents = parents(&nodes);

    // Optionally move one tenant, where the hierarchy allows, and follow it in the model.
    if let Some((which, to)) = movement {
        let allowed =
            !subtree(&parents, which).contains(&to) && kinds[which].may_sit_under(Some(&kinds[to]));
        let moved = app.tenants().move_to(&admin, ids[which], ids[to]).await;
        assert_eq!(moved.is_ok(), allowed, "move {which} under {to}: {moved:?}");
        if allowed {
            parents[which] = Some(to);
        }
    }

    // One user per tenant, so that user lists have something to leak.
    let mut users: Vec<UserId> = vec![admin.user_id().unwrap()];
    for (i, node) in nodes.iter().enumerate() {
        let created = app
            .users()
            .create(
                &admin,
                NewUser {
                    tenant: ids[i + 1],
                    username: Username::parse(&format!("user{i}")).unwrap(),
                    display_name: DisplayName::parse(&format!("User {i}")).unwrap(),
                    role: node.role,
                    password: None,
                },
            )
            .await
            .unwrap();
        users.push(created.user.id);
    }
    let index_of: HashMap<TenantId, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();

    // One sensor per tenant, each with a health event and an address of its own.
    let mut sensors: Vec<SensorId> = Vec::new();
    for (i, &tenant) in ids.iter().enumerate() {
        let mut new = NewSensor::new(
            SensorName::parse(&format!("Sensor {i}")).unwrap(),
            SensorKind::Firewall,
        );
        new.tenant = Some(tenant);
        new.source_addresses = vec![SourceNetwork::parse(&format!("10.{i}.0.0/16")).unwrap()];
        let sensor = app.sensors().register(&admin, new).await.unwrap().sensor;
        let at = Timestamp::now();
        app.sensors()
            .record_health(SensorHealthReport {
                sensor: sensor.id,
                at,
                kind: SensorHealthKind::Silent {
                    since: at,
                    expected_interval_seconds: 60,
                },
            })
            .await
            .unwrap();
        sensors.push(sensor.id);
    }

    for home in 0..ids.len() {
        let visible = subtree(&parents, home);
        for role in CALLER_ROLES {
            let caller: Caller = world::caller(&app, &admin, ids[home], role).await;
            let context = format!("{role} at tenant {home} (visible {visible:?})");

            // Tenants: get and list.
            for (target, &target_id) in ids.iter().enumerate() {
                let got = app.tenants().get(&caller, target_id).await;
                if visible.contains(&target) {
                    assert_eq!(got.unwrap().id, target_id, "{context}");
                } else {
                    assert_hidden(got, &format!("{context}: get tenant {target}"));
                    assert_hidden(
                        app.tenants()
                            .list(&caller, Some(target_id), &PageRequest::default())
                            .await,
                        &format!("{context}: list under tenant {target}"),
                    );
                    assert_hidden(
                        app.tenants()
                            .rename(&caller, target_id, TenantName::parse("Mine").unwrap())
                            .await,
                        &format!("{context}: rename tenant {target}"),
                    );
                }
            }
            let listed: BTreeSet<usize> = app
                .tenants()
                .list(&caller, None, &PageRequest::first(1000))
                .await
                .unwrap()
                .items
                .iter()
                .map(|t| index_of[&t.id])
                .collect();
            assert_eq!(listed, visible, "{context}: tenant list");

            // Users: get and list.
            for (target, user) in users.iter().enumerate() {
                let got = app.users().get(&caller, *user).await;
                if !visible.contains(&target) {
                    assert_hidden(got, &format!("{context}: get user of tenant {target}"));
                } else if let Ok(user) = got {
                    assert!(visible.contains(&index_of[&user.tenant]), "{context}");
                }
            }
            if let Ok(page) = app
                .users()
                .list(&caller, None, &PageRequest::first(1000))
                .await
            {
                for user in page.items {
                    assert!(
                        visible.contains(&index_of[&user.tenant]),
                        "{context}: listed {user:?}"
                    );
                }
            }

            // API tokens and the audit log: only the subtree's, whatever the role.
            if let Ok(page) = app
                .tokens()
                .list(&caller, None, &PageRequest::first(1000))
                .await
            {
                for token in page.items {
                    assert!(
                        visible.contains(&index_of[&token.tenant]),
                        "{context}: listed {token:?}"
                    );
                }
            }
            if let Ok(page) = app
                .audit()
                .list(&caller, AuditListing::default(), &PageRequest::first(1000))
                .await
            {
                for entry in page.items {
                    assert!(
                        visible.contains(&index_of[&entry.tenant]),
                        "{context}: audit entry {entry:?}"
                    );
                }
            }
            // Sensors and their health: only the subtree's (reporters: their own tenant's).
            let sensor_reach = policy::reach(role, Action::ViewSensor);
            let readable = |tenant: usize| match sensor_reach {
                Reach::Subtree => visible.contains(&tenant),
                Reach::OwnTenant => tenant == home,
                Reach::Below => visible.contains(&tenant) && tenant != home,
                Reach::Never => false,
            };
            for (target, &sensor) in sensors.iter().enumerate() {
                let got = app.sensors().get(&caller, sensor).await;
                let history = app
                    .sensors()
                    .health_history(&caller, sensor, &PageRequest::default())
                    .await;
                if !visible.contains(&target) {
                    assert_hidden(got, &format!("{context}: get sensor of tenant {target}"));
                    assert_hidden(history, &format!("{context}: health of sensor {target}"));
                    assert_hidden(
                        app.sensors()
                            .update(&caller, sensor, SensorUpdate::default())
                            .await,
                        &format!("{context}: update sensor of tenant {target}"),
                    );
                    assert_hidden(
                        app.sensors().tokens(&caller, sensor).await,
                        &format!("{context}: tokens of sensor {target}"),
                    );
                } else if readable(target) {
                    assert_eq!(got.unwrap().tenant, ids[target], "{context}");
                    assert_eq!(history.unwrap().items.len(), 1, "{context}");
                } else {
                    assert!(
                        matches!(got, Err(AppError::Forbidden(_))),
                        "{context}: sensor {target}: {got:?}"
                    );
                }
            }
            match app
                .sensors()
                .list(&caller, None, &PageRequest::first(1000))
                .await
            {
                Ok(page) => {
                    let listed: BTreeSet<usize> =
                        page.items.iter().map(|s| index_of[&s.tenant]).collect();
                    let expected: BTreeSet<usize> =
                        (0..ids.len()).filter(|t| readable(*t)).collect();
                    assert_eq!(listed, expected, "{context}: sensor list");
                }
                Err(error) => {
                    assert!(
                        sensor_reach == Reach::Never && matches!(error, AppError::Forbidden(_)),
                        "{context}: sensor list: {error:?}"
                    );
                }
            }
            if let Ok(page) = app
                .sensors()
                .health_events(&caller, None, &PageRequest::first(1000))
                .await
            {
                for event in page.items {
                    assert!(
                        readable(index_of[&event.tenant]),
                        "{context}: health event {event:?}"
                    );
                }
            }

            // The event search scope: exactly the subtree, own tenant, or nothing.
            let scope = app.events_scope(&caller).await;
            let expected: BTreeSet<usize> = match policy::reach(role, Action::SearchEvents) {
                Reach::Subtree => visible.clone(),
                Reach::OwnTenant => BTreeSet::from([home]),
                Reach::Below | Reach::Never => BTreeSet::new(),
            };
            match scope {
                Ok(scope) => {
                    let got: BTreeSet<usize> =
                        scope.tenants().iter().map(|t| index_of[t]).collect();
                    assert_eq!(got, expected, "{context}: event scope");
                }
                Err(AppError::Forbidden(_)) => {
                    assert!(expected.is_empty(), "{context}: event scope refused")
                }
                Err(other) => panic!("{context}: event scope: {other:?}"),
            }

            for target in (0..ids.len()).filter(|t| !visible.contains(t)) {
                assert_hidden(
                    app.events_scope_under(&caller, Some(ids[target])).await,
                    &format!("{context}: event scope under tenant {target}"),
                );
                assert_hidden(
                    app.sensors()
                        .list(&caller, Some(ids[target]), &PageRequest::default())
                        .await,
                    &format!("{context}: sensors of tenant {target}"),
                );
                assert_hidden(
                    app.sensors()
                        .health_events(&caller, Some(ids[target]), &PageRequest::default())
                        .await,
                    &format!("{context}: health events of tenant {target}"),
                );
                assert_hidden(
                    app.audit()
                        .list(
                            &caller,
                            AuditListing {
                                under: Some(ids[target]),
                                newest_first: false,
                            },
                            &PageRequest::default(),
                        )
                        .await,
                    &format!("{context}: audit of tenant {target}"),
                );
                assert_hidden(
                    app.tokens()
                        .list(&caller, Some(ids[target]), &PageRequest::default())
                        .await,
                    &format!("{context}: tokens of tenant {target}"),
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_caller_reaches_a_sibling_or_upward((nodes, movement) in tree()) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(check(nodes, movement));
    }
}
