-- Interpreters shared by the consortium: each works for one or more organisations, which book
-- them on their appointments.
CREATE TABLE interpreters (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    -- JSON lists of ISO 639 codes and of cities.
    languages TEXT NOT NULL,
    cities TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE interpreter_organisations (
    interpreter_id TEXT NOT NULL REFERENCES interpreters (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (interpreter_id, organisation_id)
);
CREATE INDEX interpreter_organisations_by_organisation ON interpreter_organisations (organisation_id);

-- A planned meeting with a client (or a group), in UTC; `ends_at` is kept beside the duration
-- so that overlaps are found by an index range.
CREATE TABLE appointments (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    counselor_id TEXT NOT NULL REFERENCES users (id),
    client_id TEXT NOT NULL REFERENCES clients (id),
    kind TEXT NOT NULL,
    mode TEXT NOT NULL,
    city TEXT NOT NULL,
    location TEXT,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    duration_minutes INTEGER NOT NULL,
    language TEXT,
    interpreter_needed BOOLEAN NOT NULL,
    interpreter_id TEXT REFERENCES interpreters (id),
    status TEXT NOT NULL,
    cancel_reason TEXT,
    -- The session logged when it was held (a session deleted within its day leaves it empty).
    session_id TEXT UNIQUE REFERENCES sessions (id) ON DELETE SET NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX appointments_by_counselor ON appointments (counselor_id, starts_at);
CREATE INDEX appointments_by_interpreter ON appointments (interpreter_id, starts_at) WHERE interpreter_id IS NOT NULL;
CREATE INDEX appointments_by_organisation ON appointments (organisation_id, starts_at);
CREATE INDEX appointments_by_client ON appointments (client_id, starts_at);

-- Further clients of a group appointment.
CREATE TABLE appointment_participants (
    appointment_id TEXT NOT NULL REFERENCES appointments (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (id),
    PRIMARY KEY (appointment_id, client_id)
);
CREATE INDEX appointment_participants_by_client ON appointment_participants (client_id);

-- To-dos of an organisation: assigned to a user, or to the organisation's inbox when nobody.
CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    assignee_id TEXT REFERENCES users (id),
    client_id TEXT REFERENCES clients (id),
    title TEXT NOT NULL,
    due_on DATE NOT NULL,
    done_at TIMESTAMP,
    done_by TEXT REFERENCES users (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX tasks_by_organisation ON tasks (organisation_id, due_on, id);
CREATE INDEX tasks_by_assignee ON tasks (assignee_id, due_on, id);
CREATE INDEX tasks_by_client ON tasks (client_id);

-- A user's calendar feed: the SHA-256 of a token that a calendar app puts in the feed's
-- address (never the access token). One per user; revoking it deletes the row. Fetches are
-- counted per window to limit how often the feed is read.
CREATE TABLE calendar_feeds (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    window_started_at TIMESTAMP NOT NULL,
    fetches INTEGER NOT NULL
);
