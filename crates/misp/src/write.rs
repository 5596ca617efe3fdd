//! Writing indicators as a MISP feed: `manifest.json`, one
//! `<event-uuid>.json` per event, `hashes.csv` — the layout MISP's feed
//! pull and PyMISP's `feed-generator` use.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use nigehban_model::indicator::Indicator;
use nigehban_model::{TenantId, Timestamp, Tlp};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::labels::{distribution_of_tlp, pap_tag, tlp_colour, tlp_tag};
use crate::types::{JA4_TAG, attribute_type_of, category_of};

/// The namespace of feed event uuids (a fixed, random UUID).
const FEED_NAMESPACE: Uuid = Uuid::from_u128(0x9581_14d7_614e_425d_927c_734d_7dd4_ee29);

/// One event of a feed: the indicators of one publishing tenant, source and TLP label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// Its uuid ([`event_uuid`]).
    pub uuid: Uuid,
    /// The publishing tenant (the event's creator organisation).
    pub owner: TenantId,
    /// The publishing tenant's name.
    pub org: String,
    /// The indicators' source.
    pub source: String,
    /// The indicators' TLP label.
    pub tlp: Tlp,
    /// The indicators, ordered by id.
    pub indicators: Vec<Indicator>,
}

/// One file of a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedFile {
    /// Its name: `manifest.json`, `hashes.csv` or `<event-uuid>.json`.
    pub name: String,
    /// Its contents.
    pub bytes: Vec<u8>,
}

/// The uuid of the feed event holding `owner`'s indicators from `source` at
/// `tlp`: the same three always give the same uuid, so that a MISP instance
/// pulling the feed again updates the event rather than adding another.
pub fn event_uuid(owner: TenantId, source: &str, tlp: Tlp) -> Uuid {
    let name = format!("{owner}\n{source}\n{}", tlp.as_str());
    Uuid::new_v5(&FEED_NAMESPACE, name.as_bytes())
}

/// Groups indicators into feed events, one per publishing tenant, source
/// and TLP label (ordered by uuid); withdrawn indicators are left out.
/// `org_name` names a publishing tenant. Which indicators are given is the
/// caller's decision (those the pulling tenant may read).
pub fn feed_events(
    indicators: &[Indicator],
    org_name: impl Fn(TenantId) -> String,
) -> Vec<FeedEvent> {
    let mut groups: BTreeMap<Uuid, FeedEvent> = BTreeMap::new();
    for indicator in indicators.iter().filter(|i| !i.revoked) {
        let uuid = event_uuid(indicator.tenant, &indicator.source, indicator.tlp);
        groups
            .entry(uuid)
            .or_insert_with(|| FeedEvent {
                uuid,
                owner: indicator.tenant,
                org: org_name(indicator.tenant),
                source: indicator.source.clone(),
                tlp: indicator.tlp,
                indicators: Vec::new(),
            })
            .indicators
            .push(indicator.clone());
    }
    groups
        .into_values()
        .map(|mut event| {
            event.indicators.sort_by_key(|i| i.id);
            event
        })
        .collect()
}

fn seconds(at: Timestamp) -> i64 {
    at.unix_micros().div_euclid(1_000_000)
}

