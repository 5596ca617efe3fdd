//! Sign-in, browser sessions, CSRF tokens and sign-in throttling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use nigehban_model::{PasswordHash, SecretHash, Session, SessionId, Timestamp, User, Username};

use crate::policy::Action;
use crate::secrets::{Secret, off_runtime, random_token, secrets_equal};
use crate::{App, AppError, AppResult, Caller, Counters, Via};

/// What every failed sign-in says, whatever the reason (unknown user, wrong
/// password, locked or deactivated account), so it reveals nothing.
const SIGN_IN_FAILED: &str =
    "sign-in failed: wrong user name or password, or the account is locked or deactivated";

/// How many failed sign-ins one address may make in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressThrottle {
    /// Refuse sign-ins after this many failures...
    pub max_failures: u32,
    /// ...within this window.
    pub window: Duration,
}

/// Failed sign-ins per address, in memory (a restart forgets them; the
/// per-account lockout is stored).
#[derive(Debug, Default)]
pub(crate) struct AddressFailures {
    by_address: HashMap<IpAddr, Vec<Timestamp>>,
}

impl AddressFailures {
    fn prune(&mut self, now: Timestamp, window: Duration) {
        let horizon = Timestamp::from_unix_micros(
            now.unix_micros()
                .saturating_sub(i64::try_from(window.as_micros()).unwrap_or(i64::MAX)),
        );
        self.by_address.retain(|_, failures| {
            failures.retain(|at| *at > horizon);
            !failures.is_empty()
        });
    }

    /// When the address may try again, if it is throttled now.
    fn throttled_until(
        &mut self,
        address: IpAddr,
        now: Timestamp,
        throttle: AddressThrottle,
    ) -> Option<Timestamp> {
        self.prune(now, throttle.window);
        let failures = self.by_address.get(&address)?;
        if failures.len() < throttle.max_failures as usize {
            return None;
        }
        failures.first().map(|oldest| oldest.plus(throttle.window))
    }

    fn record(&mut self, address: IpAddr, now: Timestamp) {
        self.by_address.entry(address).or_default().push(now);
    }
}

/// A successful sign-in: what the server sets as cookie and embeds in pages.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// The session's value for the cookie (shown once; only its hash is stored).
    pub cookie: Secret,
    /// The CSRF token the console must send back with every state-changing request.
    pub csrf_token: Secret,
    /// The session.
    pub session: Session,
    /// The signed-in user (check `must_change_password`).
    pub user: User,
    /// The identity to call services with.
    pub caller: Caller,
}

/// A request authenticated by its session cookie.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The identity to call services with.
    pub caller: Caller,
    /// The session (for [`Authentication::verify_csrf`]).
    pub session: Session,
    /// The signed-in user.
    pub user: User,
}

/// Sign-in, sessions and CSRF; see [`App::auth`].
#[derive(Debug, Clone, Copy)]
pub struct Authentication<'a> {
    pub(crate) app: &'a App,
}

