//! Who sees how much of an incident: the caller's subtree, its stance to an
//! incident, and the incident as the policy lets it see it.

use std::collections::HashSet;

use nigehban_model::{
    Audience, Incident, IncidentId, IncidentTask, Pap, ReadableId, RegulatoryClock, TenantId,
    TimelineEntry, Timestamp, Tlp,
};
use nigehban_store::PageRequest;
use serde::Serialize;

use crate::policy::{self, Action, Decision, IncidentStance, IncidentView, Relation};
use crate::{App, AppError, AppResult, Caller};

/// An incident as its caller may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "access", rename_all = "snake_case")]
pub enum IncidentSight {
    /// Custody and earlier owners: the whole record.
    Full(Incident),
    /// A reporting organisation or a tasked tenant, at TLP:CLEAR, GREEN or
    /// AMBER: the details, without who else is involved (see
    /// [`IncidentView::Participant`]).
    Participant(Incident),
    /// A reporting organisation or a tasked tenant at TLP:AMBER+STRICT: what
    /// it needs to handle its part.
    Limited(LimitedIncident),
}

impl IncidentSight {
    /// How much the caller sees.
    pub fn view(&self) -> IncidentView {
        match self {
            IncidentSight::Full(_) => IncidentView::Full,
            IncidentSight::Participant(_) => IncidentView::Participant,
            IncidentSight::Limited(_) => IncidentView::Limited,
        }
    }

    /// The incident's id.
    pub fn id(&self) -> IncidentId {
        match self {
            IncidentSight::Full(i) | IncidentSight::Participant(i) => i.id,
            IncidentSight::Limited(l) => l.id,
        }
    }

    /// The incident's readable id.
    pub fn readable_id(&self) -> &ReadableId {
        match self {
            IncidentSight::Full(i) | IncidentSight::Participant(i) => &i.readable_id,
            IncidentSight::Limited(l) => &l.readable_id,
        }
    }

    /// The incident's details, when the caller sees them.
    pub fn details(&self) -> Option<&Incident> {
        match self {
            IncidentSight::Full(i) | IncidentSight::Participant(i) => Some(i),
            IncidentSight::Limited(_) => None,
        }
    }
}

/// What a participant at TLP:AMBER+STRICT sees of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitedIncident {
    /// Its id.
    pub id: IncidentId,
    /// Its readable id.
    pub readable_id: ReadableId,
    /// The tenant handling it.
    pub owner: TenantId,
    /// Its TLP.
    pub tlp: Tlp,
    /// Its PAP.
    pub pap: Pap,
    /// Its status.
    pub status: nigehban_model::IncidentStatus,
    /// The caller's own tasks.
    pub tasks: Vec<IncidentTask>,
    /// Its regulatory clocks (a reporting organisation must meet them).
    pub regulatory: Option<RegulatoryClock>,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// The caller with its subtree, to decide on many incidents at once.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub(crate) caller: Caller,
    subtree: HashSet<TenantId>,
}

/// Tenants listed per page when loading a subtree.
const SUBTREE_PAGE: u32 = 1000;

/// `tenant` and every tenant below it.
pub(crate) async fn subtree(app: &App, tenant: TenantId) -> AppResult<HashSet<TenantId>> {
    let mut subtree = HashSet::new();
    let mut page = PageRequest::first(SUBTREE_PAGE);
    loop {
        let listed = app.store().list_tenants(tenant, &page).await?;
        subtree.extend(listed.items.iter().map(|t| t.id));
        match listed.next {
            Some(cursor) => page = PageRequest::after(cursor, SUBTREE_PAGE),
            None => break,
        }
    }
    subtree.insert(tenant);
    Ok(subtree)
}

impl Viewer {
    /// The caller and the tenants of its subtree.
    pub(crate) async fn of(app: &App, caller: &Caller) -> AppResult<Viewer> {
        if caller.must_change_password() {
            return Err(AppError::Forbidden(
                "choose a new password before doing anything else".into(),
            ));
        }
        Ok(Viewer {
            caller: caller.clone(),
            subtree: subtree(app, caller.tenant_id()).await?,
        })
    }

    /// Whether `tenant` is the caller's or below it.
    pub(crate) fn reaches(&self, tenant: TenantId) -> bool {
        self.subtree.contains(&tenant)
    }

    /// Where `tenant` sits relative to the caller, if the caller sees it.
    pub(crate) fn relation(&self, tenant: TenantId) -> Option<Relation> {
        if tenant == self.caller.tenant_id() {
            Some(Relation::Own)
        } else if self.subtree.contains(&tenant) {
            Some(Relation::Descendant)
        } else {
            None
        }
    }

    /// The closest relation among `tenants` (own before below).
    fn closest(&self, tenants: impl IntoIterator<Item = TenantId>) -> Option<Relation> {
        let mut best = None;
        for tenant in tenants {
            match self.relation(tenant) {
                Some(Relation::Own) => return Some(Relation::Own),
                Some(relation) => best = Some(relation),
                None => {}
            }
        }
        best
    }

