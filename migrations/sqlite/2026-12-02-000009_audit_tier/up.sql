-- The psychological tier of an event (SPEC §2.5): events about a psychological session are
-- shown only to callers inside the tier. NULL for every other event, and for events written
-- before the column existed, whose sealed hashes must keep verifying.
ALTER TABLE audit_events ADD COLUMN tier TEXT;