impl Authentication<'_> {
    /// Signs a user in with user name and password.
    ///
    /// Argon2id verification runs off the async runtime. An unknown user
    /// costs the same hashing work as a known one, and every failure gives
    /// the same [`AppError::Unauthenticated`]. After `lockout.max_failures`
    /// consecutive failures the account is locked for `lockout.lock_for`;
    /// an address with too many failures gets [`AppError::Throttled`].
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        remote_addr: Option<IpAddr>,
    ) -> AppResult<SignIn> {
        let settings = self.app.settings();
        let now = Timestamp::now();
        if let Some(address) = remote_addr {
            let until = self
                .app
                .inner
                .failures_by_address
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .throttled_until(address, now, settings.address_throttle);
            if let Some(retry_after) = until {
                tracing::warn!(%address, "sign-in refused: too many failures from this address");
                Counters::bump(&self.app.inner.counters.throttled_sign_ins);
                return Err(AppError::Throttled { retry_after });
            }
        }
        let store = self.app.store();
        let credentials = match Username::parse(username) {
            Ok(username) => store.user_credentials(&username).await?,
            Err(_) => None,
        };
        let Some((user, hash)) = credentials else {
            // Spend the same work as a real verification, so timing does not
            // reveal which user names exist.
            let dummy = self.dummy_hash().await?;
            self.verify_password(password, dummy).await?;
            self.fail(remote_addr, now);
            tracing::info!(remote = ?remote_addr, "sign-in failed: unknown user name");
            return Err(AppError::Unauthenticated(SIGN_IN_FAILED));
        };
        if user.locked_until.is_some_and(|until| now < until) {
            let dummy = self.dummy_hash().await?;
            self.verify_password(password, dummy).await?;
            self.fail(remote_addr, now);
            tracing::info!(user = %user.id, "sign-in refused: account locked");
            return Err(AppError::Unauthenticated(SIGN_IN_FAILED));
        }
        let context = nigehban_store::AuditContext {
            actor: nigehban_model::Actor {
                kind: nigehban_model::ActorKind::Anonymous,
                user: Some(user.id),
                token: None,
                tenant: Some(user.tenant),
            },
            at: now,
            remote_addr: remote_addr.map(|ip| ip.to_string()),
        };
        if !self.verify_password(password, hash).await? {
            let user = store
                .record_login_failure(user.id, settings.lockout, &context)
                .await?;
            self.fail(remote_addr, now);
            if user.locked_until.is_some_and(|until| until > now) {
                Counters::bump(&self.app.inner.counters.lockouts);
            }
            tracing::info!(user = %user.id, failures = user.failed_logins, locked = user.locked_until.is_some(), "sign-in failed: wrong password");
            return Err(AppError::Unauthenticated(SIGN_IN_FAILED));
        }
        if !self.account_usable(&user).await? {
            self.fail(remote_addr, now);
            tracing::info!(user = %user.id, "sign-in refused: user or tenant deactivated");
            return Err(AppError::Unauthenticated(SIGN_IN_FAILED));
        }
        let cookie = random_token();
        let csrf = random_token();
        let session = Session {
            id: SessionId::new(),
            instance: store.instance(),
            user: user.id,
            tenant: user.tenant,
            csrf_secret: csrf.clone(),
            created_at: now,
            expires_at: now.plus(settings.session_idle.min(settings.session_max)),
            last_seen_at: now,
            revoked_at: None,
            remote_addr: remote_addr.map(|ip| ip.to_string()),
        };
        let context = nigehban_store::AuditContext {
            actor: nigehban_model::Actor {
                kind: nigehban_model::ActorKind::User,
                ..context.actor
            },
            ..context
        };
        store
            .insert_session(&session, &SecretHash::of(&cookie), &context)
            .await?;
        let caller = Caller::new(
            Some(user.id),
            user.tenant,
            user.role,
            Via::Session(session.id),
            remote_addr,
        )
        .needing_new_password(user.must_change_password);
        let user = store.user(user.id).await?.unwrap_or(user);
        Counters::bump(&self.app.inner.counters.sign_ins);
        tracing::info!(user = %user.id, session = %session.id, "signed in");
        Ok(SignIn {
            cookie: Secret::from_string(cookie),
            csrf_token: Secret::from_string(csrf),
            session,
            user,
            caller,
        })
    }

    /// Authenticates a request by its session cookie value; extends the session.
    ///
    /// The caller's role is read from the user record now, so role changes
    /// take effect on the next request.
    pub async fn session(&self, cookie: &str, remote_addr: Option<IpAddr>) -> AppResult<SignedIn> {
        const EXPIRED: &str = "not signed in, or the session has ended";
        let settings = self.app.settings();
        let store = self.app.store();
        let now = Timestamp::now();
        let Some(mut session) = store.session_by_secret(&SecretHash::of(cookie)).await? else {
            return Err(AppError::Unauthenticated(EXPIRED));
        };
        let hard_end = session.created_at.plus(settings.session_max);
        if !session.is_live_at(now) || now >= hard_end {
            return Err(AppError::Unauthenticated(EXPIRED));
        }
        let Some(user) = store.user(session.user).await? else {
            return Err(AppError::Unauthenticated(EXPIRED));
        };
        if !self.account_usable(&user).await? {
            return Err(AppError::Unauthenticated(EXPIRED));
        }
        let since_seen = now.unix_micros() - session.last_seen_at.unix_micros();
        if since_seen >= i64::try_from(settings.touch_interval.as_micros()).unwrap_or(i64::MAX) {
            let expires_at = now.plus(settings.session_idle).min(hard_end);
            store.touch_session(session.id, now, expires_at).await?;
            session.last_seen_at = now;
            session.expires_at = expires_at;
        }
        let caller = Caller::new(
            Some(user.id),
            user.tenant,
            user.role,
            Via::Session(session.id),
            remote_addr,
        )
        .needing_new_password(user.must_change_password);
        Ok(SignedIn {
            caller,
            session,
            user,
        })
    }

    /// Checks the CSRF token sent with a state-changing request (constant time).
    pub fn verify_csrf(&self, session: &Session, presented: &str) -> AppResult<()> {
        if secrets_equal(&session.csrf_secret, presented) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "missing or wrong CSRF token: reload the page and try again".into(),
            ))
        }
    }

    /// Signs the caller out (ends the session it came with; nothing for tokens).
    pub async fn logout(&self, caller: &Caller) -> AppResult<()> {
        if let Via::Session(id) = caller.via() {
            self.app
                .store()
                .revoke_session(id, &caller.audit_context())
                .await?;
        }
        Ok(())
    }

    /// Ends another user's session (administrators of the user's tenant subtree), or one's own.
    pub async fn end_session(&self, caller: &Caller, id: SessionId) -> AppResult<Session> {
        let store = self.app.store();
        let session = store
            .session(id)
            .await?
            .ok_or_else(|| AppError::not_found("session", id))?;
        if caller.user_id() != Some(session.user) {
            self.app
                .authorise(
                    caller,
                    Action::AdministerUser,
                    session.tenant,
                    "session",
                    id,
                )
                .await?;
        }
        Ok(store.revoke_session(id, &caller.audit_context()).await?)
    }

    /// Deletes ended sessions; run it now and then. Returns how many were deleted.
    pub async fn purge_expired(&self) -> AppResult<u64> {
        Ok(self.app.store().purge_sessions(Timestamp::now()).await?)
    }

    /// Whether the user is active and every tenant from the root to theirs is active.
    pub(crate) async fn account_usable(&self, user: &User) -> AppResult<bool> {
        if !user.active {
            return Ok(false);
        }
        self.app.tenant_chain_active(user.tenant).await
    }

    fn fail(&self, remote_addr: Option<IpAddr>, now: Timestamp) {
        Counters::bump(&self.app.inner.counters.sign_in_failures);
        if let Some(address) = remote_addr {
            self.app
                .inner
                .failures_by_address
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .record(address, now);
        }
    }

    async fn verify_password(&self, password: &str, hash: PasswordHash) -> AppResult<bool> {
        let hashing = self.app.settings().password_hashing;
        let password = password.to_owned();
        off_runtime(move || hashing.verify(&password, &hash)).await
    }

    async fn dummy_hash(&self) -> AppResult<PasswordHash> {
        let hashing = self.app.settings().password_hashing;
        self.app
            .inner
            .dummy_hash
            .get_or_try_init(|| async move {
                let password = nigehban_model::Password::parse("no such user, no such password")
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                off_runtime(move || hashing.hash(&password)).await?
            })
            .await
            .cloned()
    }
}

impl App {
    /// Whether `tenant` and every tenant above it are active.
    pub(crate) async fn tenant_chain_active(
        &self,
        tenant: nigehban_model::TenantId,
    ) -> AppResult<bool> {
        let path = self.store().tenant_path(tenant).await?;
        Ok(!path.is_empty() && path.iter().all(|t| t.active))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_throttled_within_the_window() {
        let throttle = AddressThrottle {
            max_failures: 3,
            window: Duration::from_secs(60),
        };
        let address: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let start = Timestamp::from_unix_micros(1_000_000_000_000);
        let mut failures = AddressFailures::default();
        for _ in 0..3 {
            assert!(failures.throttled_until(address, start, throttle).is_none());
            failures.record(address, start);
        }
        assert_eq!(
            failures.throttled_until(address, start, throttle),
            Some(start.plus(Duration::from_secs(60)))
        );
        assert!(failures.throttled_until(other, start, throttle).is_none());
        let later = start.plus(Duration::from_secs(61));
        assert!(failures.throttled_until(address, later, throttle).is_none());
    }
}
