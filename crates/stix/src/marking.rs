//! TLP as STIX marking definitions.
//!
//! TLP 2.0 is written as the marking-definition objects the TLP 2.0
//! extension (OASIS CTI common objects, extension
//! `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`) publishes
//! under fixed ids: consumers recognise a label by its id, so the ids and
//! the objects' `created` are part of the standard and never minted here.
//! The four TLP 1.0 ids STIX 2.1 predefines are read too (WHITE is CLEAR).

use nigehban_model::Tlp;
use serde_json::{Value, json};

use crate::StixObject;

/// The TLP 2.0 extension definition.
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// When the TLP 2.0 marking definitions were created (part of the published objects).
pub const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The TLP 2.0 marking-definition ids.
pub const TLP2_IDS: [(Tlp, &str); 5] = [
    (
        Tlp::Clear,
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    ),
    (
        Tlp::Green,
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    ),
    (
        Tlp::Amber,
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    ),
    (
        Tlp::AmberStrict,
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    ),
    (
        Tlp::Red,
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    ),
];

/// The TLP 1.0 marking-definition ids STIX 2.1 predefines (WHITE read as CLEAR).
pub const TLP1_IDS: [(Tlp, &str); 4] = [
    (
        Tlp::Clear,
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    ),
    (
        Tlp::Green,
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    ),
    (
        Tlp::Amber,
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    ),
    (
        Tlp::Red,
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    ),
];

/// The TLP 2.0 marking-definition id of `tlp`.
pub fn tlp2_id(tlp: Tlp) -> &'static str {
    TLP2_IDS
        .iter()
        .find(|(t, _)| *t == tlp)
        .map(|(_, id)| *id)
        .unwrap_or(TLP2_IDS[3].1)
}

/// The TLP label a fixed (TLP 2.0 or TLP 1.0) marking-definition id stands for.
pub fn tlp_of_marking_id(id: &str) -> Option<Tlp> {
    TLP2_IDS
        .iter()
        .chain(TLP1_IDS.iter())
        .find(|(_, known)| *known == id)
        .map(|(tlp, _)| *tlp)
}

/// The TLP 2.0 marking-definition object of `tlp`, as the extension publishes it.
pub fn tlp2_definition(tlp: Tlp) -> Value {
    json!({
        "type": "marking-definition",
        "spec_version": crate::SPEC_VERSION,
        "id": tlp2_id(tlp),
        "created": TLP2_CREATED,
        "name": tlp.label(),
        "extensions": {
            TLP2_EXTENSION: {
                "extension_type": "property-extension",
                "tlp_2_0": tlp.as_str(),
            }
        }
    })
}

/// The TLP label a marking-definition object defines, whatever its id: the
/// fixed ids, the TLP 2.0 extension's `tlp_2_0`, or a TLP 1.0 style
/// `definition_type: "tlp"` with `definition.tlp`.
pub fn tlp_of_definition(object: &StixObject) -> Option<Tlp> {
    if object.object_type() != "marking-definition" {
        return None;
    }
    if let Some(tlp) = tlp_of_marking_id(object.id()) {
        return Some(tlp);
    }
    if let Some(word) = object
        .get("extensions")
        .and_then(|e| e.get(TLP2_EXTENSION))
        .and_then(|e| e.get("tlp_2_0"))
        .and_then(Value::as_str)
    {
        return word.parse().ok();
    }
    if object.get("definition_type").and_then(Value::as_str) == Some("tlp") {
        return object
            .get("definition")
            .and_then(|d| d.get("tlp"))
            .and_then(Value::as_str)
            .and_then(|word| word.parse().ok());
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_label_has_its_fixed_id_and_reads_back() {
        for tlp in Tlp::ALL {
            let definition = StixObject::from_json(tlp2_definition(tlp)).unwrap();
            assert_eq!(tlp_of_definition(&definition), Some(tlp));
            assert_eq!(tlp_of_marking_id(tlp2_id(tlp)), Some(tlp));
        }
        assert_eq!(
            tlp2_id(Tlp::AmberStrict),
            "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
        );
        assert_eq!(
            tlp_of_marking_id("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
            Some(Tlp::Clear)
        );
        assert_eq!(
            tlp_of_marking_id("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"),
            Some(Tlp::Red)
        );
    }

    #[test]
    fn a_tlp1_style_definition_under_another_id_is_read() {
        let object = StixObject::from_json(json!({
            "type": "marking-definition",
            "id": "marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "definition_type": "tlp",
            "definition": {"tlp": "amber"}
        }))
        .unwrap();
        assert_eq!(tlp_of_definition(&object), Some(Tlp::Amber));
    }
}
