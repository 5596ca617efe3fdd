-- Nigehban schema, version 9 (PostgreSQL): detection rules per tenant.
-- Record ids are UUIDs; a rule is keyed by
-- its Sigma id as written.

-- Imported (or built-in) Sigma documents, one row per document.
CREATE TABLE rules (
    id           TEXT PRIMARY KEY,
    instance_id  UUID NOT NULL,
    title        TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('rule', 'correlation', 'filter')),
    level        TEXT,
    origin       TEXT NOT NULL CHECK (origin IN ('imported', 'built-in')),
    source_name  TEXT NOT NULL,
    body         TEXT NOT NULL,
    enabled      BOOLEAN NOT NULL,
    imported_by  UUID,
    imported_at  TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- A tenant's decision about one rule, inherited by its subtree.
CREATE TABLE rule_overrides (
    rule_id   TEXT NOT NULL REFERENCES rules (id),
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    enabled   BOOLEAN NOT NULL,
    set_by    UUID,
    at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (rule_id, tenant_id)
);

-- A tenant's Sigma filters (`rules` is a JSON array of rule ids or names).
CREATE TABLE rule_filters (
    id          UUID PRIMARY KEY,
    instance_id UUID NOT NULL,
    tenant_id   UUID NOT NULL REFERENCES tenants (id),
    title       TEXT NOT NULL,
    rules       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_by  UUID,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX rule_filters_by_tenant ON rule_filters (tenant_id, id);

-- Bumped in the transaction of every change above, so that detecting
-- nodes notice a change by reading one number.
CREATE TABLE rules_revision (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    revision  BIGINT NOT NULL
);
INSERT INTO rules_revision (singleton, revision) VALUES (1, 0);
