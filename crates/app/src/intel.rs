//! Shared threat intelligence: indicators, their sightings, and who may see
//! and use them.
//!
//! Who may do what is the one policy's ([`policy`]): a tenant's own
//! analysts and intel analysts publish its indicators (`PublishIntel`);
//! readers (`ViewIntel`) see an indicator when they are in its custody (its
//! owner or a CERT above it) or when TLP 2.0 lets them have it
//! ([`policy::can_read_indicator`]); an indicator a caller may not read is
//! "not found", exactly like one that does not exist. Reading TLP:AMBER
//! material and above is written to the audit log. Events are matched
//! against an indicator for the tenants [`policy::tenant_may_use_indicator`]
//! names; block lists follow PAP ([`policy::pap_allows`]).
//!
//! Known-benign values (MISP warninglists, [`Intel::set_warninglists`]) are
//! refused as indicators: a person's create names the list; an import
//! reports them per value and goes on.
//!
//! MISP events are imported and a tenant's MISP feed is built in `misp`
//! (the codec is `nigehban-misp`'s).

mod misp;

mod exchange;

pub mod taxii;

pub mod taxii_pull;

use std::collections::HashMap;
use std::sync::Arc;

use nigehban_intel::Warninglists;
use nigehban_model::indicator::{
    Indicator, IndicatorKind, IndicatorValue, ShareRecipient, Sighting, SightingOrigin,
};
use nigehban_model::{IndicatorId, Pap, SensorId, SightingId, TenantId, Timestamp, Tlp};
use nigehban_store::{IndicatorQuery, SightingRecorded};

use crate::policy::{self, Action, IntelUse, Reader, Recipient};
use crate::{App, AppError, AppResult, Caller, Cursor, Page, PageRequest, ProtectedRead};

pub use exchange::{
    CSV_HEADER, StixExported, StixImport, StixImportTotals, StixObjectFate, StixObjectReport,
    csv_line, stix_import_totals,
};
pub use misp::MispImported;

/// Most indicators one import takes.
pub const MAX_IMPORTED_INDICATORS: usize = 1_000_000;

/// An indicator to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIndicator {
    /// The publishing tenant (default: the caller's).
    pub tenant: Option<TenantId>,
    /// The value.
    pub value: IndicatorValue,
    /// A short title.
    pub title: String,
    /// Context, what to do.
    pub description: String,
    /// From when it is valid (default: now).
    pub valid_from: Option<Timestamp>,
    /// Until when (default: until withdrawn).
    pub valid_until: Option<Timestamp>,
    /// 0–100 (default 50).
    pub confidence: Option<u8>,
    /// Where it came from.
    pub source: String,
    /// ATT&CK, RSIT and free tags.
    pub tags: Vec<String>,
    /// How far it may travel.
    pub tlp: Tlp,
    /// What recipients may do with it.
    pub pap: Pap,
    /// Who it is addressed to.
    pub shared_with: Vec<ShareRecipient>,
}

/// A change to an indicator; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndicatorUpdate {
    /// A new title.
    pub title: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new end of validity (`Some(None)`: until withdrawn).
    pub valid_until: Option<Option<Timestamp>>,
    /// A new confidence.
    pub confidence: Option<u8>,
    /// New tags (replacing the old).
    pub tags: Option<Vec<String>>,
    /// A new TLP label.
    pub tlp: Option<Tlp>,
    /// A new PAP label.
    pub pap: Option<Pap>,
    /// New recipients (replacing the old).
    pub shared_with: Option<Vec<ShareRecipient>>,
    /// Withdraw it (or put it back in force).
    pub revoked: Option<bool>,
}

/// Which indicators to list (all that the caller may read, by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndicatorListing {
    /// Only of this kind.
    pub kind: Option<IndicatorKind>,
    /// Only this value (normalised as the kind says).
    pub value: Option<IndicatorValue>,
    /// Only those published by this tenant or a tenant below it (which
    /// must be in the caller's subtree, as for every list).
    pub under: Option<TenantId>,
    /// Leave out withdrawn ones.
    pub active_only: bool,
}

