//! The STIX 2.1 codec: the one reader and writer of STIX 2.1 JSON.
//!
//! STIX (Structured Threat Information Expression) is how CERTs and their
//! tools exchange threat intelligence. This crate is pure — no I/O, no
//! storage, no clock but the one a caller passes — and sits beside the
//! intel stage of the flow: `app` imports bundles through it and exports
//! indicators and stored objects as bundles.
//!
//! - [`read_bundle`] reads a bundle (or one lone object) into
//!   [`StixObject`]s: every object is kept as the JSON it came as, with
//!   typed access to the common properties (id, type, spec_version,
//!   created, modified, markings, creator). Objects without a valid `type`
//!   and `id` are refused one by one ([`ObjectRefused`]), never silently.
//! - [`pattern`] parses the STIX patterns whose comparisons map onto
//!   indicator kinds; every other feature is an [`pattern::PatternError::Unsupported`]
//!   naming it.
//! - [`marking`] knows TLP 2.0 as the marking-definition objects of the TLP
//!   2.0 extension (fixed ids), and reads the TLP 1.0 ids too.
//! - [`indicator`] converts an [`nigehban_model::indicator::Indicator`] to a
//!   STIX indicator and back, and sightings to sighting objects.

pub mod indicator;
pub mod marking;
pub mod pattern;

use std::collections::HashMap;

use nigehban_model::{Timestamp, Tlp};
use serde_json::{Map, Value};

/// The STIX version this crate writes.
pub const SPEC_VERSION: &str = "2.1";

/// Most objects one bundle may hold.
pub const MAX_OBJECTS: usize = 5_000_000;

/// A whole bundle that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StixError {
    /// The text is not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// The JSON is neither a bundle nor one STIX object.
    #[error("not a STIX bundle or object: {0}")]
    NotStix(String),
}

/// An object of a bundle that was refused, with where it was and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("object {position} of the bundle{}: {reason}", id.as_deref().map(|id| format!(" ({id})")).unwrap_or_default())]
pub struct ObjectRefused {
    /// Its position in the bundle's `objects`, from 0.
    pub position: usize,
    /// Its id, when it had a readable one.
    pub id: Option<String>,
    /// What was wrong.
    pub reason: String,
}

/// A property of a known object that is not what STIX says it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{id}: {reason}")]
pub struct InvalidObject {
    /// The object's id.
    pub id: String,
    /// What was wrong, naming the property.
    pub reason: String,
}

/// One STIX object, kept as the JSON it came as.
///
/// Its `type` and `id` are checked when it is made (`<type>--<UUID>`),
/// and so are the common properties when present: `spec_version` a string,
/// `created` and `modified` STIX timestamps, `object_marking_refs` a list of
/// marking-definition ids, `created_by_ref` an identity id.
#[derive(Debug, Clone, PartialEq)]
pub struct StixObject {
    json: Map<String, Value>,
}

