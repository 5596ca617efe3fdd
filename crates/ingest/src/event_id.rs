//! Event ids that intake derives from a sender's idempotency key.

use uuid::Uuid;

/// The event id of line `line` of a request that carried the idempotency
/// key `key`, from sensor `sensor_id`: the same inputs always give the same
/// id (a UUIDv8 made of the first 16 bytes of a SHA-256 over them).
///
/// A sender that resends a request whose answer it never received, with the
/// same key, gets the same ids again; search keeps one copy per id, so the
/// resent events are not counted twice. The sensor is part of the hash, so
/// one sensor's keys can never produce another sensor's ids.
pub fn idempotent_event_id(sensor_id: &str, key: &str, line: u64) -> Uuid {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(b"nigehban-ingest-v1\x1f");
    context.update(sensor_id.as_bytes());
    context.update(b"\x1f");
    context.update(key.as_bytes());
    context.update(b"\x1f");
    context.update(&line.to_be_bytes());
    let digest = context.finish();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotent_ids_depend_on_sensor_key_and_line() {
        let id = idempotent_event_id("s1", "k", 1);
        assert_eq!(id, idempotent_event_id("s1", "k", 1));
        assert_eq!(id.get_version_num(), 8);
        assert_ne!(id, idempotent_event_id("s1", "k", 2));
        assert_ne!(id, idempotent_event_id("s2", "k", 1));
        assert_ne!(id, idempotent_event_id("s1", "k2", 1));
        // The separator keeps ("s1", "k") and ("s", "1k") apart.
        assert_ne!(
            idempotent_event_id("ab", "c", 1),
            idempotent_event_id("a", "bc", 1)
        );
    }
}
