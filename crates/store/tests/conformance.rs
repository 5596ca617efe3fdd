//! The storage conformance suite: every test runs against SQLite and PostgreSQL.
//!
//! A backend is supported exactly when this suite passes. PostgreSQL tests
//! read `NIGEHBAN_TEST_POSTGRES_URL` (a role allowed to CREATE DATABASE; each
//! test makes its own database) and are skipped when it is unset, unless
//! `NIGEHBAN_REQUIRE_SERVICES=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[path = "conformance/harness.rs"]
mod harness;
#[path = "conformance/alerts.rs"]
mod alerts;
#[path = "conformance/audit_key.rs"]
mod audit_key;
#[path = "conformance/rules.rs"]
mod rules;
#[path = "conformance/sensors.rs"]
mod sensors;

use std::collections::BTreeSet;
use std::sync::Arc;

use alerts::{
    alerts_list_by_scope_and_filters_newest_first, bad_signals_are_rejected_alone,
    closed_alerts_are_never_folded_into, comments_are_kept_in_order_and_audited,
    exercise_and_retro_hunt_alerts_stay_apart, folding_windows_hold_at_their_edges,
    pruning_the_feed_keeps_its_numbering, raised_signals_fold_by_rule_and_key,
    redelivered_signals_count_once, the_change_feed_misses_nothing_under_concurrency,
    triage_is_audited_and_fed,
};
use audit_key::{
    a_cut_tail_with_a_moved_head_is_detected, a_recomputed_chain_is_named_at_the_forged_entry,
    a_wrong_or_missing_key_is_refused, an_emptied_log_is_detected,
    anchored_heads_detect_a_rollback, read_only_opening_changes_nothing,
    resets_and_deactivation_revoke_owned_tokens,
    schema_2_logs_are_sealed_when_the_key_is_installed,
};
use harness::{QUARTER_HOUR, TestBackend, ctx, hash, tenant, tree, user};
use nigehban_model::{
    ActorKind, ApiToken, AuditAction, AuditDraft, AuditEntryId, AuditProblem, AuditVerification,
    JsonText, Role, SecretHash, Session, SessionId, TenantKind, TenantName, Timestamp, TokenId,
    TokenName, Username,
};
use nigehban_store::{AuditQuery, Cursor, PageRequest, StoreError, TenantChange, UserChange};
use rules::{
    overrides_and_filters_are_audited_and_bump_the_revision,
    rules_import_replace_and_list_with_a_revision,
};
use sensors::{
    address_lookup_prefers_the_most_specific_network, certificates_find_active_sensors,
    concurrent_overlapping_registrations_admit_one_tenant,
    health_events_are_append_only_and_newest_first,
    sensor_changes_are_audited_with_before_and_after,
    sensor_collisions_are_refused_without_naming_the_owner, sensor_tokens_rotate_and_revoke,
    sensors_round_trip_and_list_by_subtree, source_networks_never_overlap_another_tenants,
};

