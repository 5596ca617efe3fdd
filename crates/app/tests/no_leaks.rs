//! Property: over random tenant trees, every caller's get and list calls —
//! tenants, users, API tokens, the audit log, sensors, their tokens and health
//! events, the event search scope — answer exactly what the tree and the
//! policy make visible: every record of the caller's reach and nothing else,
//! `NotFound` for anything outside the caller's subtree (not even its
//! existence leaks), `Forbidden` for what is in the subtree but beyond the
//! role. Any other error fails the test.
//!
//! Runs 64 cases on SQLite and, with `NIGEHBAN_TEST_POSTGRES_URL`, 10 on
//! PostgreSQL (a fresh database per case, dropped after it; about 6 s a case
//! on a busy 2-core machine, so fewer). Failing cases are saved to, and
//! replayed first from, `tests/no_leaks.proptest-regressions` by both.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/world.rs"]
mod world;

use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::hash::Hash;

use nigehban_app::model::{
    AuditEntryId, DisplayName, Password, Role, Sector, SensorHealthKind, SensorId, SensorKind,
    SensorName, SensorUpdate, SourceNetwork, TenantId, TenantKind, TenantName, Timestamp, TokenId,
    TokenName, UserId, Username,
};
use nigehban_app::policy::{self, Action, Reach};
use nigehban_app::{
    App, AppError, AppSettings, AuditListing, BootstrapOutcome, BootstrapRequest, Caller,
    NewApiToken, NewSensor, NewTenant, NewUser, Page, PageRequest, SensorHealthReport, StoreConfig,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Where failing cases are kept (relative to the crate: cargo runs tests there).
const REGRESSIONS: &str = "tests/no_leaks.proptest-regressions";

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

/// What a call must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Allowed,
    Forbidden,
    NotFound,
}

/// One caller in the tree, and what it may see.
struct View<'a> {
    home: usize,
    role: Role,
    /// The caller's subtree.
    visible: &'a BTreeSet<usize>,
    parents: &'a [Option<usize>],
    context: String,
}

impl View<'_> {
    /// Whether the role's reach for `action` covers records of tenant `t`.
    fn reads(&self, action: Action, t: usize) -> bool {
        match policy::reach(self.role, action) {
            Reach::Subtree => self.visible.contains(&t),
            Reach::OwnTenant => t == self.home,
            Reach::Below => self.visible.contains(&t) && t != self.home,
            Reach::Never => false,
        }
    }

    /// What `action` on a record of tenant `t` must answer.
    fn answer(&self, action: Action, t: usize) -> Answer {
        if !self.visible.contains(&t) {
            Answer::NotFound
        } else if self.reads(action, t) {
            Answer::Allowed
        } else {
            Answer::Forbidden
        }
    }

    /// The tenants whose records a list `under` tenant `u` holds, or the refusal.
    fn listed_tenants(&self, action: Action, u: usize) -> Result<BTreeSet<usize>, Answer> {
        match self.answer(action, u) {
            Answer::Allowed => Ok(subtree(self.parents, u)
                .into_iter()
                .filter(|t| self.reads(action, *t))
                .collect()),
            refused => Err(refused),
        }
    }

    /// Checks a get: the record of tenant `t` when allowed, else the right refusal.
    #[track_caller]
    fn get<T: Debug>(
        &self,
        action: Action,
        t: usize,
        got: Result<T, AppError>,
        what: &str,
    ) -> Option<T> {
        let expected = self.answer(action, t);
        match (expected, got) {
            (Answer::Allowed, Ok(record)) => Some(record),
            (Answer::Forbidden, Err(AppError::Forbidden(_)))
            | (Answer::NotFound, Err(AppError::NotFound { .. })) => None,
            (expected, got) => panic!(
                "{}: {what} of tenant {t}: expected {expected:?}, got {got:?}",
                self.context
            ),
        }
    }

    /// Checks a list `under` tenant `u` (the caller's own when `None`): exactly
    /// the records of `all` whose tenant the list must hold, or the right refusal.
    #[track_caller]
    fn list<T: Debug, K: Ord + Copy + Debug + Hash>(
        &self,
        action: Action,
        under: Option<usize>,
        got: Result<Page<T>, AppError>,
        key: impl Fn(&T) -> K,
        all: &HashMap<K, usize>,
        what: &str,
    ) {
        let u = under.unwrap_or(self.home);
        match (self.listed_tenants(action, u), got) {
            (Ok(tenants), Ok(page)) => {
                assert!(
                    page.next.is_none(),
                    "{}: {what}: more than one page",
                    self.context
                );
                let listed: BTreeSet<K> = page.items.iter().map(&key).collect();
                assert_eq!(
                    listed.len(),
                    page.items.len(),
                    "{}: {what} lists a record twice",
                    self.context
                );
                let expected: BTreeSet<K> = all
                    .iter()
                    .filter(|(_, t)| tenants.contains(t))
                    .map(|(k, _)| *k)
                    .collect();
                assert_eq!(
                    listed, expected,
                    "{}: {what} under tenant {u} (tenants {tenants:?})",
                    self.context
                );
            }
            (Err(Answer::Forbidden), Err(AppError::Forbidden(_)))
            | (Err(Answer::NotFound), Err(AppError::NotFound { .. })) => {}
            (expected, got) => panic!(
                "{}: {what} under tenant {u}: expected {expected:?}, got {got:?}",
                self.context
            ),
        }
    }
}

