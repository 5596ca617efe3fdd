-- Nigehban schema, version 1 (PostgreSQL).

CREATE TABLE instance (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    instance_id UUID NOT NULL
);

CREATE TABLE tenants (
    id                      UUID PRIMARY KEY,
    instance_id             UUID NOT NULL,
    parent_id               UUID REFERENCES tenants (id),
    name                    TEXT NOT NULL,
    kind                    TEXT NOT NULL CHECK (kind IN ('national', 'sectoral', 'organisation')),
    sector                  TEXT,
    critical_infrastructure BOOLEAN NOT NULL DEFAULT FALSE,
    active                  BOOLEAN NOT NULL DEFAULT TRUE,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX tenants_by_parent ON tenants (parent_id);
-- Exactly one root: the national CERT.
CREATE UNIQUE INDEX tenants_single_root ON tenants ((parent_id IS NULL)) WHERE parent_id IS NULL;

CREATE TABLE users (
    id                   UUID PRIMARY KEY,
    instance_id          UUID NOT NULL,
    tenant_id            UUID NOT NULL REFERENCES tenants (id),
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    role                 TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    active               BOOLEAN NOT NULL DEFAULT TRUE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_by_tenant ON users (tenant_id);

CREATE TABLE api_tokens (
    id           UUID PRIMARY KEY,
    instance_id  UUID NOT NULL,
    tenant_id    UUID NOT NULL REFERENCES tenants (id),
    role         TEXT NOT NULL,
    owner_id     UUID REFERENCES users (id),
    name         TEXT NOT NULL,
    secret_hash  BYTEA NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    sensor       TEXT
);
CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant_id);

CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    instance_id  UUID NOT NULL,
    user_id      UUID NOT NULL REFERENCES users (id),
    tenant_id    UUID NOT NULL REFERENCES tenants (id),
    secret_hash  BYTEA NOT NULL UNIQUE,
    csrf_secret  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    remote_addr  TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- The audit log: append-only, hash-chained (see nigehban_model::audit).
-- Times as microseconds (BIGINT) and JSON as TEXT: exactly what was hashed.
CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,
    id           UUID NOT NULL UNIQUE,
    instance_id  UUID NOT NULL,
    tenant_id    UUID NOT NULL,
    at_micros    BIGINT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_user   UUID,
    actor_token  UUID,
    actor_tenant UUID,
    action       TEXT NOT NULL,
    record_kind  TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    before_json  TEXT,
    after_json   TEXT,
    remote_addr  TEXT,
    prev_hash    BYTEA NOT NULL,
    hash         BYTEA NOT NULL
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, seq);

-- The last entry of the chain; every append locks it (SELECT ... FOR UPDATE).
CREATE TABLE audit_chain_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    seq       BIGINT NOT NULL,
    hash      BYTEA NOT NULL
);
INSERT INTO audit_chain_head (singleton, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- Defence in depth: the application never updates or deletes audit entries.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