conformance_tests!(
    tenants_form_a_tree,
    only_one_root,
    unknown_parent_is_not_found,
    moves_refuse_cycles,
    tenant_changes_are_audited_with_before_and_after,
    listing_pages_through_everything_once,
    bad_cursors_are_refused,
    users_round_trip,
    user_names_are_unique,
    user_changes_end_sessions,
    failures_are_counted_never_locking,
    tokens_are_found_by_secret_hash,
    sessions_live_and_die,
    audit_chain_stays_linear_under_concurrency,
    audit_lists_by_subtree_and_in_both_orders,
    audit_log_refuses_updates_and_deletes,
    tampering_is_detected_and_named,
    reopening_keeps_the_instance_and_needs_no_migration,
    stand_alone_entries_join_the_chain,
    sensors_round_trip_and_list_by_subtree,
    sensor_collisions_are_refused_without_naming_the_owner,
    address_lookup_prefers_the_most_specific_network,
    certificates_find_active_sensors,
    sensor_changes_are_audited_with_before_and_after,
    sensor_tokens_rotate_and_revoke,
    health_events_are_append_only_and_newest_first,
    source_networks_never_overlap_another_tenants,
    concurrent_overlapping_registrations_admit_one_tenant,
    resets_and_deactivation_revoke_owned_tokens,
    a_recomputed_chain_is_named_at_the_forged_entry,
    a_cut_tail_with_a_moved_head_is_detected,
    an_emptied_log_is_detected,
    anchored_heads_detect_a_rollback,
    a_wrong_or_missing_key_is_refused,
    read_only_opening_changes_nothing,
    schema_2_logs_are_sealed_when_the_key_is_installed,
    // alerts
    raised_signals_fold_by_rule_and_key,
    redelivered_signals_count_once,
    bad_signals_are_rejected_alone,
    folding_windows_hold_at_their_edges,
    closed_alerts_are_never_folded_into,
    exercise_and_retro_hunt_alerts_stay_apart,
    alerts_list_by_scope_and_filters_newest_first,
    triage_is_audited_and_fed,
    comments_are_kept_in_order_and_audited,
    the_change_feed_misses_nothing_under_concurrency,
    pruning_the_feed_keeps_its_numbering,
    // detection rules per tenant
    rules_import_replace_and_list_with_a_revision,
    overrides_and_filters_are_audited_and_bump_the_revision,
);

async fn tenants_form_a_tree(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let root = store.root_tenant().await.unwrap().unwrap();
    assert_eq!(root, tree.national);
    assert_eq!(root.instance, store.instance());
    let got = store.tenant(tree.operator.id).await.unwrap().unwrap();
    assert_eq!(got, tree.operator);
    let path: Vec<_> = store
        .tenant_path(tree.operator.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        path,
        vec![tree.national.id, tree.telecom.id, tree.operator.id]
    );
    assert!(
        store
            .tenant_path(nigehban_model::TenantId::new())
            .await
            .unwrap()
            .is_empty()
    );
    let all = ids(store
        .list_tenants(tree.national.id, &PageRequest::default())
        .await
        .unwrap()
        .items);
    assert_eq!(all.len(), 5);
    let telecom = ids(store
        .list_tenants(tree.telecom.id, &PageRequest::default())
        .await
        .unwrap()
        .items);
    assert_eq!(telecom, BTreeSet::from([tree.telecom.id, tree.operator.id]));
    assert!(
        store
            .tenant(nigehban_model::TenantId::new())
            .await
            .unwrap()
            .is_none()
    );
}

fn ids(tenants: Vec<nigehban_model::Tenant>) -> BTreeSet<nigehban_model::TenantId> {
    tenants.into_iter().map(|t| t.id).collect()
}

async fn only_one_root(backend: &TestBackend) {
    let store = backend.store();
    let first = tenant(store, None, "National CERT", TenantKind::National);
    store.insert_tenant(&first, &ctx()).await.unwrap();
    let second = tenant(store, None, "Rival CERT", TenantKind::National);
    let error = store.insert_tenant(&second, &ctx()).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error}");
    // The failed insert wrote no audit entry.
    assert_eq!(store.audit_head().await.unwrap().seq, 1);
}

async fn unknown_parent_is_not_found(backend: &TestBackend) {
    let store = backend.store();
    tree(store).await;
    let orphan = tenant(
        store,
        Some(nigehban_model::TenantId::new()),
        "Orphan",
        TenantKind::Organisation {
            critical_infrastructure: false,
        },
    );
    let error = store.insert_tenant(&orphan, &ctx()).await.unwrap_err();
    assert!(
        matches!(error, StoreError::NotFound { kind: "tenant", .. }),
        "{error}"
    );
}

