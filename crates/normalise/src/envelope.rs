//! The one codec of the bus payload intake writes and every consumer reads: one normalised event with its event id.
//!
//! # Wire format
//!
//! Content type [`EVENT_CONTENT_TYPE`]; read it with [`decode_event`], which
//! returns the event id and the [`NormalisedEvent`]. The payload is a JSON
//! object in one of two layouts:
//!
//! 1. The serialisation of the `NormalisedEvent` with one more member, the
//!    event id, written first:
//!
//!    ```text
//!    {"id":"0190f3a2-7c4e-7d51-9a0b-3c2d1e0f4a5b","format":"syslog5424","tenant_id":"…","sensor_id":"…","fields":{…},"original":{"text":"<134>1 …"}}
//!    ```
//!
//! 2. For a record that arrived as JSON (Suricata, Zeek, Windows, …), the
//!    original record is written once, verbatim, instead of twice (as an
//!    escaped `original.text` string and again as the parsed `original.json`):
//!
//!    ```text
//!    {"id":"…","raw_len":506,"original":{"raw":{"timestamp":…,"event_type":"alert",…}},"format":"suricata_eve",…,"fields":{…}}
//!    ```
//!
//!    `raw_len` is the byte length of the verbatim record that follows
//!    `"raw":`. [`decode_event`] restores `original.text` (those exact bytes)
//!    and `original.json` (them parsed), which is what the normaliser had
//!    set. This keeps a typical 500-byte event's payload about a third
//!    smaller, and the embedded bus's durable rate falls with payload size.
//!    A consumer that deserialises layout 2 as a `NormalisedEvent` with
//!    serde directly gets an empty `original`: use [`decode_event`].
//!
//! `id` is a UUIDv7 assigned by intake when the record is received, unique
//! per event: a consumer that sees the same id twice (a bus redelivery) has
//! seen the same event.

use crate::{NormalisedEvent, Original, json_text};
use bytes::Bytes;
use uuid::Uuid;

/// The bus content type of a normalised event written by intake.
pub const EVENT_CONTENT_TYPE: &str = "application/vnd.nigehban.event+json";

