//! Exchanging threat intelligence as files: STIX 2.1 bundles in and out, CSV out.
//!
//! Import keeps every object of a bundle, whole, for the importing tenant
//! (the STIX object table; TAXII serves from it), labelled with the TLP of
//! its markings (else the importer's default). Indicator objects whose
//! patterns name indicator values also become [`Indicator`]s through
//! [`Intel::import`], so warninglists, checks and the policy apply as for
//! any import. Each object gets a [`StixObjectReport`]: kept, became N
//! indicators, unsupported pattern (why), refused (why).
//!
//! Export gives what the caller may read, decided by the one policy:
//! indicators through [`Intel::list`] ([`policy::can_read_indicator`]),
//! stored objects by their owner and TLP through the same function; PAP
//! through [`policy::pap_allows`] for the use the export is for. An
//! indicator that came from a stored STIX indicator is given as that
//! object (not twice). TLP 2.0 marking definitions and the identities of
//! sources travel with the bundle.

use std::collections::{BTreeMap, HashMap, HashSet};

use nigehban_model::indicator::{Indicator, IndicatorValue};
use nigehban_model::{Pap, TenantId, Timestamp, Tlp};
use nigehban_stix::{BundleContext, StixObject, indicator as stix_indicator, marking};
use nigehban_store::{StixObjectQuery, StixObjectRecord};
use serde_json::Value;

use crate::intel::{IndicatorListing, Intel, NewIndicator};
use crate::policy::{self, Action, IntelUse, Reader};
use crate::{AppError, AppResult, Caller, PageRequest, ProtectedRead};

/// STIX objects kept per transaction during an import.
const STORE_BATCH: usize = 1_000;

/// How to import a STIX bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StixImport {
    /// The importing tenant (default: the caller's).
    pub tenant: Option<TenantId>,
    /// The TLP label of objects that carry no TLP marking.
    pub default_tlp: Tlp,
    /// The PAP label of indicators that say none.
    pub default_pap: Pap,
    /// The source of indicators whose creator the bundle does not name (e.g. the file's name).
    pub source: String,
}

/// What became of one object of an imported bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StixObjectFate {
    /// Kept as a STIX object.
    Kept,
    /// Kept, and its pattern became indicators.
    Indicators {
        /// New indicators.
        created: usize,
        /// Indicators the tenant held already, changed to what the object says.
        updated: usize,
        /// Values left out as known-benign, with the warninglist.
        benign: Vec<String>,
        /// Values refused, with why.
        refused: Vec<String>,
        /// Comparisons of its pattern that name no indicator value, with why.
        skipped: Vec<String>,
    },
    /// Kept; an indicator whose pattern gives no indicator, with why.
    Unsupported(String),
    /// Not kept, with why.
    Refused(String),
}

/// One object's line of an import report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StixObjectReport {
    /// Its position in the bundle's `objects`, from 0.
    pub position: usize,
    /// Its id, when it had one.
    pub id: Option<String>,
    /// Its type, when it had one.
    pub object_type: Option<String>,
    /// Whether this version was new to the tenant (`false`: held already, or refused).
    pub new: bool,
    /// What became of it.
    pub fate: StixObjectFate,
}

/// Totals of an import report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StixImportTotals {
    /// Objects kept (new or held already).
    pub kept: usize,
    /// Of those, versions new to the tenant.
    pub new: usize,
    /// Indicators made.
    pub indicators_created: usize,
    /// Indicators changed.
    pub indicators_updated: usize,
    /// Indicator objects whose pattern gave no indicator.
    pub unsupported: usize,
    /// Objects refused.
    pub refused: usize,
}

/// Adds up a report.
pub fn stix_import_totals(report: &[StixObjectReport]) -> StixImportTotals {
    let mut totals = StixImportTotals::default();
    for line in report {
        match &line.fate {
            StixObjectFate::Refused(_) => totals.refused += 1,
            fate => {
                totals.kept += 1;
                totals.new += usize::from(line.new);
                match fate {
                    StixObjectFate::Indicators {
                        created, updated, ..
                    } => {
                        totals.indicators_created += created;
                        totals.indicators_updated += updated;
                    }
                    StixObjectFate::Unsupported(_) => totals.unsupported += 1,
                    _ => {}
                }
            }
        }
    }
    totals
}

