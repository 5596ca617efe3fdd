//! The duty loop: the one place escalation timers, delivery retries and
//! hand-over checks run, on the app's injected clock.
//!
//! It reads what must page from the alert change feed — new real alerts of
//! severity high or critical, and the alerts a lapsed reporting deadline
//! raises ([`crate::incidents::DEADLINE_MISSED_RULE`]) — from where it
//! stopped (a cursor record; a fresh platform starts at the feed's head).
//! Data flows one way: alerts and incidents never call duty.
//!
//! Every node may run it: pages open once per source (a unique key), and a
//! step or a delivery attempt is claimed with a version check before it
//! runs, so two nodes never both run it.

use std::future::Future;

use nigehban_model::duty::{DutyRecord, DutyRecordKind, Page};
use nigehban_model::{AlertChangeKind, Severity, Tlp};
use nigehban_store::{DutyQuery, StoreError};
use serde::Serialize;

use super::{Duty, to_json};
use crate::AppResult;
use crate::incidents::DEADLINE_MISSED_RULE;

/// What one pass of the duty loop did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DutyCheck {
    /// Pages opened for alerts.
    pub pages_opened: usize,
    /// Escalation steps run.
    pub steps_run: usize,
    /// Delivery attempts made.
    pub attempts: usize,
    /// Hand-overs escalated.
    pub handovers_escalated: usize,
}

const ALERT_CURSOR: &str = "cursor:alert-changes";
/// Most due records of each kind one pass handles.
const BATCH: u32 = 200;

impl Duty<'_> {
    /// One pass: new alerts that page, due escalation steps, due delivery
    /// attempts, overdue hand-overs (a system call; the platform acts).
    pub async fn check(&self) -> AppResult<DutyCheck> {
        let mut done = DutyCheck {
            pages_opened: self.page_for_alerts().await?,
            ..DutyCheck::default()
        };
        let now = self.now();
        for page in self.due(DutyRecordKind::Page, "open", now).await? {
            self.run_step(page).await?;
            done.steps_run += 1;
        }
        for handover in self.due(DutyRecordKind::Handover, "open", now).await? {
            if self.escalate_handover(handover).await? {
                done.handovers_escalated += 1;
            }
        }
        // Deliveries last: this pass's new notifications go out at once.
        let now = self.now();
        for notification in self
            .due(DutyRecordKind::Notification, "pending", now)
            .await?
        {
            self.attempt(notification).await?;
            done.attempts += 1;
        }
        Ok(done)
    }

    /// Runs [`Duty::check`] every [`DutySettings::check_every`] until `stop`
    /// completes; errors are logged and the next pass goes on.
    ///
    /// [`DutySettings::check_every`]: super::DutySettings::check_every
    pub async fn watch(&self, stop: impl Future<Output = ()>) {
        let every = self.app.settings().duty.check_every;
        let mut stop = std::pin::pin!(stop);
        tracing::info!(every_seconds = every.as_secs_f64(), "the duty loop runs");
        loop {
            // Before the first start has set the platform up there is no
            // roster to check: wait quietly rather than log a failure.
            let pass = match self.app.is_set_up().await {
                Ok(true) => self.check().await.map(drop),
                Ok(false) => Ok(()),
                Err(error) => Err(error),
            };
            if let Err(error) = pass {
                tracing::error!(%error, "the duty loop's pass failed");
            }
            if tokio::time::timeout(every, &mut stop).await.is_ok() {
                return;
            }
        }
    }

    async fn due(
        &self,
        kind: DutyRecordKind,
        status: &str,
        now: nigehban_model::Timestamp,
    ) -> AppResult<Vec<DutyRecord>> {
        Ok(self
            .app
            .store()
            .list_duty_records(&DutyQuery {
                status: Some(status.to_owned()),
                due_by: Some(now),
                limit: BATCH,
                ..DutyQuery::all(kind)
            })
            .await?)
    }

    /// Opens a page for each new alert that pages; moves the cursor on.
    async fn page_for_alerts(&self) -> AppResult<usize> {
        let store = self.app.store();
        let cursor = match store.duty_record_by_key(ALERT_CURSOR).await? {
            Some(cursor) => cursor,
            None => {
                // A fresh platform pages for what happens from now on.
                let head = store.alert_changes_head().await?;
                let root = self.app.root().await?;
                let mut cursor = DutyRecord::new(
                    root.id,
                    DutyRecordKind::Cursor,
                    "alert change feed",
                    serde_json::json!({ "after": head }),
                    self.now(),
                );
                cursor.unique_key = Some(ALERT_CURSOR.into());
                match store.put_duty_record(&cursor, 0, None).await {
                    Ok(stored) => stored,
                    Err(StoreError::Conflict(_)) => return Ok(0),
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let after = cursor.body["after"].as_u64().unwrap_or(0);
        let changes = store.alert_changes(after, 500).await?;
        let Some(last) = changes.last().map(|c| c.seq) else {
            return Ok(0);
        };
        let mut wanted: Vec<_> = changes
            .iter()
            .filter(|c| c.kind == AlertChangeKind::Opened)
            .map(|c| c.alert)
            .collect();
        wanted.sort();
        wanted.dedup();
        let mut opened = 0;
        for alert in store.alerts_by_id(&wanted).await? {
            let pages = !alert.exercise
                && (alert.severity.rank() >= Severity::High.rank()
                    || alert.rule.id == DEADLINE_MISSED_RULE);
            if !pages {
                continue;
            }
            let page = Page {
                tenant: alert.tenant,
                severity: alert.severity.as_str().to_owned(),
                rsit_class: None,
                title: alert.rule.title.clone(),
                tlp: Tlp::Amber,
                link: format!("/api/v1/alerts/{}", alert.id),
                source: format!("alert:{}", alert.id),
            };
            if self.open_page(page, None).await?.is_some() {
                opened += 1;
            }
        }
        let mut moved = cursor.clone();
        moved.body = to_json(&serde_json::json!({ "after": last }))?;
        moved.updated_at = self.now();
        match store.put_duty_record(&moved, cursor.version, None).await {
            // Another node moved it: its pages are the same (one per source).
            Ok(_) | Err(StoreError::Stale { .. }) => Ok(opened),
            Err(e) => Err(e.into()),
        }
    }
}
