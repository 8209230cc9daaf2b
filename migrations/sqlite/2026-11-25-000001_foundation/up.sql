-- Identity, access and audit. Identifiers are UUIDv7 strings; times are UTC timestamps
-- written by the application (microsecond precision on both databases).

CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    short_name TEXT NOT NULL,
    short_name_key TEXT NOT NULL UNIQUE,
    cities TEXT NOT NULL,
    services TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX organisations_by_name ON organisations (name, id);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT REFERENCES organisations (id),
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    specialties TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX users_by_organisation ON users (organisation_id, created_at, id);
CREATE INDEX users_by_creation ON users (created_at, id);

-- A login session is one refresh-token family: every access token names it, so revoking the
-- session refuses its access tokens at once.
CREATE TABLE login_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_reason TEXT
);
CREATE INDEX login_sessions_by_user ON login_sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES login_sessions (id) ON DELETE CASCADE,
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    spent_at TIMESTAMP
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- Failed logins, kept in the database so that throttling holds across API instances.
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY NOT NULL,
    account_key TEXT NOT NULL,
    ip TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_by_account ON login_failures (account_key, at);
CREATE INDEX login_failures_by_ip ON login_failures (ip, at);

-- Append-only audit trail. Events are inserted with the request's own transaction; a sealer
-- later fills chain_index, prev_hash and hash (once) in order, so concurrent requests never
-- wait on each other for the chain.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_id TEXT,
    organisation_id TEXT,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    resource_id TEXT,
    client_id TEXT,
    outcome TEXT NOT NULL,
    request_id TEXT,
    ip TEXT,
    chain_index BIGINT UNIQUE,
    prev_hash TEXT,
    hash TEXT
);
CREATE INDEX audit_events_unsealed ON audit_events (at, id) WHERE chain_index IS NULL;
CREATE INDEX audit_events_by_organisation ON audit_events (organisation_id, at, id);
CREATE INDEX audit_events_by_client ON audit_events (client_id, at, id);
CREATE INDEX audit_events_by_actor ON audit_events (actor_id, at, id);

CREATE TRIGGER audit_events_no_delete
    BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_seal_once
    BEFORE UPDATE ON audit_events
    WHEN OLD.chain_index IS NOT NULL
        OR NEW.chain_index IS NULL
        OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor_id IS NOT OLD.actor_id
        OR NEW.organisation_id IS NOT OLD.organisation_id OR NEW.action IS NOT OLD.action
        OR NEW.resource IS NOT OLD.resource OR NEW.resource_id IS NOT OLD.resource_id
        OR NEW.client_id IS NOT OLD.client_id OR NEW.outcome IS NOT OLD.outcome
        OR NEW.request_id IS NOT OLD.request_id OR NEW.ip IS NOT OLD.ip
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
