//! Administration: the tenant tree, users and their roles, the API tokens of
//! the subtree, and the audit log with the chain's verification, each
//! through the same app services as the API (`/api/v1/tenants`, `users`,
//! `tokens`, `audit`): a viewer sees its own subtree only, and a role the
//! policy refuses gets "not allowed".

use std::collections::HashMap;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nigehban_app::model::{AuditVerification, Tenant, TenantId, TenantKind};
use nigehban_app::{AuditListing, PageRequest};

use super::dashboard::visible_tenants;
use super::frame::{ConsoleError, Page, time};
use super::messages::messages;
use super::session::{FormData, Viewer};
use crate::ServerState;

/// The tenant tree (the administration's first page).
pub const PATH: &str = "/console/admin";
/// Users and roles.
pub const USERS_PATH: &str = "/console/admin/users";
/// The subtree's API tokens.
pub const TOKENS_PATH: &str = "/console/admin/tokens";
/// The audit log.
pub const AUDIT_PATH: &str = "/console/admin/audit";

/// Rows per page of the users, tokens and audit lists.
const PAGE: u32 = 100;

/// The administration routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(PATH, get(tenants))
        .route(USERS_PATH, get(users))
        .route(TOKENS_PATH, get(tokens))
        .route(AUDIT_PATH, get(audit))
}

/// The administration's own navigation, above each of its pages.
fn sub_navigation(current: &str) -> Markup {
    let t = messages();
    let entries = [
        (PATH, t.tenant_tree),
        (USERS_PATH, t.users_and_roles),
        (TOKENS_PATH, t.api_tokens),
        (AUDIT_PATH, t.audit_log),
    ];
    html! {
        nav.sub aria-label=(t.administration) { ul {
            @for (path, label) in entries {
                li { @if path == current { a href=(path) aria-current="page" { (label) } } @else { a href=(path) { (label) } } }
            }
        } }
    }
}

fn page(viewer: &Viewer, title: &str, current: &str, body: Markup) -> Response {
    Page {
        title,
        viewer: Some(viewer),
        current: PATH,
        body: html! { (sub_navigation(current)) (body) },
    }
    .respond()
}

/// The page's cursor from its query string.
fn page_request(form: &FormData, viewer: &Viewer) -> Result<PageRequest, ConsoleError> {
    match form.text("cursor") {
        Some(cursor) => crate::paging::page_request(Some(cursor), Some(&PAGE.to_string()))
            .map_err(|e| ConsoleError::new(e, Some(viewer))),
        None => Ok(PageRequest::first(PAGE)),
    }
}

fn name_of(tenants: &[Tenant], id: TenantId) -> String {
    tenants.iter().find(|t| t.id == id).map_or_else(
        || messages().another_tenant.to_owned(),
        |t| t.name.as_str().to_owned(),
    )
}

/// `GET /console/admin`: the viewer's tenant and every tenant below it, as a tree.
async fn tenants(State(state): State<ServerState>, viewer: Viewer) -> Response {
    match render_tenants(&state, &viewer).await {
        Ok(body) => page(&viewer, messages().tenant_tree, PATH, body),
        Err(error) => error.into_response(),
    }
}

/// The tenant tree's content (public to the crate for the benchmark).
pub async fn render_tenants(state: &ServerState, viewer: &Viewer) -> Result<Markup, ConsoleError> {
    let tenants = visible_tenants(state, viewer.caller())
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    let mut children: HashMap<TenantId, Vec<&Tenant>> = HashMap::new();
    for tenant in &tenants {
        if let Some(parent) = tenant.parent {
            children.entry(parent).or_default().push(tenant);
        }
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    }
    // The roots of what the viewer sees: its own tenant (a tenant whose parent it does not see).
    let mut roots: Vec<&Tenant> = tenants
        .iter()
        .filter(|t| t.parent.is_none_or(|p| !tenants.iter().any(|o| o.id == p)))
        .collect();
    roots.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    Ok(html! {
        ul.tree #tenant-tree { @for root in roots { (branch(root, &children, 0)) } }
    })
}

