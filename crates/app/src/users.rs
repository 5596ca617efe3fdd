//! User account services.

use nigehban_model::{DisplayName, Password, Role, TenantId, Timestamp, User, UserId, Username};
use nigehban_store::{Page, PageRequest, UserChange};

use crate::policy::Action;
use crate::secrets::{generate_password, off_runtime};
use crate::{App, AppError, AppResult, Caller, Via};

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The tenant the user belongs to.
    pub tenant: TenantId,
    /// The sign-in name.
    pub username: Username,
    /// The name shown in the console.
    pub display_name: DisplayName,
    /// The role the user acts in.
    pub role: Role,
    /// The initial password; `None` to generate a one-time password (shown once).
    pub password: Option<Password>,
}

/// A created user and, if one was generated, its one-time password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// The generated password, to give to the user once; they must change it at first sign-in.
    pub one_time_password: Option<Password>,
}

/// A user whose password was reset and, if one was generated, the new one-time password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordReset {
    /// The user.
    pub user: User,
    /// The generated password, to give to the user once.
    pub one_time_password: Option<Password>,
}

/// User account services; see [`App::users`].
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    pub(crate) app: &'a App,
}

impl Users<'_> {
    /// Creates a user in a tenant of the caller's subtree (administrators).
    pub async fn create(&self, caller: &Caller, new: NewUser) -> AppResult<CreatedUser> {
        let store = self.app.store();
        self.app
            .authorise(
                caller,
                Action::AdministerUser,
                new.tenant,
                "tenant",
                new.tenant,
            )
            .await?;
        let tenant = store
            .tenant(new.tenant)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", new.tenant))?;
        if !self.app.tenant_chain_active(tenant.id).await? {
            return Err(AppError::Invalid(format!(
                "tenant {} ({}) is deactivated, or sits below a deactivated tenant: no users can be added to it",
                tenant.id, tenant.name
            )));
        }
        let (password, one_time_password) = match new.password {
            Some(password) => (password, None),
            None => {
                let generated = generate_password()?;
                (generated.clone(), Some(generated))
            }
        };
        let hashing = self.app.settings().password_hashing;
        let hash = off_runtime(move || hashing.hash(&password)).await??;
        let now = Timestamp::now();
        let user = User {
            id: UserId::new(),
            instance: store.instance(),
            tenant: tenant.id,
            username: new.username,
            display_name: new.display_name,
            role: new.role,
            active: true,
            must_change_password: one_time_password.is_some(),
            failed_logins: 0,
            created_at: now,
            updated_at: now,
        };
        store
            .insert_user(&user, &hash, &caller.audit_context())
            .await?;
        tracing::info!(user = %user.id, tenant = %user.tenant, role = %user.role, "user created");
        Ok(CreatedUser {
            user,
            one_time_password,
        })
    }

    /// One user: the caller themself, or a user of a tenant in the caller's subtree.
    pub async fn get(&self, caller: &Caller, id: UserId) -> AppResult<User> {
        let user = self
            .app
            .store()
            .user(id)
            .await?
            .ok_or_else(|| AppError::not_found("user", id))?;
        // People always see their own account; a token made by someone in
        // another tenant does not reveal its maker.
        let is_self = caller.user_id() == Some(id) && user.tenant == caller.tenant_id();
        if !is_self {
            self.app
                .authorise(caller, Action::ViewUser, user.tenant, "user", id)
                .await?;
        }
        Ok(user)
    }

    /// The calling user's own account.
    pub async fn me(&self, caller: &Caller) -> AppResult<User> {
        let id = caller
            .user_id()
            .ok_or_else(|| AppError::Invalid("the operator has no user account".into()))?;
        self.get(caller, id).await
    }

    /// Changes a user's role (administrators; not their own).
    pub async fn set_role(&self, caller: &Caller, id: UserId, role: Role) -> AppResult<User> {
        self.administer(caller, id, "change their own role").await?;
        Ok(self
            .app
            .store()
            .update_user(id, UserChange::SetRole(role), &caller.audit_context())
            .await?)
    }

    /// Deactivates a user and ends their sessions (administrators; not themselves).
    pub async fn deactivate(&self, caller: &Caller, id: UserId) -> AppResult<User> {
        self.administer(caller, id, "deactivate themselves").await?;
        Ok(self
            .app
            .store()
            .update_user(id, UserChange::Deactivate, &caller.audit_context())
            .await?)
    }

    /// Sets a new password for a user (given, or generated and returned once),
    /// clears their lockout and ends their sessions; they must change it at
    /// next sign-in (administrators).
    pub async fn reset_password(
        &self,
        caller: &Caller,
        id: UserId,
        password: Option<Password>,
    ) -> AppResult<PasswordReset> {
        self.administer(caller, id, "reset their own password (change it instead)")
            .await?;
        let (password, one_time_password) = match password {
            Some(password) => (password, None),
            None => {
                let generated = generate_password()?;
                (generated.clone(), Some(generated))
            }
        };
        let hashing = self.app.settings().password_hashing;
        let hash = off_runtime(move || hashing.hash(&password)).await??;
        let user = self
            .app
            .store()
            .update_user(
                id,
                UserChange::SetPassword {
                    hash,
                    must_change: true,
                    keep_session: None,
                },
                &caller.audit_context(),
            )
            .await?;
        Ok(PasswordReset {
            user,
            one_time_password,
        })
    }

    /// Changes the calling user's own password, given the current one; ends
    /// their other sessions.
    pub async fn change_own_password(
        &self,
        caller: &Caller,
        current: &str,
        new: Password,
    ) -> AppResult<User> {
        let id = caller
            .user_id()
            .ok_or_else(|| AppError::Invalid("the operator has no user account".into()))?;
        if let Via::Token(_) = caller.via() {
            return Err(AppError::Forbidden(
                "an API token cannot change its owner's password".into(),
            ));
        }
        let store = self.app.store();
        let user = store
            .user(id)
            .await?
            .ok_or_else(|| AppError::not_found("user", id))?;
        let (_, hash) = store
            .user_credentials(&user.username)
            .await?
            .ok_or_else(|| AppError::not_found("user", id))?;
        let hashing = self.app.settings().password_hashing;
        let current = current.to_owned();
        let matches = off_runtime(move || hashing.verify(&current, &hash)).await?;
        if !matches {
            store
                .record_login_failure(id, self.app.settings().lockout, &caller.audit_context())
                .await?;
            return Err(AppError::Unauthenticated("the current password is wrong"));
        }
        let new_hash = off_runtime(move || hashing.hash(&new)).await??;
        let keep_session = match caller.via() {
            Via::Session(session) => Some(session),
            Via::Token(_) | Via::Operator => None,
        };
        Ok(store
            .update_user(
                id,
                UserChange::SetPassword {
                    hash: new_hash,
                    must_change: false,
                    keep_session,
                },
                &caller.audit_context(),
            )
            .await?)
    }

    /// The users of tenant `under` (default: the caller's) and every tenant below it, ordered by id.
    pub async fn list(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
        page: &PageRequest,
    ) -> AppResult<Page<User>> {
        let under = under.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::ViewUser, under, "tenant", under)
            .await?;
        let page = self.app.store().list_users(under, page).await?;
        Ok(self
            .app
            .within_reach(caller, Action::ViewUser, under, page, |u| u.tenant))
    }

    /// Checks that the caller may administer user `id`, and is not acting on themself.
    async fn administer(&self, caller: &Caller, id: UserId, self_action: &str) -> AppResult<User> {
        let user = self
            .app
            .store()
            .user(id)
            .await?
            .ok_or_else(|| AppError::not_found("user", id))?;
        self.app
            .authorise(caller, Action::AdministerUser, user.tenant, "user", id)
            .await?;
        if caller.user_id() == Some(id) {
            return Err(AppError::Conflict(format!(
                "an administrator cannot {self_action}; ask another administrator"
            )));
        }
        Ok(user)
    }
}
