//! Indicators to and from STIX indicator objects; sightings to sighting objects.
//!
//! Out: an [`Indicator`] becomes a STIX indicator whose id is derived from
//! the indicator's own (so every export names it alike), with a pattern
//! of one comparison, `valid_from`/`valid_until`, `confidence`, its tags as
//! `labels`, its TLP as the TLP 2.0 marking, its PAP as `x_nigehban_pap`,
//! and its source as the identity that made it ([`source_identity`]).
//!
//! In: [`read_indicator`] takes what an indicator needs from a STIX
//! indicator object, and one [`IndicatorValue`] per comparison of its
//! pattern whose object path is an indicator kind; comparisons of other
//! paths, or with values that are not valid, are listed with why.

use nigehban_model::indicator::{
    IndicatorKind, IndicatorValue, MAX_CONFIDENCE, MAX_DESCRIPTION_CHARS, MAX_LABEL_CHARS,
    MAX_TAGS, Sighting,
};
use nigehban_model::{Pap, Timestamp, Tlp, indicator::Indicator};
use serde_json::{Map, Value, json};

use crate::pattern::{self, Comparison, PatternError};
use crate::{BundleContext, InvalidObject, SPEC_VERSION, StixObject, marking, timestamp};

/// The custom property that carries PAP (STIX has no standard one).
pub const PAP_PROPERTY: &str = "x_nigehban_pap";

/// The namespace of the UUIDs of source identities (a fixed, random UUID).
const SOURCE_NAMESPACE: uuid::Uuid = uuid::uuid!("7f3a0c1e-5b2d-4e8f-9a61-2c4d8e0b7f35");

/// The STIX id of the identity standing for a source ("MISP feed CIRCL").
pub fn source_identity_id(source: &str) -> String {
    format!(
        "identity--{}",
        uuid::Uuid::new_v5(&SOURCE_NAMESPACE, source.as_bytes())
    )
}

/// The identity object standing for a source, first known at `created`.
pub fn source_identity(source: &str, created: Timestamp) -> Value {
    let at = timestamp(created);
    json!({
        "type": "identity",
        "spec_version": SPEC_VERSION,
        "id": source_identity_id(source),
        "created": at,
        "modified": at,
        "name": source,
        "identity_class": "organization",
    })
}

/// The STIX object path and the value written for an indicator value, if
/// STIX can say it.
fn object_path(value: &IndicatorValue) -> &'static str {
    match value.kind() {
        IndicatorKind::Ipv4 => "ipv4-addr:value",
        IndicatorKind::Ipv6 => "ipv6-addr:value",
        IndicatorKind::Cidr => match value.network() {
            Some((std::net::IpAddr::V6(_), _)) => "ipv6-addr:value",
            _ => "ipv4-addr:value",
        },
        IndicatorKind::Domain => "domain-name:value",
        IndicatorKind::Url => "url:value",
        IndicatorKind::Md5 => "file:hashes.MD5",
        IndicatorKind::Sha1 => "file:hashes.'SHA-1'",
        IndicatorKind::Sha256 => "file:hashes.'SHA-256'",
        IndicatorKind::Email => "email-addr:value",
        // No standard cyber-observable holds TLS client fingerprints.
        IndicatorKind::Ja3 => "x-tls-fingerprint:ja3",
        IndicatorKind::Ja4 => "x-tls-fingerprint:ja4",
    }
}

/// The pattern of one indicator value.
pub fn pattern_of(value: &IndicatorValue) -> String {
    pattern::equality(object_path(value), value.value())
}

/// The namespace of the UUIDs of exported indicators and sightings (a fixed, random UUID).
const RECORD_NAMESPACE: uuid::Uuid = uuid::uuid!("c4b1e0a2-93d7-4f5e-8b16-0e2a7d9c3f41");

/// A STIX UUID for one of our records: UUIDv5 of its own UUIDv7 (STIX
/// accepts UUIDs of versions 1 to 5 only), so every export names it alike.
fn record_uuid(kind: &str, id: uuid::Uuid) -> uuid::Uuid {
    let mut name = kind.as_bytes().to_vec();
    name.extend_from_slice(id.as_bytes());
    uuid::Uuid::new_v5(&RECORD_NAMESPACE, &name)
}

