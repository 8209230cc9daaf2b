DROP TRIGGER audit_links_append_only ON audit_links;
DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_append_only();
DROP TRIGGER audit_events_queue ON audit_events;
DROP FUNCTION audit_events_queue();

ALTER TABLE audit_events ADD COLUMN chain_index BIGINT UNIQUE, ADD COLUMN prev_hash TEXT, ADD COLUMN hash TEXT;
UPDATE audit_events SET chain_index = link.chain_index, prev_hash = link.prev_hash, hash = link.hash
    FROM audit_links AS link WHERE link.event_id = audit_events.id;
CREATE INDEX audit_events_unsealed ON audit_events (at, id) WHERE chain_index IS NULL;
DROP TABLE audit_pending;
DROP TABLE audit_links;

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.chain_index IS NULL
       AND NEW.chain_index IS NOT NULL
       AND (NEW.id, NEW.at, NEW.actor_id, NEW.organisation_id, NEW.action, NEW.resource,
            NEW.resource_id, NEW.client_id, NEW.outcome, NEW.request_id, NEW.ip)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor_id, OLD.organisation_id, OLD.action, OLD.resource,
            OLD.resource_id, OLD.client_id, OLD.outcome, OLD.request_id, OLD.ip)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
