//! The app's services end to end on the embedded store: what the server calls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/world.rs"]
mod world;

use std::time::Duration;

use nigehban_app::model::{
    AuditVerification, DisplayName, Password, Role, Sector, TenantKind, TenantName, Timestamp, Tlp,
    TokenName, Username,
};
use nigehban_app::{
    AppError, AppSettings, AuditListing, BootstrapOutcome, BootstrapRequest, NewApiToken,
    NewTenant, NewUser, PageRequest, ProtectedRead, Via,
};
use world::{ADMIN_PASSWORD, addr, app_with, world, world_with};

fn organisation() -> TenantKind {
    TenantKind::Organisation {
        critical_infrastructure: false,
    }
}

fn name(text: &str) -> TenantName {
    TenantName::parse(text).unwrap()
}

fn new_user(tenant: nigehban_app::model::TenantId, username: &str, role: Role) -> NewUser {
    NewUser {
        tenant,
        username: Username::parse(username).unwrap(),
        display_name: DisplayName::parse(username).unwrap(),
        role,
        password: None,
    }
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, AppError>) {
    match result {
        Err(AppError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[track_caller]
fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, AppError>) {
    match result {
        Err(AppError::Forbidden(_)) => {}
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_creates_the_root_once() {
    let (app, _dir) = app_with(AppSettings::insecure_fast_for_tests()).await;
    assert!(matches!(
        app.operator(None).await,
        Err(AppError::Invalid(_))
    ));
    app.ping().await.unwrap();
    let request = BootstrapRequest {
        national_name: name("PKCERT"),
        admin_username: Username::parse("admin").unwrap(),
        admin_display_name: DisplayName::parse("Administrator").unwrap(),
        admin_password: None,
    };
    let BootstrapOutcome::Created {
        root,
        admin,
        one_time_password,
    } = app.bootstrap(request.clone()).await.unwrap()
    else {
        panic!("first bootstrap must create")
    };
    assert_eq!(root.kind, TenantKind::National);
    assert_eq!(admin.role, Role::Administrator);
    assert!(admin.must_change_password);
    let password = one_time_password.unwrap();
    let again = app.bootstrap(request).await.unwrap();
    assert_eq!(again, BootstrapOutcome::AlreadyDone { root: root.clone() });
    let signed_in = app
        .auth()
        .login("admin", password.expose(), None)
        .await
        .unwrap();
    assert!(signed_in.user.must_change_password);
    // With a one-time password, nothing but choosing a new one.
    assert!(signed_in.caller.must_change_password());
    assert_forbidden(
        app.tenants()
            .list(&signed_in.caller, None, &PageRequest::default())
            .await,
    );
    assert_eq!(
        app.users().me(&signed_in.caller).await.unwrap().id,
        admin.id
    );
    app.users()
        .change_own_password(
            &signed_in.caller,
            password.expose(),
            Password::parse("my own passphrase").unwrap(),
        )
        .await
        .unwrap();
    let renewed = app
        .auth()
        .session(signed_in.cookie.expose(), None)
        .await
        .unwrap();
    assert!(!renewed.caller.must_change_password());
    app.tenants()
        .list(&renewed.caller, None, &PageRequest::default())
        .await
        .unwrap();
    let operator = app.operator(None).await.unwrap();
    assert_eq!(
        (operator.tenant_id(), operator.role(), operator.via()),
        (root.id, Role::Administrator, Via::Operator)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sectoral_administrator_builds_its_sector_and_nothing_else() {
    let w = world().await;
    let telecom_admin = w
        .user(w.telecom.id, "telecom-admin", Role::Administrator)
        .await;
    let tenants = w.app.tenants();
    let isp = tenants
        .create(
            &telecom_admin,
            NewTenant {
                parent: w.telecom.id,
                name: name("Fibre ISP"),
                kind: organisation(),
            },
        )
        .await
        .unwrap();
    assert_eq!(isp.parent, Some(w.telecom.id));
    tenants
        .create(
            &telecom_admin,
            NewTenant {
                parent: w.operator.id,
                name: name("Operator Towers"),
                kind: organisation(),
            },
        )
        .await
        .unwrap();
    // Beside and above: as if they did not exist.
    for parent in [w.banking.id, w.bank.id, w.national.id] {
        assert_not_found(
            tenants
                .create(
                    &telecom_admin,
                    NewTenant {
                        parent,
                        name: name("Sneaky"),
                        kind: organisation(),
                    },
                )
                .await,
        );
    }
    // A sectoral CERT cannot sit under a sectoral CERT.
    let error = tenants
        .create(
            &telecom_admin,
            NewTenant {
                parent: w.telecom.id,
                name: name("Sub-CERT"),
                kind: TenantKind::Sectoral {
                    sector: Sector::Telecom,
                },
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Invalid(_)), "{error}");
    // Users under its sector, not beside.
    let created = w
        .app
        .users()
        .create(
            &telecom_admin,
            new_user(isp.id, "isp-officer", Role::ConstituentReporter),
        )
        .await
        .unwrap();
    assert!(created.one_time_password.is_some());
    assert!(created.user.must_change_password);
    assert_not_found(
        w.app
            .users()
            .create(
                &telecom_admin,
                new_user(w.bank.id, "bank-spy", Role::Analyst),
            )
            .await,
    );
    // An analyst sees the sector but administers nothing.
    let analyst = w.caller(w.telecom.id, Role::Analyst).await;
    assert_forbidden(
        tenants
            .create(
                &analyst,
                NewTenant {
                    parent: w.telecom.id,
                    name: name("Rogue"),
                    kind: organisation(),
                },
            )
            .await,
    );
    assert_forbidden(
        w.app
            .users()
            .create(
                &analyst,
                new_user(w.telecom.id, "friend", Role::Administrator),
            )
            .await,
    );
    let listed = tenants
        .list(&telecom_admin, None, &PageRequest::default())
        .await
        .unwrap();
    assert!(
        listed
            .items
            .iter()
            .all(|t| t.id != w.banking.id && t.id != w.national.id)
    );
    assert_eq!(listed.items.len(), 4);
    assert_not_found(
        tenants
            .list(&telecom_admin, Some(w.national.id), &PageRequest::default())
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invisible_records_look_exactly_like_missing_ones() {
    let w = world().await;
    let banker = w.caller(w.banking.id, Role::Administrator).await;
    let hidden = w
        .app
        .tenants()
        .get(&banker, w.telecom.id)
        .await
        .unwrap_err()
        .to_string();
    let missing_id = nigehban_app::model::TenantId::new();
    let missing = w
        .app
        .tenants()
        .get(&banker, missing_id)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        hidden.replace(&w.telecom.id.to_string(), "ID"),
        missing.replace(&missing_id.to_string(), "ID")
    );
    assert_not_found(
        w.app
            .tenants()
            .rename(&banker, w.national.id, name("Mine now"))
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_stay_inside_the_subtree_and_refuse_cycles() {
    let w = world().await;
    let tenants = w.app.tenants();
    let telecom_admin = w.caller(w.telecom.id, Role::Administrator).await;
    let towers = tenants
        .create(
            &telecom_admin,
            NewTenant {
                parent: w.telecom.id,
                name: name("Towers"),
                kind: organisation(),
            },
        )
        .await
        .unwrap();
    let moved = tenants
        .move_to(&telecom_admin, towers.id, w.operator.id)
        .await
        .unwrap();
    assert_eq!(moved.parent, Some(w.operator.id));
    assert_not_found(
        tenants
            .move_to(&telecom_admin, towers.id, w.banking.id)
            .await,
    );
    assert_forbidden(
        tenants
            .move_to(&telecom_admin, w.telecom.id, w.telecom.id)
            .await,
    );
    let error = tenants
        .move_to(&w.root_admin, w.operator.id, towers.id)
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Conflict(_)), "{error}");
    let error = tenants
        .move_to(&w.root_admin, w.telecom.id, w.banking.id)
        .await
        .unwrap_err();
    assert!(
        matches!(error, AppError::Invalid(_)),
        "a sectoral CERT sits under the national CERT: {error}"
    );
    // The root cannot be moved or deactivated by anyone.
    assert_forbidden(tenants.deactivate(&w.root_admin, w.national.id).await);
    let renamed = tenants
        .rename(&telecom_admin, w.telecom.id, name("CERT Telecoms"))
        .await
        .unwrap();
    assert_eq!(renamed.name.as_str(), "CERT Telecoms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivating_a_tenant_locks_out_everyone_below() {
    let w = world().await;
    let officer = w
        .user(w.operator.id, "officer", Role::ConstituentReporter)
        .await;
    let Via::Session(_) = officer.via() else {
        panic!()
    };
    let token_caller = w.caller(w.operator.id, Role::ConstituentReporter).await;
    assert!(token_caller.user_id().is_some());
    let token = w
        .app
        .tokens()
        .create(
            &w.root_admin,
            NewApiToken {
                name: TokenName::parse("sensor").unwrap(),
                tenant: Some(w.operator.id),
                role: Some(Role::ConstituentReporter),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    w.app
        .tenants()
        .deactivate(&w.root_admin, w.telecom.id)
        .await
        .unwrap();
    let error = w
        .app
        .auth()
        .login("officer", "officer password 123", None)
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Unauthenticated(_)), "{error}");
    let error = w
        .app
        .tokens()
        .authenticate(token.secret.expose(), None)
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Unauthenticated(_)), "{error}");
    let error = w
        .app
        .tenants()
        .create(
            &w.root_admin,
            NewTenant {
                parent: w.operator.id,
                name: name("Late"),
                kind: organisation(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Invalid(_)), "{error}");
    let error = w
        .app
        .users()
        .create(
            &w.root_admin,
            new_user(w.operator.id, "latecomer", Role::Analyst),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Invalid(_)), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_carry_csrf_tokens_and_end() {
    let w = world().await;
    let auth = w.app.auth();
    let sign_in = auth
        .login("admin", ADMIN_PASSWORD, Some(addr("192.0.2.44")))
        .await
        .unwrap();
    let signed_in = auth
        .session(sign_in.cookie.expose(), Some(addr("192.0.2.44")))
        .await
        .unwrap();
    assert_eq!(signed_in.caller.user_id(), Some(sign_in.user.id));
    assert_eq!(signed_in.caller.via(), Via::Session(sign_in.session.id));
    auth.verify_csrf(&signed_in.session, sign_in.csrf_token.expose())
        .unwrap();
    assert_forbidden(auth.verify_csrf(&signed_in.session, "forged"));
    assert_forbidden(auth.verify_csrf(&signed_in.session, ""));
    assert!(matches!(
        auth.session("not a cookie", None).await,
        Err(AppError::Unauthenticated(_))
    ));
    auth.logout(&signed_in.caller).await.unwrap();
    assert!(matches!(
        auth.session(sign_in.cookie.expose(), None).await,
        Err(AppError::Unauthenticated(_))
    ));

    // A role change takes effect on the next request; a deactivation ends the session.
    let analyst = w.user(w.telecom.id, "ayesha", Role::Analyst).await;
    let login = auth
        .login("ayesha", "ayesha password 123", None)
        .await
        .unwrap();
    let user_id = analyst.user_id().unwrap();
    w.app
        .users()
        .set_role(&w.root_admin, user_id, Role::DutyOfficer)
        .await
        .unwrap();
    let now = auth.session(login.cookie.expose(), None).await.unwrap();
    assert_eq!(now.caller.role(), Role::DutyOfficer);
    // Changing one's own password keeps this session and ends the others.
    let new = Password::parse("a brand new passphrase").unwrap();
    let error = w
        .app
        .users()
        .change_own_password(&now.caller, "wrong current", new.clone())
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Unauthenticated(_)), "{error}");
    w.app
        .users()
        .change_own_password(&now.caller, "ayesha password 123", new)
        .await
        .unwrap();
    auth.session(login.cookie.expose(), None).await.unwrap();
    w.app
        .users()
        .deactivate(&w.root_admin, user_id)
        .await
        .unwrap();
    assert!(matches!(
        auth.session(login.cookie.expose(), None).await,
        Err(AppError::Unauthenticated(_))
    ));
    let error = w
        .app
        .users()
        .deactivate(&w.root_admin, w.root_admin.user_id().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Conflict(_)), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire() {
    let mut settings = AppSettings::insecure_fast_for_tests();
    settings.session_idle = Duration::from_millis(300);
    settings.touch_interval = Duration::ZERO;
    let w = world_with(settings).await;
    let sign_in = w
        .app
        .auth()
        .login("admin", ADMIN_PASSWORD, None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Use extends the session...
    w.app
        .auth()
        .session(sign_in.cookie.expose(), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    w.app
        .auth()
        .session(sign_in.cookie.expose(), None)
        .await
        .unwrap();
    // ...idleness ends it.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(matches!(
        w.app.auth().session(sign_in.cookie.expose(), None).await,
        Err(AppError::Unauthenticated(_))
    ));
    assert!(w.app.auth().purge_expired().await.unwrap() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_scoped_and_revocable() {
    let w = world().await;
    let tokens = w.app.tokens();
    let analyst = w.user(w.telecom.id, "ayesha", Role::Analyst).await;
    let own = tokens
        .create(
            &analyst,
            NewApiToken {
                name: TokenName::parse("my script").unwrap(),
                tenant: None,
                role: None,
                expires_at: None,
            },
        )
        .await
        .unwrap();
    assert!(own.secret.expose().starts_with(nigehban_app::TOKEN_PREFIX));
    assert!(!format!("{own:?}").contains(own.secret.expose()));
    let via_token = tokens
        .authenticate(own.secret.expose(), None)
        .await
        .unwrap();
    assert_eq!(
        (via_token.tenant_id(), via_token.role()),
        (w.telecom.id, Role::Analyst)
    );
    assert_eq!(via_token.user_id(), analyst.user_id());
    // Not another role, not another tenant, and tokens do not make tokens.
    assert_forbidden(
        tokens
            .create(
                &analyst,
                NewApiToken {
                    name: TokenName::parse("escalate").unwrap(),
                    tenant: None,
                    role: Some(Role::Administrator),
                    expires_at: None,
                },
            )
            .await,
    );
    assert_forbidden(
        tokens
            .create(
                &via_token,
                NewApiToken {
                    name: TokenName::parse("child").unwrap(),
                    tenant: None,
                    role: None,
                    expires_at: None,
                },
            )
            .await,
    );
    let error = tokens
        .create(
            &analyst,
            NewApiToken {
                name: TokenName::parse("stale").unwrap(),
                tenant: None,
                role: None,
                expires_at: Some(Timestamp::from_unix_micros(0)),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Invalid(_)), "{error}");
    // Last use is recorded.
    let seen = tokens.get(&analyst, own.token.id).await.unwrap();
    assert!(seen.last_used_at.is_some());
    // Demoting the owner disables the tokens made in the old role.
    let second = tokens
        .create(
            &analyst,
            NewApiToken {
                name: TokenName::parse("second").unwrap(),
                tenant: None,
                role: None,
                expires_at: None,
            },
        )
        .await
        .unwrap();
    tokens.revoke(&analyst, own.token.id).await.unwrap();
    assert!(matches!(
        tokens.authenticate(own.secret.expose(), None).await,
        Err(AppError::Unauthenticated(_))
    ));
    tokens
        .authenticate(second.secret.expose(), None)
        .await
        .unwrap();
    w.app
        .users()
        .set_role(&w.root_admin, analyst.user_id().unwrap(), Role::Responder)
        .await
        .unwrap();
    assert!(matches!(
        tokens.authenticate(second.secret.expose(), None).await,
        Err(AppError::Unauthenticated(_))
    ));
    assert!(matches!(
        tokens.authenticate("ngb_nonsense", None).await,
        Err(AppError::Unauthenticated(_))
    ));
    assert!(matches!(
        tokens.authenticate("Basic abc", None).await,
        Err(AppError::Unauthenticated(_))
    ));
    assert!(w.app.counters().token_refusals >= 4);
    // Administrators see and revoke the tokens of their subtree; others' are hidden.
    let banking_admin = w.caller(w.banking.id, Role::Administrator).await;
    assert_not_found(tokens.get(&banking_admin, second.token.id).await);
    assert_not_found(tokens.revoke(&banking_admin, second.token.id).await);
    // An administrator revokes a token it made for a tenant below.
    let made_for_bank = tokens
        .create(
            &w.root_admin,
            NewApiToken {
                name: TokenName::parse("bank sensor").unwrap(),
                tenant: Some(w.bank.id),
                role: Some(Role::Analyst),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    tokens
        .get(&w.root_admin, made_for_bank.token.id)
        .await
        .unwrap();
    tokens
        .revoke(&w.root_admin, made_for_bank.token.id)
        .await
        .unwrap();
    let listed = tokens
        .list(&w.root_admin, Some(w.telecom.id), &PageRequest::default())
        .await
        .unwrap();
    assert!(listed.items.iter().any(|t| t.id == second.token.id));
    assert!(
        listed
            .items
            .iter()
            .all(|t| t.tenant == w.telecom.id || t.tenant == w.operator.id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_visible_within_the_subtree_only() {
    let w = world().await;
    let users = w.app.users();
    let reporter = w
        .user(w.operator.id, "officer", Role::ConstituentReporter)
        .await;
    let telecom_analyst = w.user(w.telecom.id, "ayesha", Role::Analyst).await;
    let bank_analyst = w.user(w.bank.id, "bilal", Role::Analyst).await;
    // Everyone sees themselves.
    assert_eq!(
        users.me(&reporter).await.unwrap().username.as_str(),
        "officer"
    );
    // The reporter sees its own organisation's users (and below) but not the sector's.
    users
        .list(&reporter, None, &PageRequest::default())
        .await
        .unwrap();
    assert_not_found(
        users
            .get(&reporter, telecom_analyst.user_id().unwrap())
            .await,
    );
    // The sector analyst sees the organisation's users, never the bank's.
    users
        .get(&telecom_analyst, reporter.user_id().unwrap())
        .await
        .unwrap();
    assert_not_found(
        users
            .get(&telecom_analyst, bank_analyst.user_id().unwrap())
            .await,
    );
    // The council sees aggregates, not people.
    let council = w.caller(w.national.id, Role::CouncilMember).await;
    assert_forbidden(users.list(&council, None, &PageRequest::default()).await);
    assert_forbidden(users.get(&council, bank_analyst.user_id().unwrap()).await);
    // Only administrators change users, and never their superiors.
    assert_forbidden(
        users
            .set_role(
                &telecom_analyst,
                reporter.user_id().unwrap(),
                Role::Administrator,
            )
            .await,
    );
    let telecom_admin = w.caller(w.telecom.id, Role::Administrator).await;
    assert_not_found(
        users
            .set_role(
                &telecom_admin,
                w.root_admin.user_id().unwrap(),
                Role::Auditor,
            )
            .await,
    );
    let listed = users
        .list(&telecom_admin, None, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_read_their_subtree_and_verify_the_whole_log_from_the_root() {
    let w = world().await;
    let audit = w.app.audit();
    let telecom_auditor = w.caller(w.telecom.id, Role::Auditor).await;
    let page = audit
        .list(
            &telecom_auditor,
            AuditListing::default(),
            &PageRequest::first(1000),
        )
        .await
        .unwrap();
    assert!(!page.items.is_empty());
    for entry in &page.items {
        assert!(
            entry.tenant == w.telecom.id || entry.tenant == w.operator.id,
            "{entry:?}"
        );
    }
    assert_not_found(
        audit
            .list(
                &telecom_auditor,
                AuditListing {
                    under: Some(w.banking.id),
                    newest_first: false,
                },
                &PageRequest::default(),
            )
            .await,
    );
    assert_forbidden(audit.verify(&telecom_auditor).await);
    let analyst = w.caller(w.national.id, Role::Analyst).await;
    assert_forbidden(
        audit
            .list(&analyst, AuditListing::default(), &PageRequest::default())
            .await,
    );
    let root_auditor = w.caller(w.national.id, Role::Auditor).await;
    let AuditVerification::Intact { entries, .. } = audit.verify(&root_auditor).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(audit.head(&root_auditor).await.unwrap().seq, entries);

    // Reads of AMBER and above are audited; GREEN is not.
    let read = |tlp| ProtectedRead {
        record_kind: "indicator".into(),
        record_id: "indicator--42".into(),
        tenant: w.operator.id,
        tlp,
    };
    assert!(
        audit
            .record_read(&analyst, read(Tlp::Green))
            .await
            .unwrap()
            .is_none()
    );
    let entry = audit
        .record_read(&analyst, read(Tlp::AmberStrict))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.action.as_str(), "record.read");
    assert_eq!(entry.actor, analyst.actor());
    assert_eq!(entry.remote_addr.as_deref(), Some("203.0.113.5"));
    let newest = audit
        .list(
            &w.root_admin,
            AuditListing {
                under: Some(w.operator.id),
                newest_first: true,
            },
            &PageRequest::first(1),
        )
        .await
        .unwrap();
    assert_eq!(newest.items, vec![entry]);
    assert!(audit.verify(&root_auditor).await.unwrap().is_intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_are_for_root_administrators_and_restore() {
    let w = world().await;
    let target = w.dir.path().join("backup.db");
    let sector_admin = w.caller(w.telecom.id, Role::Administrator).await;
    assert_forbidden(w.app.backup(&sector_admin, &target).await);
    let root_auditor = w.caller(w.national.id, Role::Auditor).await;
    assert_forbidden(w.app.backup(&root_auditor, &target).await);
    let report = w.app.backup(&w.root_admin, &target).await.unwrap();
    assert!(report.bytes > 0);
    let restored = tempfile::tempdir().unwrap();
    nigehban_app::restore_backup(&target, restored.path(), false)
        .await
        .unwrap();
    // The audit key is not in backups: the restored log opens with the one kept apart.
    let settings = AppSettings {
        audit_key_file: Some(w.dir.path().join(nigehban_app::AUDIT_KEY_FILE)),
        ..AppSettings::insecure_fast_for_tests()
    };
    let (app, _dir) = (
        nigehban_app::App::open(
            &nigehban_app::StoreConfig::Sqlite {
                data_dir: restored.path().to_path_buf(),
            },
            settings,
        )
        .await
        .unwrap(),
        (),
    );
    assert_eq!(app.migrations_applied_at_open(), 0);
    let operator = app.operator(None).await.unwrap();
    assert!(app.audit().verify(&operator).await.unwrap().is_intact());
    app.auth()
        .login("admin", ADMIN_PASSWORD, None)
        .await
        .unwrap();
    let error = nigehban_app::restore_backup(&target, restored.path(), false)
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Conflict(_)), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_services_run_on_postgresql() {
    let Some(url) = world::postgres_database().await else {
        return;
    };
    let config = nigehban_app::StoreConfig::Postgres { url, pool_size: 4 };
    let key_dir = tempfile::tempdir().unwrap();
    let settings = AppSettings {
        audit_key_file: Some(key_dir.path().join(nigehban_app::AUDIT_KEY_FILE)),
        ..AppSettings::insecure_fast_for_tests()
    };
    let app = nigehban_app::App::open(&config, settings).await.unwrap();
    assert_eq!(app.backend(), nigehban_app::Backend::Postgres);
    // Every migration ran on the fresh database (however many there are), and none is left.
    assert!(app.migrations_applied_at_open() >= 2);
    assert_eq!(app.migrate().await.unwrap(), 0);
    app.ping().await.unwrap();
    let request = BootstrapRequest {
        national_name: name("National CERT"),
        admin_username: Username::parse("admin").unwrap(),
        admin_display_name: DisplayName::parse("Administrator").unwrap(),
        admin_password: Some(Password::parse(ADMIN_PASSWORD).unwrap()),
    };
    let BootstrapOutcome::Created { root, .. } = app.bootstrap(request.clone()).await.unwrap()
    else {
        panic!()
    };
    assert!(matches!(
        app.bootstrap(request).await.unwrap(),
        BootstrapOutcome::AlreadyDone { .. }
    ));
    let admin = app
        .auth()
        .login("admin", ADMIN_PASSWORD, Some(addr("192.0.2.1")))
        .await
        .unwrap()
        .caller;
    let telecom = app
        .tenants()
        .create(
            &admin,
            NewTenant {
                parent: root.id,
                name: name("CERT Telecom"),
                kind: TenantKind::Sectoral {
                    sector: Sector::Telecom,
                },
            },
        )
        .await
        .unwrap();
    let banking = app
        .tenants()
        .create(
            &admin,
            NewTenant {
                parent: root.id,
                name: name("CERT Banking"),
                kind: TenantKind::Sectoral {
                    sector: Sector::Banking,
                },
            },
        )
        .await
        .unwrap();
    let telecom_admin = world::caller(&app, &admin, telecom.id, Role::Administrator).await;
    assert_not_found(app.tenants().get(&telecom_admin, banking.id).await);
    assert_not_found(
        app.tenants()
            .create(
                &telecom_admin,
                NewTenant {
                    parent: banking.id,
                    name: name("Sneaky"),
                    kind: organisation(),
                },
            )
            .await,
    );
    let mut ayesha = new_user(telecom.id, "ayesha", Role::Auditor);
    ayesha.password = Some(Password::parse("ayesha password 123").unwrap());
    app.users().create(&telecom_admin, ayesha).await.unwrap();
    let login = app
        .auth()
        .login("ayesha", "ayesha password 123", None)
        .await
        .unwrap();
    let auditor = app
        .auth()
        .session(login.cookie.expose(), None)
        .await
        .unwrap()
        .caller;
    let page = app
        .audit()
        .list(&auditor, AuditListing::default(), &PageRequest::first(100))
        .await
        .unwrap();
    assert!(page.items.iter().all(|e| e.tenant == telecom.id));
    assert!(!page.items.is_empty());
    let root_auditor = world::caller(&app, &admin, root.id, Role::Auditor).await;
    assert!(app.audit().verify(&root_auditor).await.unwrap().is_intact());
    let error = app
        .backup(&admin, std::path::Path::new("/tmp/never.db"))
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Unsupported(_)), "{error}");
}
