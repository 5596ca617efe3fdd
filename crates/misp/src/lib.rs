//! MISP exchange: the one codec for MISP's JSON — events, their attributes
//! and objects, tags, distribution levels — and for MISP feeds
//! (`manifest.json`, one `<event-uuid>.json` per event, `hashes.csv`), in
//! both directions. Pure: bytes in, values out; no I/O, no store.
//!
//! Reading ([`read_events`], [`read_feed`]) turns every attribute (those of
//! the event and those inside its objects) whose MISP type names one of our
//! indicator kinds into a [`MispIndicator`]; every other attribute is
//! reported with the event's uuid and the attribute's position
//! ([`AttributeNote`]), never dropped silently. TLP comes from `tlp:` tags
//! (attribute first, then event), else from the distribution level
//! ([`tlp_of_distribution`]); PAP from `PAP:` tags.
//!
//! Writing ([`feed_events`], [`feed_files`], [`write_feed`]) groups indicators into one
//! event per publishing tenant, source and TLP label, with a uuid derived
//! from those three (so a MISP instance pulling again sees the same event),
//! each attribute carrying its `tlp:` and `PAP:` tags and the distribution
//! level its label allows ([`distribution_of_tlp`]). Which indicators go in
//! is the caller's decision: the server passes exactly those the pulling
//! tenant may read.

mod labels;
mod read;
mod types;
mod write;

pub use labels::{
    Distribution, distribution_of_tlp, pap_of_tag, pap_tag, tlp_of_distribution, tlp_of_tag,
    tlp_tag,
};
pub use read::{
    AttributeAt, AttributeNote, AttributeProblem, EventRead, ManifestEntry, MispIndicator,
    MispRead, read_events, read_feed, read_hashes, read_manifest,
};
pub use types::{attribute_type_of, kinds_of_attribute_type};
pub use write::{
    FeedEvent, FeedFile, event_uuid, feed_events, feed_files, hashes_csv, manifest, write_feed,
};

/// A MISP document that could not be read at all (as opposed to one
/// attribute of it, which is an [`AttributeNote`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MispError {
    /// The bytes are not JSON.
    #[error("not JSON (line {line}, column {column}): {message}")]
    NotJson {
        /// The line of the fault.
        line: usize,
        /// The column of the fault.
        column: usize,
        /// What the JSON reader said.
        message: String,
    },
    /// A value where a MISP event was expected is not one.
    #[error(
        "item {position} is not a MISP event: expected {{\"Event\": {{...}}}} or an event object with \"Attribute\"/\"Object\"/\"info\", found {found}"
    )]
    NotAnEvent {
        /// Its position in the document (0 for a single event).
        position: usize,
        /// What was found instead, briefly.
        found: String,
    },
    /// `manifest.json` is not a MISP feed manifest.
    #[error("manifest.json: {0}")]
    Manifest(String),
    /// A feed event file named by the manifest is missing.
    #[error("event {uuid}: the manifest names it but the feed has no {uuid}.json")]
    MissingEventFile {
        /// The event's uuid.
        uuid: String,
    },
    /// A feed event file could not be read.
    #[error("event file {uuid}.json: {error}")]
    EventFile {
        /// The event's uuid, as the manifest names it.
        uuid: String,
        /// Why.
        error: Box<MispError>,
    },
    /// A line of `hashes.csv` is not `<md5>,<event uuid>`.
    #[error("hashes.csv line {line}: {reason}")]
    Hashes {
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

impl MispError {
    fn json(error: &serde_json::Error) -> Self {
        MispError::NotJson {
            line: error.line(),
            column: error.column(),
            message: error.to_string(),
        }
    }
}
