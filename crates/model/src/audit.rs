//! The tamper-evident audit log: entries, their keyed hash chain, and its verification.
//!
//! # The chain
//!
//! Entries are numbered `1, 2, 3, ...` (`seq`). Each entry stores the hash of
//! the entry before it (`prev_hash`; 32 zero bytes for entry 1) and its own
//! hash, which is SHA-256 over [`AuditEntry::canonical_bytes`]: a fixed,
//! length-prefixed encoding of every field except the hash itself. Changing
//! any field of any entry, deleting an entry or reordering entries therefore
//! breaks the chain at that entry, and [`ChainVerifier`] names the first entry
//! that does not match. Storage also keeps the chain head (last `seq` and
//! hash), so cutting entries off the end is detected too.
//!
//! # The key
//!
//! A hash chain alone does not stop someone who can rewrite the whole
//! database: they recompute every hash after the row they forged, and move the
//! recorded head after deleting the last entries. So every entry also carries
//! an [`AuditMac`], HMAC-SHA256 under an [`AuditKey`] that is kept **outside
//! the database** (a file in the data directory, or wherever the operator
//! puts it), over its `seq` and hash; the recorded head carries one too.
//! Without the key nobody can produce a valid MAC: a forged or recomputed
//! entry, and a head moved back over deleted entries, fail verification.
//!
//! What the key cannot show is a database rolled back whole to an earlier,
//! genuine state. The operator anchors against that by writing the head
//! (`seq:hash`, [`ChainHead`]'s `Display`) somewhere the database's
//! administrators cannot change (write-once media, a signed report) and
//! verifying later with that anchor ([`ChainVerifier::new`]'s `anchors`):
//! the anchored entry must still be there, unchanged.
//!
//! An empty log on a platform that is set up (its national CERT exists) is
//! tampering too: setting up writes the first entries.
//!
//! # Canonical encoding (version 1)
//!
//! The ASCII tag `nigehban-audit-v1`, then for each field in this order its
//! UTF-8 (or raw) bytes preceded by their length as a big-endian `u64`; an
//! absent optional field is the single byte `0x00` instead of a length, a
//! present one is `0x01` followed by length and bytes:
//! `seq` (8 bytes big-endian), `id`, `instance`, `tenant` (hyphenated UUIDs),
//! `at` (microseconds since the epoch, 8 bytes big-endian, two's complement),
//! `actor.kind`, `actor.user`?, `actor.token`?, `actor.tenant`?, `action`,
//! `record_kind`, `record_id`, `before`?, `after`? (JSON text exactly as
//! stored), `remote_addr`?, `prev_hash` (32 bytes).
//!
//! # MACs (version 1)
//!
//! HMAC-SHA256 under the 32-byte key over: for an entry, the ASCII tag
//! `nigehban-audit-entry-mac-v1`, `seq` (8 bytes big-endian) and the entry's
//! hash; for the head, the tag `nigehban-audit-head-mac-v1`, its `seq` and
//! hash. The key's fingerprint ([`KeyFingerprint`], recorded beside the head
//! so that a wrong key is named as such) is the first 8 bytes of the HMAC of
//! the tag `nigehban-audit-key-fingerprint-v1`.

use std::borrow::Cow;
use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::{AuditEntryId, InstanceId, TenantId, Timestamp, TokenId, UserId};

/// A SHA-256 hash in the audit chain.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash([u8; 32]);

impl ChainHash {
    /// The `prev_hash` of the first entry: 32 zero bytes.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    /// Wraps hash bytes read back from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads hash bytes of any length from storage; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// The hash bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for ChainHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        ChainHash::from_slice(&bytes)
            .ok_or_else(|| serde::de::Error::custom("chain hash must be 32 bytes"))
    }
}

/// The secret key that seals the audit chain (HMAC-SHA256), kept outside the database.
///
/// `Debug` shows only its [`KeyFingerprint`]. Stored in a file as one line,
/// [`AuditKey::to_file_text`]: `nigehban-audit-key-v1 ` and 64 hex digits.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey([u8; 32]);

/// The first words of an audit key file.
const KEY_FILE_TAG: &str = "nigehban-audit-key-v1";

/// Why the text of an audit key file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAuditKey {
    /// The text does not start with the tag.
    #[error("it does not start with `{KEY_FILE_TAG}`: it is not a Nigehban audit key file")]
    NotAKeyFile,
    /// The key is not 64 hex digits.
    #[error("the key after `{KEY_FILE_TAG}` must be 64 hex digits (32 bytes)")]
    BadKey,
}

type HmacSha256 = Hmac<Sha256>;

impl AuditKey {
    /// Wraps 32 secret bytes (generate them with a cryptographic random source).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The file text: the tag, a space, 64 lower-case hex digits, a newline.
    pub fn to_file_text(&self) -> String {
        format!("{KEY_FILE_TAG} {}\n", hex::encode(self.0))
    }

    /// Reads the file text written by [`AuditKey::to_file_text`] (surrounding white space ignored).
    pub fn from_file_text(text: &str) -> Result<Self, InvalidAuditKey> {
        let rest = text
            .trim()
            .strip_prefix(KEY_FILE_TAG)
            .ok_or(InvalidAuditKey::NotAKeyFile)?;
        let bytes = hex::decode(rest.trim()).map_err(|_| InvalidAuditKey::BadKey)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(Self)
            .map_err(|_| InvalidAuditKey::BadKey)
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC takes keys of any length, so this cannot fail for 32 bytes.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts a 32-byte key"));
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The key's public fingerprint, recorded in the database to name a wrong key.
    pub fn fingerprint(&self) -> KeyFingerprint {
        let mac = self.mac(&[b"nigehban-audit-key-fingerprint-v1"]);
        let mut bytes = [0; 8];
        bytes.copy_from_slice(&mac[..8]);
        KeyFingerprint(bytes)
    }

    /// The MAC of entry `seq` whose hash is `hash`.
    pub fn entry_mac(&self, seq: u64, hash: &ChainHash) -> AuditMac {
        AuditMac(self.mac(&[
            b"nigehban-audit-entry-mac-v1",
            &seq.to_be_bytes(),
            hash.as_bytes(),
        ]))
    }

    /// The MAC of the recorded chain head.
    pub fn head_mac(&self, head: ChainHead) -> AuditMac {
        AuditMac(self.mac(&[
            b"nigehban-audit-head-mac-v1",
            &head.seq.to_be_bytes(),
            head.hash.as_bytes(),
        ]))
    }
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKey(fingerprint {})", self.fingerprint())
    }
}

