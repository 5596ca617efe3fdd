//! TAXII 2.1 served from the STIX object table: collections, objects,
//! manifests, versions and status resources, without HTTP (the server
//! crate speaks HTTP and the TAXII media types).
//!
//! A collection is a sharing scope: the caller's own tenant's collection
//! (everything the tenant imported, whatever its label; read and write),
//! and read-only shared collections per TLP label — `public` (TLP:CLEAR),
//! `shared-green`, `shared-amber` (AMBER and AMBER+STRICT) and `shared-red`
//! — holding every object at those labels the one policy lets the caller
//! read ([`policy::can_read_indicator`], as for STIX exports). Someone who
//! did not authenticate reads the public collection alone, and only when
//! the server allows it ([`policy::can_read_unauthenticated`]).
//!
//! Objects posted to a collection are imported through
//! [`Intel::import_stix`] (so the policy, warninglists and indicators apply
//! as for a file), and the outcome is kept as a status resource.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use nigehban_model::{TenantId, Timestamp, Tlp};
use nigehban_store::{StixCursor, StixObjectQuery, StixObjectRecord, TaxiiStatusRecord};
use serde_json::{Value, json};

use crate::intel::{Intel, StixImport, StixObjectFate, StixObjectReport};
use crate::policy::{self, Action, Decision, Reader, Relation};
use crate::{App, AppError, AppResult, Caller, ProtectedRead};

/// The media type of the STIX objects a collection holds.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// Most objects one page of a listing gives (a client asking for more gets this many).
pub const MAX_TAXII_PAGE: usize = 1_000;

/// Objects a page gives when the client sets no `limit`.
pub const DEFAULT_TAXII_PAGE: usize = 100;

/// Rows read from the store per step while a page is filled.
const SCAN_BATCH: u32 = 1_000;

/// A read-only collection of everything at some TLP labels that a caller may read.
struct SharedCollection {
    id: &'static str,
    alias: &'static str,
    title: &'static str,
    description: &'static str,
    labels: &'static [Tlp],
}

/// The shared collections, in the order they are listed.
const SHARED: [SharedCollection; 4] = [
    SharedCollection {
        id: "6f4e3a52-4b7c-4f0e-9d3b-1c1e5a0c0001",
        alias: "public",
        title: "Public (TLP:CLEAR)",
        description: "Every TLP:CLEAR object on the platform: it may be shared with anyone",
        labels: &[Tlp::Clear],
    },
    SharedCollection {
        id: "6f4e3a52-4b7c-4f0e-9d3b-1c1e5a0c0002",
        alias: "shared-green",
        title: "Shared with the community (TLP:GREEN)",
        description: "Every TLP:GREEN object on the platform: for every tenant the platform serves",
        labels: &[Tlp::Green],
    },
    SharedCollection {
        id: "6f4e3a52-4b7c-4f0e-9d3b-1c1e5a0c0003",
        alias: "shared-amber",
        title: "Limited disclosure (TLP:AMBER, TLP:AMBER+STRICT)",
        description: "The TLP:AMBER and TLP:AMBER+STRICT objects the caller may read: its own tenant's and those in its custody",
        labels: &[Tlp::Amber, Tlp::AmberStrict],
    },
    SharedCollection {
        id: "6f4e3a52-4b7c-4f0e-9d3b-1c1e5a0c0004",
        alias: "shared-red",
        title: "For named recipients only (TLP:RED)",
        description: "The TLP:RED objects the caller may read: its own tenant's and those in its custody",
        labels: &[Tlp::Red],
    },
];

/// A TAXII collection as a caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiCollection {
    /// Its id (a UUID: the tenant's id for a tenant's collection).
    pub id: String,
    /// Its alias (`public`, `shared-green`, ...; none for a tenant's collection).
    pub alias: Option<String>,
    /// Its title.
    pub title: String,
    /// What it holds.
    pub description: String,
    /// Whether the caller may read its objects.
    pub can_read: bool,
    /// Whether the caller may add objects to it.
    pub can_write: bool,
}

/// Which collection a request names, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// A tenant's own collection.
    Tenant(TenantId),
    /// A shared collection (index into [`SHARED`]).
    Shared(usize),
}

