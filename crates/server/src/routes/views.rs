//! The JSON shapes of records as the API returns them, with their OpenAPI schemas.
//!
//! They mirror the model's records but are the HTTP contract: a field added to
//! a model record does not appear in the API until it is added here.

use nigehban_app::model::{
    ApiToken, AuditEntry, Role, Sector, Tenant, TenantId, TenantKind, Timestamp, TokenId, User,
    UserId,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::schemas::{RoleSchema, SectorSchema};

/// What a tenant is.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantKindWord {
    /// The national CERT at the root.
    National,
    /// A sectoral or provincial CERT.
    Sectoral,
    /// An organisation (a constituent).
    Organisation,
}

/// A tenant: the national CERT, a sectoral CERT or an organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TenantView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: TenantId,
    /// The tenant above it; null only for the national CERT.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent: Option<TenantId>,
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: TenantKindWord,
    /// The sector, for a sectoral CERT.
    #[schema(value_type = Option<SectorSchema>)]
    pub sector: Option<Sector>,
    /// Whether an organisation is graded critical information infrastructure.
    pub critical_infrastructure: bool,
    /// False once deactivated.
    pub active: bool,
    /// When it was created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it was last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<Tenant> for TenantView {
    fn from(tenant: Tenant) -> Self {
        let (kind, sector, critical_infrastructure) = match tenant.kind {
            TenantKind::National => (TenantKindWord::National, None, false),
            TenantKind::Sectoral { sector } => (TenantKindWord::Sectoral, Some(sector), false),
            TenantKind::Organisation {
                critical_infrastructure,
            } => (TenantKindWord::Organisation, None, critical_infrastructure),
        };
        Self {
            id: tenant.id,
            parent: tenant.parent,
            name: tenant.name.as_str().to_owned(),
            kind,
            sector,
            critical_infrastructure,
            active: tenant.active,
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
        }
    }
}

/// A user account (never its password).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    /// The tenant the user belongs to.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// The sign-in name.
    pub username: String,
    /// The name shown in the console.
    pub display_name: String,
    /// The role the user acts in.
    #[schema(value_type = RoleSchema)]
    pub role: Role,
    /// False once deactivated.
    pub active: bool,
    /// Whether the user must choose a new password at next sign-in.
    pub must_change_password: bool,
    /// Sign-in failures since the last success.
    pub failed_logins: u32,
    /// When it was created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it was last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            tenant: user.tenant,
            username: user.username.as_str().to_owned(),
            display_name: user.display_name.as_str().to_owned(),
            role: user.role,
            active: user.active,
            must_change_password: user.must_change_password,
            failed_logins: user.failed_logins,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// An API token (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: TokenId,
    /// Its label.
    pub name: String,
    /// The tenant it acts in.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// The role it acts in.
    #[schema(value_type = RoleSchema)]
    pub role: Role,
    /// The user on whose behalf it acts; null for a token made by the operator.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub owner: Option<UserId>,
    /// When it was created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// When it was last used to authenticate (recorded at most once a minute).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

impl From<ApiToken> for TokenView {
    fn from(token: ApiToken) -> Self {
        Self {
            id: token.id,
            name: token.name.as_str().to_owned(),
            tenant: token.tenant,
            role: token.role,
            owner: token.owner,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
            revoked_at: token.revoked_at,
        }
    }
}

/// Who made an audited change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActorView {
    /// `user`, `token`, `operator` or `system`.
    pub kind: String,
    /// The user, if a user (or a token's owner) acted.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub user: Option<UserId>,
    /// The API token, if one was used.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub token: Option<TokenId>,
    /// The tenant the actor acted in.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub tenant: Option<TenantId>,
}

/// One entry of the hash-chained audit log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntryView {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: nigehban_app::model::AuditEntryId,
    /// The tenant the changed record belongs to.
    #[schema(value_type = String, format = Uuid)]
    pub tenant: TenantId,
    /// When it happened.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Who did it.
    pub actor: ActorView,
    /// What was done, e.g. `tenant.create`, `user.set_role`.
    pub action: String,
    /// The kind of record changed, e.g. `tenant`.
    pub record_kind: String,
    /// The id of the record changed.
    pub record_id: String,
    /// The record before the change, if it existed.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The record after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// The address the change came from.
    pub remote_addr: Option<String>,
    /// Hash of the previous entry (hex).
    pub prev_hash: String,
    /// Hash of this entry (hex), covering its fields and `prev_hash`.
    pub hash: String,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(entry: AuditEntry) -> Self {
        Self {
            seq: entry.seq,
            id: entry.id,
            tenant: entry.tenant,
            at: entry.at,
            actor: ActorView {
                kind: entry.actor.kind.as_str().to_owned(),
                user: entry.actor.user,
                token: entry.actor.token,
                tenant: entry.actor.tenant,
            },
            action: entry.action.as_str().to_owned(),
            record_kind: entry.record_kind,
            record_id: entry.record_id,
            before: entry.before.map(|json| json.value()),
            after: entry.after.map(|json| json.value()),
            remote_addr: entry.remote_addr,
            prev_hash: entry.prev_hash.to_hex(),
            hash: entry.hash.to_hex(),
        }
    }
}

/// A page of tenants.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantPage {
    /// The tenants, ordered by id (creation time).
    pub items: Vec<TenantView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    /// The users, ordered by id (creation time).
    pub items: Vec<UserView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A page of API tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPage {
    /// The tokens, ordered by id (creation time).
    pub items: Vec<TokenView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A page of audit entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries, in chain order (or newest first when asked).
    pub items: Vec<AuditEntryView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}
