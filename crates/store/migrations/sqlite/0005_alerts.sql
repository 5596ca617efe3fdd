-- Nigehban schema, version 5 (SQLite): alerts, their comments, the change
-- feed and the record of raised signals.
-- Ids are hyphenated lower-case UUIDv7 text; times are microseconds since the epoch.

-- An alert: the matching events of one rule and one key, folded. Detection
-- details (rule, key, matched fields) never change after it opens; folding
-- changes the count, the times and the event ids; people change the triage
-- columns (audited). Lists are JSON text. `severity` is a rank
-- (0 informational .. 4 critical) so that "at least high" is a comparison.
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    instance_id     TEXT NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    sensor_id       TEXT,
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
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    event_count     INTEGER NOT NULL CHECK (event_count >= 1),
    status          TEXT NOT NULL CHECK (status IN ('new', 'acknowledged', 'closed')),
    assignee_id     TEXT,
    acknowledged_at INTEGER,
    closed_at       INTEGER,
    resolution      TEXT CHECK (resolution IN ('true_positive', 'false_positive', 'benign', 'duplicate')),
    resolution_note TEXT,
    retrospective   INTEGER NOT NULL,
    exercise        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
-- The queue: newest last event first.
CREATE INDEX alerts_queue ON alerts (exercise, last_seen DESC, id DESC);
CREATE INDEX alerts_by_tenant ON alerts (tenant_id, last_seen DESC, id DESC);
-- Folding looks up the group's most recent alert that is not closed.
CREATE INDEX alerts_open_by_group ON alerts (tenant_id, rule_id, fold_key, exercise, retrospective, last_seen)
    WHERE status <> 'closed';

CREATE TABLE alert_comments (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    alert_id    TEXT NOT NULL REFERENCES alerts (id),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    author_id   TEXT,
    body        TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX alert_comments_by_alert ON alert_comments (alert_id, id);

-- The change feed: one entry per alert written (opened, folded, triaged,
-- commented), in the same transaction as the change. AUTOINCREMENT: a
-- sequence number is never reused, even after old entries are pruned, so
-- a stream resumed with Last-Event-ID misses nothing.
CREATE TABLE alert_changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id  TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('opened', 'folded', 'triaged', 'commented')),
    at        INTEGER NOT NULL
);
CREATE INDEX alert_changes_by_time ON alert_changes (at);

-- Signals raised, by a 16-byte digest of tenant, rule and event: delivery
-- from the bus is at least once, and a redelivered signal must not count
-- twice. Pruned after a retention.
CREATE TABLE alert_deliveries (
    key     BLOB PRIMARY KEY,
    seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX alert_deliveries_by_time ON alert_deliveries (seen_at);
