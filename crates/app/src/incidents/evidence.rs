//! Evidence: files attached to incidents (or to reports, until triaged),
//! stored by the SHA-256 of their content, checked on every download, every
//! access in the audit log — which is the chain of custody.
//!
//! Nothing is ever executed or rendered: the content is stored and returned
//! as bytes (the server sends it as `application/octet-stream`, as an
//! attachment, with `X-Content-Type-Options: nosniff`). The declared media
//! type is recorded after two checks: it must be one the platform knows
//! ([`EVIDENCE_MEDIA_TYPES`]; anything else is sent as
//! `application/octet-stream`), and for types with a recognisable signature
//! (PDF, PNG, JPEG, ZIP, gzip, 7-Zip, pcap, pcapng, EVTX) or text types the
//! content must match, so a label cannot disguise what a file is.

use nigehban_model::{
    Actor, Audience, AuditAction, AuditDraft, AuditEntry, AuditEntryId, Evidence, EvidenceFileName,
    EvidenceId, IncidentReportId, JsonText, ReportStatus, TenantId, TimelineKind, Timestamp,
    incident,
};
use nigehban_store::{AuditAfter, AuditNote, EvidenceOf, IncidentWrite};
use serde::Serialize;

use super::{IncidentRef, Incidents, Viewer, authorise_tree, invalid};
use crate::policy::{Action, IncidentView};
use crate::{AppError, AppResult, Caller};

/// The media types evidence may be declared as; send anything else as `application/octet-stream`.
pub const EVIDENCE_MEDIA_TYPES: &[&str] = &[
    "application/octet-stream",
    "text/plain",
    "text/csv",
    "text/html",
    "application/json",
    "application/x-ndjson",
    "application/xml",
    "message/rfc822",
    "application/pdf",
    "image/png",
    "image/jpeg",
    "application/zip",
    "application/gzip",
    "application/x-7z-compressed",
    "application/vnd.tcpdump.pcap",
    "application/x-pcapng",
    "application/x-ms-evtx",
];

/// A file to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvidence {
    /// Its name, as the uploader gives it (only the last path component is kept).
    pub filename: String,
    /// The media type the uploader declares.
    pub content_type: String,
    /// What it is.
    pub description: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// A downloaded evidence file, its SHA-256 checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceDownload {
    /// The record.
    pub evidence: Evidence,
    /// The bytes, exactly as uploaded.
    pub content: Vec<u8>,
}

/// An evidence file's chain of custody: the record and every audit entry
/// about it (upload, attachment to an incident, downloads, failed integrity
/// checks, exports), in chain order with their hashes, so it can be checked
/// against the audit chain (`nigehban audit verify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustodyRecord {
    /// The record.
    pub evidence: Evidence,
    /// The audit entries, oldest first.
    pub entries: Vec<AuditEntry>,
    /// When this record was exported.
    pub exported_at: Timestamp,
    /// Who exported it.
    pub exported_by: Actor,
}