/// A caller acting in `tenant` as `role` through an API token the national
/// administrator made; the token's id too.
async fn caller(app: &App, admin: &Caller, tenant: TenantId, role: Role) -> (Caller, TokenId) {
    let created = app
        .tokens()
        .create(
            admin,
            NewApiToken {
                name: TokenName::parse(&format!("{role} in {tenant}")).unwrap(),
                tenant: Some(tenant),
                role: Some(role),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let caller = app
        .tokens()
        .authenticate(created.secret.expose(), Some(world::addr("203.0.113.5")))
        .await
        .unwrap();
    (caller, created.token.id)
}

async fn check(app: App, nodes: Vec<Node>, movement: Option<(usize, usize)>) {
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
    let tenant_index: HashMap<TenantId, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();

    // One user per tenant (the national administrator in the root), so that
    // user lists have something to leak.
    let mut users: HashMap<UserId, usize> = HashMap::from([(admin.user_id().unwrap(), 0)]);
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
        users.insert(created.user.id, i + 1);
    }

    // One sensor per tenant, each with a health event and an address of its own.
    let mut sensors: HashMap<SensorId, usize> = HashMap::new();
    let mut health_events = HashMap::new();
    for (i, &tenant) in ids.iter().enumerate() {
        let mut new = NewSensor::new(
            SensorName::parse(&format!("Sensor {i}")).unwrap(),
            SensorKind::Firewall,
        );
        new.tenant = Some(tenant);
        new.source_addresses = vec![SourceNetwork::parse(&format!("10.{i}.0.0/16")).unwrap()];
        let sensor = app.sensors().register(&admin, new).await.unwrap().sensor;
        let at = Timestamp::now();
        let event = app
            .sensors()
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
        health_events.insert(event.id, i);
        sensors.insert(sensor.id, i);
    }

    // A caller of every role in every tenant, made before anything is checked
    // so that the token list and the audit log stay as they are.
    let mut callers = Vec::new();
    let mut tokens: HashMap<TokenId, usize> = HashMap::new();
    // One token per tenant to get one by one (every token is in the lists).
    let mut probe_tokens: HashMap<TokenId, usize> = HashMap::new();
    for (home, tenant) in ids.iter().enumerate() {
        for role in CALLER_ROLES {
            let (caller, token) = caller(&app, &admin, *tenant, role).await;
            tokens.insert(token, home);
            if role == Role::Auditor {
                probe_tokens.insert(token, home);
            }
            callers.push((home, role, caller));
        }
    }

    // The whole audit log, as the national administrator reads it.
    let whole_log = app
        .audit()
        .list(&admin, AuditListing::default(), &PageRequest::first(10_000))
        .await
        .unwrap();
    assert!(whole_log.next.is_none(), "the audit log spans pages");
    let audit: HashMap<AuditEntryId, usize> = whole_log
        .items
        .iter()
        .map(|entry| (entry.id, tenant_index[&entry.tenant]))
        .collect();
    // Every tenant, user, sensor and token creation is in it.
    assert!(
        audit.len() >= (ids.len() - 1) + (users.len() - 1) + sensors.len() + tokens.len(),
        "{} audit entries for {} tenants, {} users, {} sensors, {} tokens",
        audit.len(),
        ids.len(),
        users.len(),
        sensors.len(),
        tokens.len()
    );
    let tenants: HashMap<TenantId, usize> = tenant_index.clone();

    for (home, role, caller) in &callers {
        let (home, role) = (*home, *role);
        let visible = subtree(&parents, home);
        let view = View {
            home,
            role,
            visible: &visible,
            parents: &parents,
            context: format!("{role} at tenant {home} (sees {visible:?}, parents {parents:?})"),
        };
        let page = PageRequest::first(1000);

        // Gets, of every record in the tree.
        for (target, &target_id) in ids.iter().enumerate() {
            if let Some(tenant) = view.get(
                Action::ViewTenant,
                target,
                app.tenants().get(caller, target_id).await,
                "get tenant",
            ) {
                assert_eq!(tenant.id, target_id, "{}", view.context);
            }
            if !visible.contains(&target) {
                assert!(
                    matches!(
                        app.tenants()
                            .rename(caller, target_id, TenantName::parse("Mine").unwrap())
                            .await,
                        Err(AppError::NotFound { .. })
                    ),
                    "{}: rename tenant {target}",
                    view.context
                );
            }
        }
        let admin_user = admin.user_id().unwrap();
        for (&user, &t) in &users {
            let got = app.users().get(caller, user).await;
            // Every caller acts for the national administrator: in the root
            // tenant that account is the caller's own, which one always sees.
            if user == admin_user && home == 0 {
                assert_eq!(got.unwrap().id, user, "{}", view.context);
            } else if let Some(got) = view.get(Action::ViewUser, t, got, "get user") {
                assert_eq!((got.id, got.tenant), (user, ids[t]), "{}", view.context);
            }
        }
        for (&token, &t) in &probe_tokens {
            let got = app.tokens().get(caller, token).await;
            // Every token here was made by the national administrator, whom
            // every caller acts for: a token of the caller's own tenant is its own.
            if t == home {
                assert_eq!(got.unwrap().id, token, "{}", view.context);
            } else if let Some(got) = view.get(Action::ViewToken, t, got, "get token") {
                assert_eq!(got.id, token, "{}", view.context);
            }
        }
        for (&sensor, &t) in &sensors {
            if let Some(got) = view.get(
                Action::ViewSensor,
                t,
                app.sensors().get(caller, sensor).await,
                "get sensor",
            ) {
                assert_eq!((got.id, got.tenant), (sensor, ids[t]), "{}", view.context);
            }
            if let Some(history) = view.get(
                Action::ViewSensor,
                t,
                app.sensors().health_history(caller, sensor, &page).await,
                "health of sensor",
            ) {
                assert_eq!(history.items.len(), 1, "{}", view.context);
                assert_eq!(history.items[0].sensor, sensor, "{}", view.context);
            }
            if let Some(tokens) = view.get(
                Action::ViewSensor,
                t,
                app.sensors().tokens(caller, sensor).await,
                "tokens of sensor",
            ) {
                assert_eq!(tokens.len(), 1, "{}", view.context);
                assert_eq!(tokens[0].sensor, sensor, "{}", view.context);
            }
            if !visible.contains(&t) {
                assert!(
                    matches!(
                        app.sensors()
                            .update(caller, sensor, SensorUpdate::default())
                            .await,
                        Err(AppError::NotFound { .. })
                    ),
                    "{}: update sensor of tenant {t}",
                    view.context
                );
            }
        }

        // Lists: under the caller's own tenant, and under every tenant of the tree.
        for under in std::iter::once(None).chain((0..ids.len()).map(Some)) {
            let under_id = under.map(|u| ids[u]);
            view.list(
                Action::ViewTenant,
                under,
                app.tenants().list(caller, under_id, &page).await,
                |t| t.id,
                &tenants,
                "tenant list",
            );
            view.list(
                Action::ViewUser,
                under,
                app.users().list(caller, under_id, &page).await,
                |u| u.id,
                &users,
                "user list",
            );
            view.list(
                Action::ViewToken,
                under,
                app.tokens().list(caller, under_id, &page).await,
                |t| t.id,
                &tokens,
                "token list",
            );
            view.list(
                Action::ReadAudit,
                under,
                app.audit()
                    .list(
                        caller,
                        AuditListing {
                            under: under_id,
                            newest_first: under.is_some_and(|u| u % 2 == 1),
                        },
                        &PageRequest::first(10_000),
                    )
                    .await,
                |e| e.id,
                &audit,
                "audit log",
            );
            view.list(
                Action::ViewSensor,
                under,
                app.sensors().list(caller, under_id, &page).await,
                |s| s.id,
                &sensors,
                "sensor list",
            );
            view.list(
                Action::ViewSensor,
                under,
                app.sensors().health_events(caller, under_id, &page).await,
                |e| e.id,
                &health_events,
                "health events",
            );
            // The event search scope: exactly the tenants whose events the list would hold.
            let scope = app
                .events_scope_under(caller, under_id)
                .await
                .map(|scope| Page {
                    items: scope.into_tenants(),
                    next: None,
                });
            view.list(
                Action::SearchEvents,
                under,
                scope,
                |t| *t,
                &tenants,
                "event search scope",
            );
        }
    }
}

/// Runs one case on a fresh SQLite platform.
fn on_sqlite(nodes: Vec<Node>, movement: Option<(usize, usize)>) {
    runtime().block_on(async {
        let (app, _dir) = world::app_with(AppSettings::insecure_fast_for_tests()).await;
        check(app, nodes, movement).await;
    });
}

/// Runs one case on a fresh PostgreSQL database (dropped afterwards).
fn on_postgres(server: &str, nodes: Vec<Node>, movement: Option<(usize, usize)>) {
    runtime().block_on(async {
        let url = world::postgres_database_on(server).await;
        let key_dir = tempfile::tempdir().unwrap();
        let app = App::open(
            &StoreConfig::Postgres {
                url: url.clone(),
                pool_size: 4,
            },
            AppSettings {
                audit_key_file: Some(key_dir.path().join(nigehban_app::AUDIT_KEY_FILE)),
                ..AppSettings::insecure_fast_for_tests()
            },
        )
        .await
        .unwrap();
        check(app.clone(), nodes, movement).await;
        drop(app);
        world::drop_database(server, &url).await;
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn no_caller_sees_more_or_less_than_its_reach_on_sqlite((nodes, movement) in tree()) {
        on_sqlite(nodes, movement);
    }
}

#[test]
fn no_caller_sees_more_or_less_than_its_reach_on_postgresql() {
    let Some(server) = nigehban_testkit::postgres_url() else {
        return;
    };
    let mut runner = proptest::test_runner::TestRunner::new(config(10));
    let result = runner.run(&tree(), |(nodes, movement)| {
        on_postgres(&server, nodes, movement);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// The regression file is where the runner looks, and its seeds parse: a
/// case that once failed is replayed before any new one.
#[test]
fn saved_failing_cases_are_replayed() {
    use proptest::test_runner::FailurePersistence as _;
    let text = std::fs::read_to_string(REGRESSIONS).unwrap();
    let saved = text.lines().filter(|l| l.starts_with("cc ")).count();
    assert!(saved >= 1, "no saved case in {REGRESSIONS}");
    let loaded = FileFailurePersistence::Direct(REGRESSIONS).load_persisted_failures2(None);
    assert_eq!(loaded.len(), saved, "seeds loaded from {REGRESSIONS}");
}
