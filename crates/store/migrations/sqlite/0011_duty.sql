-- Nigehban schema, version 11 (SQLite): the duty roster (issue 12).
-- Every duty record (schedule, holiday calendar, escalation policy,
-- contact, page, notification, hand-over, feed cursor) is one JSON document
-- with the columns the duty loop selects by. Times are microseconds since
-- the epoch.

CREATE TABLE duty_records (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    kind        TEXT NOT NULL CHECK (kind IN ('schedule', 'holiday_calendar', 'escalation_policy',
                                              'contact', 'page', 'notification', 'handover', 'cursor')),
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    due_at      INTEGER,
    unique_key  TEXT UNIQUE,
    body        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT
);
CREATE INDEX duty_records_by_kind ON duty_records (kind, tenant_id, id);
CREATE INDEX duty_records_due ON duty_records (kind, due_at) WHERE due_at IS NOT NULL;

-- Every version of every duty record, from the moment it took effect:
-- "who was on call then" is answered from the roster as it was then, and
-- every notification's attempts and every acknowledgement stay as proof.
-- Append-only; kept when a record is deleted.
CREATE TABLE duty_record_versions (
    record_id  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    deleted    INTEGER NOT NULL,
    document   TEXT NOT NULL,
    PRIMARY KEY (record_id, version)
);
CREATE TRIGGER duty_record_versions_no_update BEFORE UPDATE ON duty_record_versions
BEGIN
    SELECT RAISE(ABORT, 'duty record versions are append-only');
END;
CREATE TRIGGER duty_record_versions_no_delete BEFORE DELETE ON duty_record_versions
BEGIN
    SELECT RAISE(ABORT, 'duty record versions are append-only');
END;
