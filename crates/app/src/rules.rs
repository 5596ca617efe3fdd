//! Detection rules per tenant: what administrators import, what each
//! tenant enables, disables and filters, and what detecting nodes read.
//!
//! - Import and the platform-wide flag ([`Rules::import`],
//!   [`Rules::set_platform_enabled`]) are the national CERT's
//!   administrators' (`Action::ImportRules`, decided against the root tenant).
//! - A tenant's administrator, or one of a CERT above it, enables or
//!   disables a rule for the tenant and its subtree ([`Rules::set_for_tenant`],
//!   [`Rules::inherit_for_tenant`]) and adds or removes Sigma filters
//!   ([`Rules::add_filter`], [`Rules::remove_filter`]) (`Action::TuneRules`).
//! - Whoever may `ViewRules` lists and reads rules with their effective
//!   state for a tenant they see; the council and constituent reporters see none.
//! - Every change is one store transaction with its audit entry.
//!
//! This crate does not read Sigma: the caller (the node, for the server and
//! the command line) parses documents and hands over their id, title, kind,
//! level and text.

use std::collections::HashMap;

use nigehban_model::{
    Actor, RuleDocument, RuleFilter, RuleFilterId, RuleKind, RuleOrigin, RuleOverride, TenantId,
    Timestamp, effective_enabled,
};
use nigehban_store::{AuditContext, Page, PageRequest, RuleImport, RuleQuery, RulesImported};
use serde::Serialize;

use crate::policy::Action;
use crate::{App, AppError, AppResult, Caller};

/// Most documents in one import (SigmaHQ's full release is ~3,500).
pub const MAX_IMPORTED_RULES: usize = 20_000;

/// One parsed Sigma document to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRuleDocument {
    /// Its Sigma `id`.
    pub id: String,
    /// Its `title`.
    pub title: String,
    /// What kind of document it is.
    pub kind: RuleKind,
    /// Its `level`, if any.
    pub level: Option<String>,
    /// Where it came from (`file:line`).
    pub source_name: String,
    /// The YAML text of the one document.
    pub text: String,
}

/// A parsed Sigma filter a tenant adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRuleFilter {
    /// The tenant it tunes detection for (with its subtree).
    pub tenant: TenantId,
    /// Its `title`.
    pub title: String,
    /// The ids or names of the rules it applies to.
    pub rules: Vec<String>,
    /// The YAML text of the filter document.
    pub text: String,
}

/// A rule as a caller sees it: the document, and its state for one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleState {
    /// The stored document.
    pub rule: RuleDocument,
    /// The tenant the state is for.
    pub tenant: TenantId,
    /// Whether the rule runs for that tenant (nearest override up the tree, else the platform's flag).
    pub effective_enabled: bool,
    /// The tenant whose override decides, if one does (the tenant itself or an ancestor).
    pub decided_by: Option<TenantId>,
    /// The overrides of this rule set by the tenant and the tenants below it.
    pub overrides: Vec<RuleOverride>,
}

/// Which rules to list, and for which tenant to resolve their state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleListing {
    /// Text, level and kind filters.
    pub query: RuleQuery,
    /// The tenant whose effective state to show (default: the caller's).
    pub tenant: Option<TenantId>,
}

/// Everything a detecting node compiles, read at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesSnapshot {
    /// The revision read before the records (a change after it bumps it again).
    pub revision: u64,
    /// Every stored document.
    pub rules: Vec<RuleDocument>,
    /// Every override.
    pub overrides: Vec<RuleOverride>,
    /// Every tenant's filters.
    pub filters: Vec<RuleFilter>,
    /// Every tenant with its parent (the root has none).
    pub tenants: Vec<(TenantId, Option<TenantId>)>,
}

/// Detection rules per tenant (see the module documentation).
pub struct Rules<'a> {
    pub(crate) app: &'a App,
}

impl App {
    /// Detection rules per tenant: import, enable, disable, filter.
    pub fn rules(&self) -> Rules<'_> {
        Rules { app: self }
    }
}

