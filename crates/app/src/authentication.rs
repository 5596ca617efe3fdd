//! Sign-in, browser sessions, CSRF tokens and sign-in throttling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use nigehban_model::{PasswordHash, SecretHash, Session, SessionId, Timestamp, User, Username};

use crate::policy::Action;
use crate::secrets::{Secret, off_runtime, random_token, secrets_equal};
use crate::{App, AppError, AppResult, Caller, Counters, Via};

/// What every failed sign-in says, whatever the reason (unknown user, wrong
/// password, deactivated account), so it reveals nothing.
const SIGN_IN_FAILED: &str =
    "sign-in failed: wrong user name or password, or the account is deactivated";

/// How failures slow down further sign-ins: a few are free, then each
/// failure doubles the wait before the next try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed before any wait.
    pub free_failures: u32,
    /// The wait after the first failure beyond the free ones.
    pub first_wait: Duration,
    /// The longest wait.
    pub max_wait: Duration,
    /// Failures are forgotten this long after the last one.
    pub forget_after: Duration,
}

impl Backoff {
    /// The wait after `failures` failures in a row (zero while they are free).
    fn wait_after(&self, failures: u32) -> Duration {
        let Some(beyond) = failures.checked_sub(self.free_failures + 1) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(beyond.min(31)).unwrap_or(u32::MAX);
        self.first_wait
            .checked_mul(factor)
            .unwrap_or(self.max_wait)
            .min(self.max_wait)
    }
}

/// Sign-in throttling, first per (user name, address) pair, then per address.
///
/// Accounts are never locked as a whole: a stranger who fails for a user
/// from one address slows down only that pair, never the user's own
/// sign-ins from elsewhere. Tries refused by a pair's wait are not counted
/// against its address, so one attacker behind a proxy cannot block every
/// user behind it by failing for one of them; guessing across many user
/// names from one address (password spraying) trips the address's own,
/// more generous, back-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInThrottle {
    /// For one user name from one address.
    pub per_user_and_address: Backoff,
    /// For every user name from one address.
    pub per_address: Backoff,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self {
            per_user_and_address: Backoff {
                free_failures: 5,
                first_wait: Duration::from_secs(60),
                max_wait: Duration::from_secs(15 * 60),
                forget_after: Duration::from_secs(60 * 60),
            },
            per_address: Backoff {
                free_failures: 50,
                first_wait: Duration::from_secs(1),
                max_wait: Duration::from_secs(5 * 60),
                forget_after: Duration::from_secs(60 * 60),
            },
        }
    }
}

/// One throttled subject's failures.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Timestamp,
    /// No try before this.
    until: Timestamp,
}

/// Prune forgotten entries when a table grows past this.
const PRUNE_ABOVE: usize = 10_000;

/// Failed sign-ins in memory, per pair and per address (a restart forgets
/// them; with several API servers each keeps its own).
#[derive(Debug, Default)]
pub(crate) struct SignInFailures {
    by_pair: HashMap<(String, IpAddr), Failures>,
    by_address: HashMap<IpAddr, Failures>,
}

fn forgotten(failures: &Failures, now: Timestamp, backoff: &Backoff) -> bool {
    now >= failures.last.plus(backoff.forget_after)
}

fn record<K: std::hash::Hash + Eq>(
    table: &mut HashMap<K, Failures>,
    key: K,
    now: Timestamp,
    backoff: &Backoff,
) -> Failures {
    if table.len() > PRUNE_ABOVE {
        table.retain(|_, failures| !forgotten(failures, now, backoff));
    }
    let entry = table.entry(key).or_insert(Failures {
        count: 0,
        last: now,
        until: now,
    });
    if forgotten(entry, now, backoff) {
        entry.count = 0;
    }
    entry.count = entry.count.saturating_add(1);
    entry.last = now;
    entry.until = now.plus(backoff.wait_after(entry.count));
    *entry
}

fn waiting_until(failures: Option<&Failures>, now: Timestamp) -> Option<Timestamp> {
    failures
        .map(|failures| failures.until)
        .filter(|until| now < *until)
}

