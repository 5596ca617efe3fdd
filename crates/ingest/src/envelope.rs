//! The bus payload intake writes: one normalised event with its event id.
//!
//! # Wire format
//!
//! Content type [`EVENT_CONTENT_TYPE`]. The payload is the JSON serialisation
//! of a [`NormalisedEvent`] with one more top-level member written first:
//!
//! ```text
//! {"id":"0190f3a2-7c4e-7d51-9a0b-3c2d1e0f4a5b","format":"syslog5424","tenant_id":...,"fields":{...},"original":{...}}
//! ```
//!
//! `id` is a UUIDv7 assigned by intake when the record is received, unique
//! per event: a consumer that sees the same id twice (a bus redelivery) has
//! seen the same event. Because `NormalisedEvent` ignores members it does
//! not know, the payload also deserialises directly as a `NormalisedEvent`;
//! [`decode_event`] returns both. The id is also set as the ECS field
//! `event.id` when the record did not set that field itself, so that search
//! finds events by it.

use bytes::Bytes;
use nigehban_normalise::NormalisedEvent;
use uuid::Uuid;

/// The bus content type of a normalised event written by intake.
pub const EVENT_CONTENT_TYPE: &str = "application/vnd.nigehban.event+json";

/// A new event id: a UUIDv7 (time-ordered, random in its low bits).
pub fn new_event_id() -> Uuid {
    Uuid::now_v7()
}

/// Why a payload is not an event written by intake.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The payload does not start with an `id` member holding a UUID.
    #[error("the payload has no event id (a UUID in a top-level \"id\" member)")]
    MissingId,
    /// The payload is not a normalised event.
    #[error("the payload is not a normalised event: {0}")]
    Event(#[from] serde_json::Error),
}

/// Serialises `event` with its id as a bus payload, setting `event.id` when
/// the record did not.
pub fn encode_event(id: Uuid, event: &mut NormalisedEvent) -> Result<Bytes, serde_json::Error> {
    let mut text = Uuid::encode_buffer();
    let id_text: &str = id.hyphenated().encode_lower(&mut text);
    if !event.fields().contains("event.id") {
        event.fields_mut().insert("event.id", id_text.to_owned());
    }
    let body = serde_json::to_vec(event)?;
    let mut payload = Vec::with_capacity(body.len() + 48);
    payload.extend_from_slice(b"{\"id\":\"");
    payload.extend_from_slice(id_text.as_bytes());
    payload.push(b'"');
    match body.get(1..) {
        // `{}` cannot happen (an event always has members), but stay valid JSON.
        Some(b"}") | None => payload.push(b'}'),
        Some(rest) => {
            payload.push(b',');
            payload.extend_from_slice(rest);
        }
    }
    Ok(Bytes::from(payload))
}

/// Reads a payload written by [`encode_event`]: the event id and the event.
pub fn decode_event(payload: &[u8]) -> Result<(Uuid, NormalisedEvent), EnvelopeError> {
    let id = event_id(payload).ok_or(EnvelopeError::MissingId)?;
    let event = serde_json::from_slice(payload)?;
    Ok((id, event))
}

/// The event id of a payload, read without parsing the event.
pub fn event_id(payload: &[u8]) -> Option<Uuid> {
    const PREFIX: &[u8] = b"{\"id\":\"";
    if let Some(rest) = payload.strip_prefix(PREFIX)
        && let Some(text) = rest.get(..36)
        && rest.get(36) == Some(&b'"')
        && let Ok(id) = Uuid::try_parse_ascii(text)
    {
        return Some(id);
    }
    // Not in the canonical place (re-serialised by someone else): look it up.
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: String,
    }
    let only: IdOnly = serde_json::from_slice(payload).ok()?;
    Uuid::try_parse(&only.id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nigehban_normalise::{Format, SourceHint, normalise};
    use time::macros::datetime;

    fn event(text: &str) -> NormalisedEvent {
        let hint = SourceHint::new(Format::Auto, datetime!(2024-03-15 12:00 UTC));
        normalise(text.as_bytes(), &hint).unwrap()
    }

    #[test]
    fn payloads_round_trip_with_their_id() {
        let mut original = event("<13>1 2024-03-15T10:00:00Z host app 1 ID [a b=\"c\"] hello");
        let id = new_event_id();
        let payload = encode_event(id, &mut original).unwrap();
        assert!(payload.starts_with(b"{\"id\":\""));
        let (back_id, back) = decode_event(&payload).unwrap();
        assert_eq!(back_id, id);
        assert_eq!(back, original);
        assert_eq!(
            back.fields().get_str("event.id"),
            Some(id.to_string().as_str())
        );
        // Still a plain NormalisedEvent to consumers that do not care for the id.
        let plain: NormalisedEvent = serde_json::from_slice(&payload).unwrap();
        assert_eq!(plain, original);
    }

    #[test]
    fn a_source_event_id_is_kept() {
        let mut original = event("CEF:0|Acme|Gate|1.0|100|Blocked|5|externalId=source-42");
        assert_eq!(original.fields().get_str("event.id"), Some("source-42"));
        let payload = encode_event(new_event_id(), &mut original).unwrap();
        let (_, back) = decode_event(&payload).unwrap();
        assert_eq!(back.fields().get_str("event.id"), Some("source-42"));
    }

    #[test]
    fn ids_are_found_elsewhere_and_garbage_is_refused() {
        let id = new_event_id();
        let moved = format!(r#"{{"x":1,"id":"{id}"}}"#);
        assert_eq!(event_id(moved.as_bytes()), Some(id));
        assert!(event_id(b"{\"id\":\"nope\"}").is_none());
        assert!(matches!(
            decode_event(b"\xff\x00"),
            Err(EnvelopeError::MissingId)
        ));
        let not_event = format!(r#"{{"id":"{id}","x":1}}"#);
        assert!(matches!(
            decode_event(not_event.as_bytes()),
            Err(EnvelopeError::Event(_))
        ));
    }
}