/// An audit key's public fingerprint: 8 bytes, shown as 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFingerprint([u8; 8]);

impl KeyFingerprint {
    /// Reads a fingerprint back from its hex form (as stored).
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text.trim()).ok()?;
        <[u8; 8]>::try_from(bytes.as_slice()).ok().map(Self)
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyFingerprint({self})")
    }
}

impl Serialize for KeyFingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for KeyFingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        KeyFingerprint::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("key fingerprint must be 16 hex digits"))
    }
}

/// An HMAC-SHA256 under the [`AuditKey`]: of one entry, or of the recorded head.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuditMac([u8; 32]);

impl AuditMac {
    /// Wraps MAC bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads MAC bytes of any length from storage; `None` unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// The MAC bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for AuditMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditMac({})", hex::encode(self.0))
    }
}

/// JSON text as stored in an audit entry (the record before or after the change).
///
/// Kept as the exact text that was hashed, so verification never depends on
/// how a JSON library re-serialises a value. Serialises as the JSON value itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    /// Serialises a value to compact JSON text.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_string(value).map(Self)
    }

    /// Wraps text read back from storage, unchecked: verification hashes it as is.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text parsed as a JSON value (`null` if it is not valid JSON, which only tampering causes).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

impl Serialize for JsonText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        JsonText::of(&value).map_err(serde::de::Error::custom)
    }
}

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A user signed in to the console.
    User,
    /// An API token (acting on behalf of its owner).
    Token,
    /// The operator at the server's command line (`nigehban admin ...`).
    Operator,
    /// The platform itself (e.g. first-start bootstrap, expiry sweeps).
    System,
    /// Someone not yet authenticated (e.g. a failed sign-in).
    Anonymous,
}

impl ActorKind {
    /// The kind's word as stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Token => "token",
            ActorKind::Operator => "operator",
            ActorKind::System => "system",
            ActorKind::Anonymous => "anonymous",
        }
    }

    /// Parses the stored word.
    pub fn from_word(word: &str) -> Option<Self> {
        [
            ActorKind::User,
            ActorKind::Token,
            ActorKind::Operator,
            ActorKind::System,
            ActorKind::Anonymous,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == word)
    }
}

/// Who did something, as recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// How they were authenticated.
    pub kind: ActorKind,
    /// The user, if a user (or a token's owner) acted.
    pub user: Option<UserId>,
    /// The API token used, if any.
    pub token: Option<TokenId>,
    /// The tenant they acted from.
    pub tenant: Option<TenantId>,
}

impl Actor {
    /// The platform itself.
    pub const SYSTEM: Actor = Actor {
        kind: ActorKind::System,
        user: None,
        token: None,
        tenant: None,
    };
}