/// A sighting a person reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSighting {
    /// When it was seen (default: now).
    pub seen_at: Option<Timestamp>,
    /// How many times (default 1).
    pub count: Option<u32>,
    /// Where, in words.
    pub note: String,
    /// The event it was seen in, if known.
    pub event_id: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntelImported {
    /// New indicators.
    pub created: Vec<IndicatorId>,
    /// Indicators the tenant held already, changed to what the import says.
    pub updated: Vec<IndicatorId>,
    /// Values left out as known-benign: (value, warninglist).
    pub benign: Vec<(IndicatorValue, String)>,
    /// Entries refused: (position in the import, reason).
    pub refused: Vec<(usize, String)>,
}

/// An indicator as a matching node needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsableIndicator {
    /// The indicator.
    pub indicator: Indicator,
    /// Its owner's path from the root (root first).
    pub owner_path: Vec<TenantId>,
}

/// A match a node found (live or by a retro-hunt), to record as a sighting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorMatch {
    /// The indicator matched.
    pub indicator: IndicatorId,
    /// The event's tenant.
    pub tenant: TenantId,
    /// The event's sensor.
    pub sensor: Option<SensorId>,
    /// The event's id.
    pub event_id: String,
    /// The event's time.
    pub seen_at: Timestamp,
    /// The field and value that matched (`dns.question.name=a.evil.example`).
    pub note: String,
    /// Live or retrospective.
    pub origin: SightingOrigin,
}

/// Shared threat intelligence; see [`App::intel`].
#[derive(Debug, Clone, Copy)]
pub struct Intel<'a> {
    pub(crate) app: &'a App,
}

fn recipients(shared_with: &[ShareRecipient]) -> Vec<Recipient> {
    shared_with
        .iter()
        .map(|r| match r {
            ShareRecipient::Tenant(t) => Recipient::Tenant(*t),
            ShareRecipient::User(u) => Recipient::User(*u),
        })
        .collect()
}

fn invalid(error: impl std::fmt::Display) -> AppError {
    AppError::Invalid(error.to_string())
}

impl App {
    /// Shared threat intelligence: indicators, sightings, imports, matching.
    pub fn intel(&self) -> Intel<'_> {
        Intel { app: self }
    }
}

