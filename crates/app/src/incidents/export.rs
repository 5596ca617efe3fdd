//! Export of an incident: complete JSON for another CERT's tool, and a
//! readable Markdown summary — each holding exactly what the caller may see.

use std::fmt::Write as _;

use nigehban_model::{
    Actor, Evidence, Incident, IncidentReport, InstanceId, StageState, TenantId, TimelineEntry,
    Timestamp,
};
use serde::Serialize;

use super::{IncidentRef, IncidentSight, Incidents, Viewer};
use crate::policy::{Action, IncidentView};
use crate::{AppResult, Caller};

/// The format name and version of the JSON export.
pub const EXPORT_FORMAT: &str = "nigehban-incident-export/1";

/// A regulatory stage's state at export time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageAtExport {
    /// The stage.
    pub stage: String,
    /// Its name.
    pub name: String,
    /// Its deadline.
    pub due_at: Timestamp,
    /// Where it stood.
    pub state: StageState,
}

/// A tenant the export names, with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedTenant {
    /// Its id.
    pub id: TenantId,
    /// Its name.
    pub name: String,
}

/// An incident as exported: everything the caller sees of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentExport {
    /// [`EXPORT_FORMAT`].
    pub format: &'static str,
    /// The installation it comes from.
    pub instance: InstanceId,
    /// When it was exported.
    pub exported_at: Timestamp,
    /// Who exported it.
    pub exported_by: Actor,
    /// The incident.
    pub incident: IncidentSight,
    /// Its timeline, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// The reports it holds that the caller sees.
    pub reports: Vec<IncidentReport>,
    /// Its evidence records (custody only), with their SHA-256.
    pub evidence: Vec<Evidence>,
    /// Its regulatory stages and where they stood.
    pub regulatory_states: Vec<StageAtExport>,
    /// The names of the tenants it names.
    pub tenants: Vec<NamedTenant>,
}

