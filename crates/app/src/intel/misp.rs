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

    /// The MISP feed of the caller's tenant: exactly the indicators in force
    /// that the caller may read ([`Intel::list`], so TLP and custody decide
    /// and AMBER reads are audited) and that PAP lets be exchanged, as feed
    /// events (one per publishing tenant, source and TLP label).
    pub async fn misp_feed(&self, caller: &Caller) -> AppResult<Vec<FeedEvent>> {
        let mut readable: Vec<Indicator> = Vec::new();
        let mut page = PageRequest::first(nigehban_store::MAX_PAGE_LIMIT);
        loop {
            let listing = IndicatorListing {
                active_only: true,
                ..IndicatorListing::default()
            };
            let found = self.list(caller, listing, &page).await?;
            readable.extend(
                found
                    .items
                    .into_iter()
                    .filter(|i| policy::pap_allows(i.pap, IntelUse::Exchange)),
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