fn check_documents(documents: &[NewRuleDocument]) -> AppResult<()> {
    if documents.len() > MAX_IMPORTED_RULES {
        return Err(AppError::Invalid(format!(
            "an import holds at most {MAX_IMPORTED_RULES} rules; this one has {}",
            documents.len()
        )));
    }
    for document in documents {
        if document.id.trim().is_empty() {
            return Err(AppError::Invalid(format!(
                "the rule at {} has no id: stored rules are keyed by their Sigma id",
                document.source_name
            )));
        }
    }
    Ok(())
}

impl Rules<'_> {
    /// Authorises a platform-wide change: administrators of the root tenant only.
    async fn authorise_platform(&self, caller: &Caller) -> AppResult<TenantId> {
        let root = self.app.root().await?;
        self.app
            .authorise(caller, Action::ImportRules, root.id, "tenant", root.id)
            .await
            .map_err(|error| match error {
                AppError::NotFound { .. } => AppError::Forbidden(
                    "only administrators of the national CERT may import rules or set their platform-wide state".into(),
                ),
                other => other,
            })?;
        Ok(root.id)
    }

    /// Stores imported documents (added, or replacing those with the same
    /// id), enabled for the whole platform or not; audited as one `rule.import`.
    pub async fn import(
        &self,
        caller: &Caller,
        documents: Vec<NewRuleDocument>,
        enabled: bool,
    ) -> AppResult<RulesImported> {
        let root = self.authorise_platform(caller).await?;
        check_documents(&documents)?;
        let at = Timestamp::now();
        let rules = documents
            .into_iter()
            .map(|d| {
                stored(
                    d,
                    RuleOrigin::Imported,
                    enabled,
                    caller.user_id(),
                    at,
                    self.app,
                )
            })
            .collect();
        Ok(self
            .app
            .store()
            .import_rules(
                &RuleImport {
                    tenant: root,
                    rules,
                    keep_enabled: false,
                },
                &caller.audit_context(),
            )
            .await?)
    }

    /// Seeds the built-in starter pack (a system call at start): new
    /// documents are enabled, stored ones keep their flag, unchanged ones
    /// write nothing.
    pub async fn seed_built_in(&self, documents: Vec<NewRuleDocument>) -> AppResult<RulesImported> {
        if documents.is_empty() {
            return Ok(RulesImported::default());
        }
        check_documents(&documents)?;
        let root = self.app.root().await?;
        let at = Timestamp::now();
        let rules = documents
            .into_iter()
            .map(|d| stored(d, RuleOrigin::BuiltIn, true, None, at, self.app))
            .collect();
        Ok(self
            .app
            .store()
            .import_rules(
                &RuleImport {
                    tenant: root.id,
                    rules,
                    keep_enabled: true,
                },
                &AuditContext::now(Actor::SYSTEM, None),
            )
            .await?)
    }

    /// Enables or disables a rule for the whole platform (tenants' overrides still apply).
    pub async fn set_platform_enabled(
        &self,
        caller: &Caller,
        id: &str,
        enabled: bool,
    ) -> AppResult<RuleDocument> {
        let root = self.authorise_platform(caller).await?;
        Ok(self
            .app
            .store()
            .set_rule_enabled(id, enabled, root, &caller.audit_context())
            .await?)
    }

    /// Rules with their state for `listing.tenant` (default: the caller's tenant).
    pub async fn list(
        &self,
        caller: &Caller,
        listing: RuleListing,
        page: &PageRequest,
    ) -> AppResult<Page<RuleState>> {
        let tenant = listing.tenant.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::ViewRules, tenant, "tenant", tenant)
            .await?;
        let rules = self.app.store().list_rules(&listing.query, page).await?;
        let path = self.app.path_ids(tenant).await?;
        let overrides = self.app.store().rule_overrides(None).await?;
        let subtree = self.subtree_of(tenant).await?;
        let mut by_rule: HashMap<&str, Vec<&RuleOverride>> = HashMap::new();
        for o in &overrides {
            by_rule.entry(o.rule_id.as_str()).or_default().push(o);
        }
        Ok(rules.map(|rule| {
            let mine = by_rule.get(rule.id.as_str()).cloned().unwrap_or_default();
            state_of(rule, tenant, &path, &mine, &subtree)
        }))
    }

    /// One rule with its state for `tenant` (default: the caller's tenant).
    pub async fn get(
        &self,
        caller: &Caller,
        id: &str,
        tenant: Option<TenantId>,
    ) -> AppResult<RuleState> {
        let tenant = tenant.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::ViewRules, tenant, "tenant", tenant)
            .await?;
        let rule = self
            .app
            .store()
            .rule(id)
            .await?
            .ok_or_else(|| AppError::not_found("rule", id))?;
        self.state(rule, tenant).await
    }

    async fn state(&self, rule: RuleDocument, tenant: TenantId) -> AppResult<RuleState> {
        let path = self.app.path_ids(tenant).await?;
        let overrides = self.app.store().rule_overrides(Some(&rule.id)).await?;
        let subtree = self.subtree_of(tenant).await?;
        let refs: Vec<&RuleOverride> = overrides.iter().collect();
        Ok(state_of(rule, tenant, &path, &refs, &subtree))
    }

    async fn subtree_of(&self, tenant: TenantId) -> AppResult<Vec<TenantId>> {
        let mut all = Vec::new();
        let mut page = PageRequest::first(nigehban_store::MAX_PAGE_LIMIT);
        loop {
            let batch = self.app.store().list_tenants(tenant, &page).await?;
            all.extend(batch.items.into_iter().map(|t| t.id));
            match batch.next {
                Some(next) => page = PageRequest::after(next, nigehban_store::MAX_PAGE_LIMIT),
                None => break,
            }
        }
        Ok(all)
    }

    /// Enables or disables a rule for `tenant` and the tenants below it
    /// that do not decide otherwise; audited as `rule.override`.
    pub async fn set_for_tenant(
        &self,
        caller: &Caller,
        id: &str,
        tenant: TenantId,
        enabled: bool,
    ) -> AppResult<RuleState> {
        self.app
            .authorise(caller, Action::TuneRules, tenant, "tenant", tenant)
            .await?;
        let rule = self
            .app
            .store()
            .rule(id)
            .await?
            .ok_or_else(|| AppError::not_found("rule", id))?;
        let change = RuleOverride {
            rule_id: rule.id.clone(),
            tenant,
            enabled,
            set_by: caller.user_id(),
            at: Timestamp::now(),
        };
        self.app
            .store()
            .set_rule_override(&change, &caller.audit_context())
            .await?;
        self.state(rule, tenant).await
    }

    /// Removes `tenant`'s override of a rule, so that it inherits again;
    /// audited as `rule.inherit` (removing none changes nothing).
    pub async fn inherit_for_tenant(
        &self,
        caller: &Caller,
        id: &str,
        tenant: TenantId,
    ) -> AppResult<RuleState> {
        self.app
            .authorise(caller, Action::TuneRules, tenant, "tenant", tenant)
            .await?;
        let rule = self
            .app
            .store()
            .rule(id)
            .await?
            .ok_or_else(|| AppError::not_found("rule", id))?;
        self.app
            .store()
            .clear_rule_override(&rule.id, tenant, &caller.audit_context())
            .await?;
        self.state(rule, tenant).await
    }

    /// Adds a Sigma filter for a tenant and its subtree; audited as `rule.filter_add`.
    pub async fn add_filter(
        &self,
        caller: &Caller,
        filter: NewRuleFilter,
    ) -> AppResult<RuleFilter> {
        self.app
            .authorise(
                caller,
                Action::TuneRules,
                filter.tenant,
                "tenant",
                filter.tenant,
            )
            .await?;
        if filter.rules.is_empty() {
            return Err(AppError::Invalid(
                "a filter must name the rules it applies to (filter.rules)".into(),
            ));
        }
        let record = RuleFilter {
            id: RuleFilterId::new(),
            instance: self.app.instance(),
            tenant: filter.tenant,
            title: filter.title,
            rules: filter.rules,
            text: filter.text,
            created_by: caller.user_id(),
            created_at: Timestamp::now(),
        };
        self.app
            .store()
            .insert_rule_filter(&record, &caller.audit_context())
            .await?;
        Ok(record)
    }

    /// The filters of `under` (default: the caller's tenant) and the tenants below it.
    pub async fn filters(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
    ) -> AppResult<Vec<RuleFilter>> {
        let under = under.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::ViewRules, under, "tenant", under)
            .await?;
        Ok(self.app.store().list_rule_filters(Some(under)).await?)
    }

    /// Removes a tenant's filter; audited as `rule.filter_remove`.
    pub async fn remove_filter(&self, caller: &Caller, id: RuleFilterId) -> AppResult<RuleFilter> {
        let filter = self
            .app
            .store()
            .rule_filter(id)
            .await?
            .ok_or_else(|| AppError::not_found("rule filter", id))?;
        self.app
            .authorise(caller, Action::TuneRules, filter.tenant, "rule filter", id)
            .await?;
        Ok(self
            .app
            .store()
            .delete_rule_filter(id, &caller.audit_context())
            .await?)
    }

    /// The current rules revision (a system call: detecting nodes poll it).
    pub async fn revision(&self) -> AppResult<u64> {
        Ok(self.app.store().rules_revision().await?)
    }

    /// Everything a detecting node compiles (a system call, no caller).
    pub async fn snapshot(&self) -> AppResult<RulesSnapshot> {
        let store = self.app.store();
        let revision = store.rules_revision().await?;
        let mut rules = Vec::new();
        let mut page = PageRequest::first(nigehban_store::MAX_PAGE_LIMIT);
        loop {
            let batch = store.list_rules(&RuleQuery::default(), &page).await?;
            rules.extend(batch.items);
            match batch.next {
                Some(next) => page = PageRequest::after(next, nigehban_store::MAX_PAGE_LIMIT),
                None => break,
            }
        }
        let overrides = store.rule_overrides(None).await?;
        let filters = store.list_rule_filters(None).await?;
        let mut tenants = Vec::new();
        if let Some(root) = store.root_tenant().await? {
            let mut page = PageRequest::first(nigehban_store::MAX_PAGE_LIMIT);
            loop {
                let batch = store.list_tenants(root.id, &page).await?;
                tenants.extend(batch.items.into_iter().map(|t| (t.id, t.parent)));
                match batch.next {
                    Some(next) => page = PageRequest::after(next, nigehban_store::MAX_PAGE_LIMIT),
                    None => break,
                }
            }
        }
        Ok(RulesSnapshot {
            revision,
            rules,
            overrides,
            filters,
            tenants,
        })
    }

    /// Whether the caller may read rules for `tenant` (for endpoints that
    /// combine rules with other records, e.g. testing a rule on stored events).
    pub async fn authorise_view(&self, caller: &Caller, tenant: TenantId) -> AppResult<()> {
        self.app
            .authorise(caller, Action::ViewRules, tenant, "tenant", tenant)
            .await
    }
}