async fn moves_refuse_cycles(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let subsidiary = tenant(
        store,
        Some(tree.operator.id),
        "Operator Subsidiary",
        TenantKind::Organisation {
            critical_infrastructure: false,
        },
    );
    store.insert_tenant(&subsidiary, &ctx()).await.unwrap();
    let head = store.audit_head().await.unwrap();
    for new_parent in [tree.telecom.id, tree.operator.id, subsidiary.id] {
        let error = store
            .update_tenant(tree.telecom.id, TenantChange::Move(new_parent), &ctx())
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Cycle { .. }), "{error}");
    }
    assert_eq!(
        store.audit_head().await.unwrap(),
        head,
        "refused moves are not audited"
    );
    let moved = store
        .update_tenant(
            tree.operator.id,
            TenantChange::Move(tree.banking.id),
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(moved.parent, Some(tree.banking.id));
    let path: Vec<_> = store
        .tenant_path(subsidiary.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        path,
        vec![
            tree.national.id,
            tree.banking.id,
            tree.operator.id,
            subsidiary.id
        ]
    );
    let banking = ids(store
        .list_tenants(tree.banking.id, &PageRequest::default())
        .await
        .unwrap()
        .items);
    assert!(banking.contains(&subsidiary.id));
    let error = store
        .update_tenant(
            tree.operator.id,
            TenantChange::Move(nigehban_model::TenantId::new()),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");
}

async fn tenant_changes_are_audited_with_before_and_after(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let context = ctx();
    let renamed = store
        .update_tenant(
            tree.bank.id,
            TenantChange::Rename(TenantName::parse("First National Bank").unwrap()),
            &context,
        )
        .await
        .unwrap();
    assert_eq!(renamed.name.as_str(), "First National Bank");
    let deactivated = store
        .update_tenant(tree.bank.id, TenantChange::Deactivate, &context)
        .await
        .unwrap();
    assert!(!deactivated.active);
    assert_eq!(
        store.tenant(tree.bank.id).await.unwrap().unwrap(),
        deactivated
    );
    let page = store
        .list_audit(
            AuditQuery {
                subtree: Some(tree.bank.id),
                newest_first: false,
            },
            &PageRequest::default(),
        )
        .await
        .unwrap();
    let actions: Vec<_> = page
        .items
        .iter()
        .map(|e| e.action.as_str().to_owned())
        .collect();
    assert_eq!(
        actions,
        ["tenant.create", "tenant.rename", "tenant.deactivate"]
    );
    let rename = &page.items[1];
    assert_eq!(rename.actor, context.actor);
    assert_eq!(rename.remote_addr.as_deref(), Some("192.0.2.10"));
    assert_eq!(rename.record_kind, "tenant");
    assert_eq!(rename.record_id, tree.bank.id.to_string());
    assert_eq!(
        rename.before.as_ref().unwrap().value()["name"],
        "First Bank"
    );
    assert_eq!(
        rename.after.as_ref().unwrap().value()["name"],
        "First National Bank"
    );
    assert!(page.items[0].before.is_none());
}

async fn listing_pages_through_everything_once(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    for n in 0..7 {
        let org = tenant(
            store,
            Some(tree.banking.id),
            &format!("Bank {n}"),
            TenantKind::Organisation {
                critical_infrastructure: false,
            },
        );
        store.insert_tenant(&org, &ctx()).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let result = store.list_tenants(tree.national.id, &page).await.unwrap();
        assert!(result.items.len() <= 3);
        seen.extend(result.items.iter().map(|t| t.id));
        match result.next {
            Some(next) => page = PageRequest::after(next, 3),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "stable order by id");
    sorted.dedup();
    assert_eq!(sorted.len(), 12, "no tenant twice");
}

async fn bad_cursors_are_refused(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    for cursor in [
        Cursor::from_client("garbage!"),
        Cursor::encode("audit", "3"),
        Cursor::encode("tenants", "not-a-uuid"),
    ] {
        let error = store
            .list_tenants(tree.national.id, &PageRequest::after(cursor.clone(), 10))
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::BadCursor(_)),
            "{cursor}: {error}"
        );
    }
    let error = store
        .list_audit(
            AuditQuery::default(),
            &PageRequest::after(Cursor::encode("tenants", "x"), 10),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::BadCursor(_)), "{error}");
}