/// A new event id: a UUIDv7 (Unix milliseconds, then 74 random bits).
///
/// The random bits come from a per-thread SplitMix64 sequence seeded once
/// from the operating system: ids must be unique, not secret, and asking
/// the kernel for randomness for every event costs more than the rest of
/// making the id.
pub fn new_event_id() -> Uuid {
    use std::cell::Cell;
    use std::time::{SystemTime, UNIX_EPOCH};
    thread_local! {
        static STATE: Cell<u64> = Cell::new(u64::from_le_bytes(
            Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([7; 8]),
        ));
    }
    let next = || {
        STATE.with(|state| {
            let mut z = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
            state.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
    };
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&next().to_le_bytes());
    random[8..].copy_from_slice(&next().to_le_bytes()[..2]);
    uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
}

/// Why a payload is not an event written by intake.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The payload does not start with an `id` member holding a UUID.
    #[error("the payload has no event id (a UUID in a leading \"id\" member)")]
    MissingId,
    /// The verbatim original record is cut or not where `raw_len` says.
    #[error("the payload's verbatim original record is malformed: {0}")]
    Raw(&'static str),
    /// The payload is not a normalised event.
    #[error("the payload is not a normalised event: {0}")]
    Event(#[from] serde_json::Error),
}

const ID_PREFIX: &[u8] = b"{\"id\":\"";
const RAW_LEN: &[u8] = b"\",\"raw_len\":";
const RAW_START: &[u8] = b",\"original\":{\"raw\":";

/// The original record, when it can be written verbatim: JSON text the
/// normaliser parsed as it is (no BOM, no surrounding whitespace).
fn verbatim(original: &Original) -> Option<&str> {
    let text = original.text.as_deref()?;
    if original.json.is_none() || original.bytes.is_some() {
        return None;
    }
    let bytes = text.as_bytes();
    let object = bytes.first() == Some(&b'{') && bytes.last() == Some(&b'}');
    let array = bytes.first() == Some(&b'[') && bytes.last() == Some(&b']');
    (object || array).then_some(text)
}

/// Serialises `event` with its id as a bus payload (see the module
/// documentation for the layout).
///
/// The members are written as `serde_json` serialises `NormalisedEvent`
/// (same order, same escapes; the tests compare the two), directly into
/// the payload.
pub fn encode_event(id: Uuid, event: &NormalisedEvent) -> Result<Bytes, serde_json::Error> {
    let mut text = Uuid::encode_buffer();
    let id_text: &str = id.hyphenated().encode_lower(&mut text);
    let original = event.original();
    let raw = verbatim(original);
    let text_len = original.text.as_deref().map_or(0, str::len);
    let mut payload = Vec::with_capacity(1024 + text_len * 2);
    payload.extend_from_slice(ID_PREFIX);
    payload.extend_from_slice(id_text.as_bytes());
    if let Some(raw) = raw {
        payload.extend_from_slice(RAW_LEN);
        json_text::write_u64(&mut payload, raw.len() as u64);
        payload.extend_from_slice(RAW_START);
        payload.extend_from_slice(raw.as_bytes());
        payload.push(b'}');
    } else {
        payload.push(b'"');
    }
    // The members of `NormalisedEvent`, in its field order.
    payload.extend_from_slice(b",\"format\":\"");
    payload.extend_from_slice(event.format().name().as_bytes());
    payload.push(b'"');
    if let Some(tenant) = event.tenant_id() {
        payload.extend_from_slice(b",\"tenant_id\":");
        json_text::write_str(&mut payload, tenant);
    }
    if let Some(sensor) = event.sensor_id() {
        payload.extend_from_slice(b",\"sensor_id\":");
        json_text::write_str(&mut payload, sensor);
    }
    payload.extend_from_slice(b",\"fields\":");
    event.fields().write_json(&mut payload);
    if raw.is_none() {
        payload.extend_from_slice(b",\"original\":");
        match (&original.text, &original.bytes, &original.json) {
            (Some(text), None, None) => {
                payload.extend_from_slice(b"{\"text\":");
                json_text::write_str(&mut payload, text);
                payload.push(b'}');
            }
            _ => serde_json::to_writer(&mut payload, original)?,
        }
    }
    let diagnostics = event.diagnostics();
    if !diagnostics.is_empty() {
        payload.extend_from_slice(b",\"diagnostics\":[");
        for (index, diagnostic) in diagnostics.iter().enumerate() {
            if index > 0 {
                payload.push(b',');
            }
            json_text::write_str(&mut payload, diagnostic);
        }
        payload.push(b']');
    }
    payload.push(b'}');
    Ok(Bytes::from(payload))
}

/// Reads a payload written by [`encode_event`]: the event id and the event.
pub fn decode_event(payload: &[u8]) -> Result<(Uuid, NormalisedEvent), EnvelopeError> {
    match split(payload)? {
        Layout::Whole(id) => Ok((id, serde_json::from_slice(payload)?)),
        Layout::Verbatim { id, raw, members } => {
            // `split` checked that it is UTF-8.
            let raw_text = std::str::from_utf8(raw)
                .map_err(|_| EnvelopeError::Raw("the original record is not UTF-8"))?;
            // `{"original":{"text":"<raw escaped>","json":<raw>}` + the members
            // (which start with their comma).
            let mut rebuilt = Vec::with_capacity(payload.len() + raw.len() + raw.len() / 4 + 32);
            rebuilt.extend_from_slice(b"{\"original\":{\"text\":");
            serde_json::to_writer(&mut rebuilt, raw_text)?;
            rebuilt.extend_from_slice(b",\"json\":");
            rebuilt.extend_from_slice(raw);
            rebuilt.push(b'}');
            rebuilt.extend_from_slice(members);
            Ok((id, serde_json::from_slice(&rebuilt)?))
        }
    }
}

/// A payload split into its parts without building the event (see
/// [`event_parts`]).
#[derive(Debug, Clone, Copy)]
pub struct EventParts<'a> {
    /// The event id.
    pub id: Uuid,
    /// The verbatim original record (layout 2), the bytes the normaliser
    /// read; `None` for layout 1.
    pub record: Option<&'a [u8]>,
    payload: &'a [u8],
    /// Layout 2's members after the record, from their leading comma.
    members: Option<&'a [u8]>,
}

impl<'a> EventParts<'a> {
    /// The tenant the event is stamped with, read without building the event.
    pub fn tenant_id(&self) -> Result<Option<std::borrow::Cow<'a, str>>, EnvelopeError> {
        // `encode_event` writes `format` then `tenant_id` first among the
        // members: read just those when they are there.
        let members = match self.members {
            Some(members) => members,
            None => self.payload.get(ID_PREFIX.len() + 37..).unwrap_or_default(),
        };
        if let Some(after_format) = members.strip_prefix(b",\"format\":\"")
            && let Some(end) = after_format.iter().position(|&b| b == b'"' || b == b'\\')
            && after_format[end] == b'"'
        {
            let rest = &after_format[end + 1..];
            let Some(tenant) = rest.strip_prefix(b",\"tenant_id\":") else {
                return Ok(None);
            };
            let mut reader = serde_json::Deserializer::from_slice(tenant);
            let tenant: std::borrow::Cow<'a, str> = serde::Deserialize::deserialize(&mut reader)?;
            return Ok(Some(tenant));
        }
        #[derive(serde::Deserialize)]
        struct Stamp<'a> {
            #[serde(borrow, default)]
            tenant_id: Option<std::borrow::Cow<'a, str>>,
        }
        let stamp: Stamp<'a> = serde_json::from_slice(self.payload)?;
        Ok(stamp.tenant_id)
    }

    /// The event. With a verbatim record (layout 2) its `original` is left
    /// empty: [`Self::record`] holds it, and restoring `original.text` and
    /// `original.json` costs more than the rest of the event.
    pub fn event(&self) -> Result<NormalisedEvent, EnvelopeError> {
        let Some(members) = self.members else {
            return Ok(serde_json::from_slice(self.payload)?);
        };
        let mut rebuilt = Vec::with_capacity(members.len() + 16);
        rebuilt.extend_from_slice(b"{\"original\":{}");
        rebuilt.extend_from_slice(members);
        Ok(serde_json::from_slice(&rebuilt)?)
    }
}

