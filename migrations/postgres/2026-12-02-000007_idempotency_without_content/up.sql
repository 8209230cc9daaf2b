-- Idempotency records hold no content: a replay reads the resource again as its GET does, so
-- the stored response body (decrypted session notes among it) goes. DROP COLUMN alone would
-- leave every body in the table's pages, so the records are purged first: they are short-lived
-- retry records, and a retry after this migration is simply a new request. TRUNCATE gives the
-- table new files instead of leaving dead rows for VACUUM.
TRUNCATE idempotency_keys;
ALTER TABLE idempotency_keys DROP COLUMN body;
-- SHA-256 of the key: callers choose keys, and a key may name a person.
ALTER TABLE idempotency_keys RENAME COLUMN idempotency_key TO key_hash;
-- The created resource, read again on a replay.
ALTER TABLE idempotency_keys ADD COLUMN resource_id TEXT NOT NULL;
-- Records answer retries for 24 hours; the server removes older ones in the background.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
