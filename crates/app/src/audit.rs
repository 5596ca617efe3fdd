//! The audit log: reading it, verifying it, and recording reads of protected material.

use nigehban_model::{
    AuditAction, AuditDraft, AuditEntry, AuditEntryId, AuditVerification, ChainHead, JsonText,
    KeyFingerprint, TenantId, Timestamp, Tlp,
};
use nigehban_store::{AuditQuery, Page, PageRequest};

use crate::policy::Action;
use crate::{App, AppError, AppResult, Caller};

/// Which audit entries to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditListing {
    /// Entries concerning this tenant and those below it; default the caller's tenant.
    pub under: Option<TenantId>,
    /// Newest first (otherwise in chain order, oldest first).
    pub newest_first: bool,
}

/// A read of protected material (TLP:AMBER or above), to be audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedRead {
    /// The kind of record read, e.g. `indicator`, `advisory`.
    pub record_kind: String,
    /// Its id.
    pub record_id: String,
    /// The tenant that owns it.
    pub tenant: TenantId,
    /// Its TLP label.
    pub tlp: Tlp,
}

/// The audit log; see [`App::audit`].
#[derive(Debug, Clone, Copy)]
pub struct AuditLog<'a> {
    pub(crate) app: &'a App,
}

impl AuditLog<'_> {
    /// Audit entries concerning tenant `under` (default: the caller's) and the
    /// tenants below it (administrators and auditors).
    pub async fn list(
        &self,
        caller: &Caller,
        listing: AuditListing,
        page: &PageRequest,
    ) -> AppResult<Page<AuditEntry>> {
        let under = listing.under.unwrap_or(caller.tenant_id());
        self.app
            .authorise(caller, Action::ReadAudit, under, "tenant", under)
            .await?;
        let query = AuditQuery {
            subtree: Some(under),
            newest_first: listing.newest_first,
        };
        let page = self.app.store().list_audit(query, page).await?;
        Ok(self
            .app
            .within_reach(caller, Action::ReadAudit, under, page, |e| e.tenant))
    }

    /// Recomputes the whole chain, checks every MAC with the audit key, and
    /// names the first entry that does not match (administrators and
    /// auditors of the root tenant: the chain spans every tenant).
    pub async fn verify(&self, caller: &Caller) -> AppResult<AuditVerification> {
        self.verify_against(caller, &[]).await
    }

    /// Like [`AuditLog::verify`], and every head in `anchors` (kept by the
    /// operator outside the database) must still be in the log, unchanged.
    pub async fn verify_against(
        &self,
        caller: &Caller,
        anchors: &[ChainHead],
    ) -> AppResult<AuditVerification> {
        self.authorise_whole_log(caller).await?;
        Ok(self.app.store().verify_audit_against(anchors).await?)
    }

    /// The fingerprint of the audit key the log is sealed (or verified) with.
    pub fn key_fingerprint(&self) -> KeyFingerprint {
        self.app.store().audit_key_fingerprint()
    }

    /// The chain head (last `seq` and hash), to publish as an anchor.
    pub async fn head(&self, caller: &Caller) -> AppResult<ChainHead> {
        self.authorise_whole_log(caller).await?;
        Ok(self.app.store().audit_head().await?)
    }

    /// Records that the caller read protected material. Every read at
    /// TLP:AMBER and above is one audit entry; lower labels are not recorded
    /// (returns `None`). Features that serve shared material call this after
    /// `policy::can_read_shared` allowed the read.
    pub async fn record_read(
        &self,
        caller: &Caller,
        read: ProtectedRead,
    ) -> AppResult<Option<AuditEntry>> {
        if !read.tlp.read_is_audited() {
            return Ok(None);
        }
        let context = caller.audit_context();
        let details = serde_json::json!({ "tlp": read.tlp.as_str() });
        let draft = AuditDraft {
            id: AuditEntryId::new(),
            instance: self.app.instance(),
            tenant: read.tenant,
            at: Timestamp::now(),
            actor: context.actor,
            action: AuditAction::RECORD_READ,
            record_kind: read.record_kind,
            record_id: read.record_id,
            before: None,
            after: Some(JsonText::of(&details).map_err(|e| AppError::Internal(e.to_string()))?),
            remote_addr: context.remote_addr,
        };
        Ok(Some(self.app.store().append_audit(draft).await?))
    }

    async fn authorise_whole_log(&self, caller: &Caller) -> AppResult<()> {
        let root = self.app.root().await?;
        self.app
            .authorise(caller, Action::VerifyAudit, root.id, "audit log", "")
            .await
            .map_err(|error| match error {
                AppError::NotFound { .. } => AppError::Forbidden(
                    "only administrators and auditors of the national CERT can verify the whole audit log".into(),
                ),
                other => other,
            })
    }
}
