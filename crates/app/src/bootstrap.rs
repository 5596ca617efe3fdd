//! First start: the national CERT and its first administrator.

use nigehban_model::{
    Actor, DisplayName, Password, Role, Tenant, TenantId, TenantKind, TenantName, Timestamp, User,
    UserId, Username,
};
use nigehban_store::{AuditContext, PageRequest, StoreError};

use crate::secrets::{generate_password, off_runtime};
use crate::{App, AppError, AppResult};

/// What to create on first start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapRequest {
    /// The national CERT's name.
    pub national_name: TenantName,
    /// The first administrator's sign-in name.
    pub admin_username: Username,
    /// The first administrator's display name.
    pub admin_display_name: DisplayName,
    /// The first administrator's password; `None` to generate a one-time password.
    pub admin_password: Option<Password>,
}

/// What bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// The platform was empty: the national CERT and its administrator were created.
    Created {
        /// The national CERT, root of the tenant tree.
        root: Tenant,
        /// The first administrator.
        admin: User,
        /// The generated password (print it once), if none was given.
        one_time_password: Option<Password>,
    },
    /// The platform was already set up; nothing changed.
    AlreadyDone {
        /// The existing national CERT.
        root: Tenant,
    },
}

impl App {
    /// Whether the platform has been set up (its national CERT exists):
    /// background work that needs it waits until then instead of failing.
    pub async fn is_set_up(&self) -> AppResult<bool> {
        Ok(self.store().root_tenant().await?.is_some())
    }

    /// Sets up an empty platform: the root National CERT tenant and an
    /// administrator in it. Idempotent: once the root has a user, it does
    /// nothing and returns [`BootstrapOutcome::AlreadyDone`]; if a previous
    /// attempt stopped after creating the root, it adds the administrator.
    pub async fn bootstrap(&self, request: BootstrapRequest) -> AppResult<BootstrapOutcome> {
        let store = self.store();
        let context = AuditContext::now(Actor::SYSTEM, None);
        let root = match store.root_tenant().await? {
            Some(root) => root,
            None => {
                let now = Timestamp::now();
                let root = Tenant {
                    id: TenantId::new(),
                    instance: store.instance(),
                    parent: None,
                    name: request.national_name.clone(),
                    kind: TenantKind::National,
                    active: true,
                    created_at: now,
                    updated_at: now,
                };
                match store.insert_tenant(&root, &context).await {
                    Ok(()) => root,
                    // Another process bootstrapped at the same moment.
                    Err(StoreError::Conflict(_)) => store
                        .root_tenant()
                        .await?
                        .ok_or_else(|| AppError::Internal("root tenant vanished".into()))?,
                    Err(other) => return Err(other.into()),
                }
            }
        };
        let existing = store.list_users(root.id, &PageRequest::first(1)).await?;
        if !existing.items.is_empty() {
            return Ok(BootstrapOutcome::AlreadyDone { root });
        }
        let (password, one_time_password) = match request.admin_password {
            Some(password) => (password, None),
            None => {
                let generated = generate_password()?;
                (generated.clone(), Some(generated))
            }
        };
        let hashing = self.settings().password_hashing;
        let hash = off_runtime(move || hashing.hash(&password)).await??;
        let now = Timestamp::now();
        let admin = User {
            id: UserId::new(),
            instance: store.instance(),
            tenant: root.id,
            username: request.admin_username,
            display_name: request.admin_display_name,
            role: Role::Administrator,
            active: true,
            must_change_password: one_time_password.is_some(),
            failed_logins: 0,
            created_at: now,
            updated_at: now,
        };
        match store.insert_user(&admin, &hash, &context).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Ok(BootstrapOutcome::AlreadyDone { root }),
            Err(other) => return Err(other.into()),
        }
        tracing::info!(root = %root.id, admin = %admin.id, "platform bootstrapped");
        Ok(BootstrapOutcome::Created {
            root,
            admin,
            one_time_password,
        })
    }
}
