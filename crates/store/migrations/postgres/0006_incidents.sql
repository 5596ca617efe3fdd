-- Nigehban schema, version 6 (PostgreSQL): incidents and coordination — reports
-- from constituents, incidents with readable ids, their stakeholders, the
-- timeline, evidence records and content, and the notifications the platform
-- raises. Incidents, reports and evidence records are JSON documents (the
-- model's serialisation, kept as text so they read back exactly) beside the
-- columns that are queried.

CREATE TABLE incidents (
    id              UUID PRIMARY KEY,
    instance_id     UUID NOT NULL,
    readable_id     TEXT NOT NULL UNIQUE,
    owner_tenant_id UUID NOT NULL REFERENCES tenants (id),
    status          TEXT NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    version         BIGINT NOT NULL,
    document        TEXT NOT NULL
);
CREATE INDEX incidents_by_status ON incidents (status, id);

-- Every tenant with a stake in an incident (owner, former_owner, reporter,
-- tasked): rewritten with each change, searched by subtree.
CREATE TABLE incident_access (
    incident_id UUID NOT NULL REFERENCES incidents (id),
    tenant_id   UUID NOT NULL REFERENCES tenants (id),
    stance      TEXT NOT NULL,
    PRIMARY KEY (incident_id, tenant_id, stance)
);
CREATE INDEX incident_access_by_tenant ON incident_access (tenant_id, incident_id);

-- One readable-id sequence per year: each number is handed out once (the
-- row is locked by the incrementing UPDATE until the transaction ends).
CREATE TABLE incident_sequences (
    year        INTEGER PRIMARY KEY,
    last_number BIGINT NOT NULL
);

CREATE TABLE incident_reports (
    id          UUID PRIMARY KEY,
    instance_id UUID NOT NULL,
    tenant_id   UUID NOT NULL REFERENCES tenants (id),
    status      TEXT NOT NULL,
    incident_id UUID REFERENCES incidents (id),
    created_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL,
    document    TEXT NOT NULL
);
CREATE INDEX incident_reports_by_tenant ON incident_reports (tenant_id, id);

-- The timeline: append-only.
CREATE TABLE incident_timeline (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          UUID NOT NULL UNIQUE,
    incident_id UUID NOT NULL REFERENCES incidents (id),
    at          TIMESTAMPTZ NOT NULL,
    document    TEXT NOT NULL
);
CREATE INDEX incident_timeline_by_incident ON incident_timeline (incident_id, seq);
CREATE FUNCTION incident_timeline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the incident timeline is append-only';
END;
$$;
CREATE TRIGGER incident_timeline_no_change BEFORE UPDATE OR DELETE ON incident_timeline
    FOR EACH ROW EXECUTE FUNCTION incident_timeline_append_only();
CREATE TRIGGER incident_timeline_no_truncate BEFORE TRUNCATE ON incident_timeline
    FOR EACH STATEMENT EXECUTE FUNCTION incident_timeline_append_only();

-- Evidence records and their content, addressed by SHA-256 (every node sees the same evidence).
CREATE TABLE evidence (
    id          UUID PRIMARY KEY,
    instance_id UUID NOT NULL,
    tenant_id   UUID NOT NULL REFERENCES tenants (id),
    incident_id UUID REFERENCES incidents (id),
    report_id   UUID REFERENCES incident_reports (id),
    sha256      TEXT NOT NULL,
    uploaded_at TIMESTAMPTZ NOT NULL,
    document    TEXT NOT NULL
);
CREATE INDEX evidence_by_incident ON evidence (incident_id, id);
CREATE INDEX evidence_by_report ON evidence (report_id, id);

CREATE TABLE evidence_content (
    sha256  TEXT PRIMARY KEY,
    size    BIGINT NOT NULL,
    content BYTEA NOT NULL
);

-- Notifications the platform raised (deadlines): append-only, one per incident, stage, kind and tenant.
CREATE TABLE incident_notifications (
    id          UUID PRIMARY KEY,
    instance_id UUID NOT NULL,
    tenant_id   UUID NOT NULL REFERENCES tenants (id),
    incident_id UUID NOT NULL REFERENCES incidents (id),
    kind        TEXT NOT NULL,
    stage       TEXT NOT NULL,
    raised_at   TIMESTAMPTZ NOT NULL,
    document    TEXT NOT NULL,
    UNIQUE (incident_id, stage, kind, tenant_id)
);
CREATE INDEX incident_notifications_by_tenant ON incident_notifications (tenant_id, id);
CREATE FUNCTION incident_notifications_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'incident notifications are append-only';
END;
$$;
CREATE TRIGGER incident_notifications_no_change BEFORE UPDATE OR DELETE ON incident_notifications
    FOR EACH ROW EXECUTE FUNCTION incident_notifications_append_only();
CREATE TRIGGER incident_notifications_no_truncate BEFORE TRUNCATE ON incident_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION incident_notifications_append_only();

-- A record's audit entries (an evidence file's chain of custody).
CREATE INDEX audit_log_by_record ON audit_log (record_kind, record_id, seq);
