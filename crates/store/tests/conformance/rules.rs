//! Detection rules per tenant in the conformance suite: stored documents,
//! overrides, filters, the revision and their audit entries, on every backend.

use nigehban_model::{
    AuditEntry, RuleDocument, RuleFilter, RuleFilterId, RuleKind, RuleOrigin, RuleOverride,
    Timestamp,
};
use nigehban_store::{
    AuditQuery, PageRequest, RuleImport, RuleQuery, RulesImported, Store, StoreError,
};

use crate::harness::{TestBackend, ctx, tree};

fn document(store: &dyn Store, id: &str, title: &str, level: &str, enabled: bool) -> RuleDocument {
    let at = Timestamp::now();
    RuleDocument {
        id: id.to_owned(),
        instance: store.instance(),
        title: title.to_owned(),
        kind: RuleKind::Rule,
        level: Some(level.to_owned()),
        origin: RuleOrigin::Imported,
        source_name: format!("{id}.yml:1"),
        text: format!("title: {title}\nid: {id}\n"),
        enabled,
        imported_by: None,
        imported_at: at,
        updated_at: at,
    }
}

async fn actions(store: &dyn Store) -> Vec<String> {
    let entries: Vec<AuditEntry> = store
        .list_audit(AuditQuery::default(), &PageRequest::first(1000))
        .await
        .unwrap()
        .items;
    entries
        .into_iter()
        .filter(|e| e.action.as_str().starts_with("rule."))
        .map(|e| format!("{} {}", e.action.as_str(), e.record_id))
        .collect()
}