impl SignInFailures {
    /// When a try for `user` from `address` may be made, if it must wait now.
    fn throttled_until(&self, user: &str, address: IpAddr, now: Timestamp) -> Option<Timestamp> {
        waiting_until(self.by_pair.get(&(user.to_owned(), address)), now)
            .or_else(|| waiting_until(self.by_address.get(&address), now))
    }

    /// Counts a failure; returns whether the pair has to wait from now on.
    fn record(
        &mut self,
        user: &str,
        address: IpAddr,
        now: Timestamp,
        throttle: &SignInThrottle,
    ) -> bool {
        let pair = record(
            &mut self.by_pair,
            (user.to_owned(), address),
            now,
            &throttle.per_user_and_address,
        );
        record(&mut self.by_address, address, now, &throttle.per_address);
        pair.until > now
    }

    /// A successful sign-in ends the pair's wait (not the address's: one's
    /// own account must not reset a sprayer's count).
    fn succeeded(&mut self, user: &str, address: IpAddr) {
        self.by_pair.remove(&(user.to_owned(), address));
    }
}

/// The name a sign-in was tried for, as the throttle keys it: lower-case,
/// at most 64 characters (longer or odd names are not user names anyway).
fn throttle_key(username: &str) -> String {
    username.trim().to_lowercase().chars().take(64).collect()
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
    /// the same [`AppError::Unauthenticated`]. Failures slow down further
    /// tries for the same user name from the same address, then from the
    /// address as a whole ([`SignInThrottle`]): a try that must wait gets
    /// [`AppError::Throttled`]. Accounts are never locked.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        remote_addr: Option<IpAddr>,
    ) -> AppResult<SignIn> {
        let settings = self.app.settings();
        let now = Timestamp::now();
        let user = self
            .verify_credentials(username, password, remote_addr, now)
            .await?;
        let store = self.app.store();
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
                user: Some(user.id),
                token: None,
                tenant: Some(user.tenant),
            },
            at: now,
            remote_addr: remote_addr.map(|ip| ip.to_string()),
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

    /// Checks a user name and password as [`Authentication::login`] does
    /// (same throttle, same timing, same single error), for requests that
    /// carry them on every call (TAXII's HTTP Basic): the caller, without a session.
    pub async fn password_caller(
        &self,
        username: &str,
        password: &str,
        remote_addr: Option<IpAddr>,
    ) -> AppResult<Caller> {
        let user = self
            .verify_credentials(username, password, remote_addr, Timestamp::now())
            .await?;
        Ok(Caller::new(
            Some(user.id),
            user.tenant,
            user.role,
            Via::Password(user.id),
            remote_addr,
        )
        .needing_new_password(user.must_change_password))
    }

    /// The user a name and password belong to, if they are right and the
    /// account may sign in; failures are throttled and look all the same.
    async fn verify_credentials(
        &self,
        username: &str,
        password: &str,
        remote_addr: Option<IpAddr>,
        now: Timestamp,
    ) -> AppResult<User> {
        let key = throttle_key(username);
        if let Some(address) = remote_addr {
            let until = self
                .app
                .inner
                .sign_in_failures
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .throttled_until(&key, address, now);
            if let Some(retry_after) = until {
                tracing::warn!(%address, "sign-in refused: too many failures for this user name or from this address");
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
            self.fail(&key, remote_addr, now);
            tracing::info!(remote = ?remote_addr, "sign-in failed: unknown user name");
            return Err(AppError::Unauthenticated(SIGN_IN_FAILED));
        };
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
            let user = store.record_login_failure(user.id, &context).await?;
            self.fail(&key, remote_addr, now);
            tracing::info!(user = %user.id, failures = user.failed_logins, "sign-in failed: wrong password");
            return Err(AppError::Unauthenticated(SIGN_IN_FAILED));
        }
        if !self.account_usable(&user).await? {
            self.fail(&key, remote_addr, now);
            tracing::info!(user = %user.id, "sign-in refused: user or tenant deactivated");
            return Err(AppError::Unauthenticated(SIGN_IN_FAILED));
        }
        if let Some(address) = remote_addr {
            self.app
                .inner
                .sign_in_failures
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .succeeded(&key, address);
        }
        Ok(user)
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

    fn fail(&self, user: &str, remote_addr: Option<IpAddr>, now: Timestamp) {
        Counters::bump(&self.app.inner.counters.sign_in_failures);
        if let Some(address) = remote_addr {
            let throttle = self.app.settings().sign_in_throttle;
            let held_back = self
                .app
                .inner
                .sign_in_failures
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .record(user, address, now, &throttle);
            if held_back {
                Counters::bump(&self.app.inner.counters.lockouts);
            }
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

    fn throttle() -> SignInThrottle {
        SignInThrottle {
            per_user_and_address: Backoff {
                free_failures: 3,
                first_wait: Duration::from_secs(60),
                max_wait: Duration::from_secs(600),
                forget_after: Duration::from_secs(3600),
            },
            per_address: Backoff {
                free_failures: 10,
                first_wait: Duration::from_secs(1),
                max_wait: Duration::from_secs(300),
                forget_after: Duration::from_secs(3600),
            },
        }
    }

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_longest() {
        let backoff = throttle().per_user_and_address;
        let waits: Vec<u64> = (1..=9).map(|n| backoff.wait_after(n).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 60, 120, 240, 480, 600, 600]);
        assert_eq!(backoff.wait_after(u32::MAX).as_secs(), 600);
    }

    #[test]
    fn a_pair_waits_without_holding_back_the_user_elsewhere_or_others_at_the_address() {
        let throttle = throttle();
        let attacker: IpAddr = "192.0.2.7".parse().unwrap();
        let home: IpAddr = "198.51.100.1".parse().unwrap();
        let start = Timestamp::from_unix_micros(1_000_000_000_000);
        let mut failures = SignInFailures::default();
        for n in 1..=3 {
            assert!(
                failures
                    .throttled_until("ayesha", attacker, start)
                    .is_none()
            );
            assert!(
                !failures.record("ayesha", attacker, start, &throttle),
                "{n}"
            );
        }
        assert!(failures.record("ayesha", attacker, start, &throttle));
        let until = start.plus(Duration::from_secs(60));
        assert_eq!(
            failures.throttled_until("ayesha", attacker, start),
            Some(until)
        );
        // Ayesha from home, and Bilal behind the attacker's address, go on.
        assert!(failures.throttled_until("ayesha", home, start).is_none());
        assert!(failures.throttled_until("bilal", attacker, start).is_none());
        // After the wait, one more failure doubles it.
        assert!(
            failures
                .throttled_until("ayesha", attacker, until)
                .is_none()
        );
        failures.record("ayesha", attacker, until, &throttle);
        assert_eq!(
            failures.throttled_until("ayesha", attacker, until),
            Some(until.plus(Duration::from_secs(120)))
        );
        // Forgotten an hour after the last failure.
        let later = until.plus(Duration::from_secs(3600));
        failures.record("ayesha", attacker, later, &throttle);
        assert!(
            failures
                .throttled_until("ayesha", attacker, later)
                .is_none()
        );
        // A success ends the pair's wait.
        for _ in 0..5 {
            failures.record("ayesha", attacker, later, &throttle);
        }
        assert!(
            failures
                .throttled_until("ayesha", attacker, later)
                .is_some()
        );
        failures.succeeded("ayesha", attacker);
        assert!(
            failures
                .throttled_until("ayesha", attacker, later)
                .is_none()
        );
    }

    #[test]
    fn spraying_many_user_names_from_one_address_slows_the_address() {
        let throttle = throttle();
        let sprayer: IpAddr = "203.0.113.9".parse().unwrap();
        let start = Timestamp::from_unix_micros(1_000_000_000_000);
        let mut failures = SignInFailures::default();
        for n in 0..11 {
            failures.record(&format!("user{n}"), sprayer, start, &throttle);
        }
        assert_eq!(
            failures.throttled_until("anyone", sprayer, start),
            Some(start.plus(Duration::from_secs(1)))
        );
        let elsewhere: IpAddr = "203.0.113.10".parse().unwrap();
        assert!(
            failures
                .throttled_until("anyone", elsewhere, start)
                .is_none()
        );
    }
}
