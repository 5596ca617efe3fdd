//! User account services.
//!
//! # User names taken in other tenants
//!
//! Sign-in names are unique on the whole platform (a person signs in with
//! their name alone), so creating a user whose name is held in another
//! tenant must fail. Saying "already taken" would let an organisation's
//! administrator find out, name by name, who has accounts at other
//! organisations. So a name the caller may not see the holder of is refused
//! with the same answer as a reserved name ("cannot be used: reserved or not
//! available"), which does not confirm that anyone holds it; each such
//! refusal is audited (`user.create_refused`), and a caller who collects
//! [`RefusalLimit::max_refusals`] of them in [`RefusalLimit::window`] must
//! wait before trying any name, taken or not. Probing stays possible in
//! principle but is slow, visible in the audit log and never confirms a
//! holder. A name held within the caller's reach is simply "taken by" that
//! user: the caller can list them anyway.

use std::collections::HashMap;
use std::time::Duration;

use nigehban_model::{
    AuditAction, AuditDraft, AuditEntryId, DisplayName, JsonText, Password, Role, TenantId,
    Timestamp, User, UserId, Username,
};
use nigehban_store::{Page, PageRequest, StoreError, UserChange};

use crate::policy::{self, Action, Decision};
use crate::secrets::{generate_password, off_runtime};
use crate::{App, AppError, AppResult, Caller, Via};

/// Names no user may take: words the platform uses for actors in the audit log.
pub const RESERVED_USER_NAMES: &[&str] = &["anonymous", "nigehban", "operator", "root", "system"];

/// How many user-name refusals one caller may collect before waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalLimit {
    /// Refusals allowed...
    pub max_refusals: u32,
    /// ...within this window.
    pub window: Duration,
}

impl Default for RefusalLimit {
    fn default() -> Self {
        Self {
            max_refusals: 5,
            window: Duration::from_secs(60 * 60),
        }
    }
}

/// Refused user names per caller, in memory.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    by_caller: HashMap<String, Vec<Timestamp>>,
}

impl Refusals {
    /// When the caller may try again, if they have used up their refusals.
    fn waiting_until(
        &mut self,
        caller: &str,
        now: Timestamp,
        limit: RefusalLimit,
    ) -> Option<Timestamp> {
        let horizon = Timestamp::from_unix_micros(
            now.unix_micros()
                .saturating_sub(i64::try_from(limit.window.as_micros()).unwrap_or(i64::MAX)),
        );
        self.by_caller.retain(|_, times| {
            times.retain(|at| *at > horizon);
            !times.is_empty()
        });
        let times = self.by_caller.get(caller)?;
        if times.len() < limit.max_refusals as usize {
            return None;
        }
        times.first().map(|oldest| oldest.plus(limit.window))
    }

    fn record(&mut self, caller: String, now: Timestamp) {
        self.by_caller.entry(caller).or_default().push(now);
    }
}

