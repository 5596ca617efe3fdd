-- Nigehban schema, version 3 (SQLite): the audit chain is keyed.
--
-- Every audit entry gets a MAC (HMAC-SHA256 under the audit key, which is
-- kept outside the database; see nigehban_model::audit). MACs live in their
-- own append-only table so that entries written before this version can be
-- sealed when the key is first installed, without updating audit rows.
CREATE TABLE audit_macs (
    seq INTEGER PRIMARY KEY,
    mac BLOB NOT NULL
);
CREATE TRIGGER audit_macs_no_update BEFORE UPDATE ON audit_macs
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_macs_no_delete BEFORE DELETE ON audit_macs
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- The head's MAC, and the fingerprint of the key the log is sealed with (so
-- that a wrong key is named as such; NULL until a key is installed).
ALTER TABLE audit_chain_head ADD COLUMN mac BLOB;
ALTER TABLE audit_chain_head ADD COLUMN key_fingerprint TEXT;
