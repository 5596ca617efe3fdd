//! The Reference Security Incident Taxonomy (RSIT), embedded at build time.
//!
//! `data/rsit/machinev1.json` is ENISA's machine-readable taxonomy (MISP
//! machinetag format, CC0 1.0; `data/rsit/SOURCE.txt` says where it came
//! from): classes ("predicates") and the types ("values") of each.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The embedded taxonomy file.
const MACHINE_TAXONOMY: &str = include_str!("../../data/rsit/machinev1.json");

/// One type of an RSIT class (e.g. `phishing` of `fraud`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RsitTypeEntry {
    /// Its machine value, e.g. `phishing`.
    pub value: String,
    /// Its name, e.g. `Phishing`.
    pub expanded: String,
    /// What it means.
    pub description: String,
}

/// One RSIT class with its types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RsitClassEntry {
    /// Its machine value, e.g. `fraud`.
    pub value: String,
    /// Its name, e.g. `Fraud`.
    pub expanded: String,
    /// Its types.
    pub types: Vec<RsitTypeEntry>,
}

/// The taxonomy: every class and type, in the file's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RsitTaxonomy {
    /// The file's version (1003 for RSIT 1.3).
    pub version: u64,
    /// The classes.
    pub classes: Vec<RsitClassEntry>,
}

#[derive(Deserialize)]
struct MachineFile {
    version: u64,
    predicates: Vec<MachineEntry>,
    values: Vec<MachineValues>,
}

#[derive(Deserialize)]
struct MachineEntry {
    value: String,
    #[serde(default)]
    expanded: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct MachineValues {
    predicate: String,
    entry: Vec<MachineEntry>,
}

impl RsitTaxonomy {
    /// Reads a taxonomy in MISP machinetag format (as `machinev1.json`).
    pub fn from_machinetag_json(text: &str) -> Result<Self, serde_json::Error> {
        let file: MachineFile = serde_json::from_str(text)?;
        let classes = file
            .predicates
            .into_iter()
            .map(|class| {
                let types = file
                    .values
                    .iter()
                    .filter(|values| values.predicate == class.value)
                    .flat_map(|values| values.entry.iter())
                    .map(|entry| RsitTypeEntry {
                        value: entry.value.clone(),
                        expanded: entry.expanded.clone(),
                        description: entry.description.clone(),
                    })
                    .collect();
                RsitClassEntry {
                    value: class.value,
                    expanded: class.expanded,
                    types,
                }
            })
            .collect();
        Ok(Self {
            version: file.version,
            classes,
        })
    }

    /// The class with this machine value.
    pub fn class(&self, value: &str) -> Option<&RsitClassEntry> {
        self.classes.iter().find(|class| class.value == value)
    }