/// Splits a payload written by [`encode_event`] into its id, its verbatim
/// record and the rest, parsing nothing but the envelope: for a consumer
/// that reads the record itself and needs the event only sometimes (live
/// detection matches the record and builds the event of a match).
pub fn event_parts(payload: &[u8]) -> Result<EventParts<'_>, EnvelopeError> {
    Ok(match split(payload)? {
        Layout::Whole(id) => EventParts {
            id,
            record: None,
            payload,
            members: None,
        },
        Layout::Verbatim { id, raw, members } => EventParts {
            id,
            record: Some(raw),
            payload,
            members: Some(members),
        },
    })
}

/// Which of the two layouts a payload has (see the module documentation).
enum Layout<'a> {
    /// Layout 1: the event's serialisation with its id.
    Whole(Uuid),
    /// Layout 2: the verbatim record, then the other members (from their
    /// leading comma to the closing brace).
    Verbatim {
        id: Uuid,
        raw: &'a [u8],
        members: &'a [u8],
    },
}

fn split(payload: &[u8]) -> Result<Layout<'_>, EnvelopeError> {
    let id = event_id(payload).ok_or(EnvelopeError::MissingId)?;
    let after_id = ID_PREFIX.len() + 36;
    let Some(rest) = payload
        .get(after_id..)
        .and_then(|rest| rest.strip_prefix(RAW_LEN))
    else {
        return Ok(Layout::Whole(id));
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 12 {
        return Err(EnvelopeError::Raw("raw_len is not a number"));
    }
    let raw_len: usize = std::str::from_utf8(&rest[..digits])
        .ok()
        .and_then(|digits| digits.parse().ok())
        .ok_or(EnvelopeError::Raw("raw_len is not a number"))?;
    let rest = rest[digits..]
        .strip_prefix(RAW_START)
        .ok_or(EnvelopeError::Raw("no original record after raw_len"))?;
    let raw = rest.get(..raw_len).ok_or(EnvelopeError::Raw(
        "the payload ends inside the original record",
    ))?;
    let members = rest[raw_len..]
        .strip_prefix(b"}")
        .ok_or(EnvelopeError::Raw(
            "the original record is longer than raw_len",
        ))?;
    if std::str::from_utf8(raw).is_err() {
        return Err(EnvelopeError::Raw("the original record is not UTF-8"));
    }
    Ok(Layout::Verbatim { id, raw, members })
}