/// A bundle made for a caller.
#[derive(Debug, Clone, PartialEq)]
pub struct StixExported {
    /// The bundle.
    pub bundle: Value,
    /// Indicators written as STIX indicators.
    pub indicators: usize,
    /// Stored objects written as they were imported.
    pub stored_objects: usize,
    /// Sightings written.
    pub sightings: usize,
}

/// The fields of an indicator CSV export, in order.
pub const CSV_HEADER: &str = "kind,value,tlp,pap,confidence,valid_from,valid_until,source,tags";

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// One indicator as a CSV line (no line end); tags are separated by `;`.
pub fn csv_line(indicator: &Indicator) -> String {
    [
        indicator.value.kind().as_str().to_owned(),
        indicator.value.value().to_owned(),
        indicator.tlp.as_str().to_owned(),
        indicator.pap.as_str().to_owned(),
        indicator.confidence.to_string(),
        indicator.valid_from.to_rfc3339(),
        indicator
            .valid_until
            .map(Timestamp::to_rfc3339)
            .unwrap_or_default(),
        indicator.source.clone(),
        indicator.tags.join(";"),
    ]
    .iter()
    .map(|f| csv_field(f))
    .collect::<Vec<_>>()
    .join(",")
}

impl Intel<'_> {
    /// Imports the objects of a STIX bundle (`objects` with their positions;
    /// `refused` are the bundle's objects the codec refused, reported as
    /// such). `progress` is told (done, total) as objects are handled.
    pub async fn import_stix(
        &self,
        caller: &Caller,
        options: &StixImport,
        bundle: &nigehban_stix::Bundle,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> AppResult<Vec<StixObjectReport>> {
        let tenant = options.tenant.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::PublishIntel, tenant, "tenant", tenant)
            .await?;
        let context = bundle.context();
        let total = bundle.objects.len() + bundle.refused.len();
        let mut report: Vec<StixObjectReport> = bundle
            .refused
            .iter()
            .map(|refused| StixObjectReport {
                position: refused.position,
                id: refused.id.clone(),
                object_type: None,
                new: false,
                fate: StixObjectFate::Refused(refused.reason.clone()),
            })
            .collect();
        let context_audit = caller.audit_context();
        let mut done = report.len();
        progress(done, total);
        for chunk in bundle.objects.chunks(STORE_BATCH) {
            let now = self.app.clock().now();
            let records: Vec<StixObjectRecord> = chunk
                .iter()
                .map(|(_, object)| StixObjectRecord {
                    tenant,
                    object_id: object.id().to_owned(),
                    modified: object.version().to_owned(),
                    object_type: object.object_type().to_owned(),
                    spec_version: object.spec_version().unwrap_or_default().to_owned(),
                    tlp: context.tlp_of(object).unwrap_or(options.default_tlp),
                    date_added: now,
                    body: object.to_json_string(),
                })
                .collect();
            let new = self
                .app
                .store()
                .put_stix_objects(&records, Some(&context_audit))
                .await?;
            for ((position, object), is_new) in chunk.iter().zip(new) {
                let fate = if object.object_type() == "indicator" {
                    self.indicators_of(caller, tenant, options, &context, object)
                        .await?
                } else {
                    StixObjectFate::Kept
                };
                report.push(StixObjectReport {
                    position: *position,
                    id: Some(object.id().to_owned()),
                    object_type: Some(object.object_type().to_owned()),
                    new: is_new,
                    fate,
                });
                done += 1;
                if done.is_multiple_of(100) {
                    progress(done, total);
                }
            }
        }
        progress(total, total);
        report.sort_by_key(|line| line.position);
        Ok(report)
    }

    /// Imports a STIX 2.1 document (a bundle, or one object) as the API
    /// receives it: who may not import for the tenant is refused before the
    /// document is read (and learns nothing about it); a document that is
    /// not STIX is refused naming why; else as [`Intel::import_stix`].
    pub async fn import_stix_document(
        &self,
        caller: &Caller,
        options: &StixImport,
        bytes: &[u8],
    ) -> AppResult<Vec<StixObjectReport>> {
        let tenant = options.tenant.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::PublishIntel, tenant, "tenant", tenant)
            .await?;
        let bundle = nigehban_stix::read_bundle(bytes)
            .map_err(|error| AppError::Invalid(format!("STIX import: {error}")))?;
        self.import_stix(caller, options, &bundle, &mut |_, _| {})
            .await
    }

    /// Makes the indicators a STIX indicator object names.
    async fn indicators_of(
        &self,
        caller: &Caller,
        tenant: TenantId,
        options: &StixImport,
        context: &BundleContext,
        object: &StixObject,
    ) -> AppResult<StixObjectFate> {
        let reading = match stix_indicator::read_indicator(object, context) {
            Ok(reading) => reading,
            Err(problem) => return Ok(StixObjectFate::Unsupported(problem.to_string())),
        };
        if reading.revoked {
            return Ok(StixObjectFate::Unsupported(format!(
                "{}: revoked by its producer; kept, not matched",
                object.id()
            )));
        }
        let title = if reading.title.is_empty() {
            object.id().to_owned()
        } else {
            reading.title.clone()
        };
        let news: Vec<NewIndicator> = reading
            .values
            .iter()
            .map(|value| NewIndicator {
                tenant: Some(tenant),
                value: value.clone(),
                title: title.clone(),
                description: reading.description.clone(),
                valid_from: reading.valid_from,
                valid_until: reading.valid_until,
                confidence: reading.confidence,
                source: reading
                    .source
                    .clone()
                    .unwrap_or_else(|| options.source.clone()),
                tags: reading.tags.clone(),
                tlp: reading.tlp.unwrap_or(options.default_tlp),
                pap: reading.pap.unwrap_or(options.default_pap),
                shared_with: Vec::new(),
            })
            .collect();
        let imported = self.import(caller, Some(tenant), news).await?;
        Ok(StixObjectFate::Indicators {
            created: imported.created.len(),
            updated: imported.updated.len(),
            benign: imported
                .benign
                .iter()
                .map(|(value, list)| format!("{value} (warninglist \"{list}\")"))
                .collect(),
            refused: imported
                .refused
                .iter()
                .map(|(position, why)| {
                    let value = reading
                        .values
                        .get(*position)
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    format!("{value}: {why}")
                })
                .collect(),
            skipped: reading.skipped,
        })
    }

    /// Every indicator the caller may read (published under `under`, when given), for `usage`.
    async fn exportable_indicators(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
        usage: IntelUse,
    ) -> AppResult<Vec<Indicator>> {
        let mut out = Vec::new();
        let mut page = PageRequest::first(nigehban_store::MAX_PAGE_LIMIT);
        loop {
            let batch = self
                .list(
                    caller,
                    IndicatorListing {
                        under,
                        ..IndicatorListing::default()
                    },
                    &page,
                )
                .await?;
            out.extend(
                batch
                    .items
                    .into_iter()
                    .filter(|i| policy::pap_allows(i.pap, usage)),
            );
            match batch.next {
                Some(next) => page = PageRequest::after(next, nigehban_store::MAX_PAGE_LIMIT),
                None => return Ok(out),
            }
        }
    }

    /// Every stored STIX object the caller may read (owned under `under`, when given).
    async fn readable_stix_objects(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
    ) -> AppResult<Vec<StixObjectRecord>> {
        let path = self.reader_path(caller).await?;
        let reader = Reader {
            user: caller.user_id(),
            role: caller.role(),
            tenant_path: &path,
        };
        let mut owner_paths: HashMap<TenantId, Vec<TenantId>> = HashMap::new();
        let mut out = Vec::new();
        // The most restrictive label read per owner, for the audit log.
        let mut read: BTreeMap<TenantId, Tlp> = BTreeMap::new();
        let mut query = StixObjectQuery {
            limit: 10_000,
            ..StixObjectQuery::default()
        };
        loop {
            let batch = self.app.store().list_stix_objects(&query).await?;
            let exhausted = batch.len() < 10_000;
            query.after = batch.last().map(StixObjectRecord::cursor);
            for record in batch {
                if let std::collections::hash_map::Entry::Vacant(entry) =
                    owner_paths.entry(record.tenant)
                {
                    entry.insert(self.app.path_ids(record.tenant).await?);
                }
                let owner_path = &owner_paths[&record.tenant];
                // A stored object is shared intelligence like an indicator: the same rule decides.
                if policy::can_read_indicator(&reader, owner_path, record.tlp, &[])
                    && under.is_none_or(|under| owner_path.contains(&under))
                {
                    let label = read.entry(record.tenant).or_insert(record.tlp);
                    *label = (*label).max(record.tlp);
                    out.push(record);
                }
            }
            if exhausted {
                break;
            }
        }
        for (tenant, tlp) in read {
            self.app
                .audit()
                .record_read(
                    caller,
                    ProtectedRead {
                        record_kind: "stix_objects".into(),
                        record_id: tenant.to_string(),
                        tenant,
                        tlp,
                    },
                )
                .await?;
        }
        Ok(out)
    }

    /// A STIX 2.1 bundle of what the caller may read, for `usage`: indicators
    /// (published under `under`, when given), stored STIX objects, sightings
    /// of the indicators the caller may see, the TLP 2.0 marking definitions
    /// and the identities of sources.
    pub async fn export_stix(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
        usage: IntelUse,
    ) -> AppResult<StixExported> {
        self.check_export(caller, under).await?;
        let indicators = self.exportable_indicators(caller, under, usage).await?;
        let stored = self.readable_stix_objects(caller, under).await?;
        let mut objects: Vec<Value> = Vec::with_capacity(stored.len() + indicators.len());
        let mut ids: HashSet<String> = HashSet::new();
        // Values a stored STIX indicator stands for, per owner: given as that object.
        let mut stored_values: HashMap<(TenantId, IndicatorValue), String> = HashMap::new();
        for record in &stored {
            let value: Value = serde_json::from_str(&record.body).map_err(|e| {
                AppError::Internal(format!(
                    "stored STIX object {} is not JSON: {e}",
                    record.object_id
                ))
            })?;
            if record.object_type == "indicator"
                && let Ok(object) = StixObject::from_json(value.clone())
                && let Ok(reading) =
                    stix_indicator::read_indicator(&object, &BundleContext::default())
            {
                for v in reading.values {
                    stored_values.insert((record.tenant, v), record.object_id.clone());
                }
            }
            ids.insert(record.object_id.clone());
            objects.push(value);
        }
        let mut sources: BTreeMap<String, Timestamp> = BTreeMap::new();
        let mut written = 0;
        let mut sightings = 0;
        for indicator in &indicators {
            let stix_id = match stored_values.get(&(indicator.tenant, indicator.value.clone())) {
                Some(id) => id.clone(),
                None => {
                    let object = stix_indicator::indicator_object(indicator);
                    let id = stix_indicator::indicator_id(indicator);
                    if !ids.insert(id.clone()) {
                        continue;
                    }
                    objects.push(object);
                    written += 1;
                    if !indicator.source.is_empty() {
                        let first = sources
                            .entry(indicator.source.clone())
                            .or_insert(indicator.created_at);
                        *first = (*first).min(indicator.created_at);
                    }
                    id
                }
            };
            for sighting in self.visible_sightings(caller, indicator).await? {
                let object = stix_indicator::sighting_object(&sighting, &stix_id, indicator.tlp);
                if let Some(id) = object.get("id").and_then(Value::as_str)
                    && ids.insert(id.to_owned())
                {
                    objects.push(object);
                    sightings += 1;
                }
            }
        }
        for (source, first) in sources {
            let id = stix_indicator::source_identity_id(&source);
            if ids.insert(id) {
                objects.push(stix_indicator::source_identity(&source, first));
            }
        }
        // Every TLP 2.0 label referenced travels with its definition.
        let referenced: HashSet<Tlp> = objects
            .iter()
            .filter_map(|o| o.get("object_marking_refs").and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_str)
            .filter(|id| marking::TLP2_IDS.iter().any(|(_, known)| known == id))
            .filter_map(marking::tlp_of_marking_id)
            .collect();
        for tlp in Tlp::ALL {
            if referenced.contains(&tlp) && ids.insert(marking::tlp2_id(tlp).to_owned()) {
                objects.push(marking::tlp2_definition(tlp));
            }
        }
        Ok(StixExported {
            bundle: nigehban_stix::write_bundle(objects),
            indicators: written,
            stored_objects: stored.len(),
            sightings,
        })
    }

    /// The indicators the caller may read (published under `under`, when
    /// given), for `usage`, as CSV with a header line; and how many.
    pub async fn export_csv(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
        usage: IntelUse,
    ) -> AppResult<(String, usize)> {
        self.check_export(caller, under).await?;
        let indicators = self.exportable_indicators(caller, under, usage).await?;
        let mut out = String::from(CSV_HEADER);
        out.push('\n');
        for indicator in &indicators {
            out.push_str(&csv_line(indicator));
            out.push('\n');
        }
        Ok((out, indicators.len()))
    }

    /// Refuses, as everywhere, a role that reads no intelligence and a tenant outside the caller's subtree.
    pub(super) async fn check_export(
        &self,
        caller: &Caller,
        under: Option<TenantId>,
    ) -> AppResult<()> {
        self.reader_path(caller).await?;
        if let Some(under) = under {
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
        Ok(())
    }
}