/// What was done, as a dotted lower-case word: `tenant.create`, `user.login_failed`, ...
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuditAction(Cow<'static, str>);

impl AuditAction {
    /// A tenant was created.
    pub const TENANT_CREATE: AuditAction = AuditAction::fixed("tenant.create");
    /// A tenant was renamed.
    pub const TENANT_RENAME: AuditAction = AuditAction::fixed("tenant.rename");
    /// A tenant was moved under another parent.
    pub const TENANT_MOVE: AuditAction = AuditAction::fixed("tenant.move");
    /// A tenant was deactivated.
    pub const TENANT_DEACTIVATE: AuditAction = AuditAction::fixed("tenant.deactivate");
    /// A user was created.
    pub const USER_CREATE: AuditAction = AuditAction::fixed("user.create");
    /// A user's role was changed.
    pub const USER_SET_ROLE: AuditAction = AuditAction::fixed("user.set_role");
    /// A user was deactivated.
    pub const USER_DEACTIVATE: AuditAction = AuditAction::fixed("user.deactivate");
    /// A user's password was set (reset by an administrator or changed by the user).
    pub const USER_SET_PASSWORD: AuditAction = AuditAction::fixed("user.set_password");
    /// A sign-in failed (wrong password or locked out).
    pub const USER_LOGIN_FAILED: AuditAction = AuditAction::fixed("user.login_failed");
    /// A user signed in (a session was created).
    pub const SESSION_CREATE: AuditAction = AuditAction::fixed("session.create");
    /// A session was ended (sign-out or by an administrator).
    pub const SESSION_REVOKE: AuditAction = AuditAction::fixed("session.revoke");
    /// An API token was created.
    pub const TOKEN_CREATE: AuditAction = AuditAction::fixed("token.create");
    /// An API token was revoked.
    pub const TOKEN_REVOKE: AuditAction = AuditAction::fixed("token.revoke");
    /// Protected material (TLP:AMBER or above) was read.
    pub const RECORD_READ: AuditAction = AuditAction::fixed("record.read");
    /// A sensor was registered (with its first ingest token).
    pub const SENSOR_REGISTER: AuditAction = AuditAction::fixed("sensor.register");
    /// A sensor's registration was changed.
    pub const SENSOR_UPDATE: AuditAction = AuditAction::fixed("sensor.update");
    /// A sensor's ingest token was rotated (a new one issued, the old ones ended).
    pub const SENSOR_ROTATE_TOKEN: AuditAction = AuditAction::fixed("sensor.rotate_token");
    /// One of a sensor's ingest tokens was revoked.
    pub const SENSOR_REVOKE_TOKEN: AuditAction = AuditAction::fixed("sensor.revoke_token");
    /// A sensor was deactivated (and its ingest tokens revoked).
    pub const SENSOR_DEACTIVATE: AuditAction = AuditAction::fixed("sensor.deactivate");
    /// A backup of the database was taken.
    pub const BACKUP_CREATE: AuditAction = AuditAction::fixed("backup.create");
    /// The audit key was installed in a log that had none (entries written
    /// before keys existed were sealed with it).
    pub const AUDIT_KEY_INSTALL: AuditAction = AuditAction::fixed("audit.key_install");
    /// An administrator's attempt to create a user was refused because the
    /// user name cannot be used (kept to spot probing for user names).
    pub const USER_CREATE_REFUSED: AuditAction = AuditAction::fixed("user.create_refused");

    // ---- incidents and coordination ----
    /// A constituent filed an incident report.
    pub const REPORT_CREATE: AuditAction = AuditAction::fixed("report.create");
    /// A report was triaged into a new or an existing incident.
    pub const REPORT_TRIAGE: AuditAction = AuditAction::fixed("report.triage");
    /// A report was rejected (with a reason the reporter sees).
    pub const REPORT_REJECT: AuditAction = AuditAction::fixed("report.reject");
    /// An incident was opened.
    pub const INCIDENT_CREATE: AuditAction = AuditAction::fixed("incident.create");
    /// An incident was changed (fields, status, assignee, observables, tasks, links, notes, deadlines).
    pub const INCIDENT_UPDATE: AuditAction = AuditAction::fixed("incident.update");
    /// An incident was escalated to the owner's parent.
    pub const INCIDENT_ESCALATE: AuditAction = AuditAction::fixed("incident.escalate");
    /// An incident was merged into another.
    pub const INCIDENT_MERGE: AuditAction = AuditAction::fixed("incident.merge");
    /// Alerts were linked to an incident (recorded on each alert).
    pub const ALERT_INCIDENT_LINK: AuditAction = AuditAction::fixed("alert.incident_link");
    /// An evidence file was uploaded.
    pub const EVIDENCE_UPLOAD: AuditAction = AuditAction::fixed("evidence.upload");
    /// An evidence file was attached to an incident (its report was triaged into it).
    pub const EVIDENCE_ATTACH: AuditAction = AuditAction::fixed("evidence.attach");
    /// An evidence file was downloaded (its hash checked).
    pub const EVIDENCE_DOWNLOAD: AuditAction = AuditAction::fixed("evidence.download");
    /// An evidence file's content no longer matched its SHA-256 when read, or was missing.
    pub const EVIDENCE_INTEGRITY_FAILURE: AuditAction =
        AuditAction::fixed("evidence.integrity_failure");
    /// An evidence file's chain of custody was exported.
    pub const EVIDENCE_CUSTODY_EXPORT: AuditAction = AuditAction::fixed("evidence.custody_export");

    /// An action with a fixed name.
    pub const fn fixed(name: &'static str) -> Self {
        Self(Cow::Borrowed(name))
    }

    /// An action with a name made at run time (e.g. by later features).
    pub fn named(name: impl Into<String>) -> Self {
        Self(Cow::Owned(name.into()))
    }

    /// The action's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An audit entry before it joins the chain (no sequence number or hashes yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDraft {
    /// Its id.
    pub id: AuditEntryId,
    /// The instance that wrote it.
    pub instance: InstanceId,
    /// The tenant the action concerns (whose auditors may read the entry).
    pub tenant: TenantId,
    /// When it happened.
    pub at: Timestamp,
    /// Who did it.
    pub actor: Actor,
    /// What was done.
    pub action: AuditAction,
    /// The kind of record concerned, e.g. `tenant`, `user`, `token`.
    pub record_kind: String,
    /// The id of the record concerned.
    pub record_id: String,
    /// The record before the change, if it existed.
    pub before: Option<JsonText>,
    /// The record after the change, if it still exists.
    pub after: Option<JsonText>,
    /// The network address the request came from.
    pub remote_addr: Option<String>,
}

impl AuditDraft {
    /// Joins the chain as entry `seq`, after the entry whose hash is `prev_hash`.
    pub fn seal(self, seq: u64, prev_hash: ChainHash) -> AuditEntry {
        let mut entry = AuditEntry {
            seq,
            id: self.id,
            instance: self.instance,
            tenant: self.tenant,
            at: self.at,
            actor: self.actor,
            action: self.action,
            record_kind: self.record_kind,
            record_id: self.record_id,
            before: self.before,
            after: self.after,
            remote_addr: self.remote_addr,
            prev_hash,
            hash: ChainHash::GENESIS,
        };
        entry.hash = entry.compute_hash();
        entry
    }
}

/// One entry of the audit log, part of the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its position in the chain, from 1.
    pub seq: u64,
    /// Its id.
    pub id: AuditEntryId,
    /// The instance that wrote it.
    pub instance: InstanceId,
    /// The tenant the action concerns.
    pub tenant: TenantId,
    /// When it happened.
    pub at: Timestamp,
    /// Who did it.
    pub actor: Actor,
    /// What was done.
    pub action: AuditAction,
    /// The kind of record concerned.
    pub record_kind: String,
    /// The id of the record concerned.
    pub record_id: String,
    /// The record before the change.
    pub before: Option<JsonText>,
    /// The record after the change.
    pub after: Option<JsonText>,
    /// The network address the request came from.
    pub remote_addr: Option<String>,
    /// The hash of the entry before (zeros for the first).
    pub prev_hash: ChainHash,
    /// This entry's hash.
    pub hash: ChainHash,
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_optional(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            put_bytes(out, bytes);
        }
    }
}

