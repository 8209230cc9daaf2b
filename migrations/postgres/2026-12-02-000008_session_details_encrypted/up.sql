-- A session's summary and topics are sealed like its notes: with the client's data key, bound to
-- the session id under a label of their own, in one ciphertext.
--
-- The plaintext columns `summary` and `topics` stay for now: SQL cannot encrypt, so the
-- application seals what they hold and empties them in batches right after migrating (at
-- start-up and in every command that migrates), and writes nothing into them afterwards. A
-- later migration drops them once every database has been through that step.
ALTER TABLE sessions ADD COLUMN details_ciphertext BYTEA;

-- What is left in clear, found without reading the table: the check after every migration run
-- costs nothing once it is done (the predicate is the one the application queries with).
CREATE INDEX sessions_details_in_clear ON sessions (id) WHERE summary IS NOT NULL OR topics <> '[]';