/// The signature content of a media type must start with, if it has one.
fn signature(media_type: &str) -> Option<&'static [&'static [u8]]> {
    Some(match media_type {
        "application/pdf" => &[b"%PDF-"],
        "image/png" => &[b"\x89PNG\r\n\x1a\n"],
        "image/jpeg" => &[b"\xff\xd8\xff"],
        "application/zip" => &[b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"],
        "application/gzip" => &[b"\x1f\x8b"],
        "application/x-7z-compressed" => &[b"7z\xbc\xaf\x27\x1c"],
        "application/vnd.tcpdump.pcap" => &[
            b"\xd4\xc3\xb2\xa1",
            b"\xa1\xb2\xc3\xd4",
            b"\x4d\x3c\xb2\xa1",
            b"\xa1\xb2\x3c\x4d",
        ],
        "application/x-pcapng" => &[b"\x0a\x0d\x0d\x0a"],
        "application/x-ms-evtx" => &[b"ElfFile\x00"],
        _ => return None,
    })
}

/// Checks an upload: not empty, within `max` bytes, a known media type, and
/// content that matches it. Returns the media type as recorded (lower-case,
/// without parameters).
pub fn check_evidence_content(
    declared: &str,
    content: &[u8],
    max: usize,
) -> Result<String, String> {
    if content.is_empty() {
        return Err("the evidence file is empty".into());
    }
    if content.len() > max {
        return Err(format!(
            "the evidence file is {} bytes; at most {max} are accepted",
            content.len()
        ));
    }
    let media_type = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let media_type = if media_type.is_empty() {
        "application/octet-stream".to_owned()
    } else {
        media_type
    };
    if !EVIDENCE_MEDIA_TYPES.contains(&media_type.as_str()) {
        return Err(format!(
            "content type {media_type:?} is not accepted for evidence; use one of {} (application/octet-stream for anything else)",
            EVIDENCE_MEDIA_TYPES.join(", ")
        ));
    }
    if let Some(signatures) = signature(&media_type)
        && !signatures.iter().any(|magic| content.starts_with(magic))
    {
        return Err(format!(
            "the content is not {media_type} (its first bytes do not match); send it as application/octet-stream if unsure"
        ));
    }
    let text = media_type.starts_with("text/")
        || matches!(
            media_type.as_str(),
            "application/json" | "application/x-ndjson" | "application/xml" | "message/rfc822"
        );
    if text && std::str::from_utf8(content).is_err() {
        return Err(format!(
            "the content is declared {media_type} but is not UTF-8 text; send it as application/octet-stream"
        ));
    }
    Ok(media_type)
}

impl Incidents<'_> {
    fn new_evidence(
        &self,
        caller: &Caller,
        new: &NewEvidence,
    ) -> AppResult<(EvidenceFileName, String, String)> {
        let filename = EvidenceFileName::parse(&new.filename).map_err(invalid)?;
        let description = incident::free_text("description", &new.description).map_err(invalid)?;
        let media_type = check_evidence_content(
            &new.content_type,
            &new.content,
            self.app.settings().incidents.evidence_max_bytes,
        )
        .map_err(AppError::Invalid)?;
        let _ = caller;
        Ok((filename, description, media_type))
    }

    /// Attaches a file to an incident (custody).
    pub async fn upload_evidence(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
        new: NewEvidence,
    ) -> AppResult<Evidence> {
        let viewer = Viewer::of(self.app, caller).await?;
        let incident = self.load(reference).await?;
        viewer.authorise(Action::WorkIncident, &incident)?;
        let (filename, description, media_type) = self.new_evidence(caller, &new)?;
        let size = new.content.len() as u64;
        let digest = self.app.store().put_evidence_content(new.content).await?;
        let item = Evidence {
            id: EvidenceId::new(),
            instance: self.app.instance(),
            tenant: caller.tenant_id(),
            incident: Some(incident.id),
            report: None,
            sha256: digest,
            size,
            filename,
            content_type: media_type,
            description,
            uploaded_by: caller.actor(),
            uploaded_at: self.now(),
        };
        let write = IncidentWrite {
            timeline: vec![self.entry(
                caller,
                incident.id,
                (
                    TimelineKind::EvidenceAdded {
                        evidence: item.id,
                        sha256: digest,
                    },
                    Audience::Custody,
                    format!("evidence {} ({size} bytes)", item.filename.as_str()),
                ),
            )],
            audit: vec![AuditNote {
                tenant: incident.owner,
                action: AuditAction::EVIDENCE_UPLOAD,
                record_kind: "evidence",
                record_id: item.id.to_string(),
                before: None,
                after: AuditAfter::Record,
            }],
            new_evidence: vec![item.clone()],
            ..IncidentWrite::default()
        };
        self.app
            .store()
            .write_incidents(write, &self.audit_context(caller))
            .await?;
        tracing::info!(incident = %incident.readable_id, evidence = %item.id, sha256 = %digest, size, "evidence uploaded");
        Ok(item)
    }

    /// Attaches a file to a report not yet triaged (its organisation's reporters,
    /// or a CERT reporting for it); it becomes the incident's evidence at triage.
    pub async fn attach_to_report(
        &self,
        caller: &Caller,
        report: IncidentReportId,
        new: NewEvidence,
    ) -> AppResult<Evidence> {
        let viewer = Viewer::of(self.app, caller).await?;
        let found = self.visible_report(&viewer, report).await?;
        authorise_tree(
            &viewer,
            Action::ReportIncident,
            found.tenant,
            "incident report",
        )?;
        if found.status != ReportStatus::Submitted {
            return Err(AppError::Conflict(format!(
                "report {report} was already {}; attach evidence to its incident instead",
                found.status.word()
            )));
        }
        let (filename, description, media_type) = self.new_evidence(caller, &new)?;
        let size = new.content.len() as u64;
        let digest = self.app.store().put_evidence_content(new.content).await?;
        let item = Evidence {
            id: EvidenceId::new(),
            instance: self.app.instance(),
            tenant: caller.tenant_id(),
            incident: None,
            report: Some(report),
            sha256: digest,
            size,
            filename,
            content_type: media_type,
            description,
            uploaded_by: caller.actor(),
            uploaded_at: self.now(),
        };
        let write = IncidentWrite {
            audit: vec![AuditNote {
                tenant: found.tenant,
                action: AuditAction::EVIDENCE_UPLOAD,
                record_kind: "evidence",
                record_id: item.id.to_string(),
                before: None,
                after: AuditAfter::Record,
            }],
            new_evidence: vec![item.clone()],
            ..IncidentWrite::default()
        };
        self.app
            .store()
            .write_incidents(write, &self.audit_context(caller))
            .await?;
        Ok(item)
    }

    /// An incident's evidence records (custody and earlier owners).
    pub async fn evidence_of_incident(
        &self,
        caller: &Caller,
        reference: &IncidentRef,
    ) -> AppResult<Vec<Evidence>> {
        let viewer = Viewer::of(self.app, caller).await?;
        let incident = self.load(reference).await?;
        viewer.authorise(Action::ViewIncident, &incident)?;
        if viewer.view(&incident) < IncidentView::Full {
            return Err(AppError::Forbidden(
                "evidence is for the incident's custody and earlier owners".into(),
            ));
        }
        Ok(self
            .app
            .store()
            .list_evidence(EvidenceOf::Incident(incident.id))
            .await?)
    }

    /// A report's attachments (its organisation and the CERTs above).
    pub async fn evidence_of_report(
        &self,
        caller: &Caller,
        report: IncidentReportId,
    ) -> AppResult<Vec<Evidence>> {
        let viewer = Viewer::of(self.app, caller).await?;
        let found = self.visible_report(&viewer, report).await?;
        Ok(self
            .app
            .store()
            .list_evidence(EvidenceOf::Report(found.id))
            .await?)
    }

    /// The evidence record, when the caller may see it: custody of its
    /// incident, or those who see the report it came with.
    pub async fn evidence(&self, caller: &Caller, id: EvidenceId) -> AppResult<Evidence> {
        let viewer = Viewer::of(self.app, caller).await?;
        self.visible_evidence(&viewer, id).await
    }

    async fn visible_evidence(&self, viewer: &Viewer, id: EvidenceId) -> AppResult<Evidence> {
        let not_found = || AppError::not_found("evidence", id);
        let item = self.app.store().evidence(id).await?.ok_or_else(not_found)?;
        let mut refusal = None;
        if let Some(incident) = item.incident
            && let Some(found) = self.app.store().incident(incident).await?
        {
            if viewer.view(&found) == IncidentView::Full {
                viewer.authorise(Action::ViewIncident, &found)?;
                return Ok(item);
            }
            // A stakeholder whose role sees no incident is told so, like for the incident itself.
            if let Err(forbidden @ AppError::Forbidden(_)) =
                viewer.authorise(Action::ViewIncident, &found)
            {
                refusal = Some(forbidden);
            }
        }
        if let Some(report) = item.report
            && self.visible_report(viewer, report).await.is_ok()
        {
            return Ok(item);
        }
        Err(refusal.unwrap_or_else(not_found))
    }

    /// Downloads an evidence file. Its content is read back and its SHA-256
    /// checked against the record: content altered or missing behind the
    /// platform's back is refused ([`AppError::IntegrityFailure`]) and that
    /// failure is audited; a good download is audited too.
    pub async fn download_evidence(
        &self,
        caller: &Caller,
        id: EvidenceId,
    ) -> AppResult<EvidenceDownload> {
        let viewer = Viewer::of(self.app, caller).await?;
        let item = self.visible_evidence(&viewer, id).await?;
        let tenant = self.custody_tenant(&item).await?;
        let content = self.app.store().evidence_content(item.sha256).await?;
        let failure = match &content {
            None => Some(("missing".to_owned(), None)),
            Some(bytes) => {
                let found = nigehban_model::Sha256Digest::of(bytes);
                (found != item.sha256).then(|| ("altered".to_owned(), Some(found)))
            }
        };
        if let Some((what, found)) = failure {
            let details = serde_json::json!({
                "sha256_recorded": item.sha256.to_hex(),
                "sha256_found": found.map(|f| f.to_hex()),
                "content": what,
            });
            self.audit_event(
                caller,
                tenant,
                AuditAction::EVIDENCE_INTEGRITY_FAILURE,
                &item,
                details,
            )
            .await?;
            tracing::error!(evidence = %item.id, sha256 = %item.sha256, %what, "evidence failed its integrity check");
            return Err(AppError::IntegrityFailure(format!(
                "evidence {} ({}) failed its integrity check: its stored content is {what}{}; it was not served, and the failure is in the audit log",
                item.id,
                item.filename.as_str(),
                found.map_or_else(String::new, |f| format!(
                    " (SHA-256 {f}, recorded {})",
                    item.sha256
                )),
            )));
        }
        let content = content.unwrap_or_default();
        self.audit_event(
            caller,
            tenant,
            AuditAction::EVIDENCE_DOWNLOAD,
            &item,
            serde_json::json!({ "sha256": item.sha256.to_hex(), "size": item.size }),
        )
        .await?;
        Ok(EvidenceDownload {
            evidence: item,
            content,
        })
    }

    /// The evidence file's chain of custody (the export is itself audited).
    pub async fn custody(&self, caller: &Caller, id: EvidenceId) -> AppResult<CustodyRecord> {
        let viewer = Viewer::of(self.app, caller).await?;
        let item = self.visible_evidence(&viewer, id).await?;
        let tenant = self.custody_tenant(&item).await?;
        self.audit_event(
            caller,
            tenant,
            AuditAction::EVIDENCE_CUSTODY_EXPORT,
            &item,
            serde_json::json!({ "sha256": item.sha256.to_hex() }),
        )
        .await?;
        let entries = self
            .app
            .store()
            .audit_of_record("evidence", &item.id.to_string())
            .await?;
        Ok(CustodyRecord {
            evidence: item,
            entries,
            exported_at: self.now(),
            exported_by: caller.actor(),
        })
    }

    /// The tenant whose auditors see an evidence file's custody: its incident's owner, else its uploader's.
    async fn custody_tenant(&self, item: &Evidence) -> AppResult<TenantId> {
        if let Some(incident) = item.incident
            && let Some(found) = self.app.store().incident(incident).await?
        {
            return Ok(found.owner);
        }
        if let Some(report) = item.report
            && let Some(found) = self.app.store().incident_report(report).await?
        {
            return Ok(found.tenant);
        }
        Ok(item.tenant)
    }

    async fn audit_event(
        &self,
        caller: &Caller,
        tenant: TenantId,
        action: AuditAction,
        item: &Evidence,
        details: serde_json::Value,
    ) -> AppResult<AuditEntry> {
        let context = self.audit_context(caller);
        let draft = AuditDraft {
            id: AuditEntryId::new(),
            instance: self.app.instance(),
            tenant,
            at: context.at,
            actor: context.actor,
            action,
            record_kind: "evidence".into(),
            record_id: item.id.to_string(),
            before: None,
            after: Some(JsonText::of(&details).map_err(|e| AppError::Internal(e.to_string()))?),
            remote_addr: context.remote_addr,
        };
        Ok(self.app.store().append_audit(draft).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_checked_against_the_content() {
        let max = 1024;
        assert_eq!(
            check_evidence_content("", b"\x00\x01", max).unwrap(),
            "application/octet-stream"
        );
        assert_eq!(
            check_evidence_content("Application/PDF; charset=x", b"%PDF-1.7\n", max).unwrap(),
            "application/pdf"
        );
        assert!(
            check_evidence_content("image/png", b"%PDF-1.7", max)
                .unwrap_err()
                .contains("not image/png")
        );
        assert!(
            check_evidence_content("text/plain", b"\xff\xfe\x00", max)
                .unwrap_err()
                .contains("UTF-8")
        );
        assert!(
            check_evidence_content("application/x-msdownload", b"MZ", max)
                .unwrap_err()
                .contains("octet-stream")
        );
        assert!(
            check_evidence_content("application/octet-stream", b"", max)
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            check_evidence_content("application/octet-stream", &[0; 1025], max)
                .unwrap_err()
                .contains("at most 1024")
        );
        assert_eq!(
            check_evidence_content("application/x-ms-evtx", b"ElfFile\x00rest", max).unwrap(),
            "application/x-ms-evtx"
        );
    }
}