    /// How the caller stands to `incident`.
    pub(crate) fn stance(&self, incident: &Incident) -> IncidentStance {
        if let Some(relation) = self.relation(incident.owner) {
            return IncidentStance::Custodian(relation);
        }
        if let Some(relation) = self.closest(incident.former_owners.iter().copied()) {
            return IncidentStance::FormerCustodian(relation);
        }
        let participants = incident
            .reporting_tenants
            .iter()
            .copied()
            .chain(incident.tasks.iter().map(|task| task.assignee_tenant));
        match self.closest(participants) {
            Some(relation) => IncidentStance::Participant(relation),
            None => IncidentStance::Outsider,
        }
    }

    /// How much of `incident` the caller sees.
    pub(crate) fn view(&self, incident: &Incident) -> IncidentView {
        policy::incident_view(self.caller.role(), self.stance(incident), incident.tlp)
    }

    /// Asks the policy whether the caller may do `action` on `incident`.
    pub(crate) fn authorise(&self, action: Action, incident: &Incident) -> AppResult<()> {
        match policy::decide_incident(
            self.caller.role(),
            action,
            self.stance(incident),
            incident.tlp,
        ) {
            Decision::Allow => Ok(()),
            Decision::NotFound => Err(AppError::not_found("incident", incident.id)),
            Decision::Forbidden => Err(AppError::Forbidden(match action {
                Action::WorkIncident
                    if !matches!(self.stance(incident), IncidentStance::Custodian(_)) =>
                {
                    format!(
                        "only the CERT handling incident {} (and those above it) may change it; earlier owners, reporters and tasked tenants may add notes and work on their tasks",
                        incident.readable_id
                    )
                }
                _ => format!(
                    "the {} role may not {} here",
                    self.caller.role(),
                    policy::describe(action)
                ),
            })),
        }
    }

    /// Whether the caller may do `action` on records of `tenant` (the tree rule).
    pub(crate) fn may(&self, action: Action, tenant: TenantId) -> Decision {
        match self.relation(tenant) {
            Some(relation) => policy::decide(self.caller.role(), action, relation),
            None => Decision::NotFound,
        }
    }

    /// The incident as the caller may see it, or `None` when it sees only its own part or nothing.
    pub(crate) async fn sight(
        &self,
        app: &App,
        incident: Incident,
    ) -> AppResult<Option<IncidentSight>> {
        Ok(match self.view(&incident) {
            IncidentView::Hidden | IncidentView::OwnPart => None,
            IncidentView::Limited => Some(IncidentSight::Limited(LimitedIncident {
                id: incident.id,
                readable_id: incident.readable_id.clone(),
                owner: incident.owner,
                tlp: incident.tlp,
                pap: incident.pap,
                status: incident.status,
                tasks: incident
                    .tasks
                    .iter()
                    .filter(|task| self.reaches(task.assignee_tenant))
                    .cloned()
                    .collect(),
                regulatory: if incident.reporting_tenants.iter().any(|t| self.reaches(*t)) {
                    incident.regulatory.clone()
                } else {
                    None
                },
                updated_at: incident.updated_at,
            })),
            IncidentView::Participant => {
                let mut shown = incident;
                let mine = |tenant: &TenantId| self.reaches(*tenant);
                shown.former_owners.retain(mine);
                shown.reporting_tenants.retain(mine);
                shown.affected_tenants.retain(mine);
                shown.tasks.retain(|task| mine(&task.assignee_tenant));
                shown.assignee = None;
                shown.related.clear();
                shown.merged_from.clear();
                shown.linked_alerts.clear();
                shown.merged_into = self
                    .visible(app, shown.merged_into.into_iter().collect())
                    .await?
                    .into_iter()
                    .next();
                let mut own_reports = Vec::new();
                for report in &shown.reports {
                    if let Some(found) = app.store().incident_report(*report).await?
                        && self.reaches(found.tenant)
                    {
                        own_reports.push(*report);
                    }
                }
                shown.reports = own_reports;
                Some(IncidentSight::Participant(shown))
            }
            IncidentView::Full => {
                let mut shown = incident;
                // Links to incidents the caller may not see would reveal that they exist.
                shown.related = self
                    .visible(app, std::mem::take(&mut shown.related))
                    .await?;
                shown.merged_from = self
                    .visible(app, std::mem::take(&mut shown.merged_from))
                    .await?;
                shown.merged_into = self
                    .visible(app, shown.merged_into.into_iter().collect())
                    .await?
                    .into_iter()
                    .next();
                Some(IncidentSight::Full(shown))
            }
        })
    }

    /// The incidents of `ids` whose details the caller sees.
    async fn visible(&self, app: &App, ids: Vec<IncidentId>) -> AppResult<Vec<IncidentId>> {
        let mut kept = Vec::new();
        for id in ids {
            if let Some(other) = app.store().incident(id).await?
                && self.view(&other) >= IncidentView::Participant
            {
                kept.push(id);
            }
        }
        Ok(kept)
    }

    /// The timeline entries of `incident` the caller may see.
    pub(crate) fn timeline(
        &self,
        incident: &Incident,
        entries: Vec<TimelineEntry>,
    ) -> Vec<TimelineEntry> {
        let view = self.view(incident);
        entries
            .into_iter()
            .filter(|entry| match (view, entry.audience) {
                (IncidentView::Full, _) => true,
                (IncidentView::Participant, Audience::Everyone) => true,
                (
                    IncidentView::Participant | IncidentView::Limited,
                    Audience::CustodyAnd(tenant),
                ) => self.reaches(tenant),
                _ => false,
            })
            .collect()
    }
}