    /// Every class's machine value, comma-separated (for error messages).
    pub fn class_list(&self) -> String {
        self.classes
            .iter()
            .map(|class| class.value.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The embedded RSIT taxonomy (parsed once).
pub fn rsit() -> &'static RsitTaxonomy {
    static TAXONOMY: OnceLock<RsitTaxonomy> = OnceLock::new();
    TAXONOMY.get_or_init(|| {
        // The file is ours and a test parses it; an unreadable copy would
        // leave no class valid rather than stop the process.
        RsitTaxonomy::from_machinetag_json(MACHINE_TAXONOMY).unwrap_or(RsitTaxonomy {
            version: 0,
            classes: Vec::new(),
        })
    })
}

/// A classification refused, with the valid choices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidClassification {
    /// The class is not in the taxonomy.
    #[error("unknown RSIT class {given:?}; valid classes: {valid}")]
    UnknownClass {
        /// What was given.
        given: String,
        /// The valid classes, comma-separated.
        valid: String,
    },
    /// The type is not one of the class's types.
    #[error("unknown RSIT type {given:?} of class {class:?}; valid types of {class}: {valid}")]
    UnknownType {
        /// The class.
        class: String,
        /// What was given.
        given: String,
        /// The class's valid types, comma-separated.
        valid: String,
    },
}

/// An incident's classification: an RSIT class and one of its types, as the
/// taxonomy spells them (`unauthorized-` is read as `unauthorised-`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawClass")]
pub struct RsitClass {
    class: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    class: String,
    #[serde(rename = "type")]
    kind: String,
}

impl TryFrom<RawClass> for RsitClass {
    type Error = InvalidClassification;
    fn try_from(raw: RawClass) -> Result<Self, Self::Error> {
        RsitClass::parse(&raw.class, &raw.kind)
    }
}

/// Lower-case, trimmed, and spelt as the taxonomy spells it.
fn canonical(word: &str) -> String {
    let word = word.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    word.replace("unauthorized", "unauthorised")
}

impl RsitClass {
    /// Checks a class and type against the embedded taxonomy.
    pub fn parse(class: &str, kind: &str) -> Result<Self, InvalidClassification> {
        let taxonomy = rsit();
        let class_word = canonical(class);
        let Some(entry) = taxonomy.class(&class_word) else {
            return Err(InvalidClassification::UnknownClass {
                given: class.to_owned(),
                valid: taxonomy.class_list(),
            });
        };
        let kind_word = canonical(kind);
        if !entry.types.iter().any(|t| t.value == kind_word) {
            return Err(InvalidClassification::UnknownType {
                class: entry.value.clone(),
                given: kind.to_owned(),
                valid: entry
                    .types
                    .iter()
                    .map(|t| t.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(Self {
            class: class_word,
            kind: kind_word,
        })
    }

    /// The class, e.g. `fraud`.
    pub fn class(&self) -> &str {
        &self.class
    }

    /// The type, e.g. `phishing`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The MISP machine tag, e.g. `rsit:fraud="phishing"`.
    pub fn machine_tag(&self) -> String {
        format!("rsit:{}=\"{}\"", self.class, self.kind)
    }
}

impl fmt::Display for RsitClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.class, self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_taxonomy_has_every_class() {
        let taxonomy = rsit();
        assert_eq!(taxonomy.version, 1003);
        assert_eq!(taxonomy.classes.len(), 11, "{}", taxonomy.class_list());
        let types: usize = taxonomy.classes.iter().map(|c| c.types.len()).sum();
        assert_eq!(types, 39);
        for class in &taxonomy.classes {
            for kind in &class.types {
                let parsed = RsitClass::parse(&class.value, &kind.value).unwrap();
                assert_eq!(
                    (parsed.class(), parsed.kind()),
                    (class.value.as_str(), kind.value.as_str())
                );
            }
        }
    }

    #[test]
    fn both_spellings_are_accepted() {
        for (given, want) in [
            (
                "unauthorized-information-access",
                "unauthorised-information-access",
            ),
            (
                "Unauthorised-Information-Modification",
                "unauthorised-information-modification",
            ),
        ] {
            let parsed = RsitClass::parse("information-content-security", given).unwrap();
            assert_eq!(parsed.kind(), want);
        }
        let parsed = RsitClass::parse("fraud", "unauthorized_use_of_resources").unwrap();
        assert_eq!(parsed.to_string(), "fraud/unauthorised-use-of-resources");
        assert_eq!(
            parsed.machine_tag(),
            "rsit:fraud=\"unauthorised-use-of-resources\""
        );
    }

    #[test]
    fn unknown_classes_and_types_list_the_valid_ones() {
        let error = RsitClass::parse("espionage", "x").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("espionage"), "{text}");
        for class in ["abusive-content", "malicious-code", "vulnerable", "test"] {
            assert!(text.contains(class), "{text}");
        }
        let error = RsitClass::parse("fraud", "pharming").unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("phishing") && text.contains("masquerade"),
            "{text}"
        );
        assert!(!text.contains("ddos"), "{text}");
    }

    #[test]
    fn classifications_deserialise_checked() {
        let parsed: RsitClass =
            serde_json::from_str(r#"{"class":"intrusions","type":"system-compromise"}"#).unwrap();
        assert_eq!(parsed.class(), "intrusions");
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            serde_json::json!({"class": "intrusions", "type": "system-compromise"})
        );
        assert!(serde_json::from_str::<RsitClass>(r#"{"class":"intrusions","type":"x"}"#).is_err());
    }
}
