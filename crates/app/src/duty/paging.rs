//! Escalation policies, contact methods, pages, notifications and their
//! acknowledgement (issue 12, points 4 and 5).
//!
//! - A page opens once per source (`alert:<id>`, `handover:<id>`, a test):
//!   the store's unique key refuses a second one, whichever node tries.
//! - The policy is chosen when the page opens — the nearest tenant on the
//!   page's path (its own first) with a policy that applies to the
//!   severity and RSIT class, the most specific first — and copied into
//!   the page, so a later edit does not change a running escalation. With
//!   no policy, everyone on call in the nearest tenant with a schedule is
//!   paged, three times.
//! - Every step, notification, delivery attempt and acknowledgement is a
//!   new version of its record (`duty_record_versions`, append-only): the
//!   proof of who was told what, when, and who answered.
//! - A message never says more than its recipient may see: the one policy
//!   decides whether the recipient may see the page's source (alerts:
//!   `ViewAlert`, the rest: `ViewRoster` on the page's tenant); if not, the
//!   message names only the severity, the TLP and where to sign in.
//! - The link in a message acknowledges without signing in: it is signed
//!   (HMAC-SHA256 under a key the platform keeps), names one page and one
//!   notification, expires, and works once.

use std::collections::BTreeMap;
use std::time::Duration;

use nigehban_model::duty::{
    DutyRecord, DutyRecordKind, EscalationPolicy, EscalationStep, EscalationTarget, Page,
};
use nigehban_model::{Actor, DutyRecordId, Role, TenantId, Timestamp, Tlp, User, Username};
use nigehban_store::{AuditContext, DutyQuery, StoreError};
use serde::{Deserialize, Serialize};

use super::delivery::{self, Email, SmtpSettings};
use super::template::{MessageTemplates, render};
use super::{Duty, check_name, schedule_view, to_json};
use crate::policy::{self, Action, Decision};
use crate::secrets::{
    decode_base64url, encode_base64url, hmac_sha256, hmac_sha256_matches, random_key, random_token,
};
use crate::{AppError, AppResult, Caller};

/// How the duty loop pages and delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DutySettings {
    /// The SMTP relay; without one, e-mail notifications fail (and say why).
    pub smtp: Option<SmtpSettings>,
    /// The platform's address as people reach it, for links in messages.
    pub public_url: String,
    /// How often the duty loop looks for work.
    pub check_every: Duration,
    /// How many times a failed delivery is tried again.
    pub retries: u32,
    /// The wait before the first retry; doubled for each further one.
    pub retry_after: Duration,
    /// How long an acknowledgement link works.
    pub link_lifetime: Duration,
    /// How long an incoming person has to acknowledge a hand-over before it escalates.
    pub handover_wait: Duration,
    /// The wait between the steps of the policy used when none applies.
    pub default_wait: Duration,
    /// How long one delivery attempt may take.
    pub send_timeout: Duration,
}

impl Default for DutySettings {
    fn default() -> Self {
        Self {
            smtp: None,
            public_url: "http://127.0.0.1:8080".into(),
            check_every: Duration::from_secs(15),
            retries: 4,
            retry_after: Duration::from_secs(30),
            link_lifetime: Duration::from_secs(24 * 60 * 60),
            handover_wait: Duration::from_secs(30 * 60),
            default_wait: Duration::from_secs(15 * 60),
            send_timeout: Duration::from_secs(20),
        }
    }
}

/// Longest a step may wait.
const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);
/// Most repeats of a policy.
const MAX_REPEAT: u32 = 10;
/// The severities a page and a policy name.
const SEVERITIES: &[&str] = &["informational", "low", "medium", "high", "critical"];

/// An escalation policy as stored: the steps, what it applies to and its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    /// Steps, repeats and what it applies to.
    #[serde(flatten)]
    pub policy: EscalationPolicy,
    /// The message its pages send (default: the platform's).
    #[serde(default)]
    pub templates: MessageTemplates,
}

/// An escalation policy as a caller sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyView {
    /// Its id.
    pub id: DutyRecordId,
    /// The owning tenant.
    pub tenant: TenantId,
    /// Its name.
    pub name: String,
    /// Its version (give it back to change it).
    pub version: u64,
    /// The document.
    #[serde(flatten)]
    pub document: PolicyDocument,
}

/// One way to reach a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ContactMethod {
    /// An e-mail address.
    Email {
        /// The address.
        address: String,
    },
    /// A JSON webhook (a chat tool, an SMS gateway), signed with `secret`.
    Webhook {
        /// `https://` (or `http://` on a trusted network).
        url: String,
        /// The HMAC key the receiver checks the signature with (16+ characters; never shown again).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        secret: String,
    },
}

impl ContactMethod {
    fn channel(&self) -> &'static str {
        match self {
            Self::Email { .. } => "email",
            Self::Webhook { .. } => "webhook",
        }
    }

    fn address(&self) -> &str {
        match self {
            Self::Email { address } => address,
            Self::Webhook { url, .. } => url,
        }
    }

    fn check(&self, field: &str) -> AppResult<()> {
        match self {
            Self::Email { address } => {
                let address = address.trim();
                let ok = address.len() <= 254
                    && address.split_once('@').is_some_and(|(local, domain)| {
                        !local.is_empty() && domain.contains('.') || domain == "localhost"
                    })
                    && !address.contains(|c: char| c.is_whitespace() || c.is_control());
                if !ok {
                    return Err(AppError::Invalid(format!(
                        "{field}.address: {address:?} is not an e-mail address"
                    )));
                }
            }
            Self::Webhook { url, secret } => {
                if !(url.starts_with("https://") || url.starts_with("http://"))
                    || url.len() > 2048
                    || url.contains(|c: char| c.is_whitespace() || c.is_control())
                {
                    return Err(AppError::Invalid(format!(
                        "{field}.url: an http:// or https:// URL"
                    )));
                }
                if secret.chars().count() < 16 {
                    return Err(AppError::Invalid(format!(
                        "{field}.secret: at least 16 characters (the receiver checks the signature with it)"
                    )));
                }
            }
        }
        Ok(())
    }

    fn redacted(&self) -> Self {
        match self {
            Self::Email { .. } => self.clone(),
            Self::Webhook { url, .. } => Self::Webhook {
                url: url.clone(),
                secret: String::new(),
            },
        }
    }
}

