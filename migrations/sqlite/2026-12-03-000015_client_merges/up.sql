-- Duplicates merged into the record that survives (SPEC §2.3): the duplicate stays as a tombstone
-- (status `merged`) that answers 410 with a link to its survivor, found here.
CREATE TABLE client_merges (
    duplicate_id TEXT NOT NULL PRIMARY KEY REFERENCES clients (id),
    survivor_id TEXT NOT NULL REFERENCES clients (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    merged_by TEXT REFERENCES users (id),
    merged_at TIMESTAMP NOT NULL
);
CREATE INDEX client_merges_by_survivor ON client_merges (survivor_id);
