-- Counseling sessions and the per-client data keys that encrypt their confidential notes.

-- One data key per client, wrapped (encrypted) by a master key from configuration. Deleting the
-- row makes the client's notes unreadable everywhere, backups included.
CREATE TABLE client_keys (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients (id),
    master_key_id TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    rotated_at TIMESTAMP
);
CREATE INDEX client_keys_by_master_key ON client_keys (master_key_id, client_id);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    counselor_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    mode TEXT NOT NULL,
    city TEXT,
    started_at TIMESTAMP NOT NULL,
    duration_minutes INTEGER NOT NULL,
    language TEXT,
    interpreter_used BOOLEAN NOT NULL,
    topics TEXT NOT NULL,
    summary TEXT,
    notes_ciphertext BLOB,
    follow_up_on DATE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX sessions_by_organisation ON sessions (organisation_id, started_at, id);
CREATE INDEX sessions_by_client ON sessions (client_id, started_at);
CREATE INDEX sessions_by_counselor ON sessions (organisation_id, counselor_id, started_at);
CREATE INDEX sessions_follow_ups ON sessions (organisation_id, follow_up_on) WHERE follow_up_on IS NOT NULL;

-- Everyone a session was with: the client it was logged for and, for group sessions, the others.
CREATE TABLE session_participants (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (id),
    attended BOOLEAN NOT NULL,
    PRIMARY KEY (session_id, client_id)
);
CREATE INDEX session_participants_by_client ON session_participants (client_id, session_id);