impl AuditEntry {
    /// The canonical encoding that is hashed (see the module documentation).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(b"nigehban-audit-v1");
        put_bytes(&mut out, &self.seq.to_be_bytes());
        put_bytes(&mut out, self.id.to_string().as_bytes());
        put_bytes(&mut out, self.instance.to_string().as_bytes());
        put_bytes(&mut out, self.tenant.to_string().as_bytes());
        put_bytes(&mut out, &self.at.unix_micros().to_be_bytes());
        put_bytes(&mut out, self.actor.kind.as_str().as_bytes());
        put_optional(
            &mut out,
            self.actor
                .user
                .map(|u| u.to_string())
                .as_deref()
                .map(str::as_bytes),
        );
        put_optional(
            &mut out,
            self.actor
                .token
                .map(|t| t.to_string())
                .as_deref()
                .map(str::as_bytes),
        );
        put_optional(
            &mut out,
            self.actor
                .tenant
                .map(|t| t.to_string())
                .as_deref()
                .map(str::as_bytes),
        );
        put_bytes(&mut out, self.action.as_str().as_bytes());
        put_bytes(&mut out, self.record_kind.as_bytes());
        put_bytes(&mut out, self.record_id.as_bytes());
        put_optional(
            &mut out,
            self.before.as_ref().map(|j| j.as_str().as_bytes()),
        );
        put_optional(&mut out, self.after.as_ref().map(|j| j.as_str().as_bytes()));
        put_optional(&mut out, self.remote_addr.as_deref().map(str::as_bytes));
        put_bytes(&mut out, self.prev_hash.as_bytes());
        out
    }

    /// The chain head this entry makes when it is the last one.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash,
        }
    }

    /// SHA-256 over the canonical encoding: what `hash` must equal.
    pub fn compute_hash(&self) -> ChainHash {
        ChainHash(Sha256::digest(self.canonical_bytes()).into())
    }
}

/// The last entry of the chain, as storage records it beside the log.
///
/// Shown (and read back by [`str::parse`]) as `seq:hash`, e.g.
/// `1234:9f86d081...`: the line an operator writes to write-once media to
/// anchor the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// The last entry's `seq` (0 when the log is empty).
    pub seq: u64,
    /// The last entry's hash ([`ChainHash::GENESIS`] when empty).
    pub hash: ChainHash,
}

impl ChainHead {
    /// The head of an empty log.
    pub const EMPTY: ChainHead = ChainHead {
        seq: 0,
        hash: ChainHash::GENESIS,
    };
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// Why a `seq:hash` anchor was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an audit chain head: expected SEQ:HASH, a sequence number from 1 and 64 hex digits (as `nigehban audit head` prints)"
)]
pub struct InvalidChainHead(pub String);

impl std::str::FromStr for ChainHead {
    type Err = InvalidChainHead;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidChainHead(text.to_owned());
        let (seq, hash) = text.trim().split_once(':').ok_or_else(bad)?;
        let seq: u64 = seq.trim().parse().map_err(|_| bad())?;
        let hash = hex::decode(hash.trim())
            .ok()
            .and_then(|bytes| ChainHash::from_slice(&bytes))
            .ok_or_else(bad)?;
        if seq == 0 {
            return Err(bad());
        }
        Ok(ChainHead { seq, hash })
    }
}

/// What is wrong at the first entry that does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum AuditProblem {
    /// The entry's content does not match its stored hash: it was altered.
    ContentAltered,
    /// The entry's `prev_hash` is not the hash of the entry before it.
    ChainLinkBroken,
    /// The entry with this `seq` is missing (deleted); `next_seq`/`next_id`
    /// name the entry found in its place, if any.
    Missing {
        /// The seq of the entry found where this one should be, if any.
        next_seq: Option<u64>,
        /// The id of the entry found where this one should be, if any.
        next_id: Option<AuditEntryId>,
    },
    /// The entry is beyond the recorded chain head: it was added outside the log writer.
    BeyondHead,
    /// The last entry's hash differs from the recorded chain head: it was replaced.
    HeadMismatch,
    /// The entry has no MAC: it was written outside Nigehban.
    MacMissing,
    /// The entry's MAC does not match under the audit key: it was forged, or
    /// the chain was recomputed, by someone without the key.
    MacMismatch,
    /// The first entry's MAC does not match and the log records another key:
    /// the key given is not this log's (or the log was rewritten under another key).
    WrongKey {
        /// The fingerprint recorded in the database.
        recorded: KeyFingerprint,
        /// The fingerprint of the key given.
        given: KeyFingerprint,
    },
    /// The recorded chain head does not carry the audit key's MAC: it was
    /// moved outside Nigehban, so entries after this one may have been cut off.
    HeadMacMismatch,
    /// This entry, named by an anchored head, differs from the anchor: it was replaced.
    AnchorMismatch {
        /// The hash the anchor recorded.
        anchored: ChainHash,
    },
    /// This entry, named by an anchored head, is missing: the log was cut off.
    Truncated {
        /// The last `seq` the log holds now (0 when empty).
        ends_at: u64,
    },
    /// The log is empty although the platform is set up: every entry was deleted.
    EmptyLog,
}

/// The first entry of the audit log that does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditBreak {
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry's id (`None` when the entry is missing).
    pub id: Option<AuditEntryId>,
    /// What is wrong.
    #[serde(flatten)]
    pub problem: AuditProblem,
}

