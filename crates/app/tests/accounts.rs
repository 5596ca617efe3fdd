//! Accounts against strangers: sign-in throttling that cannot lock anyone
//! out, credentials that end with their owner's password or account, and
//! user creation that does not reveal who has accounts in other tenants.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/world.rs"]
mod world;

use std::time::Duration;

use nigehban_app::model::{DisplayName, Password, Role, TokenName, Username};
use nigehban_app::{
    AppError, AppSettings, AuditListing, Backoff, NewApiToken, NewUser, PageRequest, SignInThrottle,
};
use world::{World, addr, world, world_with};

/// Creates a user with a known password (no sign-in).
async fn person(w: &World, tenant: nigehban_app::model::TenantId, name: &str, role: Role) {
    w.app
        .users()
        .create(
            &w.root_admin,
            NewUser {
                tenant,
                username: Username::parse(name).unwrap(),
                display_name: DisplayName::parse(name).unwrap(),
                role,
                password: Some(Password::parse(&format!("{name} password 123")).unwrap()),
            },
        )
        .await
        .unwrap();
}

async fn actions(w: &World) -> Vec<(String, String)> {
    w.app
        .audit()
        .list(
            &w.root_admin,
            AuditListing::default(),
            &PageRequest::first(1000),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| (e.action.as_str().to_owned(), e.record_id))
        .collect()
}

/// Five wrong passwords used to lock any known account for 15 minutes, from
/// anywhere: a stranger could lock anyone out. Now the stranger's address
/// waits for that user name; the user signs in from elsewhere, and others
/// behind the stranger's address sign in too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_failing_for_a_user_slows_only_that_user_from_that_address() {
    let w = world().await;
    person(&w, w.telecom.id, "ayesha", Role::Analyst).await;
    person(&w, w.telecom.id, "bilal", Role::Analyst).await;
    let auth = w.app.auth();
    let proxy = Some(addr("203.0.113.66"));
    let (mut refused, mut throttled) = (0, 0);
    for _ in 0..20 {
        match auth.login("ayesha", "guess guess guess", proxy).await {
            Err(AppError::Unauthenticated(_)) => refused += 1,
            Err(AppError::Throttled { retry_after }) => {
                assert!(retry_after > nigehban_app::model::Timestamp::now());
                throttled += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    // Five free failures and the sixth that starts the wait; the rest wait.
    assert_eq!((refused, throttled), (6, 14));
    // Even the right password waits at that address for that name...
    assert!(matches!(
        auth.login("ayesha", "ayesha password 123", proxy).await,
        Err(AppError::Throttled { .. })
    ));
    // ...but Ayesha signs in from her own address,
    let signed_in = auth
        .login("ayesha", "ayesha password 123", Some(addr("198.51.100.7")))
        .await
        .unwrap();
    assert_eq!(signed_in.user.failed_logins, 0);
    // and Bilal, behind the same proxy as the stranger, is not held back.
    auth.login("bilal", "bilal password 123", proxy)
        .await
        .unwrap();
    let counters = w.app.counters();
    assert_eq!(counters.lockouts, 1, "{counters:?}");
    assert_eq!(counters.throttled_sign_ins, 15, "{counters:?}");
    // Every failure that reached a password check is audited; waits are not failures.
    let failures = actions(&w)
        .await
        .into_iter()
        .filter(|(action, _)| action == "user.login_failed")
        .count();
    assert_eq!(failures, 6);
}

/// Guessing across many user names from one address slows the address as a
/// whole, and nobody elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spraying_many_user_names_from_one_address_slows_that_address() {
    let mut settings = AppSettings::insecure_fast_for_tests();
    settings.sign_in_throttle = SignInThrottle {
        per_address: Backoff {
            free_failures: 10,
            first_wait: Duration::from_secs(30),
            max_wait: Duration::from_secs(300),
            forget_after: Duration::from_secs(3600),
        },
        ..SignInThrottle::default()
    };
    let w = world_with(settings).await;
    let sprayer = Some(addr("203.0.113.9"));
    let auth = w.app.auth();
    for n in 0..11 {
        let error = auth
            .login(&format!("guess{n}"), "Summer2024! Summer", sprayer)
            .await
            .unwrap_err();
        assert!(
            matches!(error, AppError::Unauthenticated(_)),
            "{n}: {error}"
        );
    }
    assert!(matches!(
        auth.login("admin", world::ADMIN_PASSWORD, sprayer).await,
        Err(AppError::Throttled { .. })
    ));
    auth.login("admin", world::ADMIN_PASSWORD, Some(addr("192.0.2.44")))
        .await
        .unwrap();
}

/// API tokens used to survive an administrator's password reset of their
/// owner: whoever had taken over the account kept its tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_or_a_deactivation_ends_the_owners_api_tokens() {
    let w = world().await;
    let ayesha = w.user(w.telecom.id, "ayesha", Role::Analyst).await;
    let bilal = w.user(w.telecom.id, "bilal", Role::Analyst).await;
    let tokens = w.app.tokens();
    let make = |caller: &nigehban_app::Caller, name: &str| {
        let caller = caller.clone();
        let name = name.to_owned();
        let tokens = w.app.tokens();
        async move {
            tokens
                .create(
                    &caller,
                    NewApiToken {
                        name: TokenName::parse(&name).unwrap(),
                        tenant: None,
                        role: None,
                        expires_at: None,
                    },
                )
                .await
                .unwrap()
        }
    };
    let ayeshas = make(&ayesha, "ayesha's script").await;
    let bilals = make(&bilal, "bilal's pull").await;
    for token in [&ayeshas, &bilals] {
        tokens
            .authenticate(token.secret.expose(), None)
            .await
            .unwrap();
    }

    let ayesha_id = ayesha.user_id().unwrap();
    w.app
        .users()
        .reset_password(&w.root_admin, ayesha_id, None)
        .await
        .unwrap();
    let error = tokens
        .authenticate(ayeshas.secret.expose(), None)
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Unauthenticated(_)), "{error}");
    let revoked = tokens.get(&w.root_admin, ayeshas.token.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    // Bilal's token is his own business.
    tokens
        .authenticate(bilals.secret.expose(), None)
        .await
        .unwrap();

    w.app
        .users()
        .deactivate(&w.root_admin, bilal.user_id().unwrap())
        .await
        .unwrap();
    let revoked = tokens.get(&w.root_admin, bilals.token.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());

    let log = actions(&w).await;
    for token in [&ayeshas, &bilals] {
        assert!(
            log.contains(&("token.revoke".to_owned(), token.token.id.to_string())),
            "{log:?}"
        );
    }
    let operator = w.app.operator(None).await.unwrap();
    assert!(w.app.audit().verify(&operator).await.unwrap().is_intact());
}

