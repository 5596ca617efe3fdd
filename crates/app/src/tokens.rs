//! API tokens: bearer credentials scoped to a tenant and a role.

use std::net::IpAddr;

use nigehban_model::{ApiToken, Role, SecretHash, TenantId, Timestamp, TokenId, TokenName};
use nigehban_store::{Page, PageRequest};

use crate::policy::{self, Action, Decision};
use crate::secrets::{Secret, random_token};
use crate::{App, AppError, AppResult, Caller, Counters, Via};

/// Every token secret starts with this, so leaked tokens are easy to scan for.
pub const TOKEN_PREFIX: &str = "ngb_";

/// How many tokens of the caller's subtree [`ApiTokens::mine`] reads at most.
pub const MAX_OWN_TOKENS: usize = 10_000;

/// An API token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// Its label.
    pub name: TokenName,
    /// The tenant it acts in; default the caller's.
    pub tenant: Option<TenantId>,
    /// The role it acts in; default the caller's.
    pub role: Option<Role>,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
}

/// A created API token and its secret, shown this once.
#[derive(Debug, Clone)]
pub struct CreatedApiToken {
    /// The token record.
    pub token: ApiToken,
    /// The bearer secret (`ngb_...`); only its hash is stored.
    pub secret: Secret,
}

/// API token services; see [`App::tokens`].
#[derive(Debug, Clone, Copy)]
pub struct ApiTokens<'a> {
    pub(crate) app: &'a App,
}

