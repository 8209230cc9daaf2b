-- Idempotency records hold no content: a replay reads the resource again as its GET does, so
-- the stored response body (decrypted session notes among it) goes. The records are purged
-- first, with secure_delete so the freed pages are overwritten rather than left holding the
-- bodies: they are short-lived retry records, and a retry after this migration is simply a new
-- request. SQLite then rebuilds the table in its new shape.
PRAGMA secure_delete = ON;
DELETE FROM idempotency_keys;
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    actor_id TEXT NOT NULL,
    -- SHA-256 of the key: callers choose keys, and a key may name a person.
    key_hash TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    location TEXT,
    etag TEXT,
    created_at TIMESTAMP NOT NULL,
    -- The created resource, read again on a replay.
    resource_id TEXT NOT NULL,
    PRIMARY KEY (actor_id, key_hash)
);
-- Records answer retries for 24 hours; the server removes older ones in the background.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
