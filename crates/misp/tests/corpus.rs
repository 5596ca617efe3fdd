//! The MISP codec against real MISP data from the corpus
//! (`intel/misp-pymisp`, see its SOURCE.txt): the feed PyMISP generated
//! from its own test events, and those upstream events themselves. The
//! expected figures were counted from the files with an independent script
//! (Python's `json`, MISP's attribute types), not from this reader.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use nigehban_misp::{
    AttributeProblem, Distribution, MispError, read_events, read_feed, read_hashes,
};
use nigehban_model::Tlp;
use nigehban_model::indicator::IndicatorKind;

const FEED: &str = "intel/misp-pymisp/generated-feed";
const UPSTREAM: &str = "intel/misp-pymisp/upstream-events";

fn feed() -> Option<PathBuf> {
    nigehban_testkit::corpus_with(FEED).map(|root| root.join(FEED))
}

fn read_generated_feed(dir: &Path) -> nigehban_misp::MispRead {
    let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
    read_feed(&manifest, |uuid| {
        std::fs::read(dir.join(format!("{uuid}.json"))).ok()
    })
    .unwrap()
}

#[test]
fn the_pymisp_feed_imports_with_its_attributes_tags_and_labels() {
    let Some(dir) = feed() else { return };
    let read = read_generated_feed(&dir);
    assert!(read.failed.is_empty(), "{:?}", read.failed);
    // 14 manifest entries, one file each; 998 attributes, objects' included.
    assert_eq!(read.events.len(), 14);
    assert_eq!(read.attributes(), 998);
    // 363 attributes are of types that are no indicator kind (link, text,
    // filename, regkey, ssdeep, sha512, ...); 40 of ours say to_ids false.
    assert_eq!(read.notes_of(&AttributeProblem::Unsupported).count(), 363);
    assert_eq!(
        read.notes_of(&AttributeProblem::NotForDetection).count(),
        40
    );
    assert_eq!(read.notes_of(&AttributeProblem::Deleted).count(), 0);
    // The other 595 are ours: each an indicator, or merged into an earlier
    // attribute of the same value, or refused naming its value.
    let duplicates = read.notes_of(&AttributeProblem::Duplicate).count();
    let bad: Vec<String> = read
        .notes_of(&AttributeProblem::BadValue(String::new()))
        .map(ToString::to_string)
        .collect();
    // `domain|ip` would give two indicators per attribute; the feed has none.
    assert_eq!(
        read.indicators.len() + duplicates + bad.len(),
        595,
        "{bad:#?}"
    );
    assert!(read.indicators.len() > 500, "{}", read.indicators.len());
    for note in &read.notes {
        let text = note.to_string();
        assert!(
            text.starts_with(&format!("event {}, ", note.event)),
            "{text}"
        );
    }

    // Every unsupported note names a real event uuid from the manifest and its type.
    let uuids: Vec<&str> = read.events.iter().map(|e| e.uuid.as_str()).collect();
    assert!(read.notes.iter().all(|n| uuids.contains(&n.event.as_str())));
    assert!(
        read.notes_of(&AttributeProblem::Unsupported)
            .any(|n| n.attribute_type == "regkey|value"
                && n.event == "57c4445b-c548-4654-af0b-4be3950d210f")
    );

    // The Xorist event (CIRCL, tlp:white): its MD5 with the event's tags.
    let md5 = read
        .indicators
        .iter()
        .find(|i| i.value.value() == "0749bae92ca336a02c83d126e04ec628")
        .expect("the Xorist MD5");
    assert_eq!(md5.value.kind(), IndicatorKind::Md5);
    assert_eq!(md5.tlp, Tlp::Clear, "tlp:white is TLP:CLEAR");
    assert_eq!(md5.title, "Ransomware - Xorist");
    assert_eq!(md5.source, "MISP CIRCL");
    assert_eq!(md5.event_uuid, "57c4445b-c548-4654-af0b-4be3950d210f");
    assert_eq!(md5.attribute_uuid, "57c4448b-454c-4d17-90d1-4d2f950d210f");
    assert_eq!(
        md5.tags,
        [
            "circl:incident-classification=\"malware\"",
            "ms-caro-malware:malware-type=\"Ransom\"",
            "malware_classification:malware-category=\"Ransomware\"",
        ]
    );
    assert_eq!(
        md5.valid_from.map(|t| t.unix_micros() / 1_000_000),
        Some(1_472_480_395)
    );
    assert!(md5.description.contains("Payload delivery/md5"));
    // No tlp: tag is lost into the free tags.
    assert!(read.indicators.iter().all(|i| {
        i.tags
            .iter()
            .all(|t| !t.to_ascii_lowercase().starts_with("tlp:"))
    }));

    // Composite types give their indicator part: filename|sha256 → SHA-256.
    let composite = read
        .indicators
        .iter()
        .find(|i| i.attribute_type == "filename|sha256")
        .unwrap();
    assert_eq!(composite.value.kind(), IndicatorKind::Sha256);
    // Objects' attributes are read too.
    assert!(
        read.indicators
            .iter()
            .any(|i| matches!(i.at, nigehban_misp::AttributeAt::ObjectAttribute { .. }))
    );

    // 11 of the 14 events carry tlp:white; the feed strips distribution, so
    // the other three's values fall to the default label, TLP:AMBER.
    let white = read
        .events
        .iter()
        .filter(|e| e.tags.iter().any(|t| t == "tlp:white"))
        .count();
    assert_eq!(white, 11);
    assert!(read.events.iter().all(|e| e.distribution.is_none()));
    for indicator in &read.indicators {
        let event = read
            .events
            .iter()
            .find(|e| e.uuid == indicator.event_uuid)
            .unwrap();
        let expected = if event.tags.iter().any(|t| t == "tlp:white") {
            Tlp::Clear
        } else {
            Tlp::Amber
        };
        assert_eq!(indicator.tlp, expected, "{}", indicator.value);
    }

    // hashes.csv: 1,100 lines, each naming an event of the manifest.
    let hashes = read_hashes(&std::fs::read_to_string(dir.join("hashes.csv")).unwrap()).unwrap();
    assert_eq!(hashes.len(), 1_100);
    assert!(
        hashes
            .iter()
            .all(|(_, uuid)| uuids.contains(&uuid.as_str()))
    );
}