/// `POST /users` answered 409 "already taken" for a name held in any tenant:
/// an organisation's administrator could find out who has accounts at other
/// organisations. A name held out of the caller's sight is refused like a
/// reserved one, audited, and collecting refusals makes the caller wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_names_held_elsewhere_are_refused_without_confirming_them() {
    let w = world().await;
    person(&w, w.bank.id, "zara", Role::Analyst).await;
    person(&w, w.operator.id, "omar", Role::Analyst).await;
    let operator_admin = w
        .user(w.operator.id, "operator-admin", Role::Administrator)
        .await;
    let users = w.app.users();
    let attempt = |name: &str| NewUser {
        tenant: w.operator.id,
        username: Username::parse(name).unwrap(),
        display_name: DisplayName::parse("Someone").unwrap(),
        role: Role::Analyst,
        password: None,
    };
    let message = |error: AppError| match error {
        AppError::Conflict(message) => message,
        other => panic!("expected a conflict, got {other:?}"),
    };

    let taken_elsewhere = message(
        users
            .create(&operator_admin, attempt("zara"))
            .await
            .unwrap_err(),
    );
    let reserved = message(
        users
            .create(&operator_admin, attempt("root"))
            .await
            .unwrap_err(),
    );
    // One answer for both: nothing confirms that anyone holds "zara".
    assert_eq!(
        taken_elsewhere.replace("zara", "NAME"),
        reserved.replace("root", "NAME")
    );
    for secret in [
        w.bank.id.to_string(),
        w.bank.name.as_str().to_owned(),
        "taken".to_owned(),
    ] {
        assert!(
            !taken_elsewhere.contains(&secret),
            "{taken_elsewhere:?} reveals {secret:?}"
        );
    }
    // A name held within the caller's reach says by whom: they can list them anyway.
    let in_reach = message(
        users
            .create(&operator_admin, attempt("omar"))
            .await
            .unwrap_err(),
    );
    assert!(in_reach.contains("already taken"), "{in_reach}");

    // Refusals are audited, where the national CERT's auditors see them.
    let refusals: Vec<String> = actions(&w)
        .await
        .into_iter()
        .filter(|(action, _)| action == "user.create_refused")
        .map(|(_, name)| name)
        .collect();
    assert_eq!(refusals, ["zara", "root"]);

    // Five refusals in an hour, then every try waits, whatever the name.
    for name in ["x1", "x2", "x3"] {
        person(&w, w.bank.id, name, Role::Analyst).await;
        users
            .create(&operator_admin, attempt(name))
            .await
            .unwrap_err();
    }
    let error = users
        .create(&operator_admin, attempt("free-name"))
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::Throttled { .. }), "{error}");
    // Nobody else is held back; the national administrator sees every holder.
    let error = users
        .create(&w.root_admin, attempt("zara"))
        .await
        .unwrap_err();
    assert!(message(error).contains("already taken by user"));
    users
        .create(&w.root_admin, attempt("free-name"))
        .await
        .unwrap();
}