/// One tenant and (to a sane depth) the tenants below it.
fn branch(tenant: &Tenant, children: &HashMap<TenantId, Vec<&Tenant>>, depth: usize) -> Markup {
    let t = messages();
    html! {
        li {
            strong { (tenant.name.as_str()) } " · " (tenant.kind.word())
            @if let TenantKind::Sectoral { sector } = tenant.kind { " (" (sector.as_str()) ")" }
            @if !tenant.active { " · " span.state-none { (t.deactivated) } }
            @if let Some(below) = children.get(&tenant.id).filter(|_| depth < 16) {
                ul { @for child in below { (branch(child, children, depth + 1)) } }
            }
        }
    }
}

/// `GET /console/admin/users`.
async fn users(
    State(state): State<ServerState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Response {
    let form = FormData::parse(raw.unwrap_or_default().as_bytes());
    match render_users(&state, &viewer, &form).await {
        Ok(body) => page(&viewer, messages().users_and_roles, USERS_PATH, body),
        Err(error) => error.into_response(),
    }
}

/// The users page's content (public to the crate for the benchmark).
pub async fn render_users(
    state: &ServerState,
    viewer: &Viewer,
    form: &FormData,
) -> Result<Markup, ConsoleError> {
    let t = messages();
    let fail = |e: nigehban_app::AppError| ConsoleError::new(e, Some(viewer));
    let found = state
        .app
        .users()
        .list(viewer.caller(), None, &page_request(form, viewer)?)
        .await
        .map_err(fail)?;
    let tenants = visible_tenants(state, viewer.caller())
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    Ok(html! {
        @if found.items.is_empty() {
            p role="status" { (t.no_users) }
        } @else {
            div.table-wrap tabindex="0" { table #users {
                thead { tr {
                    th scope="col" { (t.username) }
                    th scope="col" { (t.display_name) }
                    th scope="col" { (t.tenant) }
                    th scope="col" { (t.role) }
                    th scope="col" { (t.status) }
                    th scope="col" { (t.created) }
                } }
                tbody { @for user in &found.items { tr {
                    td { (user.username.as_str()) }
                    td { (user.display_name.as_str()) }
                    td { (name_of(&tenants, user.tenant)) }
                    td { (user.role.as_str()) }
                    td {
                        @if !user.active { span.state-none { (t.deactivated) } }
                        @else if user.must_change_password { (t.password_not_yet_chosen) }
                        @else { span.state-good { (t.active) } }
                    }
                    td { (time(user.created_at.to_datetime())) }
                } } }
            } }
        }
        @if let Some(next) = &found.next {
            p { a href=(format!("{USERS_PATH}?cursor={}", next.as_str())) { (t.more_results) } }
        }
    })
}

/// `GET /console/admin/tokens`: every API token of the viewer's subtree (never a secret).
async fn tokens(
    State(state): State<ServerState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Response {
    let form = FormData::parse(raw.unwrap_or_default().as_bytes());
    let t = messages();
    let listed = async {
        let found = state
            .app
            .tokens()
            .list(viewer.caller(), None, &page_request(&form, &viewer)?)
            .await
            .map_err(|e| ConsoleError::new(e, Some(&viewer)))?;
        let tenants = visible_tenants(&state, viewer.caller())
            .await
            .map_err(|e| ConsoleError::new(e, Some(&viewer)))?;
        Ok::<_, ConsoleError>(html! {
            @if found.items.is_empty() {
                p role="status" { (t.no_tokens) }
            } @else {
                div.table-wrap tabindex="0" { table #subtree-tokens {
                    thead { tr {
                        th scope="col" { (t.name) }
                        th scope="col" { (t.tenant) }
                        th scope="col" { (t.role) }
                        th scope="col" { (t.expires) }
                        th scope="col" { (t.last_used) }
                        th scope="col" { (t.status) }
                    } }
                    tbody { @for token in &found.items { tr {
                        td { (token.name.as_str()) }
                        td { (name_of(&tenants, token.tenant)) }
                        td { (token.role.as_str()) }
                        td { @match token.expires_at { Some(at) => (time(at.to_datetime())), None => (t.never_expires) } }
                        td { @match token.last_used_at { Some(at) => (time(at.to_datetime())), None => "—" } }
                        td { @if token.revoked_at.is_some() { span.state-none { (t.revoked) } } @else { (t.active) } }
                    } } }
                } }
            }
            @if let Some(next) = &found.next {
                p { a href=(format!("{TOKENS_PATH}?cursor={}", next.as_str())) { (t.more_results) } }
            }
        })
    };
    match listed.await {
        Ok(body) => page(&viewer, t.api_tokens, TOKENS_PATH, body),
        Err(error) => error.into_response(),
    }
}