fn is_type_name(name: &str) -> bool {
    (3..=250).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Whether `id` is a STIX identifier (`<type>--<UUID>`), of `of_type` when given.
pub fn is_identifier(id: &str, of_type: Option<&str>) -> bool {
    let Some((kind, uuid)) = id.split_once("--") else {
        return false;
    };
    is_type_name(kind)
        && of_type.is_none_or(|t| t == kind)
        && uuid.len() == 36
        && uuid::Uuid::parse_str(uuid).is_ok()
}

impl StixObject {
    /// Checks `value` as a STIX object; `Err` says what is wrong (the caller adds where).
    pub fn from_json(value: Value) -> Result<Self, (Option<String>, String)> {
        let Value::Object(json) = value else {
            return Err((None, "not a JSON object".into()));
        };
        let id = json.get("id").and_then(Value::as_str).map(str::to_owned);
        let fail = |reason: String| Err((id.clone(), reason));
        let Some(kind) = json.get("type").and_then(Value::as_str) else {
            return fail("has no \"type\" string".into());
        };
        if !is_type_name(kind) {
            return fail(format!("\"type\" {kind:?} is not a STIX type name"));
        }
        let Some(id_text) = id.as_deref() else {
            return fail("has no \"id\" string".into());
        };
        if !is_identifier(id_text, Some(kind)) {
            return fail(format!(
                "\"id\" {id_text:?} is not \"{kind}--\" followed by a UUID"
            ));
        }
        if let Some(v) = json.get("spec_version")
            && !v.is_string()
        {
            return fail("\"spec_version\" is not a string".into());
        }
        for name in ["created", "modified"] {
            match json.get(name) {
                None => {}
                Some(Value::String(text)) if parse_timestamp(text).is_some() => {}
                Some(other) => return fail(format!("{name:?} {other} is not a STIX timestamp")),
            }
        }
        match json.get("object_marking_refs") {
            None => {}
            Some(Value::Array(refs))
                if refs.iter().all(|r| {
                    r.as_str()
                        .is_some_and(|r| is_identifier(r, Some("marking-definition")))
                }) => {}
            Some(_) => {
                return fail(
                    "\"object_marking_refs\" is not a list of marking-definition ids".into(),
                );
            }
        }
        match json.get("created_by_ref") {
            None => {}
            Some(Value::String(r)) if is_identifier(r, Some("identity")) => {}
            Some(_) => return fail("\"created_by_ref\" is not an identity id".into()),
        }
        Ok(Self { json })
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.json.get(name).and_then(Value::as_str)
    }

    /// Its id, e.g. `indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f`.
    pub fn id(&self) -> &str {
        self.text("id").unwrap_or_default()
    }

    /// Its type, e.g. `indicator`.
    pub fn object_type(&self) -> &str {
        self.text("type").unwrap_or_default()
    }

    /// Its `spec_version` (`None` for STIX 2.0 objects and some cyber-observables).
    pub fn spec_version(&self) -> Option<&str> {
        self.text("spec_version")
    }

    /// Its `created` timestamp, as written.
    pub fn created(&self) -> Option<&str> {
        self.text("created")
    }

    /// Its `modified` timestamp, as written.
    pub fn modified(&self) -> Option<&str> {
        self.text("modified")
    }

    /// The version that tells it from other versions of the same id, as TAXII
    /// does: `modified`, else `created`, else empty (cyber-observables have neither).
    pub fn version(&self) -> &str {
        self.modified().or(self.created()).unwrap_or_default()
    }

    /// The ids of the marking definitions that apply to it as a whole.
    pub fn object_marking_refs(&self) -> Vec<&str> {
        self.json
            .get("object_marking_refs")
            .and_then(Value::as_array)
            .map(|refs| refs.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The identity that made it.
    pub fn created_by_ref(&self) -> Option<&str> {
        self.text("created_by_ref")
    }

    /// Any property.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.json.get(name)
    }

    /// The whole object.
    pub fn as_json(&self) -> &Map<String, Value> {
        &self.json
    }

    /// The whole object, as a JSON value.
    pub fn into_json(self) -> Value {
        Value::Object(self.json)
    }

    /// The object as compact JSON text.
    pub fn to_json_string(&self) -> String {
        // A map of JSON values always serialises.
        serde_json::to_string(&self.json).unwrap_or_default()
    }
}

/// A bundle as read: its objects, and those refused with why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bundle {
    /// The bundle's id (`None` when one lone object was read).
    pub id: Option<String>,
    /// The objects kept, in bundle order, with their positions.
    pub objects: Vec<(usize, StixObject)>,
    /// The objects refused.
    pub refused: Vec<ObjectRefused>,
}

/// What a bundle says about itself that reading one of its objects needs:
/// which of its marking definitions are TLP labels, and the names of its identities.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleContext {
    /// TLP labels by marking-definition id (the fixed TLP ids are always known).
    pub markings: HashMap<String, Tlp>,
    /// Identity names by identity id.
    pub identities: HashMap<String, String>,
}

