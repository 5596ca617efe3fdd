-- Nigehban schema, version 1 (SQLite).
-- Ids are hyphenated lower-case UUIDv7 text, so text order is creation order.
-- Times are microseconds since the Unix epoch (INTEGER).

CREATE TABLE instance (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    instance_id TEXT NOT NULL
);

CREATE TABLE tenants (
    id                      TEXT PRIMARY KEY,
    instance_id             TEXT NOT NULL,
    parent_id               TEXT REFERENCES tenants (id),
    name                    TEXT NOT NULL,
    kind                    TEXT NOT NULL CHECK (kind IN ('national', 'sectoral', 'organisation')),
    sector                  TEXT,
    critical_infrastructure INTEGER NOT NULL DEFAULT 0,
    active                  INTEGER NOT NULL DEFAULT 1,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);
CREATE INDEX tenants_by_parent ON tenants (parent_id);
-- Exactly one root: the national CERT.
CREATE UNIQUE INDEX tenants_single_root ON tenants ((parent_id IS NULL)) WHERE parent_id IS NULL;

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    instance_id          TEXT NOT NULL,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    role                 TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    active               INTEGER NOT NULL DEFAULT 1,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX users_by_tenant ON users (tenant_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    role         TEXT NOT NULL,
    owner_id     TEXT REFERENCES users (id),
    name         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    sensor       TEXT
);
CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant_id);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    secret_hash  BLOB NOT NULL UNIQUE,
    csrf_secret  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    revoked_at   INTEGER,
    remote_addr  TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- The audit log: append-only, hash-chained (see nigehban_model::audit).
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    instance_id  TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    at_micros    INTEGER NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_user   TEXT,
    actor_token  TEXT,
    actor_tenant TEXT,
    action       TEXT NOT NULL,
    record_kind  TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    before_json  TEXT,
    after_json   TEXT,
    remote_addr  TEXT,
    prev_hash    BLOB NOT NULL,
    hash         BLOB NOT NULL
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, seq);

-- The last entry of the chain; every append locks and advances it.
CREATE TABLE audit_chain_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    seq       INTEGER NOT NULL,
    hash      BLOB NOT NULL
);
INSERT INTO audit_chain_head (singleton, seq, hash) VALUES (1, 0, zeroblob(32));

-- Defence in depth: the application never updates or deletes audit entries.
-- (Someone with direct database access can drop these; the hash chain is what
-- detects that.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
