//! Every class and type of the RSIT taxonomy file in the outside corpus
//! (`../shared/data/taxonomy/rsit/machinev1.json`, or `$NIGEHBAN_CORPUS`) is
//! accepted as an incident classification, in both spellings, and the copy
//! embedded in the crate is that file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use nigehban_model::RsitClass;
use nigehban_model::incident::{RsitTaxonomy, rsit};

fn corpus() -> Option<PathBuf> {
    let path = std::env::var_os("NIGEHBAN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if path.is_dir() {
        return Some(path);
    }
    if std::env::var("NIGEHBAN_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!(
            "corpus not found at {} and NIGEHBAN_REQUIRE_CORPUS=1",
            path.display()
        );
    }
    eprintln!("skipped: corpus not found at {}", path.display());
    None
}

#[test]
fn every_rsit_class_and_type_of_the_corpus_file_is_accepted() {
    let Some(corpus) = corpus() else { return };
    let text = std::fs::read_to_string(corpus.join("taxonomy/rsit/machinev1.json")).unwrap();
    let file = RsitTaxonomy::from_machinetag_json(&text).unwrap();
    assert_eq!(
        &file,
        rsit(),
        "the embedded copy differs from the corpus file"
    );
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut pairs = 0;
    for values in raw["values"].as_array().unwrap() {
        let class = values["predicate"].as_str().unwrap();
        for entry in values["entry"].as_array().unwrap() {
            let kind = entry["value"].as_str().unwrap();
            let parsed = RsitClass::parse(class, kind)
                .unwrap_or_else(|e| panic!("{class}/{kind} refused: {e}"));
            assert_eq!((parsed.class(), parsed.kind()), (class, kind));
            let american = kind.replace("unauthorised", "unauthorized");
            assert_eq!(RsitClass::parse(class, &american).unwrap(), parsed);
            let json: RsitClass =
                serde_json::from_value(serde_json::json!({"class": class, "type": american}))
                    .unwrap();
            assert_eq!(json, parsed);
            pairs += 1;
        }
    }
    assert_eq!(pairs, 39, "RSIT 1.3 has 39 types");
    let classes: Vec<&str> = raw["predicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert_eq!(classes.len(), 11);
    let refused = RsitClass::parse("cyber-war", "x").unwrap_err().to_string();
    for class in classes {
        assert!(refused.contains(class), "{class} missing from: {refused}");
    }
}