/// The event id of a payload, read without parsing the event.
pub fn event_id(payload: &[u8]) -> Option<Uuid> {
    let text = payload.strip_prefix(ID_PREFIX)?.get(..36)?;
    if payload.get(ID_PREFIX.len() + 36) != Some(&b'"') {
        return None;
    }
    Uuid::try_parse_ascii(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::{Format, SourceHint, normalise};
    use proptest::prelude::*;
    use time::macros::datetime;

    fn event(text: &str) -> NormalisedEvent {
        let hint = SourceHint::new(Format::Auto, datetime!(2024-03-15 12:00 UTC));
        normalise(text.as_bytes(), &hint).unwrap()
    }

    fn round_trip(original: &NormalisedEvent) -> Bytes {
        let id = new_event_id();
        let payload = encode_event(id, original).unwrap();
        let (back_id, back) = decode_event(&payload).unwrap();
        assert_eq!(back_id, id);
        assert_eq!(&back, original, "{}", String::from_utf8_lossy(&payload));
        leaves_the_record_as_written(&payload, original);
        payload
    }

    /// `event_parts` gives the same event, its verbatim record left as the
    /// bytes the normaliser read, and its tenant.
    fn leaves_the_record_as_written(payload: &[u8], original: &NormalisedEvent) {
        let parts = event_parts(payload).unwrap();
        assert_eq!(Some(parts.id), event_id(payload));
        assert_eq!(parts.tenant_id().unwrap().as_deref(), original.tenant_id());
        let lean = parts.event().unwrap();
        match parts.record {
            None => assert_eq!(&lean, original),
            Some(raw) => {
                assert_eq!(
                    Some(raw),
                    original.original().text.as_deref().map(str::as_bytes)
                );
                assert!(original.original().json.is_some());
                assert_eq!(lean.original(), &Original::default());
                assert_eq!(lean.fields(), original.fields());
                assert_eq!(
                    (
                        lean.format(),
                        lean.tenant_id(),
                        lean.sensor_id(),
                        lean.diagnostics()
                    ),
                    (
                        original.format(),
                        original.tenant_id(),
                        original.sensor_id(),
                        original.diagnostics()
                    )
                );
            }
        }
    }

    /// The payload as `serde_json` writes it (the way it was written
    /// before members were written by hand): the event with its id first.
    fn serde_payload(id: Uuid, event: &NormalisedEvent) -> Vec<u8> {
        let mut payload = format!("{{\"id\":\"{id}\",").into_bytes();
        let members = serde_json::to_vec(event).unwrap();
        payload.extend_from_slice(&members[1..]);
        payload
    }

    #[test]
    fn members_are_written_as_serde_json_writes_them() {
        let mut with_diagnostics = event("<13>Mar 15 10:00:00 host app: \"x\"\u{1}");
        with_diagnostics.set_tenant_id(Some("t\"1".into()));
        with_diagnostics.set_sensor_id(Some("s\\1".into()));
        let unparsed =
            NormalisedEvent::unparsed(b"\xff\xfe{", &"bad", datetime!(2024-01-01 0:00 UTC));
        for original in [
            event("<13>1 2024-03-15T10:00:00Z host app 1 ID [a b=\"c\"] hello"),
            event("  {\"message\":\"spaced\", \"n\": [1.5, -2, 3]}  "),
            with_diagnostics,
            unparsed,
        ] {
            let id = new_event_id();
            let payload = encode_event(id, &original).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&payload),
                String::from_utf8_lossy(&serde_payload(id, &original))
            );
            leaves_the_record_as_written(&payload, &original);
        }
    }

    #[test]
    fn text_records_round_trip_as_the_event_with_an_id() {
        let original = event("<13>1 2024-03-15T10:00:00Z host app 1 ID [a b=\"c\"] hello");
        let payload = round_trip(&original);
        // Layout 1: a plain NormalisedEvent to serde too.
        let plain: NormalisedEvent = serde_json::from_slice(&payload).unwrap();
        assert_eq!(plain, original);
    }

    #[test]
    fn json_records_are_written_once_and_restored() {
        let line = r#"{"timestamp":"2024-03-15T10:22:14.985026+0100","event_type":"alert","src_ip":"10.1.2.3","alert":{"signature_id":1,"signature":"x \"quoted\" \\ y"}}"#;
        let original = event(line);
        let payload = round_trip(&original);
        let text = String::from_utf8_lossy(&payload);
        assert_eq!(text.matches("signature_id").count(), 1, "{text}");
        assert!(text.contains(&format!("\"raw_len\":{},", line.len())));
        assert_eq!(
            event_id(&payload),
            decode_event(&payload).ok().map(|(id, _)| id)
        );
    }

    #[test]
    fn json_with_surrounding_space_or_a_bom_is_written_as_is() {
        round_trip(&event("  {\"message\":\"spaced\"}  "));
        round_trip(&event("\u{feff}{\"message\":\"bom\"}"));
        let mut unparsed =
            NormalisedEvent::unparsed(b"\xff\xfe{", &"bad", datetime!(2024-01-01 0:00 UTC));
        unparsed.set_sensor_id(Some("s".into()));
        round_trip(&unparsed);
    }

    #[test]
    fn event_ids_are_version_7_distinct_and_time_ordered() {
        let ids: Vec<Uuid> = (0..10_000).map(|_| new_event_id()).collect();
        assert!(ids.iter().all(|id| id.get_version_num() == 7));
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        let first = ids[0].get_timestamp().unwrap().to_unix();
        let last = ids[9_999].get_timestamp().unwrap().to_unix();
        assert!(last >= first);
        let other_thread = std::thread::spawn(new_event_id).join().unwrap();
        assert!(!distinct.contains(&other_thread));
    }

    #[test]
    fn malformed_payloads_are_errors() {
        let id = new_event_id();
        assert!(matches!(
            decode_event(b"\xff\x00"),
            Err(EnvelopeError::MissingId)
        ));
        assert!(event_id(b"{\"id\":\"nope\"}").is_none());
        for bad in [
            format!("{{\"id\":\"{id}\",\"raw_len\":x"),
            format!("{{\"id\":\"{id}\",\"raw_len\":99,\"original\":{{\"raw\":{{}}}}}}"),
            format!("{{\"id\":\"{id}\",\"raw_len\":1,\"original\":{{\"raw\":{{}}}}}}"),
            format!("{{\"id\":\"{id}\",\"raw_len\":2,\"nope\""),
            format!("{{\"id\":\"{id}\",\"x\":1}}"),
        ] {
            assert!(decode_event(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_normalised_record_round_trips(
            key in "[a-zA-Z_.@]{1,12}",
            value in "[ -~\u{e9}\u{4e2d}]{0,40}",
            number in any::<i64>(),
            text in "[ -~]{1,80}",
            tenant in prop::option::of("[ -~\u{e9}\u{4e2d}\u{1}]{0,12}"),
        ) {
            let json = serde_json::json!({ key.clone(): value.clone(), "n": number, "nested": {"k": [value.clone()]} });
            for line in [json.to_string(), format!("{{ \"{}\" : {} }}", key, serde_json::to_string(&value).unwrap()), text.clone()] {
                let hint = SourceHint::new(Format::Auto, datetime!(2024-03-15 12:00 UTC));
                if let Ok(mut original) = normalise(line.as_bytes(), &hint) {
                    original.set_tenant_id(tenant.clone());
                    let payload = encode_event(new_event_id(), &original).unwrap();
                    let (_, back) = decode_event(&payload).unwrap();
                    prop_assert_eq!(&back, &original);
                    leaves_the_record_as_written(&payload, &original);
                }
            }
        }

        #[test]
        fn arbitrary_payloads_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_event(&payload);
            let mut prefixed = format!("{{\"id\":\"{}\",\"raw_len\":", new_event_id()).into_bytes();
            prefixed.extend_from_slice(&payload);
            let _ = decode_event(&prefixed);
            for payload in [&payload, &prefixed] {
                if let Ok(parts) = event_parts(payload) {
                    let _ = (parts.tenant_id(), parts.event());
                }
            }
        }
    }
}
