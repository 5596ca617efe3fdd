//! Detection rules: every stored rule with its state for the viewer's tenant
//! (running or not, and which tenant's choice decides), and — for those the
//! policy lets tune rules — enabling or disabling one for the tenant, or
//! letting it inherit again, through the same app services as
//! `/api/v1/rules`.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use nigehban_app::model::TenantId;
use nigehban_app::policy::{self, Action, Decision, Relation};
use nigehban_app::{PageRequest, RuleListing, RuleQuery, RuleState};

use super::dashboard::visible_tenants;
use super::frame::{ConsoleError, Page, redirect};
use super::messages::messages;
use super::session::{FormData, Viewer};
use crate::ServerState;

/// Where the list is.
pub const PATH: &str = "/console/rules";

/// Rules per page.
const PAGE: u32 = 100;

/// The rule routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route(PATH, get(list))
        .route("/console/rules/{id}/state", post(set_state))
}

/// `GET /console/rules` (`q`: words in the title or text).
async fn list(
    State(state): State<ServerState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Response {
    let form = FormData::parse(raw.unwrap_or_default().as_bytes());
    match render_list(&state, &viewer, &form).await {
        Ok(body) => Page {
            title: messages().rules,
            viewer: Some(&viewer),
            current: PATH,
            body,
        }
        .respond(),
        Err(error) => error.into_response(),
    }
}

/// The page's content (public to the crate for the benchmark).
pub async fn render_list(
    state: &ServerState,
    viewer: &Viewer,
    form: &FormData,
) -> Result<Markup, ConsoleError> {
    let t = messages();
    let fail = |e: nigehban_app::AppError| ConsoleError::new(e, Some(viewer));
    let page = match form.text("cursor") {
        Some(cursor) => crate::paging::page_request(Some(cursor), Some(&PAGE.to_string()))
            .map_err(|e| ConsoleError::new(e, Some(viewer)))?,
        None => PageRequest::first(PAGE),
    };
    let query = RuleQuery {
        text: form.text("q").map(str::to_owned),
        ..RuleQuery::default()
    };
    let found = state
        .app
        .rules()
        .list(
            viewer.caller(),
            RuleListing {
                query,
                tenant: None,
            },
            &page,
        )
        .await
        .map_err(fail)?;
    let tenants = visible_tenants(state, viewer.caller())
        .await
        .map_err(|e| ConsoleError::new(e, Some(viewer)))?;
    let name = |id: TenantId| {
        tenants.iter().find(|t| t.id == id).map_or_else(
            || t.another_tenant.to_owned(),
            |t| t.name.as_str().to_owned(),
        )
    };
    // The forms are offered to roles the policy lets tune their own tenant's rules;
    // the app decides again when one is sent.
    let may_tune =
        policy::decide(viewer.caller().role(), Action::TuneRules, Relation::Own) == Decision::Allow;
    let own = viewer.caller().tenant_id();
    Ok(html! {
        form.search method="get" action=(PATH) role="search" {
            label { (t.search_text) input type="search" name="q" value=(form.get("q").unwrap_or_default()); }
            button type="submit" { (t.search) }
        }
        @if found.items.is_empty() {
            p role="status" { (t.no_rules) }
        } @else {
            div.table-wrap tabindex="0" { table #rules {
                thead { tr {
                    th scope="col" { (t.title) }
                    th scope="col" { (t.kind) }
                    th scope="col" { (t.severity) }
                    th scope="col" { (t.origin) }
                    th scope="col" { (t.for_your_tenant) }
                    @if may_tune { th scope="col" { (t.change) } }
                } }
                tbody { @for rule in &found.items {
                    tr {
                        td { (rule.rule.title) }
                        td { (rule.rule.kind.as_str()) }
                        td { (rule.rule.level.as_deref().unwrap_or("—")) }
                        td { (rule.rule.origin.as_str()) }
                        td.rule-state {
                            @if rule.effective_enabled { span.state-good { (t.rule_runs) } } @else { span.state-none { (t.rule_off) } }
                            " · "
                            @match rule.decided_by {
                                Some(tenant) => { (t.decided_by) " " (name(tenant)) }
                                None => (t.platform_default),
                            }
                        }
                        @if may_tune { td { (state_forms(viewer, rule, own)) } }
                    }
                } }
            } }
        }
        @if let Some(next) = &found.next {
            p { a href=(format!("{PATH}?cursor={}", next.as_str())) { (t.more_results) } }
        }
    })
}

fn state_forms(viewer: &Viewer, rule: &RuleState, own: TenantId) -> Markup {
    let t = messages();
    let id: String = form_urlencoded::byte_serialize(rule.rule.id.as_bytes()).collect();
    let action = format!("{PATH}/{id}/state");
    let title = &rule.rule.title;
    html! {
        form.inline method="post" action=(action) {
            (viewer.csrf_field())
            @if rule.effective_enabled {
                input type="hidden" name="state" value="off";
                button type="submit" aria-label=(format!("{} {title}", t.disable)) { (t.disable) }
            } @else {
                input type="hidden" name="state" value="on";
                button type="submit" aria-label=(format!("{} {title}", t.enable)) { (t.enable) }
            }
        }
        @if rule.decided_by == Some(own) {
            " "
            form.inline method="post" action=(action) {
                (viewer.csrf_field())
                input type="hidden" name="state" value="inherit";
                button type="submit" aria-label=(format!("{} {title}", t.inherit)) { (t.inherit) }
            }
        }
    }
}

/// `POST /console/rules/{id}/state`: `state` on, off or inherit, for the viewer's tenant.
async fn set_state(
    State(state): State<ServerState>,
    viewer: Viewer,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let done = async {
        viewer.check_csrf(&state, &form)?;
        let rules = state.app.rules();
        let tenant = viewer.caller().tenant_id();
        let fail = |e: nigehban_app::AppError| ConsoleError::new(e, Some(&viewer));
        match form.get("state") {
            Some("on") => {
                rules
                    .set_for_tenant(viewer.caller(), &id, tenant, true)
                    .await
            }
            Some("off") => {
                rules
                    .set_for_tenant(viewer.caller(), &id, tenant, false)
                    .await
            }
            Some("inherit") => rules.inherit_for_tenant(viewer.caller(), &id, tenant).await,
            _ => Err(nigehban_app::AppError::Invalid(
                "state: on, off or inherit".into(),
            )),
        }
        .map_err(fail)?;
        Ok::<_, ConsoleError>(redirect(PATH))
    };
    done.await.unwrap_or_else(IntoResponse::into_response)
}