impl fmt::Display for AuditBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self
            .id
            .map(|id| id.to_string())
            .unwrap_or_else(|| "-".into());
        let seq = self.seq;
        match self.problem {
            AuditProblem::ContentAltered => write!(
                f,
                "audit entry seq {seq} (id {id}) was altered: its content does not match its hash"
            ),
            AuditProblem::ChainLinkBroken => write!(
                f,
                "audit entry seq {seq} (id {id}) does not follow the entry before it: the chain is broken"
            ),
            AuditProblem::Missing { next_seq, next_id } => {
                write!(f, "audit entry seq {seq} is missing")?;
                match (next_seq, next_id) {
                    (Some(next_seq), Some(next_id)) => {
                        write!(f, " (the log jumps to seq {next_seq}, id {next_id})")
                    }
                    _ => write!(f, " (the log ends before the recorded chain head)"),
                }
            }
            AuditProblem::BeyondHead => write!(
                f,
                "audit entry seq {seq} (id {id}) lies beyond the recorded chain head: it was added outside the log"
            ),
            AuditProblem::HeadMismatch => write!(
                f,
                "audit entry seq {seq} (id {id}) does not match the recorded chain head: it was replaced"
            ),
            AuditProblem::MacMissing => write!(
                f,
                "audit entry seq {seq} (id {id}) has no MAC: it was written outside Nigehban"
            ),
            AuditProblem::MacMismatch => write!(
                f,
                "audit entry seq {seq} (id {id}) does not match its MAC under the audit key: it was forged, or the chain was recomputed without the key"
            ),
            AuditProblem::WrongKey { recorded, given } => write!(
                f,
                "audit entry seq {seq} (id {id}) does not match its MAC, and the log was sealed with the key of fingerprint {recorded}, not the key given ({given}): give the right audit key file; if it is the right one, the log was rewritten"
            ),
            AuditProblem::HeadMacMismatch => write!(
                f,
                "the recorded chain head (audit entry seq {seq}, id {id}) does not carry the audit key's MAC: it was moved outside Nigehban, and entries after seq {seq} may have been deleted"
            ),
            AuditProblem::AnchorMismatch { anchored } => write!(
                f,
                "audit entry seq {seq} (id {id}) differs from the anchored head {seq}:{anchored}: it was replaced"
            ),
            AuditProblem::Truncated { ends_at } => write!(
                f,
                "audit entry seq {seq}, named by an anchored head, is missing: the log ends at seq {ends_at}, so entries were cut off its end"
            ),
            AuditProblem::EmptyLog => write!(
                f,
                "the audit log is empty although the platform is set up: every entry was deleted"
            ),
        }
    }
}

/// The result of verifying the whole audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AuditVerification {
    /// Every entry verified.
    Intact {
        /// How many entries there are.
        entries: u64,
        /// The hash of the last entry (publish it to anchor the log).
        head: ChainHash,
    },
    /// The first entry that did not verify.
    Broken(AuditBreak),
}

impl AuditVerification {
    /// Whether the log verified.
    pub fn is_intact(&self) -> bool {
        matches!(self, AuditVerification::Intact { .. })
    }
}

/// What storage recorded beside the log, read in the same snapshot as the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedChain {
    /// The recorded chain head.
    pub head: ChainHead,
    /// The head's MAC (`None` before the key was first used, or if removed).
    pub head_mac: Option<AuditMac>,
    /// The fingerprint of the key the log is sealed with, if recorded.
    pub key: Option<KeyFingerprint>,
    /// Whether the platform is set up (its national CERT exists): its log cannot be empty.
    pub platform_set_up: bool,
}

/// Checks audit entries one by one, in `seq` order, and stops at the first break.
///
/// Storage reads the [`RecordedChain`] and the entries with their MACs in one
/// consistent snapshot, feeds every entry to [`ChainVerifier::check`], then
/// calls [`ChainVerifier::finish`].
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    key: AuditKey,
    recorded: RecordedChain,
    anchors: Vec<ChainHead>,
    next_anchor: usize,
    last: ChainHead,
    last_id: Option<AuditEntryId>,
    broken: Option<AuditBreak>,
}

impl ChainVerifier {
    /// A verifier at the start of the log, with the audit key, what storage
    /// recorded, and the heads the operator anchored outside (any order).
    pub fn new(key: &AuditKey, recorded: RecordedChain, anchors: &[ChainHead]) -> Self {
        let mut anchors = anchors.to_vec();
        anchors.sort_by_key(|anchor| anchor.seq);
        Self {
            key: key.clone(),
            recorded,
            anchors,
            next_anchor: 0,
            last: ChainHead::EMPTY,
            last_id: None,
            broken: None,
        }
    }

    /// Checks the next entry and its MAC as stored; returns the break once
    /// one is found (and keeps returning it).
    pub fn check(&mut self, entry: &AuditEntry, mac: Option<&AuditMac>) -> Result<(), AuditBreak> {
        if let Some(broken) = self.broken {
            return Err(broken);
        }
        let at = |problem| AuditBreak {
            seq: entry.seq,
            id: Some(entry.id),
            problem,
        };
        let expected_seq = self.last.seq + 1;
        let problem = if entry.seq != expected_seq {
            Some(self.gap_before(entry))
        } else if entry.compute_hash() != entry.hash {
            Some(at(AuditProblem::ContentAltered))
        } else if entry.prev_hash != self.last.hash {
            Some(at(AuditProblem::ChainLinkBroken))
        } else if let Some(problem) = self.mac_problem(entry, mac) {
            Some(at(problem))
        } else if let Some(problem) = self.anchor_problem(entry) {
            Some(at(problem))
        } else if entry.seq > self.recorded.head.seq {
            Some(at(AuditProblem::BeyondHead))
        } else {
            None
        };
        if let Some(broken) = problem {
            self.broken = Some(broken);
            return Err(broken);
        }
        self.last = ChainHead {
            seq: entry.seq,
            hash: entry.hash,
        };
        self.last_id = Some(entry.id);
        Ok(())
    }

    /// The break for entries missing before `entry`: the first missing seq.
    fn gap_before(&self, entry: &AuditEntry) -> AuditBreak {
        AuditBreak {
            seq: self.last.seq + 1,
            id: None,
            problem: AuditProblem::Missing {
                next_seq: Some(entry.seq),
                next_id: Some(entry.id),
            },
        }
    }

