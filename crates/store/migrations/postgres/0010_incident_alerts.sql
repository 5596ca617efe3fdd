-- Nigehban schema, version 10 (PostgreSQL): alerts linked to incidents, and
-- an index of incidents' observables for suggesting similar incidents.

-- The incident an alert was linked to (at most one). Set in the transaction
-- that writes the incident, so the two never disagree.
ALTER TABLE alerts ADD COLUMN incident_id UUID REFERENCES incidents (id);
CREATE INDEX alerts_by_incident ON alerts (incident_id) WHERE incident_id IS NOT NULL;

-- Every observable of every incident as `kind:value` (the model's
-- normalised form, e.g. `ipv4:192.0.2.7`), rewritten with the incident's
-- document; "similar incidents" are those sharing any of them.
CREATE TABLE incident_observables (
    incident_id UUID NOT NULL REFERENCES incidents (id),
    observable  TEXT NOT NULL,
    PRIMARY KEY (incident_id, observable)
);
CREATE INDEX incident_observables_by_value ON incident_observables (observable, incident_id);

INSERT INTO incident_observables (incident_id, observable)
SELECT incidents.id, (o ->> 'kind') || ':' || (o ->> 'value')
FROM incidents, jsonb_array_elements(incidents.document::jsonb -> 'observables') AS o
ON CONFLICT DO NOTHING;