/// Which versions of an object a listing gives (TAXII's `match[version]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionMatch {
    /// The latest version (the default).
    Last,
    /// The earliest version.
    First,
    /// Every version.
    All,
    /// The version whose `modified` is this timestamp.
    At(Timestamp),
}

impl VersionMatch {
    /// Reads one value of `match[version]`.
    pub fn parse(text: &str) -> AppResult<Self> {
        match text {
            "last" => Ok(Self::Last),
            "first" => Ok(Self::First),
            "all" => Ok(Self::All),
            other => Timestamp::parse_rfc3339(other).map(Self::At).map_err(|_| {
                AppError::Invalid(format!(
                    "match[version]: {other:?} is not \"last\", \"first\", \"all\" or an RFC 3339 timestamp"
                ))
            }),
        }
    }
}

/// Which objects to list, as TAXII's filters say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxiiFilter {
    /// `added_after`: only objects added after this moment.
    pub added_after: Option<Timestamp>,
    /// `match[id]`: only these objects.
    pub ids: Vec<String>,
    /// `match[type]`: only these types.
    pub types: Vec<String>,
    /// `match[version]` (empty: the latest version).
    pub versions: Vec<VersionMatch>,
    /// `match[spec_version]` (empty: any).
    pub spec_versions: Vec<String>,
    /// `limit` (default [`DEFAULT_TAXII_PAGE`], at most [`MAX_TAXII_PAGE`]).
    pub limit: Option<usize>,
    /// `next`: the page to go on from, as a previous page gave it.
    pub next: Option<String>,
}

/// One object version of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiObject {
    /// The STIX id.
    pub id: String,
    /// Its version (`modified`, else `created`, else empty).
    pub version: String,
    /// When this platform first held this version.
    pub date_added: Timestamp,
    /// Its STIX spec version.
    pub spec_version: String,
    /// The object's JSON, as imported.
    pub body: String,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxiiPage {
    /// The objects, oldest added first.
    pub objects: Vec<TaxiiObject>,
    /// Whether more objects match.
    pub more: bool,
    /// What to send as `next` for the following page, when there is one.
    pub next: Option<String>,
}

impl TaxiiPage {
    /// The `date_added` of the first object (`X-TAXII-Date-Added-First`).
    pub fn date_added_first(&self) -> Option<Timestamp> {
        self.objects.iter().map(|o| o.date_added).min()
    }

    /// The `date_added` of the last object (`X-TAXII-Date-Added-Last`).
    pub fn date_added_last(&self) -> Option<Timestamp> {
        self.objects.iter().map(|o| o.date_added).max()
    }
}

/// Whether an import of posted objects is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxiiStatusKind {
    /// Every object has been handled.
    Complete,
    /// Some are still being handled.
    Pending,
}

/// One object's line in a status resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiStatusDetail {
    /// The object's id (`#<position>` when it had none).
    pub id: String,
    /// Its version.
    pub version: String,
    /// What became of it, in words.
    pub message: String,
}

/// A TAXII status resource: what became of one POST of objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiStatus {
    /// Its id.
    pub id: String,
    /// Complete or pending.
    pub status: TaxiiStatusKind,
    /// When the objects were posted.
    pub request_timestamp: Timestamp,
    /// How many objects were posted.
    pub total_count: usize,
    /// Objects kept.
    pub successes: Vec<TaxiiStatusDetail>,
    /// Objects refused.
    pub failures: Vec<TaxiiStatusDetail>,
    /// Objects not handled yet.
    pub pendings: Vec<TaxiiStatusDetail>,
}

impl TaxiiStatus {
    /// The status resource as TAXII 2.1 writes it (counts included).
    pub fn to_json(&self) -> Value {
        let details = |list: &[TaxiiStatusDetail]| {
            list.iter()
                .map(|d| json!({"id": d.id, "version": d.version, "message": d.message}))
                .collect::<Vec<_>>()
        };
        json!({
            "id": self.id,
            "status": match self.status { TaxiiStatusKind::Complete => "complete", TaxiiStatusKind::Pending => "pending" },
            "request_timestamp": self.request_timestamp.to_rfc3339(),
            "total_count": self.total_count,
            "success_count": self.successes.len(),
            "successes": details(&self.successes),
            "failure_count": self.failures.len(),
            "failures": details(&self.failures),
            "pending_count": self.pendings.len(),
            "pendings": details(&self.pendings),
        })
    }