impl Incidents<'_> {
    /// Exports the incident (as much as the caller sees; the read is audited at TLP:AMBER and above).
    pub async fn export(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
    ) -> AppResult<IncidentExport> {
        let incident = self.get(caller, reference).await?;
        let viewer = Viewer::of(self.app, caller).await?;
        let stored = self.load(&IncidentRef::Id(incident.id())).await?;
        let timeline = viewer.timeline(
            &stored,
            self.app.store().incident_timeline(stored.id).await?,
        );
        let full = incident.view() == IncidentView::Full;
        let mut reports = Vec::new();
        if let Some(details) = incident.details() {
            for id in &details.reports {
                if let Some(report) = self.app.store().incident_report(*id).await?
                    && (full || viewer.reaches(report.tenant))
                {
                    reports.push(report);
                }
            }
        }
        let evidence = if full {
            viewer.authorise(Action::ViewIncident, &stored)?;
            self.app
                .store()
                .list_evidence(nigehban_store::EvidenceOf::Incident(stored.id))
                .await?
        } else {
            Vec::new()
        };
        let now = self.now();
        let clock = match &incident {
            IncidentSight::Full(i) | IncidentSight::Participant(i) => i.regulatory.as_ref(),
            IncidentSight::Limited(l) => l.regulatory.as_ref(),
        };
        let regulatory_states = clock
            .map(|clock| {
                clock
                    .stages
                    .iter()
                    .map(|stage| StageAtExport {
                        stage: stage.stage.clone(),
                        name: stage.name.clone(),
                        due_at: stage.due_at,
                        state: stage.state(now),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut ids: Vec<TenantId> = match &incident {
            IncidentSight::Full(i) | IncidentSight::Participant(i) => named_tenants(i),
            IncidentSight::Limited(l) => {
                let mut ids = vec![l.owner];
                ids.extend(
                    l.tasks
                        .iter()
                        .flat_map(|t| [t.tasked_by, t.assignee_tenant]),
                );
                ids
            }
        };
        ids.sort();
        ids.dedup();
        let mut tenants = Vec::new();
        for id in ids {
            if let Some(tenant) = self.app.store().tenant(id).await? {
                tenants.push(NamedTenant {
                    id,
                    name: tenant.name.to_string(),
                });
            }
        }
        Ok(IncidentExport {
            format: EXPORT_FORMAT,
            instance: self.app.instance(),
            exported_at: now,
            exported_by: caller.actor(),
            incident,
            timeline,
            reports,
            evidence,
            regulatory_states,
            tenants,
        })
    }
}

fn named_tenants(incident: &Incident) -> Vec<TenantId> {
    let mut ids = vec![incident.owner];
    ids.extend(incident.former_owners.iter().copied());
    ids.extend(incident.reporting_tenants.iter().copied());
    ids.extend(incident.affected_tenants.iter().copied());
    ids.extend(
        incident
            .tasks
            .iter()
            .flat_map(|t| [t.tasked_by, t.assignee_tenant]),
    );
    ids
}

/// Text for a Markdown table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace(['\r', '\n'], " ").replace('|', "\\|")
}

fn time(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "—".to_owned(), Timestamp::to_rfc3339)
}

fn after(received: Timestamp, at: Option<Timestamp>) -> String {
    match at {
        None => "—".to_owned(),
        Some(at) => {
            let seconds = (at.unix_micros() - received.unix_micros()).max(0) / 1_000_000;
            let (days, hours, minutes) = (
                seconds / 86_400,
                seconds % 86_400 / 3600,
                seconds % 3600 / 60,
            );
            let elapsed = if days > 0 {
                format!("{days}d {hours}h {minutes}m")
            } else if hours > 0 {
                format!("{hours}h {minutes}m")
            } else {
                format!("{minutes}m {}s", seconds % 60)
            };
            format!("{} (after {elapsed})", at.to_rfc3339())
        }
    }
}

/// A readable summary of an export, in Markdown.
pub fn render_summary(export: &IncidentExport) -> String {
    let name = |id: TenantId| {
        export
            .tenants
            .iter()
            .find(|t| t.id == id)
            .map_or_else(|| id.to_string(), |t| t.name.clone())
    };
    let mut out = String::new();
    let _ = match &export.incident {
        IncidentSight::Full(incident) | IncidentSight::Participant(incident) => {
            summary_of(&mut out, incident, export, &name)
        }
        IncidentSight::Limited(limited) => {
            let _ = writeln!(out, "# {}\n", limited.readable_id);
            let _ = writeln!(
                out,
                "{} · {} · status {} · handled by {}\n",
                limited.tlp.label(),
                limited.pap.label(),
                limited.status,
                name(limited.owner)
            );
            let _ = writeln!(
                out,
                "Only your part of this incident is shown (its TLP is {}).\n",
                limited.tlp.label()
            );
            tasks(&mut out, &limited.tasks, &name)
        }
    };
    let _ = writeln!(
        out,
        "\n---\nExported {} ({}).",
        export.exported_at.to_rfc3339(),
        EXPORT_FORMAT
    );
    out
}

fn summary_of(
    out: &mut String,
    incident: &Incident,
    export: &IncidentExport,
    name: &dyn Fn(TenantId) -> String,
) -> std::fmt::Result {
    writeln!(out, "# {}: {}\n", incident.readable_id, incident.title)?;
    writeln!(
        out,
        "{} · {} · severity {} · status {}{}\n",
        incident.tlp.label(),
        incident.pap.label(),
        incident.severity,
        incident.status,
        incident
            .resolution
            .map_or_else(String::new, |r| format!(" ({r})"))
    )?;
    writeln!(out, "| | |\n|---|---|")?;
    writeln!(
        out,
        "| Classification | {} (RSIT) |",
        incident.classification
    )?;
    writeln!(out, "| Handled by | {} |", cell(&name(incident.owner)))?;
    if !incident.former_owners.is_empty() {
        let names: Vec<String> = incident.former_owners.iter().map(|t| name(*t)).collect();
        writeln!(out, "| Escalated from | {} |", cell(&names.join(" → ")))?;
    }
    if !incident.reporting_tenants.is_empty() {
        let names: Vec<String> = incident
            .reporting_tenants
            .iter()
            .map(|t| name(*t))
            .collect();
        writeln!(out, "| Reported by | {} |", cell(&names.join(", ")))?;
    }
    if !incident.affected_tenants.is_empty() {
        let names: Vec<String> = incident.affected_tenants.iter().map(|t| name(*t)).collect();
        writeln!(out, "| Affected | {} |", cell(&names.join(", ")))?;
    }
    let clocks = &incident.clocks;
    writeln!(out, "| Aware | {} |", clocks.aware_at.to_rfc3339())?;
    writeln!(out, "| Received | {} |", clocks.received_at.to_rfc3339())?;
    writeln!(
        out,
        "| Acknowledged | {} |",
        after(clocks.received_at, clocks.acknowledged_at)
    )?;
    writeln!(
        out,
        "| Triaged | {} |",
        after(clocks.received_at, clocks.triaged_at)
    )?;
    writeln!(
        out,
        "| Contained | {} |",
        after(clocks.received_at, clocks.contained_at)
    )?;
    writeln!(
        out,
        "| Closed | {} |",
        after(clocks.received_at, clocks.closed_at)
    )?;
    writeln!(out, "\n## What happened\n\n{}", incident.description)?;
    if !incident.observables.is_empty() {
        writeln!(out, "\n## Observables\n")?;
        for observable in &incident.observables {
            writeln!(out, "- {} `{}`", observable.kind(), observable.value())?;
        }
    }
    tasks(out, &incident.tasks, name)?;
    if let Some(clock) = &incident.regulatory {
        writeln!(
            out,
            "\n## Regulatory deadlines: {} ({})\n",
            clock.profile_name, clock.regulator
        )?;
        writeln!(
            out,
            "| Stage | Due | Submitted | State |\n|---|---|---|---|"
        )?;
        for stage in &clock.stages {
            let state = export
                .regulatory_states
                .iter()
                .find(|s| s.stage == stage.stage)
                .map_or("—", |s| state_word(s.state));
            writeln!(
                out,
                "| {} | {} | {} | {state} |",
                cell(&stage.name),
                stage.due_at.to_rfc3339(),
                time(stage.submitted_at)
            )?;
        }
    }
    if !export.evidence.is_empty() {
        writeln!(out, "\n## Evidence\n")?;
        writeln!(
            out,
            "| File | SHA-256 | Bytes | Uploaded |\n|---|---|---|---|"
        )?;
        for item in &export.evidence {
            writeln!(
                out,
                "| {} | `{}` | {} | {} |",
                cell(item.filename.as_str()),
                item.sha256,
                item.size,
                item.uploaded_at.to_rfc3339()
            )?;
        }
    }
    if !export.timeline.is_empty() {
        writeln!(out, "\n## Timeline\n")?;
        for entry in &export.timeline {
            let kind = serde_json::to_value(&entry.kind)
                .ok()
                .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
                .unwrap_or_default();
            writeln!(
                out,
                "- {} — {}: {}",
                entry.at.to_rfc3339(),
                kind.replace('_', " "),
                cell(&entry.message)
            )?;
        }
    }
    Ok(())
}

fn tasks(
    out: &mut String,
    tasks: &[nigehban_model::IncidentTask],
    name: &dyn Fn(TenantId) -> String,
) -> std::fmt::Result {
    if tasks.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n## Tasks\n")?;
    for task in tasks {
        let kind = match task.kind {
            nigehban_model::TaskKind::Investigation => "investigation",
            nigehban_model::TaskKind::Countermeasure => "countermeasure",
            nigehban_model::TaskKind::Other => "task",
        };
        write!(
            out,
            "- [{}] {kind} for {}: {}",
            task.status.as_str(),
            name(task.assignee_tenant),
            task.title
        )?;
        if let Some(due) = task.due_at {
            write!(out, " (due {})", due.to_rfc3339())?;
        }
        if let Some(result) = &task.result {
            write!(out, " — result: {}", cell(result))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn state_word(state: StageState) -> &'static str {
    match state {
        StageState::Pending => "pending",
        StageState::DueSoon => "due soon",
        StageState::Lapsed => "lapsed",
        StageState::Met => "met",
        StageState::MetLate => "met late",
    }
}
