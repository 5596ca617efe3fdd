//! Alerts: raised by detection, folded, and triaged by the people on shift.
//!
//! Two kinds of calls:
//!
//! - **The system call** [`Alerts::raise`] takes no caller: detection hands
//!   it batches of [`AlertSignal`]s. One store transaction per batch; repeats
//!   of a rule on a key within [`AlertSettings::fold_window`] fold into one
//!   alert, a redelivered signal (same tenant, rule and event) is counted
//!   once, a signal that fails its checks is rejected alone. Raising is the
//!   platform's doing and is not written to the audit log (like sensor
//!   health events); every triage change is.
//! - **People's calls** take the [`Caller`] and ask the one policy:
//!   [`Action::ViewAlert`] to list, read and follow the live stream,
//!   [`Action::TriageAlert`] to assign, acknowledge, close, reopen and
//!   comment. Alerts are visible to their tenant and the tenants above it
//!   (analysts, responders, intel analysts — read only —, duty officers);
//!   council members and constituent reporters see none individually. An
//!   alert the caller may not see is [`AppError::NotFound`], exactly like
//!   one that does not exist.
//!
//! # The live stream
//!
//! Every alert written (opened, folded, triaged, commented) adds an entry
//! to the store's change feed in the same transaction, numbered in commit
//! order. [`Alerts::changes`] reads the entries after a number and keeps
//! those whose alert the caller may see now (visibility is checked again
//! for every entry); [`Alerts::subscribe`] wakes a follower as soon as this
//! process wrote a change, and followers poll the feed for changes written
//! by other processes (PostgreSQL deployments with several API nodes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nigehban_model::{
    Alert, AlertChangeKind, AlertComment, AlertCommentId, AlertId, AlertSignal, AlertStatus,
    AlertText, AlertTriage, ReopenAs, Resolution, SensorId, Severity, SignalFate, TenantId,
    Timestamp, UserId,
};
use nigehban_store::{AlertHourCount, AlertQuery, AlertRaise, AlertScope, Page, PageRequest};
use tokio::sync::watch;

use crate::policy::{self, Action, Decision};
use crate::{App, AppError, AppResult, Caller};

/// Most alerts one bulk request may change.
pub const MAX_BULK_ALERTS: usize = 1000;

/// Most change feed entries one [`Alerts::changes`] call reads.
pub const MAX_CHANGES_PER_READ: u32 = 1000;

/// Upper bounds, in seconds, of the event-to-alert latency histogram's buckets.
pub const ALERT_LATENCY_BOUNDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// How alerts are raised and how long their bookkeeping is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertSettings {
    /// Repeats of a rule on a key within this long of an alert's events fold into it.
    pub fold_window: Duration,
    /// How long a raised signal is remembered to recognise a redelivery from
    /// the bus. A redelivery later than this counts again; keep it above the
    /// longest detection outage you expect to catch up from.
    pub delivery_retention: Duration,
    /// How long the change feed keeps its entries (how far back a live
    /// stream can resume).
    pub change_retention: Duration,
    /// How often a raise also deletes bookkeeping older than the retentions.
    pub prune_every: Duration,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            fold_window: nigehban_model::alert::DEFAULT_FOLD_WINDOW,
            delivery_retention: Duration::from_secs(24 * 60 * 60),
            change_retention: Duration::from_secs(7 * 24 * 60 * 60),
            prune_every: Duration::from_secs(10 * 60),
        }
    }
}

/// A signal a raise refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedSignal {
    /// Its position in the batch.
    pub index: usize,
    /// Why (the field, or the unknown tenant).
    pub reason: String,
}

/// What raising a batch did: every signal opened an alert, folded into
/// one, was a duplicate, or was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RaiseOutcome {
    /// Signals that opened a new alert.
    pub opened: u64,
    /// Signals that folded into an alert (one opened earlier, or in this batch).
    pub folded: u64,
    /// Signals raised before (redelivered by the bus): not counted again.
    pub duplicates: u64,
    /// Signals refused, with why.
    pub rejected: Vec<RejectedSignal>,
    /// The alert each signal opened or folded into, in input order (`None`:
    /// a duplicate or rejected).
    pub alerts: Vec<Option<AlertId>>,
}

