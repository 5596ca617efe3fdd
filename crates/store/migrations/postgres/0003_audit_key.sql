-- Nigehban schema, version 3 (PostgreSQL): the audit chain is keyed, and the
-- server runs as a role that cannot touch the audit log's protection.
--
-- Every audit entry gets a MAC (HMAC-SHA256 under the audit key, which is
-- kept outside the database; see nigehban_model::audit). MACs live in their
-- own append-only table so that entries written before this version can be
-- sealed when the key is first installed, without updating audit rows.
CREATE TABLE audit_macs (
    seq BIGINT PRIMARY KEY,
    mac BYTEA NOT NULL
);
CREATE TRIGGER audit_macs_no_change BEFORE UPDATE OR DELETE ON audit_macs
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_macs_no_truncate BEFORE TRUNCATE ON audit_macs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The head's MAC, and the fingerprint of the key the log is sealed with (so
-- that a wrong key is named as such; NULL until a key is installed).
ALTER TABLE audit_chain_head ADD COLUMN mac BYTEA;
ALTER TABLE audit_chain_head ADD COLUMN key_fingerprint TEXT;

-- The server's role. Triggers can only be dropped or disabled by a table's
-- owner (or a superuser), so the server must not connect as the role that
-- ran the migrations. The group role `nigehban_app` gets exactly what the
-- server needs: every table, but only SELECT and INSERT on the append-only
-- ones (the audit log, its MACs, sensor health events) and no TRUNCATE,
-- DDL or ownership anywhere. Operators make a login role a member of it:
--   CREATE ROLE nigehban_server LOGIN PASSWORD '...' IN ROLE nigehban_app;
-- and serve with --database postgres://nigehban_server@.../... (README:
-- "PostgreSQL roles"). Creating the role needs CREATEROLE; without it the
-- migration still succeeds and says so (a DBA then runs this block).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nigehban_app') THEN
        BEGIN
            CREATE ROLE nigehban_app NOLOGIN;
        EXCEPTION
            -- Another database of this cluster created it at the same moment.
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'cannot create the role nigehban_app (needs CREATEROLE): create it and grant it the server''s privileges as in migration 0003';
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nigehban_app') THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO nigehban_app', current_database());
        GRANT USAGE ON SCHEMA public TO nigehban_app;
        GRANT SELECT ON schema_migrations TO nigehban_app;
        GRANT SELECT, INSERT ON instance TO nigehban_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON
            tenants, users, api_tokens, sessions,
            sensors, sensor_networks, sensor_fingerprints, sensor_tokens
            TO nigehban_app;
        GRANT SELECT, UPDATE ON audit_chain_head TO nigehban_app;
        GRANT SELECT, INSERT ON audit_log, audit_macs, sensor_health_events TO nigehban_app;
        -- Tables of later migrations: read and write by default. A later
        -- append-only table must REVOKE UPDATE, DELETE from nigehban_app.
        ALTER DEFAULT PRIVILEGES IN SCHEMA public
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO nigehban_app;
    END IF;
END
$$;