/// The STIX id of an indicator.
pub fn indicator_id(indicator: &Indicator) -> String {
    format!(
        "indicator--{}",
        record_uuid("indicator", indicator.id.as_uuid())
    )
}

/// An indicator as a STIX indicator object.
pub fn indicator_object(indicator: &Indicator) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), "indicator".into());
    object.insert("spec_version".into(), SPEC_VERSION.into());
    object.insert("id".into(), indicator_id(indicator).into());
    object.insert("created".into(), timestamp(indicator.created_at).into());
    // `modified` may not be before `created`, whatever the clock did.
    object.insert(
        "modified".into(),
        timestamp(indicator.updated_at.max(indicator.created_at)).into(),
    );
    if !indicator.title.is_empty() {
        object.insert("name".into(), indicator.title.clone().into());
    }
    if !indicator.description.is_empty() {
        object.insert("description".into(), indicator.description.clone().into());
    }
    object.insert("pattern".into(), pattern_of(&indicator.value).into());
    object.insert("pattern_type".into(), "stix".into());
    object.insert("pattern_version".into(), SPEC_VERSION.into());
    object.insert("valid_from".into(), timestamp(indicator.valid_from).into());
    // STIX wants `valid_until` after `valid_from` at the precision written.
    if let Some(until) = indicator.valid_until {
        let (from, until) = (timestamp(indicator.valid_from), timestamp(until));
        if until > from {
            object.insert("valid_until".into(), until.into());
        }
    }
    object.insert("confidence".into(), indicator.confidence.into());
    if !indicator.tags.is_empty() {
        object.insert("labels".into(), indicator.tags.clone().into());
    }
    if indicator.revoked {
        object.insert("revoked".into(), true.into());
    }
    if !indicator.source.is_empty() {
        object.insert(
            "created_by_ref".into(),
            source_identity_id(&indicator.source).into(),
        );
    }
    object.insert(
        "object_marking_refs".into(),
        json!([marking::tlp2_id(indicator.tlp)]),
    );
    object.insert(PAP_PROPERTY.into(), indicator.pap.as_str().into());
    Value::Object(object)
}

/// A sighting as a STIX sighting of `sighting_of` (a STIX indicator id), marked `tlp`.
pub fn sighting_object(sighting: &Sighting, sighting_of: &str, tlp: Tlp) -> Value {
    let mut object = Map::new();
    object.insert("type".into(), "sighting".into());
    object.insert("spec_version".into(), SPEC_VERSION.into());
    object.insert(
        "id".into(),
        format!(
            "sighting--{}",
            record_uuid("sighting", sighting.id.as_uuid())
        )
        .into(),
    );
    let recorded = timestamp(sighting.recorded_at);
    object.insert("created".into(), recorded.clone().into());
    object.insert("modified".into(), recorded.into());
    let seen = timestamp(sighting.seen_at);
    object.insert("first_seen".into(), seen.clone().into());
    object.insert("last_seen".into(), seen.into());
    object.insert("count".into(), sighting.count.into());
    object.insert("sighting_of_ref".into(), sighting_of.into());
    if !sighting.note.is_empty() {
        object.insert("description".into(), sighting.note.clone().into());
    }
    object.insert("object_marking_refs".into(), json!([marking::tlp2_id(tlp)]));
    Value::Object(object)
}