fn stored(
    document: NewRuleDocument,
    origin: RuleOrigin,
    enabled: bool,
    by: Option<nigehban_model::UserId>,
    at: Timestamp,
    app: &App,
) -> RuleDocument {
    RuleDocument {
        id: document.id,
        instance: app.instance(),
        title: document.title,
        kind: document.kind,
        level: document.level,
        origin,
        source_name: document.source_name,
        text: document.text,
        enabled,
        imported_by: by,
        imported_at: at,
        updated_at: at,
    }
}

/// A rule's state for `tenant`, whose path from the root is `path`; the
/// overrides shown are those of `subtree` (what the caller may see).
fn state_of(
    rule: RuleDocument,
    tenant: TenantId,
    path: &[TenantId],
    overrides: &[&RuleOverride],
    subtree: &[TenantId],
) -> RuleState {
    let override_of = |t: TenantId| overrides.iter().find(|o| o.tenant == t).map(|o| o.enabled);
    let decided_by = path
        .iter()
        .rev()
        .find(|t| override_of(**t).is_some())
        .copied();
    RuleState {
        effective_enabled: effective_enabled(rule.enabled, path, override_of),
        rule,
        tenant,
        decided_by,
        overrides: overrides
            .iter()
            .filter(|o| subtree.contains(&o.tenant))
            .map(|o| (*o).clone())
            .collect(),
    }
}