/// Which alerts to list; every filter is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertListing {
    /// Alerts of this tenant (default: the caller's).
    pub under: Option<TenantId>,
    /// And of the tenants below it (default).
    pub include_descendants: bool,
    /// Only these statuses (empty: any).
    pub statuses: Vec<AlertStatus>,
    /// Only these severities (empty: any).
    pub severities: Vec<Severity>,
    /// Only this rule's.
    pub rule_id: Option<String>,
    /// Only those whose first event came from this sensor.
    pub sensor: Option<SensorId>,
    /// Only those assigned to this user.
    pub assignee: Option<UserId>,
    /// First event at or after.
    pub first_seen_from: Option<Timestamp>,
    /// First event before.
    pub first_seen_to: Option<Timestamp>,
    /// Last event at or after.
    pub last_seen_from: Option<Timestamp>,
    /// Last event before.
    pub last_seen_to: Option<Timestamp>,
    /// Text in the rule's title or id, the host or the user (ASCII case ignored).
    pub text: Option<String>,
    /// Exercise alerts instead of real ones (the two are never listed together).
    pub exercise: bool,
}

impl Default for AlertListing {
    fn default() -> Self {
        Self {
            under: None,
            include_descendants: true,
            statuses: Vec::new(),
            severities: Vec::new(),
            rule_id: None,
            sensor: None,
            assignee: None,
            first_seen_from: None,
            first_seen_to: None,
            last_seen_from: None,
            last_seen_to: None,
            text: None,
            exercise: false,
        }
    }
}

/// One change of an alert the caller may see, with the alert as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertUpdate {
    /// The change's number in the feed (the stream's event id).
    pub seq: u64,
    /// What happened.
    pub kind: AlertChangeKind,
    /// The alert, as it is when read (it may have changed again since).
    pub alert: Alert,
}

/// The changes read by one [`Alerts::changes`] call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertUpdates {
    /// The changes the caller may see, oldest first.
    pub items: Vec<AlertUpdate>,
    /// The number of the last entry read, seen or not: continue after it.
    pub last_seq: u64,
    /// Whether the read stopped at its limit (more entries may be waiting).
    pub more: bool,
}

/// Event-received-to-alert-stored latency: counts per bucket of
/// [`ALERT_LATENCY_BOUNDS`] (the last for slower than the last bound).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertLatency {
    /// Upper bounds of the buckets, in seconds.
    pub bounds: Vec<f64>,
    /// Signals per bucket (not cumulative); one more than `bounds`.
    pub counts: Vec<u64>,
    /// Total seconds over all signals.
    pub sum_seconds: f64,
    /// Number of signals.
    pub count: u64,
}

/// Alert counters since the process started, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertMetrics {
    /// Alerts opened.
    pub opened: u64,
    /// Signals folded into an alert.
    pub folded: u64,
    /// Redelivered signals recognised.
    pub duplicates: u64,
    /// Signals rejected.
    pub rejected: u64,
    /// Raise calls (batches).
    pub batches: u64,
    /// From intake's receive time to the alert's commit, per opened or folded signal.
    pub latency: AlertLatency,
}

/// The alert side's shared state inside the app.
#[derive(Debug)]
pub(crate) struct AlertState {
    opened: AtomicU64,
    folded: AtomicU64,
    duplicates: AtomicU64,
    rejected: AtomicU64,
    batches: AtomicU64,
    latency: Mutex<AlertLatency>,
    /// Bumped after every change this process wrote.
    written: watch::Sender<u64>,
    last_prune: Mutex<Option<Instant>>,
}

impl Default for AlertState {
    fn default() -> Self {
        Self {
            opened: AtomicU64::new(0),
            folded: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            latency: Mutex::new(AlertLatency {
                bounds: ALERT_LATENCY_BOUNDS.to_vec(),
                counts: vec![0; ALERT_LATENCY_BOUNDS.len() + 1],
                sum_seconds: 0.0,
                count: 0,
            }),
            written: watch::channel(0).0,
            last_prune: Mutex::new(None),
        }
    }
}