/// The indicator value a comparison names, or why it names none.
pub fn indicator_value(comparison: &Comparison) -> Result<IndicatorValue, String> {
    let steps: Vec<&str> = comparison.path.iter().map(String::as_str).collect();
    let kind = match (comparison.object_type.as_str(), steps.as_slice()) {
        ("ipv4-addr", ["value"]) | ("ipv6-addr", ["value"]) => {
            if comparison.value.contains('/') {
                "cidr"
            } else {
                "ip"
            }
        }
        ("network-traffic", ["src_ref" | "dst_ref", "value"]) => {
            if comparison.value.contains('/') {
                "cidr"
            } else {
                "ip"
            }
        }
        ("domain-name", ["value"]) => "domain",
        ("url", ["value"]) => "url",
        ("email-addr", ["value"]) => "email",
        ("file", ["hashes", hash]) => match hash.to_ascii_lowercase().replace('-', "").as_str() {
            "md5" => "md5",
            "sha1" => "sha1",
            "sha256" => "sha256",
            _ => {
                return Err(format!(
                    "{} is a hash no indicator kind holds",
                    comparison.object_path()
                ));
            }
        },
        ("x-tls-fingerprint", ["ja3"]) => "ja3",
        ("x-tls-fingerprint", ["ja4"]) => "ja4",
        _ => {
            return Err(format!(
                "{} is not a kind of indicator (ipv4-addr, ipv6-addr, domain-name, url, email-addr, file:hashes, network-traffic:src_ref/dst_ref)",
                comparison.object_path()
            ));
        }
    };
    let value = IndicatorValue::parse(kind, &comparison.value)
        .map_err(|e| format!("{}: {e}", comparison.object_path()))?;
    // An IPv4 path holds IPv4 values, an IPv6 path IPv6 ones.
    let family_ok = match comparison.object_type.as_str() {
        "ipv4-addr" => match value.kind() {
            IndicatorKind::Ipv4 => true,
            IndicatorKind::Cidr => matches!(value.network(), Some((std::net::IpAddr::V4(_), _))),
            _ => false,
        },
        "ipv6-addr" => match value.kind() {
            IndicatorKind::Ipv6 => true,
            IndicatorKind::Cidr => matches!(value.network(), Some((std::net::IpAddr::V6(_), _))),
            _ => false,
        },
        _ => true,
    };
    if !family_ok {
        return Err(format!(
            "{}: {:?} is not an address of that family",
            comparison.object_path(),
            comparison.value
        ));
    }
    Ok(value)
}

/// What a STIX indicator object says, for making indicators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorReading {
    /// One value per comparison that names an indicator kind (duplicates removed).
    pub values: Vec<IndicatorValue>,
    /// The comparisons that gave no value, with why.
    pub skipped: Vec<String>,
    /// `name`, cut to the longest title.
    pub title: String,
    /// `description`, cut to the longest description.
    pub description: String,
    /// `valid_from`.
    pub valid_from: Option<Timestamp>,
    /// `valid_until`, when it is after `valid_from`.
    pub valid_until: Option<Timestamp>,
    /// `confidence` (0–100).
    pub confidence: Option<u8>,
    /// `labels` that make good tags (non-empty, short; at most the tag limit).
    pub tags: Vec<String>,
    /// The TLP label of its markings.
    pub tlp: Option<Tlp>,
    /// PAP, from `x_nigehban_pap` or a `PAP:<label>` label.
    pub pap: Option<Pap>,
    /// The name of the identity that made it (or its id).
    pub source: Option<String>,
    /// Whether it is revoked.
    pub revoked: bool,
}

/// Why a STIX indicator object gave no reading.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndicatorProblem {
    /// Its pattern uses something indicators cannot hold.
    #[error("{id}: {reason}")]
    Unsupported {
        /// The object's id.
        id: String,
        /// The feature, or why no comparison gave a value.
        reason: String,
    },
    /// It is not a valid STIX indicator.
    #[error(transparent)]
    Invalid(#[from] InvalidObject),
}

fn cut(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .take(max)
        .collect()
}

