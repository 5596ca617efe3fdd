//! Live indicator matching and retro-hunts: intel joined to the bus, the
//! event index and the alert service.
//!
//! [`IndicatorMatching`] holds the platform's indicators in force, compiled
//! into a [`nigehban_intel::IndicatorSet`] behind an
//! [`nigehban_intel::IntelHandle`]; [`IndicatorMatching::refresh`] compiles
//! a new set when the store's intel revision moved and swaps it in whole.
//!
//! Live matching ([`IndicatorMatching::run`], the durable bus consumer
//! `intel`, beside `detect`) reads each event's observables, looks them up,
//! drops values a MISP warninglist marks benign, and keeps the indicators
//! the event's tenant may use (the app's policy: custody or TLP, and PAP).
//! Each hit is raised as an alert (`AlertSource::IndicatorMatch`, rule id
//! `nigehban:indicator:<id>`, the indicator's title, value, source and
//! confidence in the matched fields) and recorded as a sighting; the batch
//! is acknowledged only after both, and a redelivered event raises nothing
//! twice (the alert store and the sightings table each keep one per rule or
//! indicator and event).
//!
//! Retro-hunts ([`IndicatorMatching::retro_hunt`]): a new or changed
//! indicator is searched over the stored events of the tenants that may use
//! it, in the last N days (default: the event retention). Exact values are
//! searched by field, domains by the fields that hold names (the name and
//! every name below it), CIDR networks by `source.ip` and `destination.ip`
//! (the range of their addresses; the index keeps only those two as typed
//! addresses).
//! Hits are raised as alerts marked retrospective, each once.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use nigehban_app::model::indicator::{Indicator, IndicatorKind, SightingOrigin};
use nigehban_app::model::{
    AlertRule, AlertSignal, AlertSource, MatchedFields, SensorId, Severity, TenantId, Timestamp,
};
use nigehban_app::{App, AppError, IndicatorMatch, Intel, UsableIndicator};
use nigehban_bus::{Delivery, EventConsumer};
use nigehban_intel::{Compiled, IndicatorSetBuilder, IntelHandle, Observed, observables};
use nigehban_normalise::NormalisedEvent;
use nigehban_normalise::envelope::event_parts;
use nigehban_search::language::{Condition, Expr, Pattern};
use nigehban_search::{EventHit, EventIndex, EventQuery, MAX_LIMIT, TenantScope};
use serde_json::Value;

/// The durable bus consumer of live matching.
pub const INTEL_CONSUMER: &str = "intel";

/// What went wrong matching (the batch is retried).
#[derive(Debug, thiserror::Error)]
pub enum MatchingError {
    /// The app refused or storage failed.
    #[error("intel: {0}")]
    App(#[from] AppError),
    /// The bus failed.
    #[error("intel: bus: {0}")]
    Bus(#[from] nigehban_bus::BusError),
    /// The event index failed.
    #[error("intel: search: {0}")]
    Search(#[from] nigehban_search::SearchError),
}

/// What one batch (or one retro-hunt) found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchOutcome {
    /// Events looked at.
    pub events: u64,
    /// Indicator hits raised as alerts.
    pub hits: u64,
    /// Observed values a warninglist marked benign.
    pub benign: u64,
    /// Payloads that were not normalised events (counted, acknowledged).
    pub unreadable: u64,
}

/// One event being matched: whose, from where, which.
#[derive(Debug, Clone, Copy)]
struct SeenEvent<'a> {
    tenant: TenantId,
    sensor: Option<SensorId>,
    event_id: &'a str,
    event: &'a NormalisedEvent,
    received_at: Timestamp,
}

/// The platform's indicators compiled for matching, and what to do with hits.
#[derive(Debug, Clone)]
pub struct IndicatorMatching {
    app: App,
    handle: Arc<IntelHandle<UsableIndicator>>,
    paths: Arc<tokio::sync::Mutex<HashMap<TenantId, Vec<TenantId>>>>,
}

fn compile(usable: Vec<UsableIndicator>) -> Compiled<UsableIndicator> {
    let mut builder = IndicatorSetBuilder::new();
    for (n, entry) in usable.iter().enumerate() {
        builder.add(&entry.indicator.value, n as u32);
    }
    Compiled {
        set: builder.build(),
        records: usable,
    }
}

/// An alert's severity from the indicator's confidence now.
fn level_of(confidence: u8) -> Severity {
    match confidence {
        75.. => Severity::High,
        50..=74 => Severity::Medium,
        25..=49 => Severity::Low,
        _ => Severity::Informational,
    }
}

impl IndicatorMatching {
    /// Compiles the indicators in force; returns the matcher and the intel revision it holds.
    pub async fn load(app: App) -> Result<(Self, u64), MatchingError> {
        let revision = app.intel().revision().await?;
        let usable = app.intel().usable().await?;
        let count = usable.len();
        let matching = IndicatorMatching {
            app,
            handle: Arc::new(IntelHandle::new(compile(usable))),
            paths: Arc::default(),
        };
        tracing::info!(
            indicators = count,
            revision,
            "indicators compiled for matching"
        );
        Ok((matching, revision))
    }