impl AlertState {
    fn wrote(&self) {
        self.written.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn observe(&self, latencies: impl Iterator<Item = f64>) {
        let mut histogram = self
            .latency
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for seconds in latencies {
            let bucket = ALERT_LATENCY_BOUNDS
                .iter()
                .position(|bound| seconds <= *bound)
                .unwrap_or(ALERT_LATENCY_BOUNDS.len());
            if let Some(count) = histogram.counts.get_mut(bucket) {
                *count += 1;
            }
            histogram.sum_seconds += seconds;
            histogram.count += 1;
        }
    }
}

/// Alert services; see [`App::alerts`].
#[derive(Debug, Clone, Copy)]
pub struct Alerts<'a> {
    pub(crate) app: &'a App,
}

impl Alerts<'_> {
    fn state(&self) -> &AlertState {
        &self.app.inner.alerts
    }

    fn settings(&self) -> AlertSettings {
        self.app.settings().alerts
    }

    /// System call for detection: raises a batch of signals in one store
    /// transaction (see the module documentation). Fails only when storage
    /// fails, and then nothing of the batch was stored: retry it (signals
    /// already raised are recognised as duplicates).
    pub async fn raise(&self, signals: Vec<AlertSignal>) -> AppResult<RaiseOutcome> {
        if signals.is_empty() {
            return Ok(RaiseOutcome::default());
        }
        let received: Vec<Timestamp> = signals.iter().map(|s| s.received_at).collect();
        let raise = AlertRaise {
            signals,
            window: self.settings().fold_window,
            at: Timestamp::now(),
        };
        let fates = self.app.store().raise_alerts(&raise).await?;
        let stored = Timestamp::now();
        let state = self.state();
        let mut outcome = RaiseOutcome::default();
        let mut latencies = Vec::with_capacity(fates.len());
        outcome.alerts = Vec::with_capacity(fates.len());
        for (index, fate) in fates.into_iter().enumerate() {
            outcome.alerts.push(match fate {
                SignalFate::Opened(id) | SignalFate::Folded(id) => Some(id),
                SignalFate::Duplicate | SignalFate::Rejected(_) => None,
            });
            match fate {
                SignalFate::Opened(_) | SignalFate::Folded(_) => {
                    if matches!(fate, SignalFate::Opened(_)) {
                        outcome.opened += 1;
                    } else {
                        outcome.folded += 1;
                    }
                    if let Some(received) = received.get(index) {
                        let micros = (stored.unix_micros() - received.unix_micros()).max(0);
                        latencies.push(micros as f64 / 1e6);
                    }
                }
                SignalFate::Duplicate => outcome.duplicates += 1,
                SignalFate::Rejected(reason) => {
                    outcome.rejected.push(RejectedSignal { index, reason });
                }
            }
        }
        state.observe(latencies.into_iter());
        state.opened.fetch_add(outcome.opened, Ordering::Relaxed);
        state.folded.fetch_add(outcome.folded, Ordering::Relaxed);
        state
            .duplicates
            .fetch_add(outcome.duplicates, Ordering::Relaxed);
        state
            .rejected
            .fetch_add(outcome.rejected.len() as u64, Ordering::Relaxed);
        state.batches.fetch_add(1, Ordering::Relaxed);
        if outcome.opened + outcome.folded > 0 {
            state.wrote();
        }
        if let Some(first) = outcome.rejected.first() {
            tracing::warn!(
                rejected = outcome.rejected.len(),
                first_index = first.index,
                first_reason = %first.reason,
                "alert signals rejected"
            );
        }
        tracing::debug!(
            opened = outcome.opened,
            folded = outcome.folded,
            duplicates = outcome.duplicates,
            "alert signals raised"
        );
        self.prune_if_due().await;
        Ok(outcome)
    }

    /// Deletes the bookkeeping (redelivery records, change feed entries)
    /// older than the retentions in [`AlertSettings`]; the alerts themselves
    /// are kept. [`Alerts::raise`] does this every
    /// [`AlertSettings::prune_every`]; a process that only serves the API
    /// never needs to.
    pub async fn prune(&self, now: Timestamp) -> AppResult<nigehban_store::AlertPruning> {
        let settings = self.settings();
        let before = |retention: Duration| {
            let micros = i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
            Timestamp::from_unix_micros(now.unix_micros().saturating_sub(micros))
        };
        let pruned = self
            .app
            .store()
            .prune_alert_records(
                before(settings.delivery_retention),
                before(settings.change_retention),
            )
            .await?;
        tracing::info!(
            deliveries = pruned.deliveries,
            changes = pruned.changes,
            "alert bookkeeping pruned"
        );
        Ok(pruned)
    }

    async fn prune_if_due(&self) {
        let due = {
            let mut last = self
                .state()
                .last_prune
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let due = last.is_none_or(|at| at.elapsed() >= self.settings().prune_every);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if due && let Err(error) = self.prune(Timestamp::now()).await {
            tracing::warn!(%error, "could not prune alert bookkeeping; will try again");
        }
    }

    /// Counters and the latency histogram since the process started.
    pub fn metrics(&self) -> AlertMetrics {
        let state = self.state();
        AlertMetrics {
            opened: state.opened.load(Ordering::Relaxed),
            folded: state.folded.load(Ordering::Relaxed),
            duplicates: state.duplicates.load(Ordering::Relaxed),
            rejected: state.rejected.load(Ordering::Relaxed),
            batches: state.batches.load(Ordering::Relaxed),
            latency: state
                .latency
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        }
    }

    /// The alerts of tenant `under` (default: the caller's) and, unless
    /// told otherwise, the tenants below it, newest `last_seen` first.
    pub async fn list(
        &self,
        caller: &Caller,
        listing: AlertListing,
        page: &PageRequest,
    ) -> AppResult<Page<Alert>> {
        let under = listing.under.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::ViewAlert, under, "tenant", under)
            .await?;
        let query = AlertQuery {
            scope: if listing.include_descendants {
                AlertScope::Subtree(under)
            } else {
                AlertScope::Tenant(under)
            },
            statuses: listing.statuses,
            severities: listing.severities,
            rule_id: listing.rule_id,
            sensor: listing.sensor,
            assignee: listing.assignee,
            first_seen_from: listing.first_seen_from,
            first_seen_to: listing.first_seen_to,
            last_seen_from: listing.last_seen_from,
            last_seen_to: listing.last_seen_to,
            text: listing.text.filter(|text| !text.trim().is_empty()),
            exercise: listing.exercise,
        };
        let page = self.app.store().list_alerts(&query, page).await?;
        Ok(self
            .app
            .within_reach(caller, Action::ViewAlert, under, page, |a| a.tenant))
    }

    /// The real alerts of tenant `under` (default: the caller's) and the
    /// tenants below it first seen in `[from, to)`, counted per tenant,
    /// severity and hour: the dashboard's picture without listing alerts.
    pub async fn counts_per_hour(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
        from: Timestamp,
        to: Timestamp,
    ) -> AppResult<Vec<AlertHourCount>> {
        let under = under.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::ViewAlert, under, "tenant", under)
            .await?;
        let counts = Page {
            items: self
                .app
                .store()
                .alert_counts_per_hour(under, from, to)
                .await?,
            next: None,
        };
        Ok(self
            .app
            .within_reach(caller, Action::ViewAlert, under, counts, |c| c.tenant)
            .items)
    }

    /// One alert the caller may see.
    pub async fn get(&self, caller: &Caller, id: AlertId) -> AppResult<Alert> {
        self.authorised(caller, Action::ViewAlert, id).await
    }

    /// An alert's comments, oldest first.
    pub async fn comments(&self, caller: &Caller, id: AlertId) -> AppResult<Vec<AlertComment>> {
        self.get(caller, id).await?;
        Ok(self.app.store().alert_comments(id).await?)
    }

    /// Assigns an alert to a user who may see it, or to nobody (`None`).
    pub async fn assign(
        &self,
        caller: &Caller,
        id: AlertId,
        assignee: Option<UserId>,
    ) -> AppResult<Alert> {
        self.triage(caller, id, AlertTriage::Assign(assignee)).await
    }

    /// Says someone is on it (`new` → `acknowledged`; acknowledging again changes nothing).
    pub async fn acknowledge(&self, caller: &Caller, id: AlertId) -> AppResult<Alert> {
        self.triage(caller, id, AlertTriage::Acknowledge).await
    }

    /// Closes an alert with a resolution and an optional note.
    pub async fn close(
        &self,
        caller: &Caller,
        id: AlertId,
        resolution: Resolution,
        note: Option<AlertText>,
    ) -> AppResult<Alert> {
        self.triage(caller, id, AlertTriage::Close { resolution, note })
            .await
    }

    /// Reopens a closed alert, back to `new` or `acknowledged`.
    pub async fn reopen(&self, caller: &Caller, id: AlertId, to: ReopenAs) -> AppResult<Alert> {
        self.triage(caller, id, AlertTriage::Reopen { to }).await
    }

    /// Applies one triage change (audited). A change the alert's status does
    /// not allow is [`AppError::Conflict`]; one that changes nothing returns
    /// the alert as it is, unaudited.
    pub async fn triage(
        &self,
        caller: &Caller,
        id: AlertId,
        change: AlertTriage,
    ) -> AppResult<Alert> {
        let alert = self.authorised(caller, Action::TriageAlert, id).await?;
        if let AlertTriage::Assign(Some(assignee)) = change {
            self.check_assignee(&alert, assignee).await?;
        }
        match alert.triage(&change, Timestamp::now()) {
            Ok(None) => return Ok(alert),
            Ok(Some(_)) => {}
            Err(error) => return Err(AppError::Conflict(error.to_string())),
        }
        let changed = self
            .app
            .store()
            .triage_alert(id, &change, &caller.audit_context())
            .await?;
        self.state().wrote();
        tracing::info!(alert = %id, action = change.action_name(), status = changed.status.as_str(), "alert triaged");
        Ok(changed)
    }

    /// Comments on an alert (audited).
    pub async fn comment(
        &self,
        caller: &Caller,
        id: AlertId,
        body: AlertText,
    ) -> AppResult<AlertComment> {
        let alert = self.authorised(caller, Action::TriageAlert, id).await?;
        let context = caller.audit_context();
        let comment = AlertComment {
            id: AlertCommentId::new(),
            instance: self.app.instance(),
            alert: alert.id,
            tenant: alert.tenant,
            author: caller.user_id(),
            body,
            at: context.at,
        };
        self.app
            .store()
            .insert_alert_comment(&comment, &context)
            .await?;
        self.state().wrote();
        Ok(comment)
    }

    /// Applies one triage change to each alert (at most
    /// [`MAX_BULK_ALERTS`], each once), each in its own transaction, and
    /// answers per alert in the order given. An alert the caller may not
    /// see is reported as not found, exactly like one that does not exist.
    pub async fn bulk(
        &self,
        caller: &Caller,
        ids: &[AlertId],
        change: AlertTriage,
    ) -> AppResult<Vec<(AlertId, AppResult<Alert>)>> {
        if ids.is_empty() {
            return Err(AppError::Invalid("name at least one alert".into()));
        }
        if ids.len() > MAX_BULK_ALERTS {
            return Err(AppError::Invalid(format!(
                "{} alerts in one request; at most {MAX_BULK_ALERTS}",
                ids.len()
            )));
        }
        let mut results: Vec<(AlertId, AppResult<Alert>)> = Vec::with_capacity(ids.len());
        for id in ids {
            if results.iter().any(|(done, _)| done == id) {
                continue;
            }
            let result = self.triage(caller, *id, change.clone()).await;
            if let Err(AppError::Storage(error)) = &result {
                tracing::error!(alert = %id, %error, "bulk alert change failed");
            }
            results.push((*id, result));
        }
        Ok(results)
    }

    /// The number of the latest change feed entry: where a new live stream starts.
    pub async fn changes_head(&self, caller: &Caller) -> AppResult<u64> {
        self.check_may_follow(caller).await?;
        Ok(self.app.store().alert_changes_head().await?)
    }

    /// The changes after entry `after` (at most `limit`, at most
    /// [`MAX_CHANGES_PER_READ`]) of alerts the caller may see now, real or
    /// exercise ones as asked, with each alert as it is now.
    pub async fn changes(
        &self,
        caller: &Caller,
        after: u64,
        limit: u32,
        exercise: bool,
    ) -> AppResult<AlertUpdates> {
        self.check_may_follow(caller).await?;
        let limit = limit.clamp(1, MAX_CHANGES_PER_READ);
        let store = self.app.store();
        let changes = store.alert_changes(after, limit).await?;
        let Some(last) = changes.last() else {
            return Ok(AlertUpdates {
                items: Vec::new(),
                last_seq: after,
                more: false,
            });
        };
        let last_seq = last.seq;
        let more = changes.len() >= limit as usize;
        let mut wanted: Vec<AlertId> = changes.iter().map(|c| c.alert).collect();
        wanted.sort();
        wanted.dedup();
        let alerts: HashMap<AlertId, Alert> = store
            .alerts_by_id(&wanted)
            .await?
            .into_iter()
            .map(|alert| (alert.id, alert))
            .collect();
        // Visibility is decided afresh for every read: the caller's place in
        // the tree, and the alerts' tenants, are read now.
        let caller_path = self.app.path_ids(caller.tenant_id()).await?;
        let mut visible: HashMap<TenantId, bool> = HashMap::new();
        let mut items = Vec::new();
        for change in changes {
            let Some(alert) = alerts.get(&change.alert) else {
                continue;
            };
            if alert.exercise != exercise {
                continue;
            }
            let may_see = match visible.get(&alert.tenant) {
                Some(may_see) => *may_see,
                None => {
                    let path = self.app.path_ids(alert.tenant).await?;
                    let relation = policy::relation(&caller_path, &path);
                    let may_see = policy::decide(caller.role(), Action::ViewAlert, relation)
                        == Decision::Allow;
                    visible.insert(alert.tenant, may_see);
                    may_see
                }
            };
            if may_see {
                items.push(AlertUpdate {
                    seq: change.seq,
                    kind: change.kind,
                    alert: alert.clone(),
                });
            }
        }
        Ok(AlertUpdates {
            items,
            last_seq,
            more,
        })
    }

    /// Wakes live streams after another service of this process changed
    /// alerts in its own write (linking alerts to an incident).
    pub(crate) fn written(&self) {
        self.state().wrote();
    }

    /// A receiver that changes whenever this process wrote an alert change:
    /// a live stream waits on it (and polls the feed now and then for
    /// changes other processes wrote).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.state().written.subscribe()
    }

    /// Refuses a caller whose role sees no alerts at all (council members,
    /// constituent reporters, administrators, auditors).
    async fn check_may_follow(&self, caller: &Caller) -> AppResult<()> {
        let own = caller.tenant_id();
        self.app
            .authorise(caller, Action::ViewAlert, own, "tenant", own)
            .await
    }

    /// The alert `id`, once the policy allows `caller` to `action` it.
    async fn authorised(&self, caller: &Caller, action: Action, id: AlertId) -> AppResult<Alert> {
        let alert = self
            .app
            .store()
            .alert(id)
            .await?
            .ok_or_else(|| AppError::not_found("alert", id))?;
        self.app
            .authorise(caller, action, alert.tenant, "alert", id)
            .await?;
        Ok(alert)
    }

    /// An assignee must be an active user, of an active tenant, whose role
    /// may see the alert. The refusal is the same whatever the reason, so it
    /// tells nothing about users the caller may not see.
    async fn check_assignee(&self, alert: &Alert, assignee: UserId) -> AppResult<()> {
        let refused = || {
            AppError::Invalid(format!(
                "user {assignee} does not exist or may not see alert {}",
                alert.id
            ))
        };
        let Some(user) = self.app.store().user(assignee).await? else {
            return Err(refused());
        };
        if !user.active || !self.app.tenant_chain_active(user.tenant).await? {
            return Err(refused());
        }
        let user_path = self.app.path_ids(user.tenant).await?;
        let alert_path = self.app.path_ids(alert.tenant).await?;
        let relation = policy::relation(&user_path, &alert_path);
        if policy::decide(user.role, Action::ViewAlert, relation) != Decision::Allow {
            return Err(refused());
        }
        Ok(())
    }
}

impl App {
    /// Alert services: raising (detection's system call), triage and the live stream.
    pub fn alerts(&self) -> Alerts<'_> {
        Alerts { app: self }
    }
}