async fn users_round_trip(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let ayesha = user(store, tree.telecom.id, "ayesha", Role::Analyst);
    store
        .insert_user(&ayesha, &hash("a"), &ctx())
        .await
        .unwrap();
    let bilal = user(store, tree.operator.id, "bilal", Role::ConstituentReporter);
    store.insert_user(&bilal, &hash("b"), &ctx()).await.unwrap();
    let chand = user(store, tree.bank.id, "chand", Role::Auditor);
    store.insert_user(&chand, &hash("c"), &ctx()).await.unwrap();
    assert_eq!(store.user(ayesha.id).await.unwrap().unwrap(), ayesha);
    let (found, found_hash) = store
        .user_credentials(&Username::parse("Ayesha").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, ayesha);
    assert_eq!(found_hash, hash("a"));
    assert!(
        store
            .user_credentials(&Username::parse("nobody").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let telecom: BTreeSet<_> = store
        .list_users(tree.telecom.id, &PageRequest::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(telecom, BTreeSet::from([ayesha.id, bilal.id]));
    let everyone = store
        .list_users(tree.national.id, &PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(everyone.items.len(), 2);
    let rest = store
        .list_users(
            tree.national.id,
            &PageRequest::after(everyone.next.unwrap(), 2),
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next.is_none());
    // The audit entry for a user never carries the password hash.
    let entries = store
        .list_audit(AuditQuery::default(), &PageRequest::default())
        .await
        .unwrap();
    let creation = entries
        .items
        .iter()
        .find(|e| e.record_id == ayesha.id.to_string())
        .unwrap();
    assert_eq!(creation.action, AuditAction::USER_CREATE);
    assert!(!creation.after.as_ref().unwrap().as_str().contains("argon2"));
}

async fn user_names_are_unique(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    store
        .insert_user(
            &user(store, tree.telecom.id, "ayesha", Role::Analyst),
            &hash("a"),
            &ctx(),
        )
        .await
        .unwrap();
    let error = store
        .insert_user(
            &user(store, tree.bank.id, "ayesha", Role::Auditor),
            &hash("b"),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error}");
    let error = store
        .insert_user(
            &user(
                store,
                nigehban_model::TenantId::new(),
                "zafar",
                Role::Auditor,
            ),
            &hash("b"),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");
}

fn session_for(store: &dyn nigehban_store::Store, user: &nigehban_model::User) -> Session {
    let now = Timestamp::now();
    Session {
        id: SessionId::new(),
        instance: store.instance(),
        user: user.id,
        tenant: user.tenant,
        csrf_secret: "csrf".into(),
        created_at: now,
        expires_at: now.plus(QUARTER_HOUR),
        last_seen_at: now,
        revoked_at: None,
        remote_addr: Some("198.51.100.4".into()),
    }
}

async fn user_changes_end_sessions(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let ayesha = user(store, tree.telecom.id, "ayesha", Role::Analyst);
    store
        .insert_user(&ayesha, &hash("a"), &ctx())
        .await
        .unwrap();
    let promoted = store
        .update_user(ayesha.id, UserChange::SetRole(Role::DutyOfficer), &ctx())
        .await
        .unwrap();
    assert_eq!(promoted.role, Role::DutyOfficer);

    let kept = session_for(store, &ayesha);
    store
        .insert_session(&kept, &SecretHash::of("kept"), &ctx())
        .await
        .unwrap();
    let other = session_for(store, &ayesha);
    store
        .insert_session(&other, &SecretHash::of("other"), &ctx())
        .await
        .unwrap();
    let changed = store
        .update_user(
            ayesha.id,
            UserChange::SetPassword {
                hash: hash("new"),
                must_change: false,
                keep_session: Some(kept.id),
                revoke_tokens: false,
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert!(!changed.must_change_password);
    assert_eq!(
        store
            .user_credentials(&ayesha.username)
            .await
            .unwrap()
            .unwrap()
            .1,
        hash("new")
    );
    assert!(
        store
            .session(kept.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert!(
        store
            .session(other.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );

    let deactivated = store
        .update_user(ayesha.id, UserChange::Deactivate, &ctx())
        .await
        .unwrap();
    assert!(!deactivated.active);
    assert!(
        store
            .session(kept.id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    let error = store
        .update_user(
            nigehban_model::UserId::new(),
            UserChange::Deactivate,
            &ctx(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::NotFound { kind: "user", .. }),
        "{error}"
    );
}

/// Failures are counted and audited; storage never locks an account (a
/// stranger could lock anyone out): sign-in throttling is the app's, per
/// user and address.
async fn failures_are_counted_never_locking(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let ayesha = user(store, tree.telecom.id, "ayesha", Role::Analyst);
    store
        .insert_user(&ayesha, &hash("a"), &ctx())
        .await
        .unwrap();
    for expected in 1..=3 {
        let counted = store.record_login_failure(ayesha.id, &ctx()).await.unwrap();
        assert_eq!(counted.failed_logins, expected);
    }
    assert_eq!(
        store.user(ayesha.id).await.unwrap().unwrap().failed_logins,
        3
    );
    // A successful sign-in (a new session) clears the counter.
    store
        .insert_session(&session_for(store, &ayesha), &SecretHash::of("s"), &ctx())
        .await
        .unwrap();
    let cleared = store.user(ayesha.id).await.unwrap().unwrap();
    assert_eq!(cleared.failed_logins, 0);
    let entries = store
        .list_audit(AuditQuery::default(), &PageRequest::default())
        .await
        .unwrap();
    let failures = entries
        .items
        .iter()
        .filter(|e| e.action == AuditAction::USER_LOGIN_FAILED)
        .count();
    assert_eq!(failures, 3);
}

async fn tokens_are_found_by_secret_hash(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let owner = user(store, tree.operator.id, "sensor-admin", Role::Administrator);
    store.insert_user(&owner, &hash("a"), &ctx()).await.unwrap();
    let now = Timestamp::now();
    let token = ApiToken {
        id: TokenId::new(),
        instance: store.instance(),
        tenant: tree.operator.id,
        role: Role::ConstituentReporter,
        owner: Some(owner.id),
        name: TokenName::parse("sensor 1").unwrap(),
        created_at: now,
        expires_at: Some(now.plus(QUARTER_HOUR)),
        last_used_at: None,
        revoked_at: None,
        sensor: None,
    };
    store
        .insert_token(&token, &SecretHash::of("ngb_secret"), &ctx())
        .await
        .unwrap();
    let operator_token = ApiToken {
        id: TokenId::new(),
        owner: None,
        expires_at: None,
        ..token.clone()
    };
    store
        .insert_token(&operator_token, &SecretHash::of("ngb_other"), &ctx())
        .await
        .unwrap();
    assert_eq!(
        store
            .token_by_secret(&SecretHash::of("ngb_secret"))
            .await
            .unwrap()
            .unwrap(),
        token
    );
    assert!(
        store
            .token_by_secret(&SecretHash::of("ngb_wrong"))
            .await
            .unwrap()
            .is_none()
    );
    let used_at = Timestamp::now();
    store.touch_token(token.id, used_at).await.unwrap();
    assert_eq!(
        store.token(token.id).await.unwrap().unwrap().last_used_at,
        Some(used_at)
    );
    let revoke_ctx = ctx();
    let revoked = store.revoke_token(token.id, &revoke_ctx).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(revoke_ctx.at));
    let again = store.revoke_token(token.id, &ctx()).await.unwrap();
    assert_eq!(
        again.revoked_at,
        Some(revoke_ctx.at),
        "revoking twice keeps the first time"
    );
    assert!(!again.is_usable_at(Timestamp::now()));
    let listed = store
        .list_tokens(tree.telecom.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    assert!(
        store
            .list_tokens(tree.banking.id, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let entries = store
        .list_audit(AuditQuery::default(), &PageRequest::default())
        .await
        .unwrap();
    let token_actions: Vec<_> = entries
        .items
        .iter()
        .filter(|e| e.record_kind == "token")
        .map(|e| e.action.as_str().to_owned())
        .collect();
    assert_eq!(
        token_actions,
        ["token.create", "token.create", "token.revoke"]
    );
}

async fn sessions_live_and_die(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let ayesha = user(store, tree.telecom.id, "ayesha", Role::Analyst);
    store
        .insert_user(&ayesha, &hash("a"), &ctx())
        .await
        .unwrap();
    let session = session_for(store, &ayesha);
    store
        .insert_session(&session, &SecretHash::of("cookie"), &ctx())
        .await
        .unwrap();
    assert_eq!(
        store
            .session_by_secret(&SecretHash::of("cookie"))
            .await
            .unwrap()
            .unwrap(),
        session
    );
    assert!(
        store
            .session_by_secret(&SecretHash::of("other"))
            .await
            .unwrap()
            .is_none()
    );
    let seen = Timestamp::now();
    let until = seen.plus(QUARTER_HOUR);
    store.touch_session(session.id, seen, until).await.unwrap();
    let touched = store.session(session.id).await.unwrap().unwrap();
    assert_eq!((touched.last_seen_at, touched.expires_at), (seen, until));
    let expired = Session {
        id: SessionId::new(),
        expires_at: Timestamp::from_unix_micros(1),
        ..session_for(store, &ayesha)
    };
    store
        .insert_session(&expired, &SecretHash::of("old"), &ctx())
        .await
        .unwrap();
    assert_eq!(store.purge_sessions(Timestamp::now()).await.unwrap(), 1);
    assert!(store.session(expired.id).await.unwrap().is_none());
    let revoked = store.revoke_session(session.id, &ctx()).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(!revoked.is_live_at(Timestamp::now()));
    assert_eq!(store.purge_sessions(Timestamp::now()).await.unwrap(), 1);
    let error = store.revoke_session(session.id, &ctx()).await.unwrap_err();
    assert!(matches!(error, StoreError::NotFound { .. }), "{error}");
}

async fn audit_chain_stays_linear_under_concurrency(backend: &TestBackend) {
    let store: Arc<dyn nigehban_store::Store> = backend.reopen().await;
    let tree = tree(store.as_ref()).await;
    let before = store.audit_head().await.unwrap().seq;
    let mut tasks = Vec::new();
    for worker in 0..6 {
        let store = Arc::clone(&store);
        let parent = tree.telecom.id;
        tasks.push(tokio::spawn(async move {
            for n in 0..8 {
                let org = tenant(
                    store.as_ref(),
                    Some(parent),
                    &format!("Org {worker}-{n}"),
                    TenantKind::Organisation {
                        critical_infrastructure: false,
                    },
                );
                store.insert_tenant(&org, &ctx()).await.unwrap();
                store
                    .update_tenant(
                        org.id,
                        TenantChange::Rename(
                            TenantName::parse(&format!("Org {worker}-{n} renamed")).unwrap(),
                        ),
                        &ctx(),
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let head = store.audit_head().await.unwrap();
    assert_eq!(head.seq, before + 6 * 8 * 2);
    match store.verify_audit().await.unwrap() {
        AuditVerification::Intact {
            entries,
            head: hash,
        } => {
            assert_eq!(entries, head.seq);
            assert_eq!(hash, head.hash);
        }
        broken => panic!("chain broken under concurrency: {broken:?}"),
    }
}

async fn audit_lists_by_subtree_and_in_both_orders(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let all = store
        .list_audit(AuditQuery::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        all.items.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let newest = store
        .list_audit(
            AuditQuery {
                subtree: None,
                newest_first: true,
            },
            &PageRequest::first(2),
        )
        .await
        .unwrap();
    assert_eq!(
        newest.items.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [5, 4]
    );
    let older = store
        .list_audit(
            AuditQuery {
                subtree: None,
                newest_first: true,
            },
            &PageRequest::after(newest.next.unwrap(), 2),
        )
        .await
        .unwrap();
    assert_eq!(
        older.items.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [3, 2]
    );
    let banking = store
        .list_audit(
            AuditQuery {
                subtree: Some(tree.banking.id),
                newest_first: false,
            },
            &PageRequest::default(),
        )
        .await
        .unwrap();
    let tenants: BTreeSet<_> = banking.items.iter().map(|e| e.tenant).collect();
    assert_eq!(tenants, BTreeSet::from([tree.banking.id, tree.bank.id]));
    let first = store
        .list_audit(
            AuditQuery {
                subtree: Some(tree.national.id),
                newest_first: false,
            },
            &PageRequest::first(4),
        )
        .await
        .unwrap();
    let rest = store
        .list_audit(
            AuditQuery {
                subtree: Some(tree.national.id),
                newest_first: false,
            },
            &PageRequest::after(first.next.unwrap(), 4),
        )
        .await
        .unwrap();
    assert_eq!(rest.items.iter().map(|e| e.seq).collect::<Vec<_>>(), [5]);
    assert!(rest.next.is_none());
}

async fn audit_log_refuses_updates_and_deletes(backend: &TestBackend) {
    let store = backend.store();
    tree(store).await;
    assert!(
        !backend
            .try_raw("UPDATE audit_log SET action = 'x' WHERE seq = 1")
            .await
    );
    assert!(!backend.try_raw("DELETE FROM audit_log WHERE seq = 1").await);
    assert!(store.verify_audit().await.unwrap().is_intact());
}

/// One way to tamper with the log, and where verification must point.
struct Tampering {
    what: &'static str,
    sql: &'static str,
    seq: u64,
    problem: fn(&AuditProblem) -> bool,
    names_entry: bool,
}

async fn tampering_is_detected_and_named(backend: &TestBackend) {
    // Each tampering gets a fresh database: the first one would hide the rest.
    let cases = [
        Tampering {
            what: "action",
            sql: "UPDATE audit_log SET action = 'tenant.delete' WHERE seq = 3",
            seq: 3,
            problem: |p| *p == AuditProblem::ContentAltered,
            names_entry: true,
        },
        Tampering {
            what: "before data",
            sql: "UPDATE audit_log SET before_json = '{\"name\":\"Forged\"}' WHERE seq = 6",
            seq: 6,
            problem: |p| *p == AuditProblem::ContentAltered,
            names_entry: true,
        },
        Tampering {
            what: "after data",
            sql: "UPDATE audit_log SET after_json = replace(after_json, 'Renamed', 'Forged') WHERE seq = 6",
            seq: 6,
            problem: |p| *p == AuditProblem::ContentAltered,
            names_entry: true,
        },
        Tampering {
            what: "actor",
            sql: "UPDATE audit_log SET actor_user = NULL WHERE seq = 2",
            seq: 2,
            problem: |p| *p == AuditProblem::ContentAltered,
            names_entry: true,
        },
        Tampering {
            what: "actor kind",
            sql: "UPDATE audit_log SET actor_kind = 'system' WHERE seq = 4",
            seq: 4,
            problem: |p| *p == AuditProblem::ContentAltered,
            names_entry: true,
        },
        Tampering {
            what: "time",
            sql: "UPDATE audit_log SET at_micros = at_micros + 1 WHERE seq = 5",
            seq: 5,
            problem: |p| *p == AuditProblem::ContentAltered,
            names_entry: true,
        },
        Tampering {
            what: "remote address",
            sql: "UPDATE audit_log SET remote_addr = '203.0.113.9' WHERE seq = 1",
            seq: 1,
            problem: |p| *p == AuditProblem::ContentAltered,
            names_entry: true,
        },
        Tampering {
            what: "tenant",
            sql: "UPDATE audit_log SET tenant_id = (SELECT tenant_id FROM audit_log WHERE seq = 1) WHERE seq = 3",
            seq: 3,
            problem: |p| *p == AuditProblem::ContentAltered,
            names_entry: true,
        },
        Tampering {
            what: "hash",
            sql: "UPDATE audit_log SET hash = prev_hash WHERE seq = 4",
            seq: 4,
            problem: |p| *p == AuditProblem::ContentAltered,
            names_entry: true,
        },
        Tampering {
            what: "deleted middle row",
            sql: "DELETE FROM audit_log WHERE seq = 3",
            seq: 3,
            problem: |p| {
                matches!(
                    p,
                    AuditProblem::Missing {
                        next_seq: Some(4),
                        ..
                    }
                )
            },
            names_entry: false,
        },
        Tampering {
            what: "deleted last row",
            sql: "DELETE FROM audit_log WHERE seq = 6",
            seq: 6,
            problem: |p| matches!(p, AuditProblem::Missing { next_seq: None, .. }),
            names_entry: false,
        },
        Tampering {
            what: "reordered rows",
            sql: "UPDATE audit_log SET seq = 100 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 100",
            seq: 2,
            problem: |p| *p == AuditProblem::ContentAltered,
            names_entry: true,
        },
    ];
    for case in cases {
        let fresh = match backend {
            TestBackend::Sqlite(..) => harness::sqlite().await,
            TestBackend::Postgres(..) => harness::postgres().await.unwrap(),
        };
        let store = fresh.store();
        let tree = tree(store).await; // entries 1-5
        store
            .update_tenant(
                tree.bank.id,
                TenantChange::Rename(TenantName::parse("Renamed Bank").unwrap()),
                &ctx(),
            )
            .await
            .unwrap(); // entry 6, with before and after
        let entries = store
            .list_audit(AuditQuery::default(), &PageRequest::default())
            .await
            .unwrap()
            .items;
        assert!(store.verify_audit().await.unwrap().is_intact());
        fresh.drop_audit_guards().await;
        fresh.raw(case.sql).await;
        let outcome = store.verify_audit().await.unwrap();
        let AuditVerification::Broken(broken) = outcome else {
            panic!("tampering with the {} went undetected", case.what);
        };
        assert_eq!(broken.seq, case.seq, "{}: {broken}", case.what);
        assert!((case.problem)(&broken.problem), "{}: {broken:?}", case.what);
        let expected_id = if case.names_entry {
            entries.iter().find(|e| e.seq == case.seq).map(|e| e.id)
        } else {
            None
        };
        if case.what != "reordered rows" {
            assert_eq!(broken.id, expected_id, "{}", case.what);
        }
        assert!(
            broken.to_string().contains(&format!("seq {}", case.seq)),
            "{broken}"
        );
    }
}

async fn reopening_keeps_the_instance_and_needs_no_migration(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    assert_eq!(store.migrate().await.unwrap(), 0);
    store.ping().await.unwrap();
    let reopened = backend.reopen().await;
    assert_eq!(reopened.instance(), store.instance());
    assert_eq!(reopened.migrations_applied_at_open(), 0);
    assert_eq!(
        reopened.tenant(tree.bank.id).await.unwrap().unwrap(),
        tree.bank
    );
    assert!(reopened.verify_audit().await.unwrap().is_intact());
}

async fn stand_alone_entries_join_the_chain(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let context = ctx();
    let entry = store
        .append_audit(AuditDraft {
            id: AuditEntryId::new(),
            instance: store.instance(),
            tenant: tree.bank.id,
            at: context.at,
            actor: context.actor,
            action: AuditAction::RECORD_READ,
            record_kind: "indicator".into(),
            record_id: "indicator--1".into(),
            before: None,
            after: Some(JsonText::of(&serde_json::json!({"tlp": "amber"})).unwrap()),
            remote_addr: context.remote_addr.clone(),
        })
        .await
        .unwrap();
    assert_eq!(entry.seq, 6);
    assert_eq!(entry.actor.kind, ActorKind::User);
    let head = store.audit_head().await.unwrap();
    assert_eq!((head.seq, head.hash), (6, entry.hash));
    let listed = store
        .list_audit(
            AuditQuery {
                subtree: Some(tree.bank.id),
                newest_first: true,
            },
            &PageRequest::first(1),
        )
        .await
        .unwrap();
    assert_eq!(listed.items, vec![entry]);
    assert!(store.verify_audit().await.unwrap().is_intact());
}
