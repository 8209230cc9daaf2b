CREATE TABLE audit_events_old (
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
    ip TEXT,
    chain_index BIGINT UNIQUE,
    prev_hash TEXT,
    hash TEXT
);
INSERT INTO audit_events_old
    SELECT e.id, e.at, e.actor_id, e.organisation_id, e.action, e.resource, e.resource_id, e.client_id,
           e.outcome, e.request_id, e.ip, link.chain_index, link.prev_hash, link.hash
    FROM audit_events AS e LEFT JOIN audit_links AS link ON link.event_id = e.id;
DROP TABLE audit_events;
DROP TABLE audit_links;
DROP TABLE audit_pending;
ALTER TABLE audit_events_old RENAME TO audit_events;
CREATE INDEX audit_events_unsealed ON audit_events (at, id) WHERE chain_index IS NULL;
CREATE INDEX audit_events_by_organisation ON audit_events (organisation_id, at, id);
CREATE INDEX audit_events_by_client ON audit_events (client_id, at, id);
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, at, id);

CREATE TRIGGER audit_events_no_delete
    BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_seal_once
    BEFORE UPDATE ON audit_events
    WHEN OLD.chain_index IS NOT NULL
        OR NEW.chain_index IS NULL
        OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor_id IS NOT OLD.actor_id
        OR NEW.organisation_id IS NOT OLD.organisation_id OR NEW.action IS NOT OLD.action
        OR NEW.resource IS NOT OLD.resource OR NEW.resource_id IS NOT OLD.resource_id
        OR NEW.client_id IS NOT OLD.client_id OR NEW.outcome IS NOT OLD.outcome
        OR NEW.request_id IS NOT OLD.request_id OR NEW.ip IS NOT OLD.ip
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