#[test]
fn upstream_events_import_or_are_refused_clearly() {
    let Some(root) = nigehban_testkit::corpus_with(UPSTREAM) else {
        return;
    };
    let dir = root.join(UPSTREAM);
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 35, "{} files", files.len());
    let mut read_ok = 0;
    let mut indicators = 0;
    for path in &files {
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        let bytes = std::fs::read(path).unwrap();
        match read_events(&bytes) {
            Ok(read) => {
                read_ok += 1;
                indicators += read.indicators.len();
            }
            Err(error) => {
                // Only the files that hold no event: `{}`, a list of sharing
                // groups, an object template definition, a sighting.
                assert!(
                    matches!(error, MispError::NotAnEvent { .. }),
                    "{name}: {error}"
                );
                assert!(error.to_string().contains("is not a MISP event"), "{error}");
            }
        }
    }
    assert!(read_ok >= 30, "only {read_ok} files read");
    assert!(indicators > 500, "only {indicators} indicators");

    let read = |name: &str| read_events(&std::fs::read(dir.join(name)).unwrap()).unwrap();
    // Distribution 3 (all communities), no tlp: tag: TLP:CLEAR.
    let sightings = read("reportlab_testfiles/sighting_1.json");
    assert_eq!(
        sightings.events[0].distribution,
        Some(Distribution::AllCommunities)
    );
    let first = &sightings.indicators[0];
    assert_eq!(first.value.value(), "ooiasjdnqjwbeasdasd.com");
    assert_eq!(first.tlp, Tlp::Clear);
    assert!(
        first
            .tags
            .contains(&"misp-galaxy:banker=\"Gozi\"".to_owned())
    );
    // Distribution 1 (this community), no tlp: tag: TLP:AMBER.
    let community = read("mispevent_testfiles/def_param.json");
    assert_eq!(
        community.events[0].distribution,
        Some(Distribution::ThisCommunity)
    );
    assert!(!community.indicators.is_empty());
    assert!(community.indicators.iter().all(|i| i.tlp == Tlp::Amber));
    // Distribution 0 with to_ids false everywhere: nothing taken, both noted.
    let own_org = read("misp_event.json");
    assert!(own_org.indicators.is_empty());
    assert_eq!(own_org.notes.len(), 2);
    assert_eq!(own_org.notes[0].problem, AttributeProblem::NotForDetection);
    assert_eq!(own_org.notes[1].problem, AttributeProblem::Unsupported);
    // A tlp:white event whose attributes inherit distribution 3.
    let sednit = read("mispevent_testfiles/existing_event.json");
    let domain = sednit
        .indicators
        .iter()
        .find(|i| i.value.value() == "movieultimate.com")
        .unwrap();
    assert_eq!(domain.tlp, Tlp::Clear);
    assert!(
        domain
            .tags
            .contains(&"misp-galaxy:threat-actor=\"Sofacy\"".to_owned())
    );
}
