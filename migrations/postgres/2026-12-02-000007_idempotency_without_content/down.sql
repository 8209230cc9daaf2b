-- The records cannot get their bodies back; they are retry records and go.
TRUNCATE idempotency_keys;
DROP INDEX idempotency_keys_created_at;
ALTER TABLE idempotency_keys DROP COLUMN resource_id;
ALTER TABLE idempotency_keys RENAME COLUMN key_hash TO idempotency_key;
ALTER TABLE idempotency_keys ADD COLUMN body TEXT NOT NULL;