    /// Checks the anchors that name this entry (several may) and moves past them.
    fn anchor_problem(&mut self, entry: &AuditEntry) -> Option<AuditProblem> {
        let mut problem = None;
        while let Some(anchor) = self.anchors.get(self.next_anchor) {
            if anchor.seq != entry.seq {
                break;
            }
            if anchor.hash != entry.hash && problem.is_none() {
                problem = Some(AuditProblem::AnchorMismatch {
                    anchored: anchor.hash,
                });
            }
            self.next_anchor += 1;
        }
        problem
    }

    fn mac_problem(&self, entry: &AuditEntry, mac: Option<&AuditMac>) -> Option<AuditProblem> {
        let Some(mac) = mac else {
            return Some(AuditProblem::MacMissing);
        };
        if *mac == self.key.entry_mac(entry.seq, &entry.hash) {
            return None;
        }
        let given = self.key.fingerprint();
        match self.recorded.key {
            Some(recorded) if entry.seq == 1 && recorded != given => {
                Some(AuditProblem::WrongKey { recorded, given })
            }
            _ => Some(AuditProblem::MacMismatch),
        }
    }

    /// Reports an entry that storage could not even read back (e.g. a hash
    /// column of the wrong length): it was altered, unless entries are
    /// missing before it.
    pub fn unreadable(&mut self, seq: u64, id: Option<AuditEntryId>) -> AuditBreak {
        if let Some(broken) = self.broken {
            return broken;
        }
        let expected_seq = self.last.seq + 1;
        let broken = if seq == expected_seq {
            AuditBreak {
                seq,
                id,
                problem: AuditProblem::ContentAltered,
            }
        } else {
            AuditBreak {
                seq: expected_seq,
                id: None,
                problem: AuditProblem::Missing {
                    next_seq: Some(seq),
                    next_id: id,
                },
            }
        };
        self.broken = Some(broken);
        broken
    }