/// A person's contact record (also holds the hash of their feed secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ContactDocument {
    user: String,
    #[serde(default)]
    methods: Vec<ContactMethod>,
}

/// A person's contact methods as a caller sees them (webhook secrets withheld).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactView {
    /// The user name.
    pub user: String,
    /// Their tenant.
    pub tenant: TenantId,
    /// How to reach them.
    pub methods: Vec<ContactMethod>,
}

/// Who stopped a page's escalation, when, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// The user name.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// `api` or `link`.
    pub via: String,
}

/// A page and its escalation, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageState {
    /// What it is about.
    pub page: Page,
    /// The policy chosen (none: the platform's default).
    pub policy: Option<DutyRecordId>,
    /// The steps followed (a copy taken when the page opened).
    pub escalation: EscalationPolicy,
    /// The message.
    pub templates: MessageTemplates,
    /// The next step to run (0-based over the whole run).
    pub step: usize,
    /// When it opened.
    pub opened_at: Timestamp,
    /// Who stopped it.
    pub acknowledged: Option<Acknowledgement>,
    /// Notifications whose link was used.
    #[serde(default)]
    pub used_links: Vec<DutyRecordId>,
}

/// A page as a caller sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageView {
    /// Its id.
    pub id: DutyRecordId,
    /// The tenant it is for.
    pub tenant: TenantId,
    /// `open`, `acknowledged` or `exhausted` (every step ran, nobody answered).
    pub status: String,
    /// Its version.
    pub version: u64,
    /// When the next step runs (open pages).
    pub next_step_at: Option<Timestamp>,
    /// The page.
    #[serde(flatten)]
    pub state: PageState,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// When it was made.
    pub at: Timestamp,
    /// Whether the relay or receiver took it.
    pub delivered: bool,
    /// What the relay or receiver said, or why it failed.
    pub detail: String,
}

/// One notification and its delivery attempts (the delivery log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationState {
    /// The page it is for.
    pub page: DutyRecordId,
    /// The step (1-based) that sent it.
    pub step: usize,
    /// The user name of the recipient.
    pub recipient: String,
    /// `email`, `webhook` or `none` (nobody, or no way, to reach).
    pub channel: String,
    /// The address or URL.
    pub address: String,
    /// The subject sent.
    pub subject: String,
    /// Whether the recipient may see the page's source (else the message says less).
    pub full: bool,
    /// Until when its acknowledgement link works.
    pub link_expires_at: Timestamp,
    /// Every attempt.
    pub attempts: Vec<DeliveryAttempt>,
    /// When it was delivered.
    pub delivered_at: Option<Timestamp>,
}

/// A delivery log entry as a caller sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotificationView {
    /// Its id.
    pub id: DutyRecordId,
    /// The page's tenant.
    pub tenant: TenantId,
    /// `pending`, `sent`, `failed` or `cancelled` (the page was acknowledged first).
    pub status: String,
    /// When the next attempt is due (pending ones).
    pub next_attempt_at: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
    /// The notification.
    #[serde(flatten)]
    pub state: NotificationState,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, record: &DutyRecord) -> AppResult<T> {
    serde_json::from_value(record.body.clone())
        .map_err(|e| AppError::Internal(format!("stored {what} {}: {e}", record.id)))
}

fn policy_view(record: &DutyRecord) -> AppResult<PolicyView> {
    Ok(PolicyView {
        id: record.id,
        tenant: record.tenant,
        name: record.name.clone(),
        version: record.version,
        document: parse("escalation policy", record)?,
    })
}

fn page_view(record: &DutyRecord) -> AppResult<PageView> {
    Ok(PageView {
        id: record.id,
        tenant: record.tenant,
        status: record.status.clone(),
        version: record.version,
        next_step_at: record.due_at,
        state: parse("page", record)?,
    })
}

fn notification_view(record: &DutyRecord) -> AppResult<NotificationView> {
    Ok(NotificationView {
        id: record.id,
        tenant: record.tenant,
        status: record.status.clone(),
        next_attempt_at: record.due_at,
        created_at: record.created_at,
        state: parse("notification", record)?,
    })
}

fn plus(at: Timestamp, by: Duration) -> Timestamp {
    at.plus(by)
}

const LINK_KEY: &str = "signing-key:ack-links";
const LINK_CONTEXT: &[u8] = b"nigehban-ack-link-v1\n";

