-- Nigehban schema, version 13 (PostgreSQL): STIX 2.1 objects as imported (issue 13).
-- Every object of an imported bundle is kept whole, as its JSON, for its
-- owning tenant: one row per version (TAXII's key: the object id and its
-- `modified`, else `created`, else '' for cyber-observables). `date_added`
-- is when this platform first held that version: TAXII's `added_after`
-- pages by it. `tlp` is read from the object's markings (else the
-- importer's default) and decides who reads it. The JSON is kept as text,
-- exactly as it came.

CREATE TABLE stix_objects (
    tenant_id    UUID NOT NULL REFERENCES tenants (id),
    object_id    TEXT NOT NULL,
    modified     TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    tlp          TEXT NOT NULL CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    date_added   TIMESTAMPTZ NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, object_id, modified)
);
CREATE INDEX stix_objects_by_date_added ON stix_objects (date_added, tenant_id, object_id, modified);
CREATE INDEX stix_objects_by_id ON stix_objects (object_id, modified);