    fn from_json(value: &Value) -> Option<Self> {
        let details = |name: &str| -> Option<Vec<TaxiiStatusDetail>> {
            value
                .get(name)?
                .as_array()?
                .iter()
                .map(|d| {
                    Some(TaxiiStatusDetail {
                        id: d.get("id")?.as_str()?.to_owned(),
                        version: d.get("version")?.as_str()?.to_owned(),
                        message: d.get("message")?.as_str()?.to_owned(),
                    })
                })
                .collect()
        };
        Some(Self {
            id: value.get("id")?.as_str()?.to_owned(),
            status: match value.get("status")?.as_str()? {
                "pending" => TaxiiStatusKind::Pending,
                _ => TaxiiStatusKind::Complete,
            },
            request_timestamp: Timestamp::parse_rfc3339(value.get("request_timestamp")?.as_str()?)
                .ok()?,
            total_count: usize::try_from(value.get("total_count")?.as_u64()?).ok()?,
            successes: details("successes")?,
            failures: details("failures")?,
            pendings: details("pendings")?,
        })
    }
}

/// TAXII 2.1 over the STIX object table; see [`App::taxii`].
#[derive(Debug, Clone, Copy)]
pub struct Taxii<'a> {
    app: &'a App,
}

impl App {
    /// TAXII 2.1: collections, objects, manifests, status resources.
    pub fn taxii(&self) -> Taxii<'_> {
        Taxii { app: self }
    }
}