impl Intel<'_> {
    /// Puts MISP warninglists in force for creates and imports (system call,
    /// at start; the node uses the same lists at match time).
    pub fn set_warninglists(&self, lists: Arc<Warninglists>) {
        self.app.inner.warninglists.store(lists);
    }

    /// The warninglists in force.
    pub fn warninglists(&self) -> Arc<Warninglists> {
        self.app.inner.warninglists.load_full()
    }

    async fn reader_path(&self, caller: &Caller) -> AppResult<Vec<TenantId>> {
        if caller.must_change_password() {
            return Err(AppError::Forbidden(
                "choose a new password before doing anything else".into(),
            ));
        }
        self.app.path_ids(caller.tenant_id()).await
    }

    /// Whether `caller` (with its tenant path) may read `indicator`.
    async fn readable(
        &self,
        caller: &Caller,
        caller_path: &[TenantId],
        indicator: &Indicator,
        owner_paths: &mut HashMap<TenantId, Vec<TenantId>>,
    ) -> AppResult<bool> {
        if let std::collections::hash_map::Entry::Vacant(entry) =
            owner_paths.entry(indicator.tenant)
        {
            entry.insert(self.app.path_ids(indicator.tenant).await?);
        }
        let owner_path = &owner_paths[&indicator.tenant];
        let reader = Reader {
            user: caller.user_id(),
            role: caller.role(),
            tenant_path: caller_path,
        };
        Ok(policy::can_read_indicator(
            &reader,
            owner_path,
            indicator.tlp,
            &recipients(&indicator.shared_with),
        ))
    }

    async fn record_read(&self, caller: &Caller, indicator: &Indicator) -> AppResult<()> {
        self.app
            .audit()
            .record_read(
                caller,
                ProtectedRead {
                    record_kind: "indicator".into(),
                    record_id: indicator.id.to_string(),
                    tenant: indicator.tenant,
                    tlp: indicator.tlp,
                },
            )
            .await?;
        Ok(())
    }

    /// An indicator the caller may read (else "not found").
    pub async fn get(&self, caller: &Caller, id: IndicatorId) -> AppResult<Indicator> {
        let path = self.reader_path(caller).await?;
        let indicator = self
            .app
            .store()
            .indicator(id)
            .await?
            .ok_or_else(|| AppError::not_found("indicator", id))?;
        if !self
            .readable(caller, &path, &indicator, &mut HashMap::new())
            .await?
        {
            // In the caller's own subtree, but not for its role: say so, as everywhere.
            if self
                .app
                .relation(caller, indicator.tenant)
                .await?
                .is_visible()
            {
                return Err(AppError::Forbidden(format!(
                    "the {} role may not {} here",
                    caller.role(),
                    policy::describe(Action::ViewIntel)
                )));
            }
            return Err(AppError::not_found("indicator", id));
        }
        self.record_read(caller, &indicator).await?;
        Ok(indicator)
    }

    /// The indicators the caller may read, ordered by id.
    pub async fn list(
        &self,
        caller: &Caller,
        listing: IndicatorListing,
        page: &PageRequest,
    ) -> AppResult<Page<Indicator>> {
        let path = self.reader_path(caller).await?;
        // A tenant outside the caller's subtree is "not found" before anything else.
        if let Some(under) = listing.under {
            self.app
                .authorise(caller, Action::ViewIntel, under, "tenant", under)
                .await?;
        }
        if policy::reach(caller.role(), Action::ViewIntel) == policy::Reach::Never {
            return Err(AppError::Forbidden(format!(
                "the {} role may not {}",
                caller.role(),
                policy::describe(Action::ViewIntel)
            )));
        }
        let limit = page.effective_limit() as usize;
        let mut after = match &page.after {
            Some(cursor) => Some(
                cursor
                    .decode("indicators")?
                    .parse::<IndicatorId>()
                    .map_err(invalid)?,
            ),
            None => None,
        };
        let kind = listing
            .kind
            .or_else(|| listing.value.as_ref().map(IndicatorValue::kind));
        let mut items = Vec::new();
        let mut owner_paths = HashMap::new();
        let mut next = None;
        'pages: loop {
            let batch = self
                .app
                .store()
                .list_indicators(&IndicatorQuery {
                    after,
                    kind,
                    value: listing.value.as_ref().map(|v| v.value().to_owned()),
                    tenant: None,
                    changed_since: None,
                    active_only: listing.active_only,
                    limit: 1_000,
                })
                .await?;
            let exhausted = batch.len() < 1_000;
            for indicator in batch {
                after = Some(indicator.id);
                if self
                    .readable(caller, &path, &indicator, &mut owner_paths)
                    .await?
                    && listing.under.is_none_or(|under| {
                        owner_paths
                            .get(&indicator.tenant)
                            .is_some_and(|owner_path| owner_path.contains(&under))
                    })
                {
                    if items.len() == limit {
                        next = Some(Cursor::encode(
                            "indicators",
                            &items
                                .last()
                                .map(|i: &Indicator| i.id.to_string())
                                .unwrap_or_default(),
                        ));
                        break 'pages;
                    }
                    items.push(indicator);
                }
            }
            if exhausted {
                break;
            }
        }
        for indicator in &items {
            self.record_read(caller, indicator).await?;
        }
        Ok(Page { items, next })
    }

    fn check_benign(&self, value: &IndicatorValue) -> AppResult<()> {
        match self.warninglists().benign(value) {
            Some(list) => Err(AppError::Invalid(format!(
                "{value} is a known-benign value (MISP warninglist \"{list}\"); it is not taken as an indicator"
            ))),
            None => Ok(()),
        }
    }

    fn draft(&self, caller: &Caller, tenant: TenantId, new: NewIndicator) -> AppResult<Indicator> {
        let now = self.app.clock().now();
        let indicator = Indicator {
            id: IndicatorId::new(),
            instance: self.app.instance(),
            tenant,
            value: new.value,
            title: new.title,
            description: new.description,
            valid_from: new.valid_from.unwrap_or(now),
            valid_until: new.valid_until,
            confidence: new.confidence.unwrap_or(50),
            source: new.source,
            tags: new.tags,
            tlp: new.tlp,
            pap: new.pap,
            shared_with: new.shared_with,
            revoked: false,
            version: 0,
            created_at: now,
            updated_at: now,
            updated_by: caller.user_id(),
        };
        indicator.check().map_err(invalid)?;
        Ok(indicator)
    }

    /// Publishes an indicator of the caller's tenant (or `new.tenant`, where
    /// the caller may publish). A value the tenant holds already is a
    /// conflict; a known-benign value is refused naming its warninglist.
    pub async fn create(&self, caller: &Caller, new: NewIndicator) -> AppResult<Indicator> {
        let tenant = new.tenant.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::PublishIntel, tenant, "tenant", tenant)
            .await?;
        self.check_benign(&new.value)?;
        let indicator = self.draft(caller, tenant, new)?;
        Ok(self
            .app
            .store()
            .put_indicator(&indicator, 0, Some(&caller.audit_context()))
            .await?)
    }

    /// An indicator the caller may change: readable, and published by a tenant it may publish for.
    async fn changeable(&self, caller: &Caller, id: IndicatorId) -> AppResult<Indicator> {
        let path = self.reader_path(caller).await?;
        let indicator = self
            .app
            .store()
            .indicator(id)
            .await?
            .ok_or_else(|| AppError::not_found("indicator", id))?;
        let in_custody = self
            .app
            .path_ids(indicator.tenant)
            .await?
            .contains(&caller.tenant_id());
        let readable = self
            .readable(caller, &path, &indicator, &mut HashMap::new())
            .await?;
        if !readable && !in_custody {
            return Err(AppError::not_found("indicator", id));
        }
        match self
            .app
            .authorise(
                caller,
                Action::PublishIntel,
                indicator.tenant,
                "indicator",
                id,
            )
            .await
        {
            Ok(()) => Ok(indicator),
            // A reader outside the owner's tree sees the indicator but may not change it.
            Err(AppError::NotFound { .. }) if readable => Err(AppError::Forbidden(
                "only the publishing organisation changes an indicator".into(),
            )),
            Err(error) => Err(error),
        }
    }

    /// Changes an indicator (its publisher's analysts and intel analysts).
    pub async fn update(
        &self,
        caller: &Caller,
        id: IndicatorId,
        update: IndicatorUpdate,
    ) -> AppResult<Indicator> {
        let stored = self.changeable(caller, id).await?;
        let mut changed = stored.clone();
        if let Some(title) = update.title {
            changed.title = title;
        }
        if let Some(description) = update.description {
            changed.description = description;
        }
        if let Some(until) = update.valid_until {
            changed.valid_until = until;
        }
        if let Some(confidence) = update.confidence {
            changed.confidence = confidence;
        }
        if let Some(tags) = update.tags {
            changed.tags = tags;
        }
        if let Some(tlp) = update.tlp {
            changed.tlp = tlp;
        }
        if let Some(pap) = update.pap {
            changed.pap = pap;
        }
        if let Some(shared_with) = update.shared_with {
            changed.shared_with = shared_with;
        }
        if let Some(revoked) = update.revoked {
            changed.revoked = revoked;
        }
        changed.check().map_err(invalid)?;
        changed.updated_at = self.app.clock().now();
        changed.updated_by = caller.user_id();
        Ok(self
            .app
            .store()
            .put_indicator(&changed, stored.version, Some(&caller.audit_context()))
            .await?)
    }

    /// Deletes an indicator (its sightings stay, for the record).
    pub async fn delete(&self, caller: &Caller, id: IndicatorId) -> AppResult<Indicator> {
        self.changeable(caller, id).await?;
        Ok(self
            .app
            .store()
            .delete_indicator(id, &caller.audit_context())
            .await?)
    }

    /// Imports indicators for one tenant (the caller's, or `tenant`):
    /// values it holds already are changed to what the import says, known-
    /// benign values are left out and reported, bad entries are reported
    /// by position; the rest is kept.
    pub async fn import(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
        indicators: Vec<NewIndicator>,
    ) -> AppResult<IntelImported> {
        let tenant = tenant.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::PublishIntel, tenant, "tenant", tenant)
            .await?;
        if indicators.len() > MAX_IMPORTED_INDICATORS {
            return Err(AppError::Invalid(format!(
                "an import takes at most {MAX_IMPORTED_INDICATORS} indicators; split the file"
            )));
        }
        let mut outcome = IntelImported::default();
        let context = caller.audit_context();
        for (position, new) in indicators.into_iter().enumerate() {
            if let Some(list) = self.warninglists().benign(&new.value) {
                outcome.benign.push((new.value.clone(), list.to_owned()));
                continue;
            }
            let existing = self
                .app
                .store()
                .indicator_by_value(tenant, &new.value)
                .await?;
            let mut indicator = match self.draft(caller, tenant, new) {
                Ok(indicator) => indicator,
                Err(error) => {
                    outcome.refused.push((position, error.to_string()));
                    continue;
                }
            };
            let expected = match &existing {
                Some(stored) => {
                    indicator.id = stored.id;
                    indicator.created_at = stored.created_at;
                    stored.version
                }
                None => 0,
            };
            match self
                .app
                .store()
                .put_indicator(&indicator, expected, Some(&context))
                .await
            {
                Ok(stored) if expected == 0 => outcome.created.push(stored.id),
                Ok(stored) => outcome.updated.push(stored.id),
                Err(error) => outcome.refused.push((position, error.to_string())),
            }
        }
        Ok(outcome)
    }

    /// Reports a sighting of an indicator the caller may read, for the caller's tenant.
    pub async fn add_sighting(
        &self,
        caller: &Caller,
        id: IndicatorId,
        new: NewSighting,
    ) -> AppResult<Sighting> {
        // Reading it is the right to say one saw it.
        let indicator = self.get(caller, id).await?;
        if new.note.chars().count() > nigehban_model::indicator::MAX_LABEL_CHARS {
            return Err(AppError::Invalid(format!(
                "note: longer than {} characters",
                nigehban_model::indicator::MAX_LABEL_CHARS
            )));
        }
        let now = self.app.clock().now();
        let sighting = Sighting {
            id: SightingId::new(),
            indicator: indicator.id,
            tenant: caller.tenant_id(),
            seen_at: new.seen_at.unwrap_or(now),
            count: new.count.unwrap_or(1).max(1),
            sensor: None,
            event_id: new.event_id,
            note: new.note,
            origin: SightingOrigin::Reported,
            reported_by: caller.user_id(),
            recorded_at: now,
        };
        match self.app.store().record_sighting(&sighting).await? {
            SightingRecorded::New => Ok(sighting),
            SightingRecorded::Duplicate => Err(AppError::Conflict(
                "this event's sighting of the indicator is recorded already".into(),
            )),
        }
    }

    /// The sightings of an indicator the caller may read: all of them for
    /// its custody (the publisher and the CERTs above it), else those of the
    /// caller's tenant and the tenants below it.
    pub async fn sightings(&self, caller: &Caller, id: IndicatorId) -> AppResult<Vec<Sighting>> {
        let indicator = self.get(caller, id).await?;
        self.visible_sightings(caller, &indicator).await
    }

    /// The sightings of `indicator` (which the caller may read) that the caller may see.
    async fn visible_sightings(
        &self,
        caller: &Caller,
        indicator: &Indicator,
    ) -> AppResult<Vec<Sighting>> {
        let in_custody = self
            .app
            .path_ids(indicator.tenant)
            .await?
            .contains(&caller.tenant_id());
        let mut out = Vec::new();
        let mut paths: HashMap<TenantId, Vec<TenantId>> = HashMap::new();
        let own = caller.tenant_id();
        for sighting in self.app.store().sightings(indicator.id).await? {
            let visible = in_custody || sighting.tenant == own || {
                if let std::collections::hash_map::Entry::Vacant(entry) =
                    paths.entry(sighting.tenant)
                {
                    entry.insert(self.app.path_ids(sighting.tenant).await?);
                }
                paths[&sighting.tenant].contains(&own)
            };
            if visible {
                out.push(sighting);
            }
        }
        Ok(out)
    }

    // ---- system calls, for matching nodes ----

    /// The intel revision (changes with every change to indicators).
    pub async fn revision(&self) -> AppResult<u64> {
        Ok(self.app.store().intel_revision().await?)
    }

    /// Every indicator in force, with its owner's path, for compiling the matcher.
    pub async fn usable(&self) -> AppResult<Vec<UsableIndicator>> {
        let now = self.app.clock().now();
        let mut out = Vec::new();
        let mut after = None;
        let mut paths: HashMap<TenantId, Vec<TenantId>> = HashMap::new();
        loop {
            let batch = self
                .app
                .store()
                .list_indicators(&IndicatorQuery {
                    after,
                    active_only: true,
                    limit: 10_000,
                    ..IndicatorQuery::default()
                })
                .await?;
            let exhausted = batch.len() < 10_000;
            for indicator in batch {
                after = Some(indicator.id);
                if !indicator.is_active_at(now) {
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(entry) =
                    paths.entry(indicator.tenant)
                {
                    entry.insert(self.app.path_ids(indicator.tenant).await?);
                }
                out.push(UsableIndicator {
                    owner_path: paths[&indicator.tenant].clone(),
                    indicator,
                });
            }
            if exhausted {
                return Ok(out);
            }
        }
    }

    /// Whether events of the tenant at the end of `tenant_path` are matched against `usable`.
    pub fn tenant_may_use(tenant_path: &[TenantId], usable: &UsableIndicator) -> bool {
        policy::tenant_may_use_indicator(
            tenant_path,
            &usable.owner_path,
            usable.indicator.tlp,
            &recipients(&usable.indicator.shared_with),
        ) && policy::pap_allows(usable.indicator.pap, IntelUse::Matching)
    }

    /// The path of a tenant from the root (root first), for matching.
    pub async fn tenant_path(&self, tenant: TenantId) -> AppResult<Vec<TenantId>> {
        self.app.path_ids(tenant).await
    }

    /// Records a match as a sighting; `false` when this indicator, tenant
    /// and event were recorded already (so the match was raised before).
    pub async fn record_match(&self, found: &IndicatorMatch) -> AppResult<bool> {
        let sighting = Sighting {
            id: SightingId::new(),
            indicator: found.indicator,
            tenant: found.tenant,
            seen_at: found.seen_at,
            count: 1,
            sensor: found.sensor,
            event_id: Some(found.event_id.clone()),
            note: found.note.clone(),
            origin: found.origin,
            reported_by: None,
            recorded_at: self.app.clock().now(),
        };
        Ok(self.app.store().record_sighting(&sighting).await? == SightingRecorded::New)
    }

    /// The tenants whose stored events a retro-hunt for `usable` searches:
    /// every tenant that may use it ([`Intel::tenant_may_use`]); `None` when
    /// there is none.
    pub async fn hunt_scope(
        &self,
        usable: &UsableIndicator,
    ) -> AppResult<Option<crate::EventScope>> {
        let root = self.app.root().await?;
        let mut tenants = Vec::new();
        let mut page = PageRequest::first(nigehban_store::MAX_PAGE_LIMIT);
        loop {
            let batch = self.app.store().list_tenants(root.id, &page).await?;
            for tenant in batch.items {
                let path = self.app.path_ids(tenant.id).await?;
                if Intel::tenant_may_use(&path, usable) {
                    tenants.push(tenant.id);
                }
            }
            match batch.next {
                Some(next) => page = PageRequest::after(next, nigehban_store::MAX_PAGE_LIMIT),
                None => break,
            }
        }
        tenants.sort();
        tenants.dedup();
        Ok((!tenants.is_empty()).then(|| crate::EventScope::of_tenants(tenants)))
    }

    /// One indicator, for the matching node (no caller: the node decided who may use it).
    pub async fn indicator_for_matching(&self, id: IndicatorId) -> AppResult<Option<Indicator>> {
        Ok(self.app.store().indicator(id).await?)
    }
}
