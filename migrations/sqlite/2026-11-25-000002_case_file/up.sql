-- The case file: clients, their households, consents, procedure timeline and derived deadlines,
-- plus idempotency records for creating requests.

CREATE TABLE reference_counters (
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    year INTEGER NOT NULL,
    last_number INTEGER NOT NULL,
    PRIMARY KEY (organisation_id, year)
);

CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    reference TEXT NOT NULL,
    given_names TEXT NOT NULL,
    family_name TEXT NOT NULL,
    native_name TEXT,
    aliases TEXT NOT NULL,
    date_of_birth DATE,
    birth_year INTEGER,
    sex TEXT NOT NULL,
    nationalities TEXT NOT NULL,
    region_of_origin TEXT,
    languages TEXT NOT NULL,
    interpreter_needed BOOLEAN NOT NULL,
    city TEXT,
    city_key TEXT,
    accommodation TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    vulnerabilities TEXT NOT NULL,
    identifiers TEXT NOT NULL,
    household_id TEXT,
    household_relationship TEXT,
    status TEXT NOT NULL,
    closed_reason TEXT,
    closed_at TIMESTAMP,
    assigned_counselor_id TEXT REFERENCES users (id),
    procedure_stage TEXT,
    name_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (organisation_id, reference)
);
CREATE INDEX clients_by_organisation ON clients (organisation_id, id);
CREATE INDEX clients_by_status ON clients (organisation_id, status, id);
CREATE INDEX clients_by_city ON clients (organisation_id, city_key, id);
CREATE INDEX clients_by_counselor ON clients (organisation_id, assigned_counselor_id, id);
CREATE INDEX clients_by_stage ON clients (organisation_id, procedure_stage, id);
CREATE INDEX clients_by_household ON clients (household_id);
CREATE INDEX clients_by_name_key ON clients (organisation_id, name_key);

-- Normalised name tokens (case, diacritics and script folded) for prefix search by index.
CREATE TABLE client_name_tokens (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL,
    token TEXT NOT NULL,
    PRIMARY KEY (client_id, token)
);
CREATE INDEX client_name_tokens_search ON client_name_tokens (organisation_id, token, client_id);

-- List-valued fields (nationality, language, vulnerability) as rows, so each filter has an index.
CREATE TABLE client_tags (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (client_id, kind, value)
);
CREATE INDEX client_tags_search ON client_tags (organisation_id, kind, value, client_id);

CREATE TABLE client_identifiers (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value_key TEXT NOT NULL,
    PRIMARY KEY (client_id, kind, value_key)
);
CREATE INDEX client_identifiers_search ON client_identifiers (organisation_id, value_key, client_id);

CREATE TABLE consents (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    purpose TEXT NOT NULL,
    partner_id TEXT REFERENCES organisations (id),
    scope TEXT NOT NULL,
    given_on DATE NOT NULL,
    expires_on DATE,
    withdrawn_on DATE,
    withdrawn_by TEXT REFERENCES users (id),
    language TEXT NOT NULL,
    form_version TEXT NOT NULL,
    recorded_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX consents_by_client ON consents (client_id, id);

CREATE TABLE procedure_events (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    kind TEXT NOT NULL,
    occurred_on DATE NOT NULL,
    delivered_on DATE,
    authority TEXT,
    outcome TEXT,
    notes TEXT,
    recorded_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX procedure_events_by_client ON procedure_events (client_id, occurred_on, id);

-- Derived from the timeline by the rule table; rewritten whenever the timeline changes.
CREATE TABLE deadlines (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    rule_code TEXT NOT NULL,
    rule_version INTEGER NOT NULL,
    trigger_event_id TEXT NOT NULL REFERENCES procedure_events (id),
    due_on DATE NOT NULL,
    closed_by_event_id TEXT REFERENCES procedure_events (id)
);
CREATE INDEX deadlines_open ON deadlines (organisation_id, due_on, id) WHERE closed_by_event_id IS NULL;
CREATE INDEX deadlines_by_client ON deadlines (client_id, due_on);

-- A retried creating request with the same key returns the first response.
CREATE TABLE idempotency_keys (
    actor_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    location TEXT,
    etag TEXT,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (actor_id, idempotency_key)
);