impl BundleContext {
    /// The most restrictive TLP label among `object`'s markings, if any is a TLP label.
    pub fn tlp_of(&self, object: &StixObject) -> Option<Tlp> {
        object
            .object_marking_refs()
            .into_iter()
            .filter_map(|id| {
                marking::tlp_of_marking_id(id).or_else(|| self.markings.get(id).copied())
            })
            .max()
    }

    /// The name of the identity that made `object`, else its id.
    pub fn creator_of(&self, object: &StixObject) -> Option<String> {
        let id = object.created_by_ref()?;
        Some(
            self.identities
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.to_owned()),
        )
    }
}

impl Bundle {
    /// The marking definitions and identities of the bundle.
    pub fn context(&self) -> BundleContext {
        let mut context = BundleContext::default();
        for (_, object) in &self.objects {
            match object.object_type() {
                "marking-definition" => {
                    if let Some(tlp) = marking::tlp_of_definition(object) {
                        context.markings.insert(object.id().to_owned(), tlp);
                    }
                }
                "identity" => {
                    if let Some(name) = object.get("name").and_then(Value::as_str) {
                        context
                            .identities
                            .insert(object.id().to_owned(), name.to_owned());
                    }
                }
                _ => {}
            }
        }
        context
    }
}

/// Reads a STIX bundle — or one lone STIX object, as a bundle of one.
/// Objects that are not STIX objects are refused one by one; the rest are kept.
pub fn read_bundle(text: &[u8]) -> Result<Bundle, StixError> {
    let value: Value =
        serde_json::from_slice(text).map_err(|e| StixError::NotJson(e.to_string()))?;
    let Value::Object(mut top) = value else {
        return Err(StixError::NotStix(
            "the top level is not a JSON object".into(),
        ));
    };
    match top.get("type").and_then(Value::as_str) {
        Some("bundle") => {}
        Some(_) => {
            let mut bundle = Bundle::default();
            match StixObject::from_json(Value::Object(top)) {
                Ok(object) => bundle.objects.push((0, object)),
                Err((id, reason)) => bundle.refused.push(ObjectRefused {
                    position: 0,
                    id,
                    reason,
                }),
            }
            return Ok(bundle);
        }
        None => {
            return Err(StixError::NotStix(
                "the top-level object has no \"type\"".into(),
            ));
        }
    }
    let id = top.get("id").and_then(Value::as_str).map(str::to_owned);
    if let Some(id) = &id
        && !is_identifier(id, Some("bundle"))
    {
        return Err(StixError::NotStix(format!(
            "the bundle's id {id:?} is not \"bundle--\" followed by a UUID"
        )));
    }
    let objects = match top.remove("objects") {
        None => Vec::new(),
        Some(Value::Array(objects)) => objects,
        Some(_) => {
            return Err(StixError::NotStix(
                "the bundle's \"objects\" is not a list".into(),
            ));
        }
    };
    read_objects(id, objects)
}

/// Reads a TAXII 2.1 envelope (`{"objects": [...], "more": ..., "next": ...}`,
/// the body of a TAXII objects request or response) — or a bundle, as some
/// clients post those — into a [`Bundle`] without an id. Objects that are not
/// STIX objects are refused one by one; the rest are kept.
pub fn read_envelope(text: &[u8]) -> Result<Bundle, StixError> {
    let value: Value =
        serde_json::from_slice(text).map_err(|e| StixError::NotJson(e.to_string()))?;
    let Value::Object(mut top) = value else {
        return Err(StixError::NotStix(
            "the top level is not a JSON object (a TAXII envelope is {\"objects\": [...]})".into(),
        ));
    };
    if top.get("type").and_then(Value::as_str) == Some("bundle") {
        return read_bundle(text);
    }
    let objects = match top.remove("objects") {
        None => Vec::new(),
        Some(Value::Array(objects)) => objects,
        Some(_) => {
            return Err(StixError::NotStix(
                "the envelope's \"objects\" is not a list".into(),
            ));
        }
    };
    read_objects(None, objects)
}

