-- The hash chain moves out of audit_events into a table of its own. An event row is now never
-- changed after it is written; sealing an event inserts its link and takes it off a small queue.
-- SQLite cannot drop a UNIQUE column, so audit_events is rebuilt without the chain's columns.
CREATE TABLE audit_links (
    chain_index INTEGER PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_links (chain_index, event_id, prev_hash, hash)
    SELECT chain_index, id, prev_hash, hash FROM audit_events WHERE chain_index IS NOT NULL;

-- Events waiting for the sealer, in the order they were written, filled by a trigger so that
-- no way of writing an event can leave it out of the chain.
CREATE TABLE audit_pending (
    seq INTEGER PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL
);
INSERT INTO audit_pending (event_id) SELECT id FROM audit_events WHERE chain_index IS NULL ORDER BY at, id;

CREATE TABLE audit_events_new (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_id TEXT,
    organisation_id TEXT,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    resource_id TEXT,
    client_id TEXT,
    outcome TEXT NOT NULL,
    request_id TEXT,
    ip TEXT
);
INSERT INTO audit_events_new
    SELECT id, at, actor_id, organisation_id, action, resource, resource_id, client_id, outcome, request_id, ip
    FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_events_by_organisation ON audit_events (organisation_id, at, id);
CREATE INDEX audit_events_by_client ON audit_events (client_id, at, id);
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, at, id);

CREATE TRIGGER audit_events_queue
    AFTER INSERT ON audit_events
BEGIN
    INSERT INTO audit_pending (event_id) VALUES (NEW.id);
END;

CREATE TRIGGER audit_events_no_update
    BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete
    BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_links_no_update
    BEFORE UPDATE ON audit_links
BEGIN
    SELECT RAISE(ABORT, 'audit_links is append-only');
END;
CREATE TRIGGER audit_links_no_delete
    BEFORE DELETE ON audit_links
BEGIN
    SELECT RAISE(ABORT, 'audit_links is append-only');
END;