    /// Whether a break has been found (no need to read further).
    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// The outcome, once every entry has been checked.
    pub fn finish(self) -> AuditVerification {
        if let Some(broken) = self.broken {
            return AuditVerification::Broken(broken);
        }
        let broken = |seq, id, problem| AuditVerification::Broken(AuditBreak { seq, id, problem });
        if self.last.seq == 0 && self.recorded.platform_set_up {
            return broken(1, None, AuditProblem::EmptyLog);
        }
        if let Some(anchor) = self.anchors.get(self.next_anchor) {
            // Every anchor up to the last entry was met on the way: this one lies beyond it.
            return broken(
                anchor.seq,
                None,
                AuditProblem::Truncated {
                    ends_at: self.last.seq,
                },
            );
        }
        if self.recorded.head.seq > self.last.seq {
            return broken(
                self.last.seq + 1,
                None,
                AuditProblem::Missing {
                    next_seq: None,
                    next_id: None,
                },
            );
        }
        if self.recorded.head.hash != self.last.hash {
            return broken(self.last.seq, self.last_id, AuditProblem::HeadMismatch);
        }
        if self.last.seq > 0
            && self.recorded.head_mac != Some(self.key.head_mac(self.recorded.head))
        {
            return broken(self.last.seq, self.last_id, AuditProblem::HeadMacMismatch);
        }
        AuditVerification::Intact {
            entries: self.last.seq,
            head: self.last.hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: AuditKey = AuditKey::from_bytes([7; 32]);

    fn chain(length: u64) -> Vec<AuditEntry> {
        let instance = InstanceId::new();
        let tenant = TenantId::new();
        let mut prev = ChainHash::GENESIS;
        (1..=length)
            .map(|seq| {
                let entry = AuditDraft {
                    id: AuditEntryId::new(),
                    instance,
                    tenant,
                    at: Timestamp::from_unix_micros(1_700_000_000_000_000 + seq as i64),
                    actor: Actor::SYSTEM,
                    action: AuditAction::TENANT_RENAME,
                    record_kind: "tenant".into(),
                    record_id: tenant.to_string(),
                    before: Some(JsonText::of(&serde_json::json!({"name": seq})).unwrap()),
                    after: None,
                    remote_addr: Some("192.0.2.1".into()),
                }
                .seal(seq, prev);
                prev = entry.hash;
                entry
            })
            .collect()
    }

    /// What storage would record for these entries, written with `key`.
    fn recorded(entries: &[AuditEntry], key: &AuditKey) -> RecordedChain {
        let head = head_of(entries);
        RecordedChain {
            head,
            head_mac: Some(key.head_mac(head)),
            key: Some(key.fingerprint()),
            platform_set_up: true,
        }
    }

    fn macs(entries: &[AuditEntry], key: &AuditKey) -> Vec<AuditMac> {
        entries
            .iter()
            .map(|e| key.entry_mac(e.seq, &e.hash))
            .collect()
    }

    fn verify_with(
        entries: &[AuditEntry],
        macs: &[AuditMac],
        recorded: RecordedChain,
        anchors: &[ChainHead],
    ) -> AuditVerification {
        let mut verifier = ChainVerifier::new(&KEY, recorded, anchors);
        for (entry, mac) in entries.iter().zip(macs) {
            if verifier.check(entry, Some(mac)).is_err() {
                break;
            }
        }
        verifier.finish()
    }

    fn verify(entries: &[AuditEntry], head: ChainHead) -> AuditVerification {
        let recorded = RecordedChain {
            head,
            head_mac: Some(KEY.head_mac(head)),
            ..recorded(entries, &KEY)
        };
        verify_with(entries, &macs(entries, &KEY), recorded, &[])
    }

    fn head_of(entries: &[AuditEntry]) -> ChainHead {
        entries.last().map_or(ChainHead::EMPTY, |e| ChainHead {
            seq: e.seq,
            hash: e.hash,
        })
    }

    fn first_break(outcome: AuditVerification) -> AuditBreak {
        match outcome {
            AuditVerification::Broken(broken) => broken,
            intact => panic!("expected a break, got {intact:?}"),
        }
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let entries = chain(5);
        let head = head_of(&entries);
        assert_eq!(
            verify(&entries, head),
            AuditVerification::Intact {
                entries: 5,
                head: head.hash
            }
        );
        let fresh = RecordedChain {
            head: ChainHead::EMPTY,
            head_mac: None,
            key: None,
            platform_set_up: false,
        };
        assert!(verify_with(&[], &[], fresh, &[]).is_intact());
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = chain(1).remove(0);
        let mut variants = Vec::new();
        let mut e = base.clone();
        e.action = AuditAction::TENANT_CREATE;
        variants.push(e);
        let mut e = base.clone();
        e.actor.kind = ActorKind::User;
        variants.push(e);
        let mut e = base.clone();
        e.actor.user = Some(UserId::new());
        variants.push(e);
        let mut e = base.clone();
        e.before = Some(JsonText::from_stored("{\"name\":2}".into()));
        variants.push(e);
        let mut e = base.clone();
        e.after = Some(JsonText::from_stored("null".into()));
        variants.push(e);
        let mut e = base.clone();
        e.remote_addr = None;
        variants.push(e);
        let mut e = base.clone();
        e.at = Timestamp::from_unix_micros(0);
        variants.push(e);
        let mut e = base.clone();
        e.tenant = TenantId::new();
        variants.push(e);
        let mut e = base.clone();
        e.record_id = "other".into();
        variants.push(e);
        for variant in variants {
            assert_ne!(variant.compute_hash(), base.hash, "{variant:?}");
        }
    }

    #[test]
    fn an_altered_entry_is_named() {
        let mut entries = chain(5);
        entries[2].action = AuditAction::named("tenant.delete");
        let head = head_of(&entries);
        assert_eq!(
            verify(&entries, head),
            AuditVerification::Broken(AuditBreak {
                seq: 3,
                id: Some(entries[2].id),
                problem: AuditProblem::ContentAltered
            })
        );
    }

    #[test]
    fn a_rehashed_entry_fails_its_mac() {
        let mut entries = chain(5);
        let macs = macs(&entries, &KEY);
        entries[1].remote_addr = None;
        entries[1].hash = entries[1].compute_hash();
        let outcome = verify_with(&entries, &macs, recorded(&entries, &KEY), &[]);
        // Entry 2 re-hashed in place: its own MAC no longer matches.
        assert_eq!(
            first_break(outcome),
            AuditBreak {
                seq: 2,
                id: Some(entries[1].id),
                problem: AuditProblem::MacMismatch
            }
        );
    }

    #[test]
    fn a_chain_recomputed_without_the_key_is_named_at_the_forged_entry() {
        let entries = chain(6);
        let genuine_macs = macs(&entries, &KEY);
        // The forger rewrites entry 3 and recomputes every hash after it, and
        // (not having the key) the MACs with a key of their own.
        let forger = AuditKey::from_bytes([9; 32]);
        let mut forged = entries.clone();
        forged[2].record_id = "forged".into();
        for index in 2..forged.len() {
            forged[index].prev_hash = forged[index - 1].hash;
            forged[index].hash = forged[index].compute_hash();
        }
        let mut forged_macs = genuine_macs.clone();
        for index in 2..forged.len() {
            forged_macs[index] = forger.entry_mac(forged[index].seq, &forged[index].hash);
        }
        let with_forged_head = RecordedChain {
            head_mac: Some(forger.head_mac(head_of(&forged))),
            ..recorded(&forged, &KEY)
        };
        let broken = first_break(verify_with(&forged, &forged_macs, with_forged_head, &[]));
        assert_eq!((broken.seq, broken.id), (3, Some(forged[2].id)));
        assert_eq!(broken.problem, AuditProblem::MacMismatch);
        assert!(broken.to_string().contains("seq 3"), "{broken}");
        // Leaving the genuine MACs in place fails at the same entry.
        let broken = first_break(verify_with(
            &forged,
            &genuine_macs,
            recorded(&forged, &KEY),
            &[],
        ));
        assert_eq!((broken.seq, broken.problem), (3, AuditProblem::MacMismatch));
    }

    #[test]
    fn a_missing_mac_is_named() {
        let entries = chain(3);
        let macs = macs(&entries, &KEY);
        let mut verifier = ChainVerifier::new(&KEY, recorded(&entries, &KEY), &[]);
        verifier.check(&entries[0], Some(&macs[0])).unwrap();
        let broken = verifier.check(&entries[1], None).unwrap_err();
        assert_eq!((broken.seq, broken.problem), (2, AuditProblem::MacMissing));
    }

    #[test]
    fn a_wrong_key_is_named_as_such() {
        let entries = chain(3);
        let other = AuditKey::from_bytes([1; 32]);
        let recorded = recorded(&entries, &other);
        let broken = first_break(verify_with(
            &entries,
            &macs(&entries, &other),
            recorded,
            &[],
        ));
        assert_eq!(
            broken.problem,
            AuditProblem::WrongKey {
                recorded: other.fingerprint(),
                given: KEY.fingerprint()
            }
        );
        assert!(
            broken
                .to_string()
                .contains(&other.fingerprint().to_string())
        );
    }

    #[test]
    fn a_deleted_entry_is_named() {
        let mut entries = chain(5);
        let head = head_of(&entries);
        let removed = entries.remove(1);
        let broken = first_break(verify(&entries, head));
        assert_eq!(broken.seq, removed.seq);
        assert_eq!(
            broken.problem,
            AuditProblem::Missing {
                next_seq: Some(3),
                next_id: Some(entries[1].id)
            }
        );
        assert!(broken.to_string().contains("seq 2 is missing"));
    }

    #[test]
    fn a_truncated_log_is_detected() {
        let mut entries = chain(5);
        let head = head_of(&entries);
        entries.pop();
        let broken = first_break(verify(&entries, head));
        assert_eq!(broken.seq, 5);
        assert!(matches!(
            broken.problem,
            AuditProblem::Missing { next_seq: None, .. }
        ));
    }

    #[test]
    fn a_head_moved_back_over_deleted_entries_is_detected_without_the_key() {
        let entries = chain(5);
        let kept = &entries[..3];
        // The head is moved to entry 3, but its MAC is the one of entry 5's head.
        let recorded = RecordedChain {
            head: head_of(kept),
            head_mac: Some(KEY.head_mac(head_of(&entries))),
            ..recorded(&entries, &KEY)
        };
        let broken = first_break(verify_with(kept, &macs(kept, &KEY), recorded, &[]));
        assert_eq!(
            (broken.seq, broken.id, broken.problem),
            (3, Some(kept[2].id), AuditProblem::HeadMacMismatch)
        );
        assert!(broken.to_string().contains("may have been deleted"));
        let no_mac = RecordedChain {
            head_mac: None,
            ..recorded
        };
        assert_eq!(
            first_break(verify_with(kept, &macs(kept, &KEY), no_mac, &[])).problem,
            AuditProblem::HeadMacMismatch
        );
    }

    #[test]
    fn an_anchor_beyond_the_end_shows_truncation() {
        let entries = chain(5);
        let anchor = head_of(&entries);
        let kept = &entries[..3];
        // Even with a head MAC made with the key (a rollback to a genuine earlier state).
        let recorded = recorded(kept, &KEY);
        assert!(verify_with(kept, &macs(kept, &KEY), recorded, &[]).is_intact());
        let broken = first_break(verify_with(kept, &macs(kept, &KEY), recorded, &[anchor]));
        assert_eq!(
            (broken.seq, broken.problem),
            (5, AuditProblem::Truncated { ends_at: 3 })
        );
        assert!(broken.to_string().contains("cut off"), "{broken}");
    }

    #[test]
    fn an_anchor_that_differs_is_named() {
        let entries = chain(4);
        let mut anchor = head_of(&entries[..2]);
        let matching = anchor;
        anchor.hash = ChainHash::from_bytes([3; 32]);
        let recorded = recorded(&entries, &KEY);
        let macs = macs(&entries, &KEY);
        assert!(verify_with(&entries, &macs, recorded, &[matching]).is_intact());
        let broken = first_break(verify_with(&entries, &macs, recorded, &[matching, anchor]));
        assert_eq!(
            (broken.seq, broken.id, broken.problem),
            (
                2,
                Some(entries[1].id),
                AuditProblem::AnchorMismatch {
                    anchored: anchor.hash
                }
            )
        );
    }

    #[test]
    fn an_empty_log_on_a_set_up_platform_is_tampering() {
        let recorded = RecordedChain {
            head: ChainHead::EMPTY,
            head_mac: None,
            key: Some(KEY.fingerprint()),
            platform_set_up: true,
        };
        let broken = first_break(verify_with(&[], &[], recorded, &[]));
        assert_eq!(broken.problem, AuditProblem::EmptyLog);
        assert!(broken.to_string().contains("empty"));
    }

    #[test]
    fn a_replaced_last_entry_is_detected() {
        let mut entries = chain(3);
        let head = head_of(&entries);
        entries[2].record_id = "forged".into();
        entries[2].hash = entries[2].compute_hash();
        let macs: Vec<AuditMac> = macs(&entries, &KEY);
        let recorded = RecordedChain {
            head,
            head_mac: Some(KEY.head_mac(head)),
            ..recorded(&entries, &KEY)
        };
        let broken = first_break(verify_with(&entries, &macs, recorded, &[]));
        assert_eq!((broken.seq, broken.id), (3, Some(entries[2].id)));
        assert_eq!(broken.problem, AuditProblem::HeadMismatch);
    }

    #[test]
    fn an_appended_entry_is_detected() {
        let entries = chain(4);
        let head = head_of(&entries[..3]);
        let broken = first_break(verify(&entries, head));
        assert_eq!((broken.seq, broken.id), (4, Some(entries[3].id)));
        assert_eq!(broken.problem, AuditProblem::BeyondHead);
    }

    #[test]
    fn entries_round_trip_through_json() {
        let entry = chain(1).remove(0);
        let json = serde_json::to_string(&entry).unwrap();
        let back: AuditEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(back.compute_hash(), entry.hash);
    }

    #[test]
    fn keys_round_trip_through_their_file_text_and_never_print() {
        let text = KEY.to_file_text();
        assert!(text.starts_with("nigehban-audit-key-v1 "));
        assert_eq!(AuditKey::from_file_text(&text).unwrap(), KEY);
        assert_eq!(
            AuditKey::from_file_text("hello"),
            Err(InvalidAuditKey::NotAKeyFile)
        );
        assert_eq!(
            AuditKey::from_file_text("nigehban-audit-key-v1 abcd"),
            Err(InvalidAuditKey::BadKey)
        );
        assert!(!format!("{KEY:?}").contains(&hex::encode([7u8; 32])));
        assert_ne!(
            KEY.fingerprint(),
            AuditKey::from_bytes([8; 32]).fingerprint()
        );
    }

    #[test]
    fn heads_print_and_parse_as_seq_colon_hash() {
        let head = head_of(&chain(2));
        let text = head.to_string();
        assert_eq!(text, format!("2:{}", head.hash.to_hex()));
        assert_eq!(text.parse::<ChainHead>().unwrap(), head);
        for bad in [
            "",
            "2",
            "0:00",
            "x:ab",
            &format!("0:{}", head.hash),
            "2:abc",
        ] {
            assert!(bad.parse::<ChainHead>().is_err(), "{bad}");
        }
    }
}
