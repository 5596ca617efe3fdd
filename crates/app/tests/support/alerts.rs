//! Alerts for tests: signals as detection would raise them, and what a
//! caller sees. Reusable by any test binary (`#[path = "support/alerts.rs"]`).

// Each test binary uses a different part of this.
#![allow(dead_code)]

use std::collections::BTreeSet;

use nigehban_app::model::{AlertId, AlertRule, AlertSignal, Severity, TenantId, Timestamp};
use nigehban_app::{AlertListing, App, AppResult, Caller, PageRequest, RaiseOutcome};

/// A fixed point in time, plus `seconds`.
pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix_micros(1_750_000_000_000_000 + seconds * 1_000_000)
}

/// A signal of rule `rule` (level high) on `tenant` for event `event` at
/// `seconds`, on host web-1 for user alice, received now.
pub fn signal(tenant: TenantId, rule: &str, event: &str, seconds: i64) -> AlertSignal {
    let mut rule = AlertRule::new(rule, format!("Rule {rule}"), Severity::High);
    rule.tags = vec!["attack.t1110.003".into(), "attack.credential_access".into()];
    let mut signal = AlertSignal::new(tenant, rule, event, at(seconds));
    signal.received_at = Timestamp::now();
    signal.host = Some("web-1".into());
    signal.user = Some("alice".into());
    signal
}

/// Raises a batch (must not fail).
pub async fn raise(app: &App, signals: Vec<AlertSignal>) -> RaiseOutcome {
    app.alerts().raise(signals).await.unwrap()
}

/// Raises one signal that must open an alert; returns the alert's id.
pub async fn open_alert(app: &App, signal: AlertSignal) -> AlertId {
    let outcome = raise(app, vec![signal]).await;
    assert_eq!(outcome.opened, 1, "{outcome:?}");
    outcome.alerts[0].unwrap()
}

/// Opens one alert in `tenant` with a rule and event of its own; returns its id.
pub async fn alert_in(app: &App, tenant: TenantId) -> AlertId {
    let unique = AlertId::new().to_string();
    open_alert(app, signal(tenant, &format!("rule-{unique}"), &unique, 0)).await
}

/// Every alert `caller` sees in a listing (all pages), as ids.
pub async fn alerts_seen(
    app: &App,
    caller: &Caller,
    listing: AlertListing,
) -> AppResult<BTreeSet<AlertId>> {
    let mut seen = BTreeSet::new();
    let mut page = PageRequest::first(200);
    loop {
        let got = app.alerts().list(caller, listing.clone(), &page).await?;
        seen.extend(got.items.iter().map(|a| a.id));
        match got.next {
            Some(next) => page = PageRequest::after(next, 200),
            None => return Ok(seen),
        }
    }
}