/// A random (version 4) UUID, as TAXII names status resources.
fn random_uuid() -> String {
    let mut b = [0u8; 16];
    rand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Hex text, for `next` tokens that survive any URL.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn encode_next(cursor: &StixCursor) -> String {
    hex(format!(
        "{}\n{}\n{}\n{}",
        cursor.date_added.unix_micros(),
        cursor.tenant,
        cursor.object_id,
        cursor.modified
    )
    .as_bytes())
}

fn decode_next(text: &str) -> AppResult<StixCursor> {
    let bad = || {
        AppError::Invalid(format!(
            "next: {text:?} is not a value a page of this server gave"
        ))
    };
    let bytes = unhex(text).ok_or_else(bad)?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.splitn(4, '\n');
    let micros: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let tenant: TenantId = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let object_id = parts.next().ok_or_else(bad)?.to_owned();
    let modified = parts.next().ok_or_else(bad)?.to_owned();
    Ok(StixCursor {
        date_added: Timestamp::from_unix_micros(micros),
        tenant,
        object_id,
        modified,
    })
}

/// Orders versions: as timestamps when both are, else as text.
fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (Timestamp::parse_rfc3339(a), Timestamp::parse_rfc3339(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

fn object_of(record: StixObjectRecord) -> TaxiiObject {
    TaxiiObject {
        id: record.object_id,
        version: record.modified,
        date_added: record.date_added,
        spec_version: record.spec_version,
        body: record.body,
    }
}

/// Who reads: a caller with its tenant path, or someone unauthenticated.
struct Viewer<'c> {
    caller: Option<&'c Caller>,
    path: Vec<TenantId>,
}

impl Taxii<'_> {
    fn intel(&self) -> Intel<'_> {
        self.app.intel()
    }

    async fn viewer<'c>(&self, caller: Option<&'c Caller>) -> AppResult<Viewer<'c>> {
        let path = match caller {
            Some(caller) => self.intel().reader_path(caller).await?,
            None => Vec::new(),
        };
        Ok(Viewer { caller, path })
    }

    /// Whether the caller's role reads intelligence at all.
    fn reads_intel(caller: &Caller) -> bool {
        policy::reach(caller.role(), Action::ViewIntel) != policy::Reach::Never
    }

    fn shared_collection(index: usize, caller: Option<&Caller>) -> TaxiiCollection {
        let shared = &SHARED[index];
        TaxiiCollection {
            id: shared.id.to_owned(),
            alias: Some(shared.alias.to_owned()),
            title: shared.title.to_owned(),
            description: shared.description.to_owned(),
            can_read: caller.is_none_or(Self::reads_intel),
            can_write: false,
        }
    }

    async fn tenant_collection(
        &self,
        caller: &Caller,
        tenant: TenantId,
    ) -> AppResult<TaxiiCollection> {
        let name = self
            .app
            .store()
            .tenant(tenant)
            .await?
            .map(|t| t.name.as_str().to_owned())
            .unwrap_or_else(|| tenant.to_string());
        Ok(TaxiiCollection {
            id: tenant.to_string(),
            alias: None,
            title: name.clone(),
            description: format!(
                "Every STIX object {name} shared on the platform, whatever its TLP label; objects added here are imported for {name}"
            ),
            can_read: Self::reads_intel(caller),
            can_write: policy::decide(caller.role(), Action::PublishIntel, Relation::Own)
                == Decision::Allow,
        })
    }

    /// The collections a caller sees (`None`: someone unauthenticated, who
    /// sees the public collection when `public` allows it).
    pub async fn collections(
        &self,
        caller: Option<&Caller>,
        public: bool,
    ) -> AppResult<Vec<TaxiiCollection>> {
        let Some(caller) = caller else {
            if !public {
                return Err(AppError::Unauthenticated(UNAUTHENTICATED));
            }
            return Ok(vec![Self::shared_collection(0, None)]);
        };
        self.intel().reader_path(caller).await?;
        if !Self::reads_intel(caller) {
            return Ok(Vec::new());
        }
        let mut out = vec![self.tenant_collection(caller, caller.tenant_id()).await?];
        out.extend((0..SHARED.len()).map(|i| Self::shared_collection(i, Some(caller))));
        Ok(out)
    }

    /// Resolves a collection id or alias for a caller; unknown (or not the
    /// caller's) is "not found".
    fn scope(&self, caller: Option<&Caller>, collection: &str, public: bool) -> AppResult<Scope> {
        let not_found = || AppError::not_found("collection", collection);
        if let Some(index) = SHARED
            .iter()
            .position(|s| s.id == collection || s.alias == collection)
        {
            return match caller {
                None if index == 0 && public => Ok(Scope::Shared(0)),
                None => Err(AppError::Unauthenticated(UNAUTHENTICATED)),
                Some(caller) if Self::reads_intel(caller) => Ok(Scope::Shared(index)),
                Some(_) => Err(not_found()),
            };
        }
        let Some(caller) = caller else {
            return Err(AppError::Unauthenticated(UNAUTHENTICATED));
        };
        match collection.parse::<TenantId>() {
            Ok(tenant) if tenant == caller.tenant_id() && Self::reads_intel(caller) => {
                Ok(Scope::Tenant(tenant))
            }
            _ => Err(not_found()),
        }
    }

    /// One collection, as [`Taxii::collections`] lists it.
    pub async fn collection(
        &self,
        caller: Option<&Caller>,
        collection: &str,
        public: bool,
    ) -> AppResult<TaxiiCollection> {
        match (self.scope(caller, collection, public)?, caller) {
            (Scope::Shared(index), caller) => Ok(Self::shared_collection(index, caller)),
            (Scope::Tenant(tenant), Some(caller)) => self.tenant_collection(caller, tenant).await,
            (Scope::Tenant(_), None) => Err(AppError::Unauthenticated(UNAUTHENTICATED)),
        }
    }

    /// Whether a stored version belongs to the scope and the viewer may read it: the one policy decides.
    async fn admits(
        &self,
        viewer: &Viewer<'_>,
        scope: Scope,
        record: &StixObjectRecord,
        owner_paths: &mut HashMap<TenantId, Vec<TenantId>>,
    ) -> AppResult<bool> {
        match scope {
            Scope::Tenant(tenant) if record.tenant != tenant => return Ok(false),
            Scope::Shared(index) if !SHARED[index].labels.contains(&record.tlp) => {
                return Ok(false);
            }
            _ => {}
        }
        let Some(caller) = viewer.caller else {
            return Ok(policy::can_read_unauthenticated(record.tlp));
        };
        if let Entry::Vacant(entry) = owner_paths.entry(record.tenant) {
            entry.insert(self.app.path_ids(record.tenant).await?);
        }
        let owner_path = owner_paths
            .get(&record.tenant)
            .map_or(&[][..], Vec::as_slice);
        let reader = Reader {
            user: caller.user_id(),
            role: caller.role(),
            tenant_path: &viewer.path,
        };
        Ok(policy::can_read_indicator(
            &reader,
            owner_path,
            record.tlp,
            &[],
        ))
    }

    /// Every version of `object_id` in the scope that the viewer may read.
    async fn versions_in_scope(
        &self,
        viewer: &Viewer<'_>,
        scope: Scope,
        object_id: &str,
        owner_paths: &mut HashMap<TenantId, Vec<TenantId>>,
    ) -> AppResult<Vec<StixObjectRecord>> {
        let mut query = StixObjectQuery {
            tenant: match scope {
                Scope::Tenant(tenant) => Some(tenant),
                Scope::Shared(_) => None,
            },
            object_id: Some(object_id.to_owned()),
            limit: SCAN_BATCH,
            ..StixObjectQuery::default()
        };
        let mut out = Vec::new();
        loop {
            let batch = self.app.store().list_stix_objects(&query).await?;
            let exhausted = batch.len() < SCAN_BATCH as usize;
            query.after = batch.last().map(StixObjectRecord::cursor);
            for record in batch {
                if self.admits(viewer, scope, &record, owner_paths).await? {
                    out.push(record);
                }
            }
            if exhausted {
                return Ok(out);
            }
        }
    }

    /// Whether a version passes `match[version]`, given its object's versions in scope.
    fn version_matches(
        wanted: &[VersionMatch],
        record: &StixObjectRecord,
        all: &[StixObjectRecord],
    ) -> bool {
        let last = all
            .iter()
            .map(|r| r.modified.as_str())
            .max_by(|a, b| version_order(a, b));
        let first = all
            .iter()
            .map(|r| r.modified.as_str())
            .min_by(|a, b| version_order(a, b));
        let default = [VersionMatch::Last];
        let wanted = if wanted.is_empty() {
            &default[..]
        } else {
            wanted
        };
        wanted.iter().any(|w| match w {
            VersionMatch::All => true,
            VersionMatch::Last => last == Some(record.modified.as_str()),
            VersionMatch::First => first == Some(record.modified.as_str()),
            VersionMatch::At(at) => Timestamp::parse_rfc3339(&record.modified).ok() == Some(*at),
        })
    }

    /// A page of the object versions of a collection that pass `filter` and
    /// that the caller may read, oldest added first.
    pub async fn objects(
        &self,
        caller: Option<&Caller>,
        collection: &str,
        filter: &TaxiiFilter,
        public: bool,
    ) -> AppResult<TaxiiPage> {
        let scope = self.scope(caller, collection, public)?;
        let viewer = self.viewer(caller).await?;
        let limit = filter
            .limit
            .unwrap_or(DEFAULT_TAXII_PAGE)
            .clamp(1, MAX_TAXII_PAGE);
        let mut query = StixObjectQuery {
            tenant: match scope {
                Scope::Tenant(tenant) => Some(tenant),
                Scope::Shared(_) => None,
            },
            added_after: filter.added_after,
            after: filter.next.as_deref().map(decode_next).transpose()?,
            object_id: match filter.ids.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            },
            limit: SCAN_BATCH,
        };
        let mut owner_paths = HashMap::new();
        let mut versions: HashMap<String, Vec<StixObjectRecord>> = HashMap::new();
        let mut page: Vec<StixObjectRecord> = Vec::new();
        let mut more = false;
        'scan: loop {
            let batch = self.app.store().list_stix_objects(&query).await?;
            let exhausted = batch.len() < SCAN_BATCH as usize;
            query.after = batch.last().map(StixObjectRecord::cursor);
            for record in batch {
                if (!filter.ids.is_empty() && !filter.ids.contains(&record.object_id))
                    || (!filter.types.is_empty() && !filter.types.contains(&record.object_type))
                    || (!filter.spec_versions.is_empty()
                        && !filter.spec_versions.contains(&record.spec_version))
                    || !self
                        .admits(&viewer, scope, &record, &mut owner_paths)
                        .await?
                {
                    continue;
                }
                if !filter.versions.contains(&VersionMatch::All) {
                    if let Entry::Vacant(entry) = versions.entry(record.object_id.clone()) {
                        entry.insert(
                            self.versions_in_scope(
                                &viewer,
                                scope,
                                &record.object_id,
                                &mut owner_paths,
                            )
                            .await?,
                        );
                    }
                    let all = versions
                        .get(&record.object_id)
                        .map_or(&[][..], Vec::as_slice);
                    if !Self::version_matches(&filter.versions, &record, all) {
                        continue;
                    }
                }
                if page.len() == limit {
                    more = true;
                    break 'scan;
                }
                page.push(record);
            }
            if exhausted {
                break;
            }
        }
        if let Some(caller) = caller {
            self.audit_reads(caller, &page).await?;
        }
        let next = if more {
            page.last().map(|r| encode_next(&r.cursor()))
        } else {
            None
        };
        Ok(TaxiiPage {
            objects: page.into_iter().map(object_of).collect(),
            more,
            next,
        })
    }

    /// Writes reads of TLP:AMBER material and above to the audit log, one entry per owner.
    async fn audit_reads(&self, caller: &Caller, records: &[StixObjectRecord]) -> AppResult<()> {
        let mut read: BTreeMap<TenantId, Tlp> = BTreeMap::new();
        for record in records {
            let label = read.entry(record.tenant).or_insert(record.tlp);
            *label = (*label).max(record.tlp);
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
        Ok(())
    }

    /// The versions of one object in a collection (`match[version]` defaults to all here).
    pub async fn object_versions(
        &self,
        caller: Option<&Caller>,
        collection: &str,
        object_id: &str,
        filter: &TaxiiFilter,
        public: bool,
    ) -> AppResult<TaxiiPage> {
        let mut filter = filter.clone();
        filter.ids = vec![object_id.to_owned()];
        if filter.versions.is_empty() {
            filter.versions = vec![VersionMatch::All];
        }
        let page = self.objects(caller, collection, &filter, public).await?;
        if page.objects.is_empty() && filter.next.is_none() {
            return Err(AppError::not_found("object", object_id));
        }
        Ok(page)
    }

    /// One object of a collection (its latest version unless `match[version]` says otherwise).
    pub async fn object(
        &self,
        caller: Option<&Caller>,
        collection: &str,
        object_id: &str,
        filter: &TaxiiFilter,
        public: bool,
    ) -> AppResult<TaxiiPage> {
        let mut filter = filter.clone();
        filter.ids = vec![object_id.to_owned()];
        let page = self.objects(caller, collection, &filter, public).await?;
        if page.objects.is_empty() && filter.next.is_none() {
            return Err(AppError::not_found("object", object_id));
        }
        Ok(page)
    }

    /// Imports the objects of a TAXII envelope (or bundle) posted to a
    /// collection, through the STIX import, and keeps the status resource.
    pub async fn add_objects(
        &self,
        caller: &Caller,
        collection: &str,
        body: &[u8],
    ) -> AppResult<TaxiiStatus> {
        let Scope::Tenant(tenant) = self.scope(Some(caller), collection, false)? else {
            return Err(AppError::Forbidden(format!(
                "collection {collection} is read-only: it gathers what others shared; add objects to your own tenant's collection"
            )));
        };
        let envelope = nigehban_stix::read_envelope(body)
            .map_err(|e| AppError::Invalid(format!("the posted envelope: {e}")))?;
        let request_timestamp = self.app.clock().now();
        let options = StixImport {
            tenant: Some(tenant),
            default_tlp: Tlp::Amber,
            default_pap: nigehban_model::Pap::Amber,
            source: "TAXII".into(),
        };
        let report = self
            .intel()
            .import_stix(caller, &options, &envelope, &mut |_, _| {})
            .await?;
        let versions: HashMap<usize, String> = envelope
            .objects
            .iter()
            .map(|(position, object)| (*position, object.version().to_owned()))
            .collect();
        let mut status = TaxiiStatus {
            id: random_uuid(),
            status: TaxiiStatusKind::Complete,
            request_timestamp,
            total_count: report.len(),
            successes: Vec::new(),
            failures: Vec::new(),
            pendings: Vec::new(),
        };
        for line in &report {
            let detail = TaxiiStatusDetail {
                id: line
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("#{}", line.position)),
                version: versions.get(&line.position).cloned().unwrap_or_default(),
                message: status_message(line),
            };
            match line.fate {
                StixObjectFate::Refused(_) => status.failures.push(detail),
                _ => status.successes.push(detail),
            }
        }
        self.app
            .store()
            .put_taxii_status(&TaxiiStatusRecord {
                id: status.id.clone(),
                tenant,
                created_at: request_timestamp,
                body: status.to_json().to_string(),
            })
            .await?;
        tracing::info!(
            status = %status.id,
            %tenant,
            total = status.total_count,
            failures = status.failures.len(),
            "TAXII objects added"
        );
        Ok(status)
    }

    /// A status resource of the caller's tenant (anyone else's is "not found").
    pub async fn status(&self, caller: &Caller, id: &str) -> AppResult<TaxiiStatus> {
        let not_found = || AppError::not_found("status", id);
        self.intel().reader_path(caller).await?;
        if !Self::reads_intel(caller) {
            return Err(not_found());
        }
        let record = self
            .app
            .store()
            .taxii_status(id)
            .await?
            .ok_or_else(not_found)?;
        if record.tenant != caller.tenant_id() {
            return Err(not_found());
        }
        let value: Value = serde_json::from_str(&record.body)
            .map_err(|e| AppError::Internal(format!("TAXII status {id} is not JSON: {e}")))?;
        TaxiiStatus::from_json(&value).ok_or_else(|| {
            AppError::Internal(format!("TAXII status {id} is not a status resource"))
        })
    }
}

