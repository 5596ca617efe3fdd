-- Nigehban schema, version 15 (SQLite): alerts counted per hour (issue 11).
-- The dashboard counts the last day's alerts per tenant, severity and hour
-- of `first_seen`; this index holds every column that count reads, so it
-- scans one range per tenant instead of every alert of the tenant.

CREATE INDEX alerts_by_first_seen ON alerts (tenant_id, first_seen, exercise, severity);