impl Duty<'_> {
    fn system_audit(&self) -> AuditContext {
        AuditContext {
            actor: Actor::SYSTEM,
            at: self.now(),
            remote_addr: None,
        }
    }

    async fn typed_record(
        &self,
        caller: &Caller,
        action: Action,
        kind: DutyRecordKind,
        what: &'static str,
        id: DutyRecordId,
    ) -> AppResult<DutyRecord> {
        let record = self
            .app
            .store()
            .duty_record(id)
            .await?
            .filter(|r| r.kind == kind)
            .ok_or_else(|| AppError::not_found(what, id))?;
        self.app
            .authorise(caller, action, record.tenant, what, id)
            .await?;
        Ok(record)
    }

    // ---- escalation policies ----

    async fn check_policy(&self, tenant: TenantId, document: &PolicyDocument) -> AppResult<()> {
        let policy = &document.policy;
        if policy.steps.is_empty() || policy.steps.len() > 20 {
            return Err(AppError::Invalid("steps: 1 to 20 steps".into()));
        }
        if policy.repeat > MAX_REPEAT {
            return Err(AppError::Invalid(format!("repeat: at most {MAX_REPEAT}")));
        }
        for severity in &policy.severities {
            if !SEVERITIES.contains(&severity.to_ascii_lowercase().as_str()) {
                return Err(AppError::Invalid(format!(
                    "severities: {severity:?} is not one of {}",
                    SEVERITIES.join(", ")
                )));
            }
        }
        let path = self.app.path_ids(tenant).await?;
        for (i, step) in policy.steps.iter().enumerate() {
            if step.notify.is_empty() {
                return Err(AppError::Invalid(format!(
                    "steps[{i}].notify: name at least one schedule, person or team"
                )));
            }
            if step.wait().is_zero() || step.wait() > MAX_WAIT {
                return Err(AppError::Invalid(format!(
                    "steps[{i}]: a wait (wait_minutes or wait_seconds) above zero and at most 24 hours"
                )));
            }
            for (j, target) in step.notify.iter().enumerate() {
                let field = format!("steps[{i}].notify[{j}]");
                match target {
                    EscalationTarget::Schedule { schedule } => {
                        let id: DutyRecordId = schedule.trim().parse().map_err(|_| {
                            AppError::Invalid(format!("{field}.schedule: not a schedule id"))
                        })?;
                        let found = self
                            .app
                            .store()
                            .duty_record(id)
                            .await?
                            .filter(|r| r.kind == DutyRecordKind::Schedule);
                        let reachable = match &found {
                            Some(s) => {
                                path.contains(&s.tenant)
                                    || self.app.path_ids(s.tenant).await?.contains(&tenant)
                            }
                            None => false,
                        };
                        if !reachable {
                            return Err(AppError::Invalid(format!(
                                "{field}.schedule: no schedule {id} in the policy's tenant, above or below it"
                            )));
                        }
                    }
                    EscalationTarget::User { user } => {
                        if self.user_named(user).await?.is_none() {
                            return Err(AppError::Invalid(format!(
                                "{field}.user: no active user {user:?}"
                            )));
                        }
                    }
                    EscalationTarget::Team { team } => {
                        check_name(&format!("{field}.team"), team)?;
                    }
                }
            }
        }
        document.templates.check()
    }

    /// Creates an escalation policy for `tenant`.
    pub async fn create_policy(
        &self,
        caller: &Caller,
        tenant: TenantId,
        name: &str,
        document: PolicyDocument,
    ) -> AppResult<PolicyView> {
        let (kind, check) = (
            DutyRecordKind::EscalationPolicy,
            self.check_policy(tenant, &document),
        );
        let stored = self.create_roster_record(caller, tenant, kind, name, &document, check);
        policy_view(&stored.await?)
    }

    /// Changes an escalation policy (`version`: the one read). Pages already
    /// open keep the steps they started with.
    pub async fn update_policy(
        &self,
        caller: &Caller,
        id: DutyRecordId,
        version: u64,
        name: &str,
        document: PolicyDocument,
    ) -> AppResult<PolicyView> {
        let mut record = self
            .typed_record(
                caller,
                Action::ManageRoster,
                DutyRecordKind::EscalationPolicy,
                "escalation policy",
                id,
            )
            .await?;
        record.name = check_name("name", name)?;
        self.check_policy(record.tenant, &document).await?;
        record.body = to_json(&document)?;
        record.updated_at = self.now();
        record.updated_by = caller.user_id();
        let stored = self
            .app
            .store()
            .put_duty_record(&record, version, Some(&self.audit(caller)))
            .await?;
        policy_view(&stored)
    }

    /// Deletes an escalation policy (its versions stay).
    pub async fn delete_policy(&self, caller: &Caller, id: DutyRecordId) -> AppResult<()> {
        self.typed_record(
            caller,
            Action::ManageRoster,
            DutyRecordKind::EscalationPolicy,
            "escalation policy",
            id,
        )
        .await?;
        self.app
            .store()
            .delete_duty_record(id, &self.audit(caller))
            .await?;
        Ok(())
    }

    /// One escalation policy.
    pub async fn policy(&self, caller: &Caller, id: DutyRecordId) -> AppResult<PolicyView> {
        let record = self
            .typed_record(
                caller,
                Action::ViewRoster,
                DutyRecordKind::EscalationPolicy,
                "escalation policy",
                id,
            )
            .await?;
        policy_view(&record)
    }

    /// The escalation policies of `tenant` (default: the caller's) and below.
    pub async fn policies(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
    ) -> AppResult<Vec<PolicyView>> {
        self.listed(caller, DutyRecordKind::EscalationPolicy, tenant)
            .await?
            .iter()
            .map(policy_view)
            .collect()
    }

    // ---- contact methods ----

    async fn user_named(&self, name: &str) -> AppResult<Option<User>> {
        let Ok(username) = Username::parse(name.trim()) else {
            return Ok(None);
        };
        Ok(self
            .app
            .store()
            .user_credentials(&username)
            .await?
            .map(|(user, _)| user)
            .filter(|u| u.active))
    }

    async fn contact_record(&self, user: &User) -> AppResult<Option<DutyRecord>> {
        let name = user.username.to_string();
        Ok(self
            .app
            .store()
            .list_duty_records(&DutyQuery {
                subtree: Some(user.tenant),
                ..DutyQuery::all(DutyRecordKind::Contact)
            })
            .await?
            .into_iter()
            .find(|r| r.name == name && r.tenant == user.tenant))
    }

    /// Replaces the contact methods of `user` (default: the caller). A
    /// person sets their own; administrators and duty officers of their
    /// tenant or above set anyone's.
    pub async fn set_contacts(
        &self,
        caller: &Caller,
        user: Option<&str>,
        methods: Vec<ContactMethod>,
    ) -> AppResult<ContactView> {
        let target = match user {
            Some(name) => self
                .user_named(name)
                .await?
                .ok_or_else(|| AppError::not_found("user", name))?,
            None => {
                let id = caller.user_id().ok_or_else(|| {
                    AppError::Invalid("name the user: the operator has no contact methods".into())
                })?;
                self.app
                    .store()
                    .user(id)
                    .await?
                    .ok_or_else(|| AppError::not_found("user", id))?
            }
        };
        if caller.user_id() != Some(target.id) {
            self.app
                .authorise(
                    caller,
                    Action::ManageRoster,
                    target.tenant,
                    "user",
                    target.id,
                )
                .await?;
        } else if caller.must_change_password() {
            return Err(AppError::Forbidden(
                "choose a new password before doing anything else".into(),
            ));
        }
        if methods.len() > 10 {
            return Err(AppError::Invalid("methods: at most 10".into()));
        }
        for (i, method) in methods.iter().enumerate() {
            method.check(&format!("methods[{i}]"))?;
        }
        let name = target.username.to_string();
        let (mut record, version) = match self.contact_record(&target).await? {
            Some(r) => {
                let v = r.version;
                (r, v)
            }
            None => (
                DutyRecord::new(
                    target.tenant,
                    DutyRecordKind::Contact,
                    name.clone(),
                    serde_json::json!({ "user": name }),
                    self.now(),
                ),
                0,
            ),
        };
        let mut document: ContactDocument = parse("contact", &record)?;
        document.user = name;
        document.methods = methods;
        record.body = to_json(&document)?;
        record.updated_at = self.now();
        record.updated_by = caller.user_id();
        let stored = self
            .app
            .store()
            .put_duty_record(&record, version, Some(&self.audit(caller)))
            .await?;
        contact_view(&stored)
    }

    /// The contact methods of the people of `tenant` (default: the caller's) and below.
    pub async fn contacts(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
    ) -> AppResult<Vec<ContactView>> {
        self.listed(caller, DutyRecordKind::Contact, tenant)
            .await?
            .iter()
            .map(contact_view)
            .collect()
    }

    // ---- pages ----

    /// Pages the on-call people of `tenant` now, as a drill (administrators
    /// and duty officers).
    pub async fn test_page(
        &self,
        caller: &Caller,
        tenant: TenantId,
        severity: &str,
        title: Option<&str>,
    ) -> AppResult<PageView> {
        self.app
            .authorise(caller, Action::ManageRoster, tenant, "tenant", tenant)
            .await?;
        let severity = severity.trim().to_ascii_lowercase();
        if !SEVERITIES.contains(&severity.as_str()) {
            return Err(AppError::Invalid(format!(
                "severity: one of {}",
                SEVERITIES.join(", ")
            )));
        }
        let title = check_name("title", title.unwrap_or("Test page: please acknowledge"))?;
        let page = Page {
            tenant,
            severity,
            rsit_class: None,
            title,
            // Drilled like the real thing: an alert's page is TLP:AMBER.
            tlp: Tlp::Amber,
            link: "/api/v1/oncall/pages".into(),
            source: format!("test:{}", random_token()),
        };
        let record = self
            .open_page(page, Some(&self.audit(caller)))
            .await?
            .ok_or_else(|| AppError::Internal("a test page was refused as a repeat".into()))?;
        page_view(&record)
    }

    /// The pages of `tenant` (default: the caller's) and below, newest first.
    pub async fn pages(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
    ) -> AppResult<Vec<PageView>> {
        self.listed_newest_first(caller, DutyRecordKind::Page, tenant, page_view)
            .await
    }

    /// The pages still open (nobody acknowledged them yet) of `tenant`
    /// (default: the caller's) and below, the `limit` longest waiting
    /// (1 to 10,000), the longest waiting first.
    pub async fn open_pages(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
        limit: u32,
    ) -> AppResult<Vec<PageView>> {
        self.listed_with_status(caller, DutyRecordKind::Page, tenant, Some("open"), limit)
            .await?
            .iter()
            .map(page_view)
            .collect()
    }

    /// One page.
    pub async fn page(&self, caller: &Caller, id: DutyRecordId) -> AppResult<PageView> {
        let record = self
            .typed_record(caller, Action::ViewRoster, DutyRecordKind::Page, "page", id)
            .await?;
        page_view(&record)
    }

    /// Every version of a page: when each step ran and who acknowledged (the proof).
    pub async fn page_history(
        &self,
        caller: &Caller,
        id: DutyRecordId,
    ) -> AppResult<Vec<(Timestamp, PageView)>> {
        self.page(caller, id).await?;
        let mut out = Vec::new();
        for (at, version) in self.app.store().duty_record_versions(id).await? {
            if let Some(record) = version {
                out.push((at, page_view(&record)?));
            }
        }
        Ok(out)
    }

    /// The delivery log of `tenant` (default: the caller's) and below, newest first.
    pub async fn notifications(
        &self,
        caller: &Caller,
        tenant: Option<TenantId>,
    ) -> AppResult<Vec<NotificationView>> {
        self.listed_newest_first(
            caller,
            DutyRecordKind::Notification,
            tenant,
            notification_view,
        )
        .await
    }

    /// Acknowledges a page: its escalation stops.
    pub async fn acknowledge(&self, caller: &Caller, id: DutyRecordId) -> AppResult<PageView> {
        let record = self
            .typed_record(
                caller,
                Action::AcknowledgePage,
                DutyRecordKind::Page,
                "page",
                id,
            )
            .await?;
        let by = match caller.user_id() {
            Some(user) => self
                .app
                .store()
                .user(user)
                .await?
                .map_or_else(|| user.to_string(), |u| u.username.to_string()),
            None => "operator".into(),
        };
        self.stop_page(record, by, "api", None, Some(self.audit(caller)))
            .await
    }

    async fn stop_page(
        &self,
        mut record: DutyRecord,
        by: String,
        via: &str,
        link: Option<DutyRecordId>,
        audit: Option<AuditContext>,
    ) -> AppResult<PageView> {
        let mut state: PageState = parse("page", &record)?;
        if let Some(done) = &state.acknowledged {
            return Err(AppError::Conflict(format!(
                "the page was acknowledged already, by {} at {}",
                done.by,
                done.at.to_rfc3339()
            )));
        }
        let now = self.now();
        state.acknowledged = Some(Acknowledgement {
            by,
            at: now,
            via: via.to_owned(),
        });
        state.used_links.extend(link);
        record.status = "acknowledged".into();
        record.due_at = None;
        record.body = to_json(&state)?;
        record.updated_at = now;
        let version = record.version;
        let stored = self
            .app
            .store()
            .put_duty_record(&record, version, audit.as_ref())
            .await?;
        tracing::info!(page = %stored.id, via, "page acknowledged");
        page_view(&stored)
    }

    // ---- signed acknowledgement links ----

    async fn link_key(&self) -> AppResult<Vec<u8>> {
        for _ in 0..2 {
            if let Some(record) = self.app.store().duty_record_by_key(LINK_KEY).await? {
                return record.body["key"]
                    .as_str()
                    .and_then(decode_base64url)
                    .ok_or_else(|| {
                        AppError::Internal("the link signing key is unreadable".into())
                    });
            }
            let root = self.app.root().await?;
            let mut record = DutyRecord::new(
                root.id,
                DutyRecordKind::Cursor,
                "acknowledgement link signing key",
                serde_json::json!({ "key": random_key() }),
                self.now(),
            );
            record.unique_key = Some(LINK_KEY.into());
            match self.app.store().put_duty_record(&record, 0, None).await {
                // Another node made it first: read theirs.
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Internal(
            "the link signing key could not be made".into(),
        ))
    }

    /// The signed link token for a notification of a page.
    pub(crate) async fn link_token(
        &self,
        page: DutyRecordId,
        notification: DutyRecordId,
        expires: Timestamp,
    ) -> AppResult<String> {
        let key = self.link_key().await?;
        let payload = format!("{page}.{notification}.{}", expires.unix_micros());
        let mut message = LINK_CONTEXT.to_vec();
        message.extend_from_slice(payload.as_bytes());
        Ok(format!(
            "{}.{}",
            encode_base64url(payload.as_bytes()),
            encode_base64url(&hmac_sha256(&key, &message))
        ))
    }

    /// Checks a link token: the page and notification it names. A token that
    /// is not ours is "not found"; an expired one says so.
    async fn read_link(&self, token: &str) -> AppResult<(DutyRecord, DutyRecord)> {
        let not_found = || AppError::not_found("acknowledgement link", "(token)");
        let (payload, signature) = token.trim().split_once('.').ok_or_else(not_found)?;
        let payload = decode_base64url(payload).ok_or_else(not_found)?;
        let signature = decode_base64url(signature).ok_or_else(not_found)?;
        let key = self.link_key().await?;
        let mut message = LINK_CONTEXT.to_vec();
        message.extend_from_slice(&payload);
        if !hmac_sha256_matches(&key, &message, &signature) {
            return Err(not_found());
        }
        let payload = String::from_utf8(payload).map_err(|_| not_found())?;
        let mut parts = payload.split('.');
        let (Some(page), Some(notification), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(not_found());
        };
        let page: DutyRecordId = page.parse().map_err(|_| not_found())?;
        let notification: DutyRecordId = notification.parse().map_err(|_| not_found())?;
        let expires = Timestamp::from_unix_micros(expires.parse().map_err(|_| not_found())?);
        if self.now() > expires {
            return Err(AppError::Conflict(format!(
                "this link expired at {}; sign in to acknowledge the page",
                expires.to_rfc3339()
            )));
        }
        let page = self
            .app
            .store()
            .duty_record(page)
            .await?
            .filter(|r| r.kind == DutyRecordKind::Page)
            .ok_or_else(not_found)?;
        let notification = self
            .app
            .store()
            .duty_record(notification)
            .await?
            .filter(|r| r.kind == DutyRecordKind::Notification)
            .ok_or_else(not_found)?;
        let state: NotificationState = parse("notification", &notification)?;
        if state.page != page.id {
            return Err(not_found());
        }
        let page_state: PageState = parse("page", &page)?;
        if page_state.used_links.contains(&notification.id) {
            return Err(AppError::Conflict("this link was used already".into()));
        }
        Ok((page, notification))
    }

    /// The acknowledgement link a notification carries, for the operator
    /// at the command line (to pass it on by another channel).
    pub async fn notification_link(&self, caller: &Caller, id: DutyRecordId) -> AppResult<String> {
        if caller.via() != crate::Via::Operator {
            return Err(AppError::Forbidden(
                "only the operator at the command line reads notification links".into(),
            ));
        }
        let record = self
            .app
            .store()
            .duty_record(id)
            .await?
            .filter(|r| r.kind == DutyRecordKind::Notification)
            .ok_or_else(|| AppError::not_found("notification", id))?;
        let state: NotificationState = parse("notification", &record)?;
        let token = self
            .link_token(state.page, id, state.link_expires_at)
            .await?;
        let base = self.app.settings().duty.public_url.trim_end_matches('/');
        Ok(format!("{base}/api/v1/oncall/ack/{token}"))
    }

    /// Whether a link would acknowledge (what the page behind a link shows
    /// before the person confirms): the page's status.
    pub async fn check_link(&self, token: &str) -> AppResult<String> {
        let (page, _) = self.read_link(token).await?;
        Ok(page.status)
    }

    /// Acknowledges the page a signed link names, as its recipient; the
    /// link works once.
    pub async fn acknowledge_by_link(&self, token: &str) -> AppResult<PageView> {
        let (page, notification) = self.read_link(token).await?;
        let state: NotificationState = parse("notification", &notification)?;
        let audit = self.system_audit();
        self.stop_page(
            page,
            state.recipient,
            "link",
            Some(notification.id),
            Some(audit),
        )
        .await
    }

    // ---- the escalation itself (the duty loop's system calls) ----

    /// Opens a page unless its source paged already (`None` then), and runs
    /// its first step at once.
    pub(crate) async fn open_page(
        &self,
        page: Page,
        audit: Option<&AuditContext>,
    ) -> AppResult<Option<DutyRecord>> {
        let now = self.now();
        let (policy, document) = self.choose_policy(&page).await?;
        let state = PageState {
            policy,
            escalation: document.policy,
            templates: document.templates,
            step: 0,
            opened_at: now,
            acknowledged: None,
            used_links: Vec::new(),
            page: page.clone(),
        };
        let mut record = DutyRecord::new(
            page.tenant,
            DutyRecordKind::Page,
            page.title.clone(),
            to_json(&state)?,
            now,
        );
        record.status = "open".into();
        record.due_at = Some(now);
        record.unique_key = Some(format!("page:{}", page.source));
        let stored = match self.app.store().put_duty_record(&record, 0, audit).await {
            Ok(stored) => stored,
            Err(StoreError::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        tracing::info!(page = %stored.id, source = %page.source, severity = %page.severity, "page opened");
        Ok(Some(self.run_step(stored).await?))
    }

    /// The policy for a page, and its id (none: the platform's default).
    async fn choose_policy(
        &self,
        page: &Page,
    ) -> AppResult<(Option<DutyRecordId>, PolicyDocument)> {
        let path = self.app.path_ids(page.tenant).await?;
        let policies = self
            .app
            .store()
            .list_duty_records(&DutyQuery::all(DutyRecordKind::EscalationPolicy))
            .await?;
        for tenant in path.iter().rev() {
            let mut here: Vec<PolicyView> = policies
                .iter()
                .filter(|r| r.tenant == *tenant)
                .map(policy_view)
                .collect::<AppResult<_>>()?;
            here.retain(|p| p.document.policy.applies_to(page));
            here.sort_by_key(|p| {
                let specific = usize::from(!p.document.policy.severities.is_empty())
                    + usize::from(!p.document.policy.rsit_classes.is_empty());
                (std::cmp::Reverse(specific), p.name.clone())
            });
            if let Some(chosen) = here.into_iter().next() {
                return Ok((Some(chosen.id), chosen.document));
            }
        }
        // No policy: everyone on call in the nearest tenant with a schedule.
        let schedules = self
            .app
            .store()
            .list_duty_records(&DutyQuery::all(DutyRecordKind::Schedule))
            .await?;
        let nearest = path
            .iter()
            .rev()
            .map(|t| {
                schedules
                    .iter()
                    .filter(|s| s.tenant == *t)
                    .collect::<Vec<_>>()
            })
            .find(|found| !found.is_empty())
            .unwrap_or_default();
        let wait = self.app.settings().duty.default_wait;
        let steps = if nearest.is_empty() {
            Vec::new()
        } else {
            vec![EscalationStep {
                notify: nearest
                    .iter()
                    .map(|s| EscalationTarget::Schedule {
                        schedule: s.id.to_string(),
                    })
                    .collect(),
                wait_minutes: u32::try_from(wait.as_secs() / 60).unwrap_or(u32::MAX),
                wait_seconds: u32::try_from(wait.as_secs()).ok(),
            }]
        };
        Ok((
            None,
            PolicyDocument {
                policy: EscalationPolicy {
                    steps,
                    repeat: 2,
                    severities: Vec::new(),
                    rsit_classes: Vec::new(),
                },
                templates: MessageTemplates::default(),
            },
        ))
    }

    /// The people a step's targets name, on call at `at`.
    async fn recipients(
        &self,
        page: &Page,
        targets: &[EscalationTarget],
        at: Timestamp,
    ) -> AppResult<Vec<String>> {
        let mut people = Vec::new();
        for target in targets {
            match target {
                EscalationTarget::User { user } => people.push(user.trim().to_lowercase()),
                EscalationTarget::Schedule { schedule } => {
                    if let Ok(id) = schedule.trim().parse::<DutyRecordId>()
                        && let Some(record) = self.app.store().duty_record(id).await?
                        && record.kind == DutyRecordKind::Schedule
                    {
                        people.extend(self.on_call_of(&record, at).await?);
                    }
                }
                EscalationTarget::Team { team } => {
                    let path = self.app.path_ids(page.tenant).await?;
                    let schedules = self
                        .app
                        .store()
                        .list_duty_records(&DutyQuery::all(DutyRecordKind::Schedule))
                        .await?;
                    for tenant in path.iter().rev() {
                        let mut found = false;
                        for record in schedules.iter().filter(|s| s.tenant == *tenant) {
                            let view = schedule_view(record)?;
                            if view.document.team.eq_ignore_ascii_case(team.trim()) {
                                found = true;
                                people.extend(self.on_call_of(record, at).await?);
                            }
                        }
                        if found {
                            break;
                        }
                    }
                }
            }
        }
        let mut seen = Vec::new();
        people.retain(|p| {
            let fresh = !seen.contains(p);
            seen.push(p.clone());
            fresh
        });
        Ok(people)
    }

    /// Who a schedule has on call at `at` (its current version).
    pub(crate) async fn on_call_of(
        &self,
        record: &DutyRecord,
        at: Timestamp,
    ) -> AppResult<Option<String>> {
        let view = schedule_view(record)?;
        let holidays = self.holiday_dates(&view.document).await?;
        Ok(view
            .document
            .roster
            .on_call_at(at, &holidays)
            .map_err(|e| AppError::Invalid(format!("schedule {}: {e}", view.id)))?
            .map(|shift| shift.user))
    }

    /// Runs a page's next step if it is due and open: writes the step's
    /// notifications (each once, by key), then claims the step (a version
    /// check, so the page moves on once).
    pub(crate) async fn run_step(&self, mut record: DutyRecord) -> AppResult<DutyRecord> {
        if record.status != "open" {
            return Ok(record);
        }
        let now = self.now();
        let mut state: PageState = parse("page", &record)?;
        let index = state.step;
        let version = record.version;
        let Some(step) = state.escalation.step(index).cloned() else {
            record.status = "exhausted".into();
            record.due_at = None;
            record.updated_at = now;
            tracing::warn!(page = %record.id, "every step of the escalation ran and nobody acknowledged");
            return self.move_on(record, version).await;
        };
        // The step's notifications are written before the step is claimed,
        // each under a key of its own (page, step, person, address): a node
        // that dies between the two leaves the page at this step, and the
        // step runs again without writing any notification twice. Claiming
        // first would lose the step's notifications in that crash.
        let people = self.recipients(&state.page, &step.notify, now).await?;
        tracing::info!(page = %record.id, step = index + 1, people = people.len(), "escalation step");
        if people.is_empty() {
            self.record_notification(
                &record,
                &state,
                index,
                "(nobody on call)",
                None,
                false,
                "no one to notify: nobody is on call for this step's targets",
            )
            .await?;
        }
        for person in people {
            self.notify(&record, &state, index, &person).await?;
        }
        state.step += 1;
        record.due_at = Some(plus(now, step.wait()));
        record.body = to_json(&state)?;
        record.updated_at = now;
        self.move_on(record, version).await
    }

    /// Writes the page's next state unless another node moved it from
    /// `version` first (then it ran this step, and its notifications are these).
    async fn move_on(&self, record: DutyRecord, version: u64) -> AppResult<DutyRecord> {
        match self
            .app
            .store()
            .put_duty_record(&record, version, None)
            .await
        {
            Ok(stored) => Ok(stored),
            Err(StoreError::Stale { .. }) => Ok(record),
            Err(e) => Err(e.into()),
        }
    }

    /// Makes the notifications of one person for one step: one per contact
    /// method, each delivered (and retried) by the duty loop.
    async fn notify(
        &self,
        page: &DutyRecord,
        state: &PageState,
        index: usize,
        person: &str,
    ) -> AppResult<()> {
        let Some(user) = self.user_named(person).await? else {
            return self
                .record_notification(
                    page,
                    state,
                    index,
                    person,
                    None,
                    false,
                    "no active user of this name",
                )
                .await;
        };
        let full = self.may_see(&user, &state.page).await?;
        let methods = match self.contact_record(&user).await? {
            Some(record) => parse::<ContactDocument>("contact", &record)?.methods,
            None => Vec::new(),
        };
        if methods.is_empty() {
            return self
                .record_notification(
                    page,
                    state,
                    index,
                    person,
                    None,
                    full,
                    "the person has no contact method",
                )
                .await;
        }
        for method in &methods {
            self.record_notification(page, state, index, person, Some(method), full, "")
                .await?;
        }
        Ok(())
    }

    /// Whether `user` may see the page's source (the one policy decides).
    async fn may_see(&self, user: &User, page: &Page) -> AppResult<bool> {
        let action = if page.source.starts_with("alert:") {
            Action::ViewAlert
        } else {
            Action::ViewRoster
        };
        let relation = policy::relation(
            &self.app.path_ids(user.tenant).await?,
            &self.app.path_ids(page.tenant).await?,
        );
        Ok(user.role != Role::CouncilMember
            && policy::decide(user.role, action, relation) == Decision::Allow)
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_notification(
        &self,
        page: &DutyRecord,
        state: &PageState,
        index: usize,
        person: &str,
        method: Option<&ContactMethod>,
        full: bool,
        failure: &str,
    ) -> AppResult<()> {
        let now = self.now();
        let settings = &self.app.settings().duty;
        let values = self
            .message_values(page, state, index, person, full, "(link)")
            .await?;
        let subject = format!(
            "[{}] {}",
            state.page.tlp.label(),
            render(&state.templates.subject, &values)?
        );
        let mut notification = NotificationState {
            page: page.id,
            step: index + 1,
            recipient: person.to_owned(),
            channel: method.map_or("none", ContactMethod::channel).to_owned(),
            address: method
                .map(ContactMethod::address)
                .unwrap_or_default()
                .to_owned(),
            subject,
            full,
            link_expires_at: plus(now, settings.link_lifetime),
            attempts: Vec::new(),
            delivered_at: None,
        };
        let mut record = DutyRecord::new(
            page.tenant,
            DutyRecordKind::Notification,
            person,
            serde_json::Value::Null,
            now,
        );
        if method.is_some() {
            record.status = "pending".into();
            record.due_at = Some(now);
        } else {
            notification.attempts.push(DeliveryAttempt {
                at: now,
                delivered: false,
                detail: failure.to_owned(),
            });
            record.status = "failed".into();
            tracing::warn!(page = %page.id, person, failure, "a page could not reach someone");
        }
        record.body = to_json(&notification)?;
        record.unique_key = Some(format!(
            "notification:{}:{}:{}:{}:{}",
            page.id, notification.step, person, notification.channel, notification.address
        ));
        match self.app.store().put_duty_record(&record, 0, None).await {
            // Written before, by this step's run that a crash or another node cut short.
            Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn message_values(
        &self,
        page: &DutyRecord,
        state: &PageState,
        index: usize,
        person: &str,
        full: bool,
        ack_link: &str,
    ) -> AppResult<BTreeMap<&'static str, String>> {
        let base = self.app.settings().duty.public_url.trim_end_matches('/');
        let withheld = "(withheld: sign in to see it)".to_owned();
        let tenant = if full {
            self.app
                .store()
                .tenant(page.tenant)
                .await?
                .map_or_else(|| page.tenant.to_string(), |t| t.name.to_string())
        } else {
            withheld.clone()
        };
        Ok(BTreeMap::from([
            (
                "title",
                if full {
                    state.page.title.clone()
                } else {
                    format!(
                        "a {} page for a tenant you may not see in full",
                        state.page.severity
                    )
                },
            ),
            ("severity", state.page.severity.clone()),
            ("tenant", tenant),
            (
                "source",
                if full {
                    state.page.source.clone()
                } else {
                    withheld.clone()
                },
            ),
            (
                "link",
                if full {
                    format!("{base}{}", state.page.link)
                } else {
                    format!("{base}/api/v1/oncall/pages/{}", page.id)
                },
            ),
            ("ack_link", ack_link.to_owned()),
            (
                "rsit_class",
                if full {
                    state.page.rsit_class.clone().unwrap_or_default()
                } else {
                    withheld
                },
            ),
            ("recipient", person.to_owned()),
            ("step", (index + 1).to_string()),
            ("tlp", state.page.tlp.label().to_owned()),
        ]))
    }

    /// Makes one delivery attempt of a due notification (claimed first, so
    /// one node sends it), and records the outcome: delivered, retried
    /// later with back-off, failed after the last retry, or cancelled when
    /// the page was acknowledged meanwhile.
    pub(crate) async fn attempt(&self, mut record: DutyRecord) -> AppResult<()> {
        if record.status != "pending" {
            return Ok(());
        }
        let settings = self.app.settings().duty.clone();
        let now = self.now();
        let mut state: NotificationState = parse("notification", &record)?;
        let page = self.app.store().duty_record(state.page).await?;
        let page_state = match &page {
            Some(p) => Some(parse::<PageState>("page", p)?),
            None => None,
        };
        let version = record.version;
        if page.as_ref().is_none_or(|p| p.status == "acknowledged") {
            record.status = "cancelled".into();
            record.due_at = None;
            record.updated_at = now;
            return match self
                .app
                .store()
                .put_duty_record(&record, version, None)
                .await
            {
                Ok(_) | Err(StoreError::Stale { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            };
        }
        let (Some(page), Some(page_state)) = (page, page_state) else {
            return Ok(());
        };
        // The claim: a lease long enough for one attempt.
        record.due_at = Some(plus(now, settings.send_timeout * 2));
        record.updated_at = now;
        let claimed = match self
            .app
            .store()
            .put_duty_record(&record, version, None)
            .await
        {
            Ok(stored) => stored,
            Err(StoreError::Stale { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let token = self
            .link_token(page.id, claimed.id, state.link_expires_at)
            .await?;
        let base = settings.public_url.trim_end_matches('/');
        let ack_link = format!("{base}/api/v1/oncall/ack/{token}");
        let values = self
            .message_values(
                &page,
                &page_state,
                state.step - 1,
                &state.recipient,
                state.full,
                &ack_link,
            )
            .await?;
        let body = render(&page_state.templates.body, &values)?;
        let outcome = match state.channel.as_str() {
            "email" => {
                delivery::send_email(
                    settings.smtp.as_ref(),
                    Email {
                        to: &state.address,
                        subject: &state.subject,
                        body: &body,
                    },
                    settings.send_timeout,
                )
                .await
            }
            "webhook" => {
                let secret = self
                    .webhook_secret(&state.recipient, &state.address)
                    .await?;
                let payload = serde_json::json!({
                    "kind": "page",
                    "page": page.id,
                    "notification": claimed.id,
                    "step": state.step,
                    "recipient": state.recipient,
                    "severity": page_state.page.severity,
                    "tlp": page_state.page.tlp.label(),
                    "subject": state.subject,
                    "text": body,
                    "ack_link": ack_link,
                });
                match secret {
                    Some(secret) => {
                        delivery::send_webhook(
                            &state.address,
                            &secret,
                            payload.to_string(),
                            settings.send_timeout,
                        )
                        .await
                    }
                    None => {
                        Err("the webhook is no longer among the person's contact methods".into())
                    }
                }
            }
            other => Err(format!("unknown channel {other:?}")),
        };
        let at = self.now();
        let mut record = claimed;
        match outcome {
            Ok(detail) => {
                state.attempts.push(DeliveryAttempt {
                    at,
                    delivered: true,
                    detail,
                });
                state.delivered_at = Some(at);
                record.status = "sent".into();
                record.due_at = None;
            }
            Err(detail) => {
                tracing::warn!(notification = %record.id, channel = %state.channel, %detail, "a notification was not delivered");
                state.attempts.push(DeliveryAttempt {
                    at,
                    delivered: false,
                    detail,
                });
                let tries = u32::try_from(state.attempts.len()).unwrap_or(u32::MAX);
                if tries > settings.retries {
                    record.status = "failed".into();
                    record.due_at = None;
                } else {
                    let backoff = settings
                        .retry_after
                        .saturating_mul(1 << (tries - 1).min(16));
                    record.due_at = Some(plus(at, backoff));
                }
            }
        }
        record.body = to_json(&state)?;
        record.updated_at = at;
        let version = record.version;
        self.app
            .store()
            .put_duty_record(&record, version, None)
            .await?;
        Ok(())
    }

    async fn webhook_secret(&self, person: &str, url: &str) -> AppResult<Option<String>> {
        let Some(user) = self.user_named(person).await? else {
            return Ok(None);
        };
        let Some(record) = self.contact_record(&user).await? else {
            return Ok(None);
        };
        Ok(parse::<ContactDocument>("contact", &record)?
            .methods
            .into_iter()
            .find_map(|m| match m {
                ContactMethod::Webhook { url: u, secret } if u == url => Some(secret),
                _ => None,
            }))
    }
}

fn contact_view(record: &DutyRecord) -> AppResult<ContactView> {
    let document: ContactDocument = parse("contact", record)?;
    Ok(ContactView {
        user: if document.user.is_empty() {
            record.name.clone()
        } else {
            document.user
        },
        tenant: record.tenant,
        methods: document
            .methods
            .iter()
            .map(ContactMethod::redacted)
            .collect(),
    })
}
