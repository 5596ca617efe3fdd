-- Nigehban schema, version 9 (SQLite): detection rules per tenant.
-- Ids of records are hyphenated lower-case UUIDv7 text; a rule is keyed by
-- its Sigma id as written. Times are microseconds since the epoch.

-- Imported (or built-in) Sigma documents, one row per document.
CREATE TABLE rules (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL,
    title        TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('rule', 'correlation', 'filter')),
    level        TEXT,
    origin       TEXT NOT NULL CHECK (origin IN ('imported', 'built-in')),
    source_name  TEXT NOT NULL,
    body         TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    imported_by  TEXT,
    imported_at  INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- A tenant's decision about one rule, inherited by its subtree.
CREATE TABLE rule_overrides (
    rule_id   TEXT NOT NULL REFERENCES rules (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    enabled   INTEGER NOT NULL,
    set_by    TEXT,
    at        INTEGER NOT NULL,
    PRIMARY KEY (rule_id, tenant_id)
);

-- A tenant's Sigma filters (`rules` is a JSON array of rule ids or names).
CREATE TABLE rule_filters (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    title       TEXT NOT NULL,
    rules       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_by  TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX rule_filters_by_tenant ON rule_filters (tenant_id, id);

-- Bumped in the transaction of every change above, so that detecting
-- nodes notice a change by reading one number.
CREATE TABLE rules_revision (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    revision  INTEGER NOT NULL
);
INSERT INTO rules_revision (singleton, revision) VALUES (1, 0);
