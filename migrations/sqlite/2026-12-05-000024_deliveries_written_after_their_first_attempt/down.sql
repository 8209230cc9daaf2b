ALTER TABLE outbox_events DROP COLUMN leased_until;