    /// Compiles a new set when the intel revision moved past `seen`; returns
    /// the revision now held and the indicators that are new or changed
    /// since (for retro-hunts).
    pub async fn refresh(&self, seen: u64) -> Result<(u64, Vec<UsableIndicator>), MatchingError> {
        let revision = self.app.intel().revision().await?;
        if revision == seen {
            return Ok((seen, Vec::new()));
        }
        let old = self.handle.current();
        let usable = self.app.intel().usable().await?;
        let known: HashMap<_, _> = old
            .records
            .iter()
            .map(|u| (u.indicator.id, u.indicator.version))
            .collect();
        let changed: Vec<UsableIndicator> = usable
            .iter()
            .filter(|u| known.get(&u.indicator.id) != Some(&u.indicator.version))
            .cloned()
            .collect();
        self.handle.replace(compile(usable));
        // Tenants may have moved with the change: read their paths again.
        self.paths.lock().await.clear();
        Ok((revision, changed))
    }

    /// How many indicators are in force.
    pub fn len(&self) -> usize {
        self.handle.current().records.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    async fn tenant_path(&self, tenant: TenantId) -> Result<Vec<TenantId>, MatchingError> {
        let mut paths = self.paths.lock().await;
        if let Some(path) = paths.get(&tenant) {
            return Ok(path.clone());
        }
        let path = self.app.intel().tenant_path(tenant).await?;
        paths.insert(tenant, path.clone());
        Ok(path)
    }

    /// The signal and sighting of one hit.
    fn hit(
        indicator: &Indicator,
        seen: &SeenEvent<'_>,
        field: &str,
        observed: &Observed,
        retrospective: bool,
    ) -> (AlertSignal, IndicatorMatch) {
        let SeenEvent {
            tenant,
            sensor,
            event_id,
            event,
            received_at,
        } = *seen;
        let event_time = event
            .timestamp()
            .map_or(received_at, Timestamp::from_datetime);
        let confidence = indicator.confidence_at(event_time);
        let title = if indicator.title.trim().is_empty() {
            format!("Indicator match: {}", indicator.value)
        } else {
            format!("Indicator match: {}", indicator.title)
        };
        let rule = AlertRule {
            id: format!("nigehban:indicator:{}", indicator.id),
            title,
            level: level_of(confidence),
            author: Some(indicator.source.clone()).filter(|s| !s.trim().is_empty()),
            references: Vec::new(),
            tags: indicator.tags.clone(),
        };
        let mut signal = AlertSignal::new(tenant, rule, event_id.to_owned(), event_time);
        signal.source = AlertSource::IndicatorMatch;
        signal.received_at = received_at;
        signal.sensor = sensor;
        signal.retrospective = retrospective;
        signal.host = event.fields().get_str("host.name").map(str::to_owned);
        signal.user = event.fields().get_str("user.name").map(str::to_owned);
        let mut matched = MatchedFields::new();
        matched.insert(field.to_owned(), Value::String(observed.text()));
        matched.insert(
            "indicator.id".to_owned(),
            Value::String(indicator.id.to_string()),
        );
        matched.insert(
            "indicator.value".to_owned(),
            Value::String(indicator.value.to_string()),
        );
        matched.insert(
            "indicator.source".to_owned(),
            Value::String(indicator.source.clone()),
        );
        matched.insert(
            "indicator.confidence".to_owned(),
            Value::from(u64::from(confidence)),
        );
        matched.insert(
            "indicator.tlp".to_owned(),
            Value::String(indicator.tlp.as_str().to_owned()),
        );
        signal.matched_fields = matched;
        let sighting = IndicatorMatch {
            indicator: indicator.id,
            tenant,
            sensor,
            event_id: event_id.to_owned(),
            seen_at: event_time,
            note: format!("{field}={}", observed.text()),
            origin: if retrospective {
                SightingOrigin::Retrospective
            } else {
                SightingOrigin::Live
            },
        };
        (signal, sighting)
    }

    /// Matches one event of `tenant` against the set in use; the hits' signals and sightings.
    async fn match_event(
        &self,
        seen: &SeenEvent<'_>,
        outcome: &mut MatchOutcome,
        hits: &mut Vec<(AlertSignal, IndicatorMatch)>,
    ) -> Result<(), MatchingError> {
        let (tenant, event) = (seen.tenant, seen.event);
        let compiled = self.handle.current();
        if compiled.records.is_empty() {
            return Ok(());
        }
        let lists = self.app.intel().warninglists();
        let mut path: Option<Vec<TenantId>> = None;
        for observation in observables(event) {
            let mut found = Vec::new();
            compiled
                .set
                .each_match(&observation.observed, |p| found.push(p));
            if found.is_empty() {
                continue;
            }
            if lists.benign_observed(&observation.observed).is_some() {
                outcome.benign += 1;
                continue;
            }
            if path.is_none() {
                path = Some(self.tenant_path(tenant).await?);
            }
            let tenant_path = path.as_deref().unwrap_or_default();
            for payload in found {
                let Some(usable) = compiled.records.get(payload as usize) else {
                    continue;
                };
                if !Intel::tenant_may_use(tenant_path, usable) {
                    continue;
                }
                hits.push(Self::hit(
                    &usable.indicator,
                    seen,
                    observation.field,
                    &observation.observed,
                    false,
                ));
            }
        }
        Ok(())
    }

    /// Raises the hits as alerts, then records their sightings.
    async fn raise(
        &self,
        hits: Vec<(AlertSignal, IndicatorMatch)>,
        outcome: &mut MatchOutcome,
    ) -> Result<(), MatchingError> {
        if hits.is_empty() {
            return Ok(());
        }
        let (signals, sightings): (Vec<_>, Vec<_>) = hits.into_iter().unzip();
        let raised = self.app.alerts().raise(signals).await?;
        for rejected in &raised.rejected {
            tracing::warn!(?rejected, "an indicator match was not raised as an alert");
        }
        for sighting in &sightings {
            if self.app.intel().record_match(sighting).await? {
                outcome.hits += 1;
            }
        }
        Ok(())
    }

    /// Matches a batch of bus deliveries: raises their hits and records their sightings.
    pub async fn match_deliveries(
        &self,
        deliveries: &[Delivery],
    ) -> Result<MatchOutcome, MatchingError> {
        let mut outcome = MatchOutcome::default();
        let mut hits = Vec::new();
        // Without indicators there is nothing to look up: the events are
        // counted, not decoded (decoding every event cost a tenth of a
        // node's CPU under a flood).
        let nothing_to_match = self.handle.current().records.is_empty();
        for delivery in deliveries {
            let record = &delivery.record;
            let Ok(tenant) = record.tenant_id.parse::<TenantId>() else {
                outcome.unreadable += 1;
                continue;
            };
            let Ok(parts) = event_parts(&record.payload) else {
                outcome.unreadable += 1;
                continue;
            };
            // The tenant is the bus record's (intake's, from the sensor), never the payload's.
            let claims_another = parts
                .tenant_id()
                .map(|claimed| claimed.is_some_and(|t| t != record.tenant_id.as_str()));
            if !matches!(claims_another, Ok(false)) {
                outcome.unreadable += 1;
                continue;
            }
            if nothing_to_match {
                outcome.events += 1;
                continue;
            }
            // Observables are normalised fields: the original record is
            // not restored.
            let Ok(event) = parts.event() else {
                outcome.unreadable += 1;
                continue;
            };
            outcome.events += 1;
            let sensor = record.sensor_id.parse::<SensorId>().ok();
            let received_at = Timestamp::from_system_time(record.received_at);
            let event_id = parts.id.to_string();
            let seen = SeenEvent {
                tenant,
                sensor,
                event_id: &event_id,
                event: &event,
                received_at,
            };
            self.match_event(&seen, &mut outcome, &mut hits).await?;
        }
        self.raise(hits, &mut outcome).await?;
        Ok(outcome)
    }

    /// Live matching on `consumer` until `shutdown`: polls the intel
    /// revision every `poll` (swapping in a new set and retro-hunting what
    /// changed when `index` is given, over `hunt_days`), fetches, matches,
    /// and acknowledges each batch once its alerts and sightings are stored.
    pub async fn run<C, F>(
        self,
        mut consumer: C,
        index: Option<EventIndex>,
        hunt_days: u32,
        mut revision: u64,
        poll: Duration,
        shutdown: F,
    ) -> Result<MatchOutcome, MatchingError>
    where
        C: EventConsumer,
        F: Future<Output = ()> + Send,
    {
        let mut total = MatchOutcome::default();
        let mut shutdown = pin!(shutdown);
        let mut last_poll = tokio::time::Instant::now();
        tracing::info!(consumer = consumer.name(), "indicator matching started");
        loop {
            if last_poll.elapsed() >= poll {
                last_poll = tokio::time::Instant::now();
                match self.refresh(revision).await {
                    Ok((now, changed)) => {
                        revision = now;
                        if let Some(index) = &index {
                            for usable in &changed {
                                if let Err(error) = self.retro_hunt(index, usable, hunt_days).await
                                {
                                    tracing::error!(%error, indicator = %usable.indicator.id, "retro-hunt failed");
                                }
                            }
                        }
                    }
                    Err(error) => tracing::error!(%error, "indicators could not be reloaded"),
                }
            }
            let fetched = tokio::select! {
                biased;
                () = &mut shutdown => break,
                fetched = consumer.fetch(1_000, poll) => fetched?,
            };
            if fetched.is_empty() {
                continue;
            }
            let outcome = loop {
                match self.match_deliveries(&fetched).await {
                    Ok(outcome) => break outcome,
                    Err(error) => {
                        // Nothing is acknowledged: the batch is matched again.
                        tracing::error!(%error, "indicator matching failed; retrying the batch");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            };
            let offsets: Vec<u64> = fetched.iter().map(|d| d.offset).collect();
            consumer.ack(&offsets).await?;
            total.events += outcome.events;
            total.hits += outcome.hits;
            total.benign += outcome.benign;
            total.unreadable += outcome.unreadable;
        }
        tracing::info!(?total, "indicator matching stopped");
        Ok(total)
    }

    /// Searches the stored events of the last `days` days (of the tenants
    /// that may use it) for `usable`; raises each hit as a retrospective
    /// alert and records its sighting, once per event.
    pub async fn retro_hunt(
        &self,
        index: &EventIndex,
        usable: &UsableIndicator,
        days: u32,
    ) -> Result<MatchOutcome, MatchingError> {
        let mut outcome = MatchOutcome::default();
        let Some(scope) = self.app.intel().hunt_scope(usable).await? else {
            return Ok(outcome);
        };
        let indicator = &usable.indicator;
        let fields: &[&str] = match indicator.value.kind() {
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => &[
                "source.ip",
                "destination.ip",
                "client.ip",
                "server.ip",
                "host.ip",
            ],
            IndicatorKind::Domain => &[
                "dns.question.name",
                "url.domain",
                "destination.domain",
                "source.domain",
                "tls.client.server_name",
            ],
            IndicatorKind::Url => &["url.full", "url.original"],
            IndicatorKind::Md5 => &["file.hash.md5", "process.hash.md5"],
            IndicatorKind::Sha1 => &["file.hash.sha1", "process.hash.sha1"],
            IndicatorKind::Sha256 => &["file.hash.sha256", "process.hash.sha256"],
            IndicatorKind::Email => &["email.from.address", "email.to.address", "user.email"],
            IndicatorKind::Ja3 => &["tls.client.ja3"],
            IndicatorKind::Ja4 => &["tls.client.ja4"],
            // Ranges work on the typed address fields only.
            IndicatorKind::Cidr => &["source.ip", "destination.ip"],
        };
        let Some(condition) = hunt_condition(&indicator.value) else {
            tracing::warn!(indicator = %indicator.id, "retro-hunt: the network cannot be read");
            return Ok(outcome);
        };
        let now = self.app.clock().now().to_datetime();
        let from = now - time::Duration::days(i64::from(days));
        let tenant_scope = TenantScope::from(&scope);
        let set = {
            let mut builder = IndicatorSetBuilder::new();
            builder.add(&indicator.value, 0);
            builder.build()
        };
        let lists = self.app.intel().warninglists();
        let mut seen = std::collections::HashSet::new();
        let mut hits = Vec::new();
        for field in fields {
            let mut query = EventQuery::new(tenant_scope.clone())
                .between(from, now)
                .matching(condition(field))
                .limit(MAX_LIMIT);
            let mut found: Vec<EventHit> = Vec::new();
            loop {
                let index = index.clone();
                let asked = query.clone();
                let (page, next) = tokio::task::spawn_blocking(move || {
                    let mut hits = match index.search(&asked) {
                        Ok(hits) => hits,
                        // No stored event has the field yet: nothing to find.
                        Err(nigehban_search::SearchError::InvalidQuery(
                            nigehban_search::QueryError::UnknownField { .. },
                        )) => return Ok((Vec::new(), None)),
                        Err(error) => return Err(error),
                    };
                    let page = (&mut hits).collect::<Result<Vec<_>, _>>()?;
                    Ok::<_, nigehban_search::SearchError>((page, hits.next_cursor()))
                })
                .await
                .map_err(|e| AppError::Internal(e.to_string()))??;
                let full = page.len() >= MAX_LIMIT;
                found.extend(page);
                match next {
                    Some(cursor) if full => query = query.after(cursor),
                    _ => break,
                }
            }
            for hit in &found {
                if !seen.insert(hit.id.clone()) {
                    continue;
                }
                outcome.events += 1;
                let Ok(tenant) = hit.tenant_id.parse::<TenantId>() else {
                    continue;
                };
                // The same checks as live matching: the value, not a benign one.
                for observation in observables(&hit.event) {
                    if set.matches(&observation.observed).is_empty() {
                        continue;
                    }
                    if lists.benign_observed(&observation.observed).is_some() {
                        outcome.benign += 1;
                        continue;
                    }
                    let sensor = hit
                        .sensor_id
                        .as_deref()
                        .and_then(|s| s.parse::<SensorId>().ok());
                    let received_at = hit.event.received_at().map_or(
                        Timestamp::from_datetime(hit.timestamp),
                        Timestamp::from_datetime,
                    );
                    let seen = SeenEvent {
                        tenant,
                        sensor,
                        event_id: &hit.id,
                        event: &hit.event,
                        received_at,
                    };
                    hits.push(Self::hit(
                        indicator,
                        &seen,
                        observation.field,
                        &observation.observed,
                        true,
                    ));
                    break;
                }
            }
        }
        self.raise(hits, &mut outcome).await?;
        tracing::info!(indicator = %indicator.id, ?outcome, "retro-hunt done");
        Ok(outcome)
    }
}

/// What a retro-hunt asks of a field for `value`: the value; for a domain
/// the domain or any name below it (`*.evil.example`); for a CIDR network
/// the range of its addresses. `None` if a network cannot be read. A hit is
/// then checked as live matching checks it.
fn hunt_condition(
    value: &nigehban_app::model::indicator::IndicatorValue,
) -> Option<impl Fn(&str) -> Expr + use<>> {
    let text = value.value().to_owned();
    let range = match value.kind() {
        IndicatorKind::Cidr => Some(match value.network()? {
            (std::net::IpAddr::V4(network), length) => {
                let hosts = u32::MAX.checked_shr(u32::from(length)).unwrap_or(0);
                let first = u32::from(network) & !hosts;
                (
                    std::net::Ipv4Addr::from(first).to_string(),
                    std::net::Ipv4Addr::from(first | hosts).to_string(),
                )
            }
            (std::net::IpAddr::V6(network), length) => {
                let hosts = u128::MAX.checked_shr(u32::from(length)).unwrap_or(0);
                let first = u128::from(network) & !hosts;
                (
                    std::net::Ipv6Addr::from(first).to_string(),
                    std::net::Ipv6Addr::from(first | hosts).to_string(),
                )
            }
        }),
        _ => None,
    };
    let domain = value.kind() == IndicatorKind::Domain;
    Some(move |field: &str| {
        let on = |condition| Expr::Field {
            field: field.to_owned(),
            condition,
        };
        match &range {
            Some((first, last)) => on(Condition::Range {
                low: std::ops::Bound::Included(first.clone()),
                high: std::ops::Bound::Included(last.clone()),
            }),
            None if domain => Expr::Or(vec![
                on(Condition::Matches(Pattern::Value(text.clone()))),
                on(Condition::Matches(Pattern::Wildcard(format!("*.{text}")))),
            ]),
            None => on(Condition::Exactly(Pattern::Value(text.clone()))),
        }
    })
}
