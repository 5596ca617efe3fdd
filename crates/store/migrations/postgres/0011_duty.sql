-- Nigehban schema, version 11 (PostgreSQL): the duty roster (issue 12).
-- Every duty record (schedule, holiday calendar, escalation policy,
-- contact, page, notification, hand-over, feed cursor) is one JSON document
-- with the columns the duty loop selects by.

CREATE TABLE duty_records (
    id          UUID PRIMARY KEY,
    instance_id UUID NOT NULL,
    tenant_id   UUID NOT NULL REFERENCES tenants (id),
    kind        TEXT NOT NULL CHECK (kind IN ('schedule', 'holiday_calendar', 'escalation_policy',
                                              'contact', 'page', 'notification', 'handover', 'cursor')),
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    due_at      TIMESTAMPTZ,
    unique_key  TEXT UNIQUE,
    body        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    updated_by  UUID
);
CREATE INDEX duty_records_by_kind ON duty_records (kind, tenant_id, id);
CREATE INDEX duty_records_due ON duty_records (kind, due_at) WHERE due_at IS NOT NULL;

-- Every version of every duty record, from the moment it took effect:
-- "who was on call then" is answered from the roster as it was then, and
-- every notification's attempts and every acknowledgement stay as proof.
-- Append-only; kept when a record is deleted.
CREATE TABLE duty_record_versions (
    record_id  UUID NOT NULL,
    version    BIGINT NOT NULL,
    tenant_id  UUID NOT NULL,
    kind       TEXT NOT NULL,
    valid_from TIMESTAMPTZ NOT NULL,
    deleted    BOOLEAN NOT NULL,
    document   TEXT NOT NULL,
    PRIMARY KEY (record_id, version)
);
CREATE FUNCTION duty_record_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'duty record versions are append-only';
END;
$$;
CREATE TRIGGER duty_record_versions_no_change BEFORE UPDATE OR DELETE ON duty_record_versions
    FOR EACH ROW EXECUTE FUNCTION duty_record_versions_append_only();
CREATE TRIGGER duty_record_versions_no_truncate BEFORE TRUNCATE ON duty_record_versions
    FOR EACH STATEMENT EXECUTE FUNCTION duty_record_versions_append_only();
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nigehban_app') THEN
        REVOKE UPDATE, DELETE, TRUNCATE ON duty_record_versions FROM nigehban_app;
    END IF;
END
$$;