/// Reads the `objects` of a bundle or envelope, one by one.
fn read_objects(id: Option<String>, objects: Vec<Value>) -> Result<Bundle, StixError> {
    if objects.len() > MAX_OBJECTS {
        return Err(StixError::NotStix(format!(
            "the bundle holds {} objects; at most {MAX_OBJECTS} are read at once",
            objects.len()
        )));
    }
    let mut bundle = Bundle {
        id,
        ..Bundle::default()
    };
    for (position, value) in objects.into_iter().enumerate() {
        match StixObject::from_json(value) {
            Ok(object) => bundle.objects.push((position, object)),
            Err((id, reason)) => bundle.refused.push(ObjectRefused {
                position,
                id,
                reason,
            }),
        }
    }
    Ok(bundle)
}

/// A new bundle (`bundle--<random UUID>`) holding `objects`.
pub fn write_bundle(objects: Vec<Value>) -> Value {
    let mut bundle = Map::new();
    bundle.insert("type".into(), "bundle".into());
    bundle.insert(
        "id".into(),
        format!("bundle--{}", uuid::Uuid::new_v4()).into(),
    );
    bundle.insert("objects".into(), Value::Array(objects));
    Value::Object(bundle)
}

/// A STIX timestamp (RFC 3339, UTC, `Z`, milliseconds), as `created` and `modified` must be.
pub fn timestamp(at: Timestamp) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_datetime()
        .to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.to_rfc3339())
}

/// Reads a STIX timestamp (RFC 3339 in UTC, `Z`).
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    if !text.ends_with('Z') && !text.ends_with('z') {
        return None;
    }
    Timestamp::parse_rfc3339(text).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_bundle_keeps_good_objects_and_names_the_refused() {
        let text = br#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
            {"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","spec_version":"2.1"},
            {"type":"indicator","id":"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
            {"id":"x"},
            {"type":"malware","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"yesterday"}
        ]}"#;
        let bundle = read_bundle(text).unwrap();
        assert_eq!(bundle.objects.len(), 1);
        assert_eq!(bundle.objects[0].1.object_type(), "indicator");
        assert_eq!(bundle.objects[0].1.version(), "2016-04-06T20:03:48.000Z");
        let refused: Vec<(usize, String)> = bundle
            .refused
            .iter()
            .map(|r| (r.position, r.to_string()))
            .collect();
        assert_eq!(refused.len(), 3);
        assert_eq!(refused[0].0, 1);
        assert!(refused[0].1.contains("not \"indicator--\""), "{refused:?}");
        assert!(refused[1].1.contains("no \"type\""), "{refused:?}");
        assert!(
            refused[2].1.contains("\"created\"") && refused[2].1.contains("malware--31b9"),
            "{refused:?}"
        );
    }

    #[test]
    fn a_lone_object_is_a_bundle_of_one_and_junk_is_refused() {
        let one = read_bundle(
            br#"{"type":"campaign","id":"campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}"#,
        )
        .unwrap();
        assert_eq!(one.objects.len(), 1);
        assert_eq!(one.id, None);
        assert!(matches!(read_bundle(b"[1,2]"), Err(StixError::NotStix(_))));
        assert!(matches!(read_bundle(b"{"), Err(StixError::NotJson(_))));
        assert!(matches!(
            read_bundle(br#"{"type":"bundle","objects":{}}"#),
            Err(StixError::NotStix(_))
        ));
    }

    #[test]
    fn timestamps_have_milliseconds_and_read_back() {
        let at = Timestamp::from_unix_micros(1_700_000_000_123_456);
        assert_eq!(timestamp(at), "2023-11-14T22:13:20.123Z");
        assert_eq!(
            parse_timestamp("2023-11-14T22:13:20.123Z").unwrap(),
            Timestamp::from_unix_micros(1_700_000_000_123_000)
        );
        assert_eq!(parse_timestamp("2023-11-14T22:13:20+01:00"), None);
    }
}