/// What an unauthenticated TAXII request is told.
const UNAUTHENTICATED: &str = "authentication required: send an API token as `Authorization: Bearer <token>` or a platform user's name and password as HTTP Basic";

/// An import report line in words, for a status resource.
fn status_message(line: &StixObjectReport) -> String {
    let seen = if line.new { "added" } else { "already held" };
    match &line.fate {
        StixObjectFate::Kept => seen.to_owned(),
        StixObjectFate::Indicators {
            created,
            updated,
            benign,
            refused,
            skipped,
        } => {
            let mut text = format!("{seen}; {created} indicator(s) created, {updated} updated");
            for (what, list) in [
                ("known-benign", benign),
                ("refused", refused),
                ("not matched", skipped),
            ] {
                if !list.is_empty() {
                    text.push_str(&format!("; {what}: {}", list.join(", ")));
                }
            }
            text
        }
        StixObjectFate::Unsupported(why) => format!("{seen}; no indicator: {why}"),
        StixObjectFate::Refused(why) => format!("refused: {why}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn next_tokens_round_trip_and_refuse_garbage() {
        let cursor = StixCursor {
            date_added: Timestamp::from_unix_micros(1_700_000_000_123_456),
            tenant: TenantId::new(),
            object_id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f".into(),
            modified: "2024-01-01T00:00:00.000Z".into(),
        };
        assert_eq!(decode_next(&encode_next(&cursor)).unwrap(), cursor);
        assert!(decode_next("zz").is_err());
        assert!(decode_next("abc").is_err());
        assert!(decode_next(&hex(b"1\nnot-a-tenant\nx\ny")).is_err());
    }

    #[test]
    fn version_match_reads_the_taxii_words_and_timestamps() {
        assert_eq!(VersionMatch::parse("last").unwrap(), VersionMatch::Last);
        assert_eq!(VersionMatch::parse("all").unwrap(), VersionMatch::All);
        assert!(matches!(
            VersionMatch::parse("2024-01-01T00:00:00Z").unwrap(),
            VersionMatch::At(_)
        ));
        assert!(VersionMatch::parse("newest").is_err());
    }
}