/// Reads a STIX indicator object: its values and the fields an indicator needs.
pub fn read_indicator(
    object: &StixObject,
    context: &BundleContext,
) -> Result<IndicatorReading, IndicatorProblem> {
    let id = object.id().to_owned();
    let invalid = |reason: String| InvalidObject {
        id: id.clone(),
        reason,
    };
    let unsupported = |reason: String| IndicatorProblem::Unsupported {
        id: id.clone(),
        reason,
    };
    if object.object_type() != "indicator" {
        return Err(invalid(format!("is a {}, not an indicator", object.object_type())).into());
    }
    let pattern_type = object
        .get("pattern_type")
        .and_then(Value::as_str)
        .unwrap_or("stix");
    if pattern_type != "stix" {
        return Err(unsupported(format!(
            "pattern_type {pattern_type:?} (only STIX patterns are read)"
        )));
    }
    let Some(text) = object.get("pattern").and_then(Value::as_str) else {
        return Err(invalid("has no \"pattern\" string".into()).into());
    };
    let comparisons = pattern::parse(text).map_err(|e| match e {
        PatternError::Unsupported(why) => unsupported(why),
        syntax @ PatternError::Syntax { .. } => invalid(syntax.to_string()).into(),
    })?;
    let mut values: Vec<IndicatorValue> = Vec::new();
    let mut skipped = Vec::new();
    for comparison in &comparisons {
        match indicator_value(comparison) {
            Ok(value) if !values.contains(&value) => values.push(value),
            Ok(_) => {}
            Err(why) => skipped.push(why),
        }
    }
    if values.is_empty() {
        return Err(unsupported(skipped.join("; ")));
    }
    let time = |name: &str| -> Result<Option<Timestamp>, IndicatorProblem> {
        match object.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => crate::parse_timestamp(text).map(Some).ok_or_else(|| {
                invalid(format!("{name:?} {text:?} is not a STIX timestamp")).into()
            }),
            Some(other) => Err(invalid(format!("{name:?} {other} is not a STIX timestamp")).into()),
        }
    };
    let valid_from = time("valid_from")?;
    let valid_until =
        time("valid_until")?.filter(|until| valid_from.is_none_or(|from| *until > from));
    let confidence = match object.get("confidence") {
        None => None,
        Some(value) => match value.as_u64() {
            Some(c) if c <= u64::from(MAX_CONFIDENCE) => u8::try_from(c).ok(),
            _ => return Err(invalid(format!("\"confidence\" {value} is not 0 to 100")).into()),
        },
    };
    let labels: Vec<String> = object
        .get("labels")
        .and_then(Value::as_array)
        .map(|labels| {
            labels
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut pap = object
        .get(PAP_PROPERTY)
        .and_then(Value::as_str)
        .and_then(|word| word.parse::<Pap>().ok());
    let mut tags = Vec::new();
    for label in labels {
        let lower = label.trim().to_ascii_lowercase();
        if let Some(word) = lower.strip_prefix("pap:") {
            if pap.is_none() {
                pap = word.parse().ok();
            }
            continue;
        }
        if label.trim().is_empty()
            || label.chars().count() > MAX_LABEL_CHARS
            || tags.len() == MAX_TAGS
        {
            continue;
        }
        if !tags.contains(&label) {
            tags.push(label);
        }
    }
    Ok(IndicatorReading {
        values,
        skipped,
        title: cut(
            object
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            MAX_LABEL_CHARS,
        ),
        description: cut(
            object
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            MAX_DESCRIPTION_CHARS,
        ),
        valid_from,
        valid_until,
        confidence,
        tags,
        tlp: context.tlp_of(object),
        pap,
        source: context.creator_of(object).map(|s| cut(&s, MAX_LABEL_CHARS)),
        revoked: object.get("revoked").and_then(Value::as_bool) == Some(true),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use nigehban_model::{IndicatorId, InstanceId, TenantId};

    fn indicator(kind: &str, value: &str, tlp: Tlp) -> Indicator {
        let at = Timestamp::from_unix_micros(1_700_000_000_000_000);
        Indicator {
            id: IndicatorId::new(),
            instance: InstanceId::new(),
            tenant: TenantId::new(),
            value: IndicatorValue::parse(kind, value).unwrap(),
            title: "Emotet C2".into(),
            description: "seen at the edge".into(),
            valid_from: at,
            valid_until: Some(Timestamp::from_unix_micros(1_800_000_000_000_000)),
            confidence: 80,
            source: "PK-CERT".into(),
            tags: vec!["attack.t1071".into()],
            tlp,
            pap: Pap::Amber,
            shared_with: vec![],
            revoked: false,
            version: 1,
            created_at: at,
            updated_at: at,
            updated_by: None,
        }
    }

    #[test]
    fn every_kind_goes_out_and_comes_back() {
        for (kind, value) in [
            ("ipv4", "192.0.2.1"),
            ("ipv6", "2001:db8::1"),
            ("cidr", "10.0.0.0/8"),
            ("cidr", "2001:db8::/32"),
            ("domain", "evil.example"),
            ("url", "https://evil.example/a?b=1"),
            ("md5", &"a".repeat(32)),
            ("sha1", &"b".repeat(40)),
            ("sha256", &"c".repeat(64)),
            ("email", "bad@evil.example"),
            ("ja3", &"d".repeat(32)),
            ("ja4", "t13d1516h2_8daaf6152771_b0da82dd1658"),
        ] {
            let out = indicator(kind, value, Tlp::AmberStrict);
            let object = StixObject::from_json(indicator_object(&out)).unwrap();
            assert_eq!(
                object.object_marking_refs(),
                ["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"]
            );
            let mut context = BundleContext::default();
            context
                .identities
                .insert(source_identity_id("PK-CERT"), "PK-CERT".into());
            let back = read_indicator(&object, &context).unwrap();
            assert_eq!(back.values, std::slice::from_ref(&out.value), "{kind}");
            assert_eq!(back.tlp, Some(Tlp::AmberStrict));
            assert_eq!(back.pap, Some(Pap::Amber));
            assert_eq!(back.source.as_deref(), Some("PK-CERT"));
            assert_eq!(back.tags, out.tags);
            assert_eq!(back.confidence, Some(80));
            assert_eq!(back.valid_from, Some(out.valid_from));
            assert_eq!(back.valid_until, out.valid_until);
            assert_eq!(back.title, "Emotet C2");
        }
    }

    #[test]
    fn ors_give_several_values_and_unknown_paths_are_reported() {
        let object = StixObject::from_json(json!({
            "type": "indicator",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "pattern": "[domain-name:value = 'domain autuo.xicp.net' OR ipv4-addr:value = '60.10.1.115' OR file:name = 'a.exe'] OR [ipv4-addr:value = '223.166.0.0/15']",
            "pattern_type": "stix",
            "labels": ["PAP:RED", "apt"],
            "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]
        }))
        .unwrap();
        let reading = read_indicator(&object, &BundleContext::default()).unwrap();
        let values: Vec<String> = reading.values.iter().map(ToString::to_string).collect();
        assert_eq!(values, ["ipv4:60.10.1.115", "cidr:223.166.0.0/15"]);
        assert_eq!(reading.skipped.len(), 2, "{:?}", reading.skipped);
        assert!(reading.skipped[0].contains("domain autuo.xicp.net"));
        assert!(reading.skipped[1].contains("file:name"));
        assert_eq!(reading.pap, Some(Pap::Red));
        assert_eq!(reading.tags, ["apt"]);
        assert_eq!(reading.tlp, Some(Tlp::Amber));
    }

    #[test]
    fn unsupported_patterns_and_bad_properties_name_the_object() {
        let make = |pattern: &str, extra: Value| {
            let mut object = json!({
                "type": "indicator",
                "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "pattern": pattern,
                "pattern_type": "stix",
            });
            if let (Value::Object(o), Value::Object(e)) = (&mut object, extra) {
                o.extend(e);
            }
            StixObject::from_json(object).unwrap()
        };
        let context = BundleContext::default();
        let and = read_indicator(
            &make("[file:name = 'a' AND file:size = '1']", json!({})),
            &context,
        )
        .unwrap_err();
        assert!(
            matches!(&and, IndicatorProblem::Unsupported { .. }),
            "{and}"
        );
        assert!(and.to_string().contains("indicator--8e2e2d2b"));
        let only_names =
            read_indicator(&make("[file:name = 'a.exe']", json!({})), &context).unwrap_err();
        assert!(only_names.to_string().contains("file:name"), "{only_names}");
        let sigma = read_indicator(
            &make("title: x", json!({"pattern_type": "sigma"})),
            &context,
        )
        .unwrap_err();
        assert!(sigma.to_string().contains("sigma"), "{sigma}");
        let bad = read_indicator(
            &make(
                "[ipv4-addr:value = '192.0.2.1']",
                json!({"confidence": 300}),
            ),
            &context,
        )
        .unwrap_err();
        assert!(matches!(bad, IndicatorProblem::Invalid(_)), "{bad}");
        let wrong_family = read_indicator(
            &make("[ipv4-addr:value = '2001:db8::1']", json!({})),
            &context,
        )
        .unwrap_err();
        assert!(
            wrong_family.to_string().contains("family"),
            "{wrong_family}"
        );
    }
}