impl ApiTokens<'_> {
    /// Creates a token. Anyone signed in may create tokens in their own tenant
    /// and role; administrators may create them for any tenant of their
    /// subtree and any role. Tokens cannot create tokens.
    pub async fn create(&self, caller: &Caller, new: NewApiToken) -> AppResult<CreatedApiToken> {
        if let Via::Token(_) = caller.via() {
            return Err(AppError::Forbidden(
                "an API token cannot create API tokens; sign in to the console".into(),
            ));
        }
        let tenant = new.tenant.unwrap_or(caller.tenant_id());
        let role = new.role.unwrap_or(caller.role());
        let own = tenant == caller.tenant_id() && role == caller.role();
        let action = if own {
            Action::ManageOwnToken
        } else {
            Action::AdministerToken
        };
        self.app
            .authorise(caller, action, tenant, "tenant", tenant)
            .await?;
        if !self.app.tenant_chain_active(tenant).await? {
            return Err(AppError::Invalid(format!(
                "tenant {tenant} is deactivated: no tokens can be created for it"
            )));
        }
        let now = Timestamp::now();
        if new.expires_at.is_some_and(|expiry| expiry <= now) {
            return Err(AppError::Invalid(
                "the token's expiry is in the past".into(),
            ));
        }
        let secret = format!("{TOKEN_PREFIX}{}", random_token());
        let store = self.app.store();
        let token = ApiToken {
            id: TokenId::new(),
            instance: store.instance(),
            tenant,
            role,
            owner: caller.user_id(),
            name: new.name,
            created_at: now,
            expires_at: new.expires_at,
            last_used_at: None,
            revoked_at: None,
            sensor: None,
        };
        store
            .insert_token(&token, &SecretHash::of(&secret), &caller.audit_context())
            .await?;
        tracing::info!(token = %token.id, tenant = %token.tenant, role = %token.role, "api token created");
        Ok(CreatedApiToken {
            token,
            secret: Secret::from_string(secret),
        })
    }

    /// One token: the caller's own, or (administrators, auditors) one of their subtree.
    pub async fn get(&self, caller: &Caller, id: TokenId) -> AppResult<ApiToken> {
        let token = self
            .app
            .store()
            .token(id)
            .await?
            .ok_or_else(|| AppError::not_found("token", id))?;
        if !(self.is_own(caller, &token) && token.tenant == caller.tenant_id()) {
            self.app
                .authorise(caller, Action::ViewToken, token.tenant, "token", id)
                .await?;
        }
        Ok(token)
    }

    /// The tokens of tenant `under` (default: the caller's) and the tenants below it, ordered by id.
    pub async fn list(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
        page: &PageRequest,
    ) -> AppResult<Page<ApiToken>> {
        let under = under.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::ViewToken, under, "tenant", under)
            .await?;
        let page = self.app.store().list_tokens(under, page).await?;
        Ok(self
            .app
            .within_reach(caller, Action::ViewToken, under, page, |t| t.tenant))
    }

    /// The caller's own tokens in the caller's tenant (the ones it may revoke
    /// itself), revoked ones too, ordered by id. Anyone signed in may list
    /// their own; at most [`MAX_OWN_TOKENS`] are read.
    pub async fn mine(&self, caller: &Caller) -> AppResult<Vec<ApiToken>> {
        let tenant = caller.tenant_id();
        self.app
            .authorise(caller, Action::ManageOwnToken, tenant, "tenant", tenant)
            .await?;
        let mut own = Vec::new();
        let mut page = PageRequest::first(crate::MAX_PAGE_LIMIT);
        let mut read = 0;
        loop {
            let batch = self.app.store().list_tokens(tenant, &page).await?;
            read += batch.items.len();
            own.extend(
                batch
                    .items
                    .into_iter()
                    .filter(|t| t.tenant == tenant && self.is_own(caller, t)),
            );
            match batch.next {
                Some(next) if read < MAX_OWN_TOKENS => {
                    page = PageRequest::after(next, crate::MAX_PAGE_LIMIT);
                }
                _ => return Ok(own),
            }
        }
    }

    /// Revokes a token: one's own, or (administrators) any of their subtree.
    pub async fn revoke(&self, caller: &Caller, id: TokenId) -> AppResult<ApiToken> {
        let store = self.app.store();
        let token = store
            .token(id)
            .await?
            .ok_or_else(|| AppError::not_found("token", id))?;
        // One's own token in one's own tenant is one's own business; any
        // other (e.g. one an administrator made for a tenant below) is administration.
        let action = if self.is_own(caller, &token) && token.tenant == caller.tenant_id() {
            Action::ManageOwnToken
        } else {
            Action::AdministerToken
        };
        self.app
            .authorise(caller, action, token.tenant, "token", id)
            .await?;
        Ok(store.revoke_token(id, &caller.audit_context()).await?)
    }

    /// Authenticates a request by its bearer token (`Authorization: Bearer ngb_...`).
    ///
    /// The token must be unrevoked and unexpired, its tenant and every tenant
    /// above active, and its owner still entitled to it: active, and either
    /// an administrator over the token's tenant or still in the token's tenant
    /// and role.
    pub async fn authenticate(
        &self,
        bearer: &str,
        remote_addr: Option<IpAddr>,
    ) -> AppResult<Caller> {
        let result = self.authenticate_inner(bearer, remote_addr).await;
        if let Err(AppError::Unauthenticated(_)) = result {
            Counters::bump(&self.app.inner.counters.token_refusals);
        }
        result
    }

    async fn authenticate_inner(
        &self,
        bearer: &str,
        remote_addr: Option<IpAddr>,
    ) -> AppResult<Caller> {
        const REFUSED: &str = "invalid, expired or revoked API token";
        let bearer = bearer.trim();
        if !bearer.starts_with(TOKEN_PREFIX) {
            return Err(AppError::Unauthenticated(REFUSED));
        }
        let store = self.app.store();
        let now = Timestamp::now();
        let Some(token) = store.token_by_secret(&SecretHash::of(bearer)).await? else {
            return Err(AppError::Unauthenticated(REFUSED));
        };
        if !token.is_usable_at(now) || !self.app.tenant_chain_active(token.tenant).await? {
            return Err(AppError::Unauthenticated(REFUSED));
        }
        if let Some(owner) = token.owner {
            let Some(user) = store.user(owner).await? else {
                return Err(AppError::Unauthenticated(REFUSED));
            };
            let entitled = user.active
                && if user.role == Role::Administrator {
                    let owner_path = self.app.path_ids(user.tenant).await?;
                    let token_path = self.app.path_ids(token.tenant).await?;
                    policy::decide(
                        Role::Administrator,
                        Action::AdministerToken,
                        policy::relation(&owner_path, &token_path),
                    ) == Decision::Allow
                } else {
                    user.tenant == token.tenant && user.role == token.role
                };
            if !entitled {
                tracing::info!(token = %token.id, "api token refused: its owner is no longer entitled to it");
                return Err(AppError::Unauthenticated(REFUSED));
            }
        }
        let interval =
            i64::try_from(self.app.settings().touch_interval.as_micros()).unwrap_or(i64::MAX);
        if token
            .last_used_at
            .is_none_or(|last| now.unix_micros() - last.unix_micros() >= interval)
        {
            store.touch_token(token.id, now).await?;
        }
        Ok(Caller::new(
            token.owner,
            token.tenant,
            token.role,
            Via::Token(token.id),
            remote_addr,
        ))
    }

    fn is_own(&self, caller: &Caller, token: &ApiToken) -> bool {
        token.owner.is_some() && token.owner == caller.user_id()
    }
}
