-- Nigehban schema, version 14 (PostgreSQL): TAXII 2.1 (issue 13).
-- `taxii_statuses`: the status resource of every POST of objects to a
-- collection, kept so GET .../status/{id}/ answers later; `body` is the
-- status resource's JSON, `tenant_id` the collection's owner (who may read it).
-- `taxii_pull_cursors`: per subscription to an outside collection, the last
-- `X-TAXII-Date-Added-Last` pulled, so the next pull asks only for newer objects.

CREATE TABLE taxii_statuses (
    id         TEXT PRIMARY KEY,
    tenant_id  UUID NOT NULL REFERENCES tenants (id),
    created_at TIMESTAMPTZ NOT NULL,
    body       TEXT NOT NULL
);

CREATE TABLE taxii_pull_cursors (
    subscription TEXT PRIMARY KEY,
    added_last   TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