/// Who is asking, as refusals are counted: the person, else the token, else the operator.
fn refusal_key(caller: &Caller) -> String {
    match (caller.user_id(), caller.via()) {
        (Some(user), _) => format!("user:{user}"),
        (None, Via::Token(token)) => format!("token:{token}"),
        (None, _) => "operator".to_owned(),
    }
}

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
        self.check_user_name(caller, tenant.id, &new.username)
            .await?;
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
        match store
            .insert_user(&user, &hash, &caller.audit_context())
            .await
        {
            Ok(()) => {}
            // Taken a moment ago, perhaps out of the caller's sight: the same answer.
            Err(StoreError::Conflict(_)) => {
                return Err(self
                    .refuse_user_name(caller, tenant.id, &user.username)
                    .await);
            }
            Err(other) => return Err(other.into()),
        }
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

    /// Deactivates a user, ends their sessions and revokes the API tokens
    /// they own (administrators; not themselves).
    pub async fn deactivate(&self, caller: &Caller, id: UserId) -> AppResult<User> {
        self.administer(caller, id, "deactivate themselves").await?;
        Ok(self
            .app
            .store()
            .update_user(id, UserChange::Deactivate, &caller.audit_context())
            .await?)
    }

    /// Sets a new password for a user (given, or generated and returned once),
    /// ends their sessions and revokes the API tokens they own (each
    /// audited); they must change it at next sign-in (administrators).
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
                    // Whoever knew the old password may have made tokens with it.
                    revoke_tokens: true,
                },
                &caller.audit_context(),
            )
            .await?;
        Ok(PasswordReset {
            user,
            one_time_password,
        })
    }

    /// [`Users::reset_password`] for the user signing in as `username` (the
    /// operator's `nigehban admin reset-password`, when no administrator can
    /// sign in any more).
    pub async fn reset_password_of(
        &self,
        caller: &Caller,
        username: &Username,
        password: Option<Password>,
    ) -> AppResult<PasswordReset> {
        let (user, _) = self
            .app
            .store()
            .user_credentials(username)
            .await?
            .ok_or_else(|| AppError::not_found("user", username.as_str()))?;
        self.reset_password(caller, user.id, password).await
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
                .record_login_failure(id, &caller.audit_context())
                .await?;
            return Err(AppError::Unauthenticated("the current password is wrong"));
        }
        let new_hash = off_runtime(move || hashing.hash(&new)).await??;
        let keep_session = match caller.via() {
            Via::Session(session) => Some(session),
            Via::Token(_) | Via::Password(_) | Via::Operator => None,
        };
        Ok(store
            .update_user(
                id,
                UserChange::SetPassword {
                    hash: new_hash,
                    must_change: false,
                    keep_session,
                    revoke_tokens: false,
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

    /// Refuses a user name that is reserved, or taken by someone the caller
    /// may not see, with one answer for both (see the module documentation).
    async fn check_user_name(
        &self,
        caller: &Caller,
        tenant: TenantId,
        username: &Username,
    ) -> AppResult<()> {
        let limit = self.app.settings().user_name_refusals;
        let waiting = self
            .app
            .inner
            .user_name_refusals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .waiting_until(&refusal_key(caller), Timestamp::now(), limit);
        if let Some(retry_after) = waiting {
            tracing::warn!(caller = %refusal_key(caller), "user creation refused: too many refused user names");
            return Err(AppError::Throttled { retry_after });
        }
        if RESERVED_USER_NAMES.contains(&username.as_str()) {
            return Err(self.refuse_user_name(caller, tenant, username).await);
        }
        let Some((holder, _)) = self.app.store().user_credentials(username).await? else {
            return Ok(());
        };
        let relation = self.app.relation(caller, holder.tenant).await?;
        if policy::decide(caller.role(), Action::ViewUser, relation) == Decision::Allow {
            return Err(AppError::Conflict(format!(
                "the user name {username} is already taken by user {} ({})",
                holder.id, holder.display_name
            )));
        }
        Err(self.refuse_user_name(caller, tenant, username).await)
    }

    /// Counts and audits a refused user name, and says it cannot be used.
    async fn refuse_user_name(
        &self,
        caller: &Caller,
        tenant: TenantId,
        username: &Username,
    ) -> AppError {
        let now = Timestamp::now();
        self.app
            .inner
            .user_name_refusals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .record(refusal_key(caller), now);
        let context = caller.audit_context();
        let details = serde_json::json!({ "username": username.as_str() });
        let recorded = match JsonText::of(&details) {
            Ok(after) => self
                .app
                .store()
                .append_audit(AuditDraft {
                    id: AuditEntryId::new(),
                    instance: self.app.instance(),
                    tenant,
                    at: now,
                    actor: context.actor,
                    action: AuditAction::USER_CREATE_REFUSED,
                    record_kind: "user".into(),
                    record_id: username.as_str().to_owned(),
                    before: None,
                    after: Some(after),
                    remote_addr: context.remote_addr,
                })
                .await
                .map(|_| ())
                .map_err(AppError::from),
            Err(error) => Err(AppError::Internal(error.to_string())),
        };
        if let Err(error) = recorded {
            return error;
        }
        AppError::Conflict(format!(
            "the user name {username} cannot be used: it is reserved or not available; choose another"
        ))
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
