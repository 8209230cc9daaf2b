-- The hash chain moves out of audit_events into a table of its own. An event row is now never
-- changed after it is written; sealing an event inserts its link and takes it off a small queue.
-- Until now sealing updated the event in place, which wrote a new version of the whole row and
-- of every index on it, then left the old version for vacuum to clean up.
CREATE TABLE audit_links (
    chain_index BIGINT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_links (chain_index, event_id, prev_hash, hash)
    SELECT chain_index, id, prev_hash, hash FROM audit_events WHERE chain_index IS NOT NULL;

-- Events waiting for the sealer, in the order they were written, filled by a trigger so that
-- no way of writing an event can leave it out of the chain.
CREATE TABLE audit_pending (
    seq BIGSERIAL PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL
);
INSERT INTO audit_pending (event_id) SELECT id FROM audit_events WHERE chain_index IS NULL ORDER BY at, id;

CREATE FUNCTION audit_events_queue() RETURNS trigger AS $$
BEGIN
    INSERT INTO audit_pending (event_id) VALUES (NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_queue
    AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_queue();

DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_events_append_only();
DROP INDEX audit_events_unsealed;
ALTER TABLE audit_events DROP COLUMN chain_index, DROP COLUMN prev_hash, DROP COLUMN hash;

CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_links_append_only
    BEFORE UPDATE OR DELETE ON audit_links
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
