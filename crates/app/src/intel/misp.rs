//! MISP exchange for shared intelligence: importing MISP events into a
//! tenant's indicators, and the MISP feed a tenant's MISP instance pulls.
//! The codec is `nigehban-misp`'s; who may import and what a feed holds
//! are the one policy's (`PublishIntel`; [`policy::can_read_indicator`]
//! through [`Intel::list`], and [`policy::pap_allows`] for exchange).

use std::collections::HashMap;

use nigehban_misp::{FeedEvent, MispIndicator, MispRead};
use nigehban_model::TenantId;
use nigehban_model::indicator::Indicator;

use super::{IndicatorListing, Intel, IntelImported, NewIndicator};
use crate::policy::{self, Action, IntelUse};
use crate::{AppError, AppResult, Caller, PageRequest};

/// Indicators imported per step of a MISP import (progress is told between steps).
const IMPORT_BATCH: usize = 5_000;

/// What a MISP import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MispImported {
    /// What the codec read: the events, the indicators (in the order
    /// `outcome.refused` positions count), and a note for every attribute
    /// not taken.
    pub read: MispRead,
    /// What became of the indicators read.
    pub outcome: IntelImported,
}

impl From<&MispIndicator> for NewIndicator {
    fn from(read: &MispIndicator) -> Self {
        NewIndicator {
            tenant: None,
            value: read.value.clone(),
            title: read.title.clone(),
            description: read.description.clone(),
            valid_from: read.valid_from,
            valid_until: read.valid_until,
            confidence: None,
            source: read.source.clone(),
            tags: read.tags.clone(),
            tlp: read.tlp,
            pap: read.pap,
            shared_with: Vec::new(),
        }
    }
}

impl Intel<'_> {
    /// Imports MISP events (`{"Event": ...}`, a bare event, a list of
    /// either, or a MISP API answer) for `tenant` (default: the caller's),
    /// as [`Intel::import`] does: values held already are updated,
    /// known-benign ones left out, bad ones reported; attributes that are no
    /// indicator are reported by event and position.
    pub async fn import_misp(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
        bytes: &[u8],
    ) -> AppResult<MispImported> {
        let target = tenant.unwrap_or(caller.tenant_id());
        // Who may not import learns nothing about the document.
        self.app
            .authorise(caller, Action::PublishIntel, target, "tenant", target)
            .await?;
        let read = nigehban_misp::read_events(bytes)
            .map_err(|error| AppError::Invalid(format!("MISP import: {error}")))?;
        let indicators = read.indicators.iter().map(NewIndicator::from).collect();
        let outcome = self.import(caller, Some(target), indicators).await?;
        Ok(MispImported { read, outcome })
    }

    /// Imports what the codec read from MISP events or a MISP feed
    /// ([`nigehban_misp::read_events`], [`nigehban_misp::read_feed`]) for
    /// `tenant` (default: the caller's), as [`Intel::import`] does, a batch
    /// at a time; `progress` is told (done, total) indicators. For files the
    /// caller read itself (`nigehban intel import`); positions in
    /// `outcome.refused` count in `read.indicators`.
    pub async fn import_misp_read(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
        read: MispRead,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> AppResult<MispImported> {
        let target = tenant.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::PublishIntel, target, "tenant", target)
            .await?;
        let total = read.indicators.len();
        if total > super::MAX_IMPORTED_INDICATORS {
            return Err(AppError::Invalid(format!(
                "an import takes at most {} indicators; split the feed",
                super::MAX_IMPORTED_INDICATORS
            )));
        }
        let mut outcome = IntelImported::default();
        progress(0, total);
        for (n, chunk) in read.indicators.chunks(IMPORT_BATCH).enumerate() {
            let batch = chunk.iter().map(NewIndicator::from).collect();
            let done = self.import(caller, Some(target), batch).await?;
            let offset = n * IMPORT_BATCH;
            outcome.created.extend(done.created);
            outcome.updated.extend(done.updated);
            outcome.benign.extend(done.benign);
            outcome
                .refused
                .extend(done.refused.into_iter().map(|(at, why)| (offset + at, why)));
            progress((offset + chunk.len()).min(total), total);
        }
        Ok(MispImported { read, outcome })
    }

    /// The MISP feed of the caller's tenant: exactly the indicators in force
    /// that the caller may read ([`Intel::list`], so TLP and custody decide
    /// and AMBER reads are audited) and that PAP lets be exchanged, as feed
    /// events (one per publishing tenant, source and TLP label).
    pub async fn misp_feed(&self, caller: &Caller) -> AppResult<Vec<FeedEvent>> {
        self.export_misp(caller, None, IntelUse::Exchange).await
    }

    /// The MISP feed events of the indicators in force the caller may read
    /// (published under `under`, when given) and PAP allows for `usage`:
    /// the feed ([`Intel::misp_feed`]) and `nigehban intel export --format misp`.
    pub async fn export_misp(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
        usage: IntelUse,
    ) -> AppResult<Vec<FeedEvent>> {
        self.check_export(caller, under).await?;
        let mut readable: Vec<Indicator> = Vec::new();
        let mut page = PageRequest::first(nigehban_store::MAX_PAGE_LIMIT);
        loop {
            let listing = IndicatorListing {
                under,
                active_only: true,
                ..IndicatorListing::default()
            };
            let found = self.list(caller, listing, &page).await?;
            readable.extend(
                found
                    .items
                    .into_iter()
                    .filter(|i| policy::pap_allows(i.pap, usage)),
            );
            match found.next {
                Some(next) => page = PageRequest::after(next, nigehban_store::MAX_PAGE_LIMIT),
                None => break,
            }
        }
        let mut names: HashMap<TenantId, String> = HashMap::new();
        for indicator in &readable {
            if let std::collections::hash_map::Entry::Vacant(entry) = names.entry(indicator.tenant)
            {
                let name = self
                    .app
                    .store()
                    .tenant(indicator.tenant)
                    .await?
                    .map_or_else(|| indicator.tenant.to_string(), |t| t.name.to_string());
                entry.insert(name);
            }
        }
        Ok(nigehban_misp::feed_events(&readable, |tenant| {
            names
                .get(&tenant)
                .cloned()
                .unwrap_or_else(|| tenant.to_string())
        }))
    }
}
