-- Nobody chooses another person's password, and nobody enters the psychological tier alone.

-- One-time enrolment tokens: creating a user or resetting their password issues one, shown
-- once to whoever did it; the user sets their own password with it. Only a hash is stored.
CREATE TABLE enrolment_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    issued_by TEXT REFERENCES users (id),
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX enrolment_tokens_by_user ON enrolment_tokens (user_id);

-- Requests to grant a specialty that takes a second person (the psychological one): pending
-- until a psychologist of the organisation (or, where it has none, a consortium administrator)
-- confirms it. A pending grant gives no access.
CREATE TABLE specialty_grants (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    specialty TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL REFERENCES users (id),
    requested_at TIMESTAMP NOT NULL,
    decided_by TEXT REFERENCES users (id),
    decided_at TIMESTAMP
);
CREATE UNIQUE INDEX specialty_grants_one_pending ON specialty_grants (user_id, specialty) WHERE status = 'pending';
CREATE INDEX specialty_grants_by_organisation ON specialty_grants (organisation_id, status, id);
CREATE INDEX specialty_grants_by_user ON specialty_grants (user_id, status);
