//! Response-time figures: mean time to acknowledge, triage, contain and
//! close (resolve), per tenant, sector, RSIT class or severity, over any
//! period — aggregates only, readable by the council.
//!
//! An incident counts in a period when the platform received it within it
//! (`received_at` in `[from, to)`), and for a tenant `under` when `under`'s
//! subtree holds its owner or one of its earlier owners (the incidents that
//! tenant's chain handled). Incidents merged into another are counted there,
//! not twice. Each mean is over the incidents that reached that milestone:
//!
//! - MTTA: acknowledged − received (a person first acted on it);
//! - mean time to triage: triaged − received;
//! - mean time to contain: contained − received;
//! - MTTR: closed − received (resolved, whatever the resolution).
//!
//! Groups: `tenant` — the owner now; `sector` — the sector the incident came
//! from (`national` for the national CERT's own); `rsit_class`; `severity`.

use std::collections::BTreeMap;

use nigehban_model::{Incident, IncidentResolution, TenantId, Timestamp};
use nigehban_store::{IncidentScope, PageRequest};
use serde::Serialize;

use super::{Incidents, Viewer, access, authorise_tree};
use crate::policy::Action;
use crate::{AppError, AppResult, Caller};

/// How to group the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsGrouping {
    /// By the tenant that owns the incident now.
    Tenant,
    /// By the sector the incident came from.
    Sector,
    /// By RSIT class.
    RsitClass,
    /// By severity.
    Severity,
}

impl std::str::FromStr for MetricsGrouping {
    type Err = AppError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "tenant" => Ok(MetricsGrouping::Tenant),
            "sector" => Ok(MetricsGrouping::Sector),
            "rsit_class" | "class" => Ok(MetricsGrouping::RsitClass),
            "severity" => Ok(MetricsGrouping::Severity),
            other => Err(AppError::Invalid(format!(
                "by: unknown grouping {other:?}; expected tenant, sector, rsit_class or severity"
            ))),
        }
    }
}

/// Which figures to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsQuery {
    /// For the incidents this tenant's chain handled (default the caller's tenant).
    pub under: Option<TenantId>,
    /// Received at or after this time.
    pub from: Timestamp,
    /// Received before this time.
    pub to: Timestamp,
    /// How to group them.
    pub by: MetricsGrouping,
}

/// The figures of a set of incidents; means in seconds, absent when no incident reached the milestone.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct MetricsFigures {
    /// Incidents received in the period.
    pub incidents: u64,
    /// Of which acknowledged.
    pub acknowledged: u64,
    /// Of which triaged.
    pub triaged: u64,
    /// Of which contained.
    pub contained: u64,
    /// Of which closed.
    pub closed: u64,
    /// Mean time to acknowledge.
    pub mtta_seconds: Option<f64>,
    /// Mean time to triage.
    pub mean_time_to_triage_seconds: Option<f64>,
    /// Mean time to contain.
    pub mean_time_to_contain_seconds: Option<f64>,
    /// Mean time to resolve (close).
    pub mttr_seconds: Option<f64>,
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsGroup {
    /// The group's key: a tenant id, a sector, an RSIT class or a severity.
    pub key: String,
    /// The group's name for a person (a tenant's name).
    pub label: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: MetricsFigures,
}

/// Response-time figures over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentMetrics {
    /// The tenant whose chain's incidents are counted.
    pub under: TenantId,
    /// The period's start.
    pub from: Timestamp,
    /// The period's end (exclusive).
    pub to: Timestamp,
    /// The grouping.
    pub by: MetricsGrouping,
    /// The figures per group, ordered by key.
    pub groups: Vec<MetricsGroup>,
    /// The figures of all of them.
    pub total: MetricsFigures,
}

/// Sums of one group, before the means.
#[derive(Default)]
struct Sums {
    incidents: u64,
    acknowledge: (u64, i128),
    triage: (u64, i128),
    contain: (u64, i128),
    close: (u64, i128),
}