pub(crate) async fn rules_import_replace_and_list_with_a_revision(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    let r0 = store.rules_revision().await.unwrap();
    let import = RuleImport {
        tenant: tree.national.id,
        rules: vec![
            document(store, "b-rule", "Brute force", "high", true),
            document(store, "a-rule", "Password spraying", "medium", true),
            document(store, "c-rule", "Beaconing", "high", false),
        ],
        keep_enabled: false,
    };
    let outcome = store.import_rules(&import, &ctx()).await.unwrap();
    assert_eq!(
        outcome,
        RulesImported {
            added: 3,
            replaced: 0,
            unchanged: 0
        }
    );
    let r1 = store.rules_revision().await.unwrap();
    assert_ne!(r0, r1);
    // The same import again changes nothing and writes nothing.
    let again = store.import_rules(&import, &ctx()).await.unwrap();
    assert_eq!(again.unchanged, 3);
    assert_eq!(store.rules_revision().await.unwrap(), r1);
    // A changed text replaces; the first import time stays.
    let first = store.rule("b-rule").await.unwrap().unwrap();
    let mut changed = document(store, "b-rule", "Brute force v2", "critical", true);
    changed.text.push_str("# v2\n");
    let outcome = store
        .import_rules(
            &RuleImport {
                tenant: tree.national.id,
                rules: vec![changed],
                keep_enabled: false,
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.replaced, 1);
    let stored = store.rule("b-rule").await.unwrap().unwrap();
    assert_eq!(stored.title, "Brute force v2");
    assert_eq!(stored.imported_at, first.imported_at);
    assert!(stored.text.ends_with("# v2\n"));
    // Seeding keeps the stored flag.
    let mut seeded = document(store, "c-rule", "Beaconing", "high", true);
    seeded.origin = RuleOrigin::BuiltIn;
    store
        .import_rules(
            &RuleImport {
                tenant: tree.national.id,
                rules: vec![seeded],
                keep_enabled: true,
            },
            &ctx(),
        )
        .await
        .unwrap();
    let c = store.rule("c-rule").await.unwrap().unwrap();
    assert!(!c.enabled);
    assert_eq!(c.origin, RuleOrigin::BuiltIn);
    // Listing: by id, paged, filtered.
    let page = store
        .list_rules(&RuleQuery::default(), &PageRequest::first(2))
        .await
        .unwrap();
    let ids: Vec<&str> = page.items.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a-rule", "b-rule"]);
    let rest = store
        .list_rules(
            &RuleQuery::default(),
            &PageRequest::after(page.next.unwrap(), 2),
        )
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["c-rule"]
    );
    assert!(rest.next.is_none());
    let spraying = store
        .list_rules(
            &RuleQuery {
                text: Some("SPRAY".into()),
                ..RuleQuery::default()
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(spraying.items.len(), 1);
    assert_eq!(spraying.items[0].id, "a-rule");
    let high = store
        .list_rules(
            &RuleQuery {
                level: Some("high".into()),
                kind: Some(RuleKind::Rule),
                ..RuleQuery::default()
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(
        high.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["c-rule"]
    );
    // The platform flag.
    let r2 = store.rules_revision().await.unwrap();
    let off = store
        .set_rule_enabled("a-rule", false, tree.national.id, &ctx())
        .await
        .unwrap();
    assert!(!off.enabled);
    assert_ne!(store.rules_revision().await.unwrap(), r2);
    assert!(matches!(
        store
            .set_rule_enabled("nope", false, tree.national.id, &ctx())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let audited = actions(store).await;
    assert_eq!(audited.len(), 4, "{audited:?}");
    assert!(audited[0].starts_with("rule.import "));
    assert_eq!(audited[3], "rule.disable a-rule");
}

pub(crate) async fn overrides_and_filters_are_audited_and_bump_the_revision(backend: &TestBackend) {
    let store = backend.store();
    let tree = tree(store).await;
    store
        .import_rules(
            &RuleImport {
                tenant: tree.national.id,
                rules: vec![document(store, "r1", "Rule one", "high", true)],
                keep_enabled: false,
            },
            &ctx(),
        )
        .await
        .unwrap();
    let before = store.rules_revision().await.unwrap();
    let change = RuleOverride {
        rule_id: "r1".into(),
        tenant: tree.operator.id,
        enabled: false,
        set_by: None,
        at: Timestamp::now(),
    };
    store.set_rule_override(&change, &ctx()).await.unwrap();
    let after_override = store.rules_revision().await.unwrap();
    assert_ne!(before, after_override);
    // Setting the same state again writes nothing.
    store.set_rule_override(&change, &ctx()).await.unwrap();
    assert_eq!(store.rules_revision().await.unwrap(), after_override);
    let sector = RuleOverride {
        tenant: tree.telecom.id,
        enabled: true,
        ..change.clone()
    };
    store.set_rule_override(&sector, &ctx()).await.unwrap();
    let all = store.rule_overrides(None).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.contains(&change) && all.contains(&sector));
    assert_eq!(store.rule_overrides(Some("r2")).await.unwrap(), []);
    // Unknown rule or tenant.
    let unknown = RuleOverride {
        rule_id: "r2".into(),
        ..change.clone()
    };
    assert!(matches!(
        store.set_rule_override(&unknown, &ctx()).await,
        Err(StoreError::NotFound { .. })
    ));
    let removed = store
        .clear_rule_override("r1", tree.operator.id, &ctx())
        .await
        .unwrap();
    assert_eq!(removed, Some(change.clone()));
    assert_eq!(
        store
            .clear_rule_override("r1", tree.operator.id, &ctx())
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.rule_overrides(Some("r1")).await.unwrap(), [sector]);
    // Filters, by subtree.
    let filter = RuleFilter {
        id: RuleFilterId::new(),
        instance: store.instance(),
        tenant: tree.operator.id,
        title: "Quiet service account".into(),
        rules: vec!["r1".into()],
        text: "title: Quiet\nfilter: {}\n".into(),
        created_by: None,
        created_at: Timestamp::now(),
    };
    let r3 = store.rules_revision().await.unwrap();
    store.insert_rule_filter(&filter, &ctx()).await.unwrap();
    assert_ne!(store.rules_revision().await.unwrap(), r3);
    assert_eq!(
        store.rule_filter(filter.id).await.unwrap().as_ref(),
        Some(&filter)
    );
    assert_eq!(
        store
            .list_rule_filters(Some(tree.telecom.id))
            .await
            .unwrap(),
        std::slice::from_ref(&filter)
    );
    assert_eq!(
        store
            .list_rule_filters(Some(tree.banking.id))
            .await
            .unwrap(),
        []
    );
    assert_eq!(store.list_rule_filters(None).await.unwrap().len(), 1);
    let deleted = store.delete_rule_filter(filter.id, &ctx()).await.unwrap();
    assert_eq!(deleted, filter);
    assert!(matches!(
        store.delete_rule_filter(filter.id, &ctx()).await,
        Err(StoreError::NotFound { .. })
    ));
    let audited = actions(store).await;
    let expected = [
        "rule.override r1".to_owned(),
        "rule.override r1".to_owned(),
        "rule.inherit r1".to_owned(),
        format!("rule.filter_add {}", filter.id),
        format!("rule.filter_remove {}", filter.id),
    ];
    assert_eq!(audited[1..], expected, "{audited:?}");
}
