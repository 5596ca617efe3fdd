-- Nigehban schema, version 6 (SQLite): incidents and coordination — reports
-- from constituents, incidents with readable ids, their stakeholders, the
-- timeline, evidence records and the notifications the platform raises.
-- Incidents, reports and evidence records are JSON documents (the model's
-- serialisation) beside the columns that are queried.

CREATE TABLE incidents (
    id              TEXT PRIMARY KEY,
    instance_id     TEXT NOT NULL,
    readable_id     TEXT NOT NULL UNIQUE,
    owner_tenant_id TEXT NOT NULL REFERENCES tenants (id),
    status          TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    document        TEXT NOT NULL
);
CREATE INDEX incidents_by_status ON incidents (status, id);

-- Every tenant with a stake in an incident (owner, former_owner, reporter,
-- tasked): rewritten with each change, searched by subtree.
CREATE TABLE incident_access (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    stance      TEXT NOT NULL,
    PRIMARY KEY (incident_id, tenant_id, stance)
);
CREATE INDEX incident_access_by_tenant ON incident_access (tenant_id, incident_id);

-- One readable-id sequence per year: each number is handed out once.
CREATE TABLE incident_sequences (
    year        INTEGER PRIMARY KEY,
    last_number INTEGER NOT NULL
);

CREATE TABLE incident_reports (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    status      TEXT NOT NULL,
    incident_id TEXT REFERENCES incidents (id),
    created_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    document    TEXT NOT NULL
);
CREATE INDEX incident_reports_by_tenant ON incident_reports (tenant_id, id);

-- The timeline: append-only.
CREATE TABLE incident_timeline (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    at          INTEGER NOT NULL,
    document    TEXT NOT NULL
);
CREATE INDEX incident_timeline_by_incident ON incident_timeline (incident_id, seq);
CREATE TRIGGER incident_timeline_no_update BEFORE UPDATE ON incident_timeline
BEGIN
    SELECT RAISE(ABORT, 'the incident timeline is append-only');
END;
CREATE TRIGGER incident_timeline_no_delete BEFORE DELETE ON incident_timeline
BEGIN
    SELECT RAISE(ABORT, 'the incident timeline is append-only');
END;

-- Evidence records; the content is a file under <data-dir>/evidence/ named by its SHA-256.
CREATE TABLE evidence (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    incident_id TEXT REFERENCES incidents (id),
    report_id   TEXT REFERENCES incident_reports (id),
    sha256      TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL,
    document    TEXT NOT NULL
);
CREATE INDEX evidence_by_incident ON evidence (incident_id, id);
CREATE INDEX evidence_by_report ON evidence (report_id, id);

-- Notifications the platform raised (deadlines): append-only, one per incident, stage, kind and tenant.
CREATE TABLE incident_notifications (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    kind        TEXT NOT NULL,
    stage       TEXT NOT NULL,
    raised_at   INTEGER NOT NULL,
    document    TEXT NOT NULL,
    UNIQUE (incident_id, stage, kind, tenant_id)
);
CREATE INDEX incident_notifications_by_tenant ON incident_notifications (tenant_id, id);
CREATE TRIGGER incident_notifications_no_update BEFORE UPDATE ON incident_notifications
BEGIN
    SELECT RAISE(ABORT, 'incident notifications are append-only');
END;
CREATE TRIGGER incident_notifications_no_delete BEFORE DELETE ON incident_notifications
BEGIN
    SELECT RAISE(ABORT, 'incident notifications are append-only');
END;

-- A record's audit entries (an evidence file's chain of custody).
CREATE INDEX audit_log_by_record ON audit_log (record_kind, record_id, seq);