/// `GET /console/admin/audit` (`?verify=1` recomputes the whole chain first).
async fn audit(
    State(state): State<ServerState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Response {
    let form = FormData::parse(raw.unwrap_or_default().as_bytes());
    match render_audit(&state, &viewer, &form).await {
        Ok(body) => page(&viewer, messages().audit_log, AUDIT_PATH, body),
        Err(error) => error.into_response(),
    }
}

/// The audit page's content, newest first (public to the crate for the benchmark).
pub async fn render_audit(
    state: &ServerState,
    viewer: &Viewer,
    form: &FormData,
) -> Result<Markup, ConsoleError> {
    let t = messages();
    let fail = |e: nigehban_app::AppError| ConsoleError::new(e, Some(viewer));
    let audit = state.app.audit();
    let found = audit
        .list(
            viewer.caller(),
            AuditListing {
                under: None,
                newest_first: true,
            },
            &page_request(form, viewer)?,
        )
        .await
        .map_err(fail)?;
    // Only the national CERT's administrators and auditors may verify the
    // whole chain (it spans every tenant); the app decides who that is.
    let verification = if form.get("verify") == Some("1") {
        match audit.verify(viewer.caller()).await {
            Ok(verification) => Some(Ok(verification)),
            Err(nigehban_app::AppError::Forbidden(_)) => Some(Err(())),
            Err(error) => return Err(fail(error)),
        }
    } else {
        None
    };
    let tenants = visible_tenants(state, viewer.caller())
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    Ok(html! {
        section #verification aria-label=(t.chain_verification) {
            @match &verification {
                None => p { (t.chain_not_verified_yet) " " a href=(format!("{AUDIT_PATH}?verify=1")) { (t.verify_chain) } },
                Some(Ok(AuditVerification::Intact { entries, .. })) => p {
                    span.verdict-good { (t.chain_intact) } " " (entries) " " (t.entries_verified)
                },
                Some(Ok(AuditVerification::Broken(first_break))) => p role="alert" {
                    span.verdict-bad { (t.chain_broken) } " " (first_break.to_string())
                },
                Some(Err(())) => p { (t.chain_verified_by_national) },
            }
            p.note { (t.audit_key) " " code { (audit.key_fingerprint().to_string()) } }
        }
        @if found.items.is_empty() {
            p role="status" { (t.no_audit_entries) }
        } @else {
            div.table-wrap tabindex="0" { table #audit {
                thead { tr {
                    th scope="col" { "#" }
                    th scope="col" { (t.when) }
                    th scope="col" { (t.action) }
                    th scope="col" { (t.record) }
                    th scope="col" { (t.tenant) }
                    th scope="col" { (t.actor) }
                    th scope="col" { (t.address) }
                } }
                tbody { @for entry in &found.items { tr {
                    td { (entry.seq) }
                    td { (time(entry.at.to_datetime())) }
                    td { code { (entry.action.as_str()) } }
                    td { (entry.record_kind) " " code { (entry.record_id) } }
                    td { (name_of(&tenants, entry.tenant)) }
                    td { (entry.actor.kind.as_str()) }
                    td { (entry.remote_addr.as_deref().unwrap_or("—")) }
                } } }
            } }
        }
        @if let Some(next) = &found.next {
            p { a href=(format!("{AUDIT_PATH}?cursor={}", next.as_str())) { (t.more_results) } }
        }
    })
}
