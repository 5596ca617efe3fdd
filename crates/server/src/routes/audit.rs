//! The audit log, for administrators and auditors: read it, verify its chain, get its head.

use axum::extract::State;
use nigehban_app::AuditListing;
use nigehban_app::model::AuditVerification;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ServerState;
use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::paging::{page_request, parse_tenant_param};
use crate::routes::views::{AuditEntryView, AuditPage};

/// The audit routes.
pub fn routes() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(verify_audit))
        .routes(routes!(audit_head))
}

/// Query of the audit log listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries about this tenant and the tenants below it (default: the caller's tenant).
    #[param(value_type = Option<String>, format = Uuid)]
    pub under: Option<String>,
    /// Newest first (`true`) or in chain order (`false`, the default).
    #[param(value_type = Option<bool>)]
    pub newest_first: Option<String>,
    /// Where to continue: the `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// How many entries at most (1 to 1000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// Read the audit log of a subtree (administrators and auditors).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditQuery),
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "One page of audit entries", body = AuditPage),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller's role may not read the audit log", body = ErrorBody),
        (status = 404, description = "`under` is not in the caller's subtree", body = ErrorBody),
        (status = 422, description = "Bad `under`, `newest_first`, `cursor` or `limit`", body = ErrorBody),
    )
)]
async fn list_audit(
    State(state): State<ServerState>,
    who: Authenticated,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<axum::Json<AuditPage>, ApiError> {
    let newest_first = match query.newest_first.as_deref() {
        None => false,
        Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::invalid_value(format!(
                "newest_first must be true or false; got {other:?}"
            ))
            .with_field("newest_first"));
        }
    };
    let listing = AuditListing {
        under: parse_tenant_param(query.under.as_deref(), "under")?,
        newest_first,
    };
    let page = page_request(query.cursor.as_deref(), query.limit.as_deref())?;
    let page = state.app.audit().list(&who.caller, listing, &page).await?;
    Ok(axum::Json(AuditPage {
        items: page.items.into_iter().map(AuditEntryView::from).collect(),
        next_cursor: page.next.map(|cursor| cursor.as_str().to_owned()),
    }))
}

/// The verdict on the audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerdict {
    /// Whether every entry's hash matches and links to the one before.
    pub intact: bool,
    /// How many entries the log holds (for an intact log).
    pub entries: Option<u64>,
    /// The first entry that does not match, when the chain is broken.
    pub first_bad_seq: Option<u64>,
    /// Its id, when it exists.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub first_bad_id: Option<nigehban_app::model::AuditEntryId>,
    /// What is wrong with it.
    pub problem: Option<String>,
}

/// Recompute the whole audit chain and name the first entry that does not match
/// (administrators and auditors of the national CERT).
#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "audit",
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The verdict", body = AuditVerdict),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only administrators and auditors of the national CERT verify the whole log", body = ErrorBody),
    )
)]
async fn verify_audit(
    State(state): State<ServerState>,
    who: Authenticated,
) -> Result<axum::Json<AuditVerdict>, ApiError> {
    let verification = state.app.audit().verify(&who.caller).await?;
    Ok(axum::Json(verdict(&verification)))
}

/// Turns the store's verification into the API's verdict.
pub fn verdict(verification: &AuditVerification) -> AuditVerdict {
    match verification {
        AuditVerification::Intact { entries, .. } => AuditVerdict {
            intact: true,
            entries: Some(*entries),
            first_bad_seq: None,
            first_bad_id: None,
            problem: None,
        },
        AuditVerification::Broken(first_break) => AuditVerdict {
            intact: false,
            entries: None,
            first_bad_seq: Some(first_break.seq),
            first_bad_id: first_break.id,
            problem: Some(first_break.to_string()),
        },
    }
}

/// The head of the audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditHead {
    /// The last entry's sequence number (0 for an empty log).
    pub seq: u64,
    /// The last entry's hash (hex): publish it elsewhere as an anchor.
    pub hash: String,
}

/// The head of the audit chain, to publish as an anchor (administrators and auditors of the national CERT).
#[utoipa::path(
    get,
    path = "/api/v1/audit/head",
    tag = "audit",
    security(("session" = []), ("api_token" = [])),
    responses(
        (status = 200, description = "The chain head", body = AuditHead),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Only administrators and auditors of the national CERT", body = ErrorBody),
    )
)]
async fn audit_head(
    State(state): State<ServerState>,
    who: Authenticated,
) -> Result<axum::Json<AuditHead>, ApiError> {
    let head = state.app.audit().head(&who.caller).await?;
    Ok(axum::Json(AuditHead {
        seq: head.seq,
        hash: head.hash.to_hex(),
    }))
}