impl Sums {
    fn add(&mut self, incident: &Incident) {
        let clocks = &incident.clocks;
        let since = |at: Option<Timestamp>| {
            at.map(|at| i128::from(at.unix_micros()) - i128::from(clocks.received_at.unix_micros()))
        };
        self.incidents += 1;
        for (sum, elapsed) in [
            (&mut self.acknowledge, since(clocks.acknowledged_at)),
            (&mut self.triage, since(clocks.triaged_at)),
            (&mut self.contain, since(clocks.contained_at)),
            (&mut self.close, since(clocks.closed_at)),
        ] {
            if let Some(micros) = elapsed {
                sum.0 += 1;
                sum.1 += micros.max(0);
            }
        }
    }

    fn figures(&self) -> MetricsFigures {
        #[allow(clippy::cast_precision_loss)]
        let mean = |(count, micros): (u64, i128)| {
            (count > 0).then(|| micros as f64 / count as f64 / 1_000_000.0)
        };
        MetricsFigures {
            incidents: self.incidents,
            acknowledged: self.acknowledge.0,
            triaged: self.triage.0,
            contained: self.contain.0,
            closed: self.close.0,
            mtta_seconds: mean(self.acknowledge),
            mean_time_to_triage_seconds: mean(self.triage),
            mean_time_to_contain_seconds: mean(self.contain),
            mttr_seconds: mean(self.close),
        }
    }
}

impl Incidents<'_> {
    /// Response-time figures for the incidents tenant `under`'s chain handled
    /// (`ViewAggregates`: administrators, analysts, intel analysts, duty
    /// officers, council members, auditors). Aggregates only: no incident,
    /// title or observable is in the answer.
    pub async fn metrics(
        &self,
        caller: &Caller,
        query: MetricsQuery,
    ) -> AppResult<IncidentMetrics> {
        let viewer = Viewer::of(self.app, caller).await?;
        let under = query.under.unwrap_or(caller.tenant_id());
        authorise_tree(&viewer, Action::ViewAggregates, under, "tenant")?;
        if query.to <= query.from {
            return Err(AppError::Invalid(
                "to: the period must end after it starts".into(),
            ));
        }
        let chain = access::subtree(self.app, under).await?;
        let mut groups: BTreeMap<String, Sums> = BTreeMap::new();
        let mut total = Sums::default();
        let mut page = PageRequest::first(1000);
        loop {
            let listed = self
                .app
                .store()
                .list_incidents(IncidentScope::Touching(under), &page)
                .await?;
            for incident in &listed.items {
                let handled = chain.contains(&incident.owner)
                    || incident.former_owners.iter().any(|t| chain.contains(t));
                let received = incident.clocks.received_at;
                if !handled
                    || received < query.from
                    || received >= query.to
                    || incident.resolution == Some(IncidentResolution::Merged)
                {
                    continue;
                }
                let key = match query.by {
                    MetricsGrouping::Tenant => incident.owner.to_string(),
                    MetricsGrouping::Sector => incident
                        .origin_sector
                        .map_or("national", |sector| sector.as_str())
                        .to_owned(),
                    MetricsGrouping::RsitClass => incident.classification.class().to_owned(),
                    MetricsGrouping::Severity => incident.severity.as_str().to_owned(),
                };
                groups.entry(key).or_default().add(incident);
                total.add(incident);
            }
            match listed.next {
                Some(cursor) => page = PageRequest::after(cursor, 1000),
                None => break,
            }
        }
        let mut rows = Vec::new();
        for (key, sums) in &groups {
            let label = match query.by {
                MetricsGrouping::Tenant => match key.parse::<TenantId>() {
                    Ok(id) => self
                        .app
                        .store()
                        .tenant(id)
                        .await?
                        .map_or_else(|| key.clone(), |t| t.name.to_string()),
                    Err(_) => key.clone(),
                },
                _ => key.clone(),
            };
            rows.push(MetricsGroup {
                key: key.clone(),
                label,
                figures: sums.figures(),
            });
        }
        Ok(IncidentMetrics {
            under,
            from: query.from,
            to: query.to,
            by: query.by,
            groups: rows,
            total: total.figures(),
        })
    }
}