fn date(at: Timestamp) -> String {
    let day = at.to_datetime().date();
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

fn tag(name: &str, colour: &str) -> Value {
    json!({"name": name, "colour": colour, "local": false, "relationship_type": ""})
}

impl FeedEvent {
    /// When it last changed: its newest indicator change (MISP fetches an event again when this moves).
    pub fn timestamp(&self) -> i64 {
        self.indicators
            .iter()
            .map(|i| seconds(i.updated_at))
            .max()
            .unwrap_or(0)
    }

    /// Its date: its oldest indicator's creation day (UTC).
    pub fn date(&self) -> String {
        self.indicators
            .iter()
            .map(|i| i.created_at)
            .min()
            .map_or_else(|| "1970-01-01".to_owned(), date)
    }

    /// Its `info`: who published it, from which source, under which label.
    pub fn info(&self) -> String {
        let source = if self.source.trim().is_empty() {
            "indicators"
        } else {
            self.source.trim()
        };
        format!("{}: {source} ({})", self.org, self.tlp.label())
    }

    fn tags(&self) -> Vec<Value> {
        vec![tag(tlp_tag(self.tlp), tlp_colour(self.tlp))]
    }

    fn org(&self) -> Value {
        json!({"name": self.org, "uuid": self.owner.to_string()})
    }

    fn attribute(indicator: &Indicator) -> Value {
        let (attribute_type, to_ids) = attribute_type_of(indicator.value.kind());
        let mut tags = vec![
            tag(tlp_tag(indicator.tlp), tlp_colour(indicator.tlp)),
            tag(pap_tag(indicator.pap), "#000000"),
        ];
        if attribute_type == "text" {
            tags.push(tag(JA4_TAG, "#000000"));
        }
        tags.extend(indicator.tags.iter().map(|t| tag(t, "#000000")));
        let comment = match (indicator.title.trim(), indicator.description.trim()) {
            ("", description) => description.to_owned(),
            (title, "") => title.to_owned(),
            (title, description) => format!("{title}\n\n{description}"),
        };
        let mut attribute = json!({
            "uuid": indicator.id.to_string(),
            "type": attribute_type,
            "category": category_of(attribute_type),
            "value": indicator.value.value(),
            "to_ids": to_ids,
            "comment": comment,
            "timestamp": seconds(indicator.updated_at).to_string(),
            "distribution": distribution_of_tlp(indicator.tlp).number().to_string(),
            "disable_correlation": false,
            "deleted": false,
            "first_seen": indicator.valid_from.to_rfc3339(),
            "Tag": tags,
        });
        if let (Some(until), Value::Object(fields)) = (indicator.valid_until, &mut attribute) {
            fields.insert("last_seen".into(), Value::String(until.to_rfc3339()));
        }
        attribute
    }

    /// The event file's JSON: `{"Event": {...}}` with every indicator as an attribute.
    pub fn to_json(&self) -> Value {
        let timestamp = self.timestamp().to_string();
        json!({"Event": {
            "uuid": self.uuid.to_string(),
            "info": self.info(),
            "date": self.date(),
            "timestamp": timestamp,
            "publish_timestamp": timestamp,
            "published": true,
            // Analysis completed; threat level undefined (a feed says nothing of either).
            "analysis": "2",
            "threat_level_id": "4",
            "distribution": distribution_of_tlp(self.tlp).number().to_string(),
            "Orgc": self.org(),
            "Tag": self.tags(),
            "Attribute": self.indicators.iter().map(Self::attribute).collect::<Vec<_>>(),
        }})
    }

    fn manifest_entry(&self) -> Value {
        json!({
            "Orgc": self.org(),
            "Tag": self.tags(),
            "info": self.info(),
            "date": self.date(),
            "analysis": 2,
            "threat_level_id": 4,
            "timestamp": self.timestamp(),
        })
    }
}

/// `manifest.json` for `events`: event uuid → summary.
pub fn manifest(events: &[FeedEvent]) -> Value {
    Value::Object(
        events
            .iter()
            .map(|e| (e.uuid.to_string(), e.manifest_entry()))
            .collect(),
    )
}

/// `hashes.csv` for `events`: `<md5 of the value>,<event uuid>` per attribute.
pub fn hashes_csv(events: &[FeedEvent]) -> String {
    let mut out = String::new();
    for event in events {
        for indicator in &event.indicators {
            let digest = Md5::digest(indicator.value.value().as_bytes());
            out.push_str(&hex::encode(digest));
            out.push(',');
            out.push_str(&event.uuid.to_string());
            out.push('\n');
        }
    }
    out
}

/// The whole feed of `indicators` as files: `manifest.json`, `hashes.csv`,
/// then one `<event-uuid>.json` per event (see [`feed_events`]).
pub fn write_feed(
    indicators: &[Indicator],
    org_name: impl Fn(TenantId) -> String,
) -> Vec<FeedFile> {
    feed_files(&feed_events(indicators, org_name))
}

/// The files of a feed of `events` (as [`feed_events`] makes them):
/// `manifest.json`, `hashes.csv`, then one `<event-uuid>.json` per event.
pub fn feed_files(events: &[FeedEvent]) -> Vec<FeedFile> {
    let mut files = vec![
        FeedFile {
            name: "manifest.json".into(),
            bytes: manifest(events).to_string().into_bytes(),
        },
        FeedFile {
            name: "hashes.csv".into(),
            bytes: hashes_csv(events).into_bytes(),
        },
    ];
    files.extend(events.iter().map(|event| FeedFile {
        name: format!("{}.json", event.uuid),
        bytes: event.to_json().to_string().into_bytes(),
    }));
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_feed;
    use nigehban_model::indicator::{IndicatorValue, ShareRecipient};
    use nigehban_model::{IndicatorId, InstanceId, Pap};

    fn indicator(tenant: TenantId, kind: &str, value: &str, tlp: Tlp) -> Indicator {
        let at = Timestamp::from_unix_micros(1_700_000_000_000_000);
        Indicator {
            id: IndicatorId::new(),
            instance: InstanceId::new(),
            tenant,
            value: IndicatorValue::parse(kind, value).unwrap(),
            title: "C2".into(),
            description: "seen in the wave".into(),
            valid_from: at,
            valid_until: None,
            confidence: 70,
            source: "partner feed".into(),
            tags: vec!["attack.t1566".into()],
            tlp,
            pap: Pap::Green,
            shared_with: vec![ShareRecipient::Tenant(TenantId::new())],
            revoked: false,
            version: 1,
            created_at: at,
            updated_at: at,
            updated_by: None,
        }
    }

    #[test]
    fn a_written_feed_reads_back_with_values_labels_and_tags() {
        let owner = TenantId::new();
        let mut withdrawn = indicator(owner, "domain", "gone.example", Tlp::Clear);
        withdrawn.revoked = true;
        let indicators = vec![
            indicator(owner, "ip", "192.0.2.1", Tlp::Clear),
            indicator(owner, "cidr", "10.0.0.0/8", Tlp::Red),
            indicator(
                owner,
                "ja4",
                "t13d1516h2_8daaf6152771_b0da82dd1658",
                Tlp::Green,
            ),
            indicator(owner, "sha256", &"a".repeat(64), Tlp::AmberStrict),
            withdrawn,
        ];
        let files = write_feed(&indicators, |_| "CERT Banking".into());
        assert_eq!(files.len(), 2 + 4);
        let by_name: BTreeMap<&str, &[u8]> = files
            .iter()
            .map(|f| (f.name.as_str(), f.bytes.as_slice()))
            .collect();
        let read = read_feed(by_name["manifest.json"], |uuid| {
            by_name
                .get(format!("{uuid}.json").as_str())
                .map(|b| b.to_vec())
        })
        .unwrap();
        assert!(read.failed.is_empty() && read.notes.is_empty(), "{read:?}");
        assert_eq!(read.indicators.len(), 4);
        for original in &indicators[..4] {
            let back = read
                .indicators
                .iter()
                .find(|i| i.value == original.value)
                .unwrap();
            assert_eq!(back.tlp, original.tlp);
            assert_eq!(back.pap, original.pap);
            assert_eq!(back.tags, original.tags);
            assert_eq!(back.valid_from, Some(original.valid_from));
            assert_eq!(back.attribute_uuid, original.id.to_string());
            assert_eq!(back.source, "MISP CERT Banking");
        }
        let hashes =
            crate::read_hashes(std::str::from_utf8(by_name["hashes.csv"]).unwrap()).unwrap();
        assert_eq!(hashes.len(), 4);
        assert!(hashes.contains(&(
            hex::encode(Md5::digest(b"192.0.2.1")),
            event_uuid(owner, "partner feed", Tlp::Clear).to_string()
        )));
    }

    #[test]
    fn events_group_by_owner_source_and_label_with_stable_uuids() {
        let (a, b) = (TenantId::new(), TenantId::new());
        let events = feed_events(
            &[
                indicator(a, "domain", "one.example", Tlp::Green),
                indicator(a, "domain", "two.example", Tlp::Green),
                indicator(a, "domain", "three.example", Tlp::Amber),
                indicator(b, "domain", "four.example", Tlp::Green),
            ],
            |t| if t == a { "A".into() } else { "B".into() },
        );
        assert_eq!(events.len(), 3);
        let green_a = events
            .iter()
            .find(|e| e.owner == a && e.tlp == Tlp::Green)
            .unwrap();
        assert_eq!(green_a.indicators.len(), 2);
        assert_eq!(green_a.uuid, event_uuid(a, "partner feed", Tlp::Green));
        assert_ne!(green_a.uuid, event_uuid(b, "partner feed", Tlp::Green));
        let json = green_a.to_json();
        assert_eq!(json["Event"]["distribution"], "1");
        assert_eq!(json["Event"]["Tag"][0]["name"], "tlp:green");
        assert_eq!(json["Event"]["Orgc"]["name"], "A");
        assert_eq!(json["Event"]["date"], "2023-11-14");
        assert_eq!(json["Event"]["Attribute"][0]["distribution"], "1");
        let amber = events
            .iter()
            .find(|e| e.tlp == Tlp::Amber)
            .unwrap()
            .to_json();
        assert_eq!(amber["Event"]["distribution"], "0");
        assert_eq!(
            amber["Event"]["Attribute"][0]["Tag"][0]["name"],
            "tlp:amber"
        );
        assert_eq!(
            amber["Event"]["Attribute"][0]["Tag"][1]["name"],
            "PAP:GREEN"
        );
    }
}
