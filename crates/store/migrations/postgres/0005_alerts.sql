-- Nigehban schema, version 5 (PostgreSQL): alerts, their comments, the
-- change feed and the record of raised signals.

-- An alert: the matching events of one rule and one key, folded. Detection
-- details (rule, key, matched fields) never change after it opens; folding
-- changes the count, the times and the event ids; people change the triage
-- columns (audited). Lists are JSON text. `severity` is a rank
-- (0 informational .. 4 critical) so that "at least high" is a comparison.
CREATE TABLE alerts (
    id              UUID PRIMARY KEY,
    instance_id     UUID NOT NULL,
    tenant_id       UUID NOT NULL REFERENCES tenants (id),
    sensor_id       UUID,
    source          TEXT NOT NULL,
    rule_id         TEXT NOT NULL,
    rule_title      TEXT NOT NULL,
    rule_level      TEXT NOT NULL,
    rule_author     TEXT,
    rule_references TEXT NOT NULL,
    rule_tags       TEXT NOT NULL,
    fold_key        TEXT NOT NULL,
    host            TEXT,
    user_name       TEXT,
    event_ids       TEXT NOT NULL,
    matched_fields  TEXT NOT NULL,
    severity        INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 4),
    first_seen      TIMESTAMPTZ NOT NULL,
    last_seen       TIMESTAMPTZ NOT NULL,
    event_count     BIGINT NOT NULL CHECK (event_count >= 1),
    status          TEXT NOT NULL CHECK (status IN ('new', 'acknowledged', 'closed')),
    assignee_id     UUID,
    acknowledged_at TIMESTAMPTZ,
    closed_at       TIMESTAMPTZ,
    resolution      TEXT CHECK (resolution IN ('true_positive', 'false_positive', 'benign', 'duplicate')),
    resolution_note TEXT,
    retrospective   BOOLEAN NOT NULL,
    exercise        BOOLEAN NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
-- The queue: newest last event first.
CREATE INDEX alerts_queue ON alerts (exercise, last_seen DESC, id DESC);
CREATE INDEX alerts_by_tenant ON alerts (tenant_id, last_seen DESC, id DESC);
-- Folding looks up the group's most recent alert that is not closed.
CREATE INDEX alerts_open_by_group ON alerts (tenant_id, rule_id, fold_key, exercise, retrospective, last_seen)
    WHERE status <> 'closed';

CREATE TABLE alert_comments (
    id          UUID PRIMARY KEY,
    instance_id UUID NOT NULL,
    alert_id    UUID NOT NULL REFERENCES alerts (id),
    tenant_id   UUID NOT NULL REFERENCES tenants (id),
    author_id   UUID,
    body        TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_comments_by_alert ON alert_comments (alert_id, id);

-- The change feed: one entry per alert written (opened, folded, triaged,
-- commented), in the same transaction as the change. Every transaction
-- that writes here first takes the transaction-scoped advisory lock
-- ALERT_FEED_LOCK (see src/postgres/alerts.rs) and holds it to commit, so
-- sequence numbers are taken and made visible in the same order across
-- every process: a reader resuming after the last seq it saw misses nothing.
CREATE TABLE alert_changes (
    seq       BIGSERIAL PRIMARY KEY,
    alert_id  UUID NOT NULL,
    tenant_id UUID NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('opened', 'folded', 'triaged', 'commented')),
    at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_changes_by_time ON alert_changes (at);

-- Signals raised, by a 16-byte digest of tenant, rule and event: delivery
-- from the bus is at least once, and a redelivered signal must not count
-- twice. Pruned after a retention.
CREATE TABLE alert_deliveries (
    key     BYTEA PRIMARY KEY,
    seen_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_deliveries_by_time ON alert_deliveries (seen_at);
