//! Tenant services: the hierarchy of CERTs and organisations.

use nigehban_model::{Tenant, TenantId, TenantKind, TenantName, Timestamp};
use nigehban_store::{Page, PageRequest, TenantChange};

use crate::policy::Action;
use crate::{App, AppError, AppResult, Caller};

/// A tenant to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTenant {
    /// The tenant to create it under.
    pub parent: TenantId,
    /// Its name.
    pub name: TenantName,
    /// What it is (must fit under the parent's kind).
    pub kind: TenantKind,
}

/// Tenant services; see [`App::tenants`].
#[derive(Debug, Clone, Copy)]
pub struct Tenants<'a> {
    pub(crate) app: &'a App,
}

impl Tenants<'_> {
    /// Creates a tenant under a parent in the caller's subtree (administrators).
    pub async fn create(&self, caller: &Caller, new: NewTenant) -> AppResult<Tenant> {
        let store = self.app.store();
        self.app
            .authorise(
                caller,
                Action::CreateTenant,
                new.parent,
                "tenant",
                new.parent,
            )
            .await?;
        let parent = store
            .tenant(new.parent)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", new.parent))?;
        check_parent(&new.kind, &parent)?;
        self.check_chain_active(&parent).await?;
        self.check_name_free(&parent, new.name.as_str(), None)
            .await?;
        let now = Timestamp::now();
        let tenant = Tenant {
            id: TenantId::new(),
            instance: store.instance(),
            parent: Some(parent.id),
            name: new.name,
            kind: new.kind,
            active: true,
            created_at: now,
            updated_at: now,
        };
        store
            .insert_tenant(&tenant, &caller.audit_context())
            .await?;
        tracing::info!(tenant = %tenant.id, parent = %parent.id, kind = tenant.kind.word(), "tenant created");
        Ok(tenant)
    }

    /// Renames a tenant in the caller's subtree (administrators; their own tenant too).
    pub async fn rename(
        &self,
        caller: &Caller,
        id: TenantId,
        name: TenantName,
    ) -> AppResult<Tenant> {
        self.app
            .authorise(caller, Action::RenameTenant, id, "tenant", id)
            .await?;
        let store = self.app.store();
        let tenant = store
            .tenant(id)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", id))?;
        if let Some(parent) = tenant.parent
            && let Some(parent) = store.tenant(parent).await?
        {
            self.check_name_free(&parent, name.as_str(), Some(id))
                .await?;
        }
        Ok(self
            .app
            .store()
            .update_tenant(id, TenantChange::Rename(name), &caller.audit_context())
            .await?)
    }

    /// Moves a tenant below the caller's tenant under another parent in the caller's subtree.
    pub async fn move_to(
        &self,
        caller: &Caller,
        id: TenantId,
        new_parent: TenantId,
    ) -> AppResult<Tenant> {
        let store = self.app.store();
        self.app
            .authorise(caller, Action::MoveTenant, id, "tenant", id)
            .await?;
        self.app
            .authorise(
                caller,
                Action::CreateTenant,
                new_parent,
                "tenant",
                new_parent,
            )
            .await?;
        let tenant = store
            .tenant(id)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", id))?;
        let parent = store
            .tenant(new_parent)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", new_parent))?;
        check_parent(&tenant.kind, &parent)?;
        self.check_chain_active(&parent).await?;
        self.check_name_free(&parent, tenant.name.as_str(), Some(id))
            .await?;
        Ok(store
            .update_tenant(id, TenantChange::Move(new_parent), &caller.audit_context())
            .await?)
    }

    /// Refuses `name` when another tenant directly under `parent` (other than `except`)
    /// has it, whatever its case: two "CERT Banking" under one CERT cannot be told apart.
    async fn check_name_free(
        &self,
        parent: &Tenant,
        name: &str,
        except: Option<TenantId>,
    ) -> AppResult<()> {
        let wanted = name.trim().to_lowercase();
        let mut page = PageRequest::first(nigehban_store::MAX_PAGE_LIMIT);
        loop {
            let batch = self.app.store().list_tenants(parent.id, &page).await?;
            if let Some(taken) = batch.items.iter().find(|t| {
                t.parent == Some(parent.id)
                    && Some(t.id) != except
                    && t.name.as_str().trim().to_lowercase() == wanted
            }) {
                return Err(AppError::Conflict(format!(
                    "{} already has a tenant named {:?} ({}); choose another name",
                    parent.name,
                    taken.name.as_str(),
                    taken.id
                )));
            }
            match batch.next {
                Some(next) => page = PageRequest::after(next, nigehban_store::MAX_PAGE_LIMIT),
                None => return Ok(()),
            }
        }
    }

    /// Deactivates a tenant below the caller's tenant: its users (and those
    /// of the tenants below it) can no longer sign in. Tenants are never deleted.
    pub async fn deactivate(&self, caller: &Caller, id: TenantId) -> AppResult<Tenant> {
        self.app
            .authorise(caller, Action::DeactivateTenant, id, "tenant", id)
            .await?;
        Ok(self
            .app
            .store()
            .update_tenant(id, TenantChange::Deactivate, &caller.audit_context())
            .await?)
    }

    /// One tenant in the caller's subtree.
    pub async fn get(&self, caller: &Caller, id: TenantId) -> AppResult<Tenant> {
        self.app
            .authorise(caller, Action::ViewTenant, id, "tenant", id)
            .await?;
        self.app
            .store()
            .tenant(id)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", id))
    }

    /// The tenant `under` (default: the caller's) and every tenant below it, ordered by id.
    pub async fn list(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
        page: &PageRequest,
    ) -> AppResult<Page<Tenant>> {
        let under = under.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::ViewTenant, under, "tenant", under)
            .await?;
        let page = self.app.store().list_tenants(under, page).await?;
        Ok(self
            .app
            .within_reach(caller, Action::ViewTenant, under, page, |t| t.id))
    }
}

impl Tenants<'_> {
    /// Refuses placing anything under a tenant that is, or sits below, a deactivated tenant.
    async fn check_chain_active(&self, parent: &Tenant) -> AppResult<()> {
        if self.app.tenant_chain_active(parent.id).await? {
            return Ok(());
        }
        Err(AppError::Invalid(format!(
            "tenant {} ({}) sits below a deactivated tenant: nothing can be placed under it",
            parent.id, parent.name
        )))
    }
}

/// Checks that a tenant of `kind` may sit under `parent`.
fn check_parent(kind: &TenantKind, parent: &Tenant) -> AppResult<()> {
    if !parent.active {
        return Err(AppError::Invalid(format!(
            "tenant {} ({}) is deactivated: nothing can be placed under it",
            parent.id, parent.name
        )));
    }
    if !kind.may_sit_under(Some(&parent.kind)) {
        return Err(AppError::Invalid(format!(
            "a {} tenant cannot sit under a {} tenant ({}): sectoral CERTs sit under the national CERT, organisations under a CERT or another organisation",
            kind.word(),
            parent.kind.word(),
            parent.name
        )));
    }
    Ok(())
}
