-- Where an organisation's own systems are told of events: a URL, the event types it wants and
-- the signing secret, sealed under the newest master key (it is shown to the coordinator once).
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    url TEXT NOT NULL,
    -- JSON list of event types.
    event_types TEXT NOT NULL,
    description TEXT,
    secret_master_key_id TEXT NOT NULL,
    secret_sealed BYTEA NOT NULL,
    active BOOLEAN NOT NULL,
    -- Why the webhook stopped (the receiver answered 410 Gone); empty while active.
    disabled_reason TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX webhooks_by_organisation ON webhooks (organisation_id);

-- The transactional outbox: an event is written in the transaction of the change it reports and
-- fanned out into deliveries by the dispatcher. The payload holds ids and dates, never names.
CREATE TABLE outbox_events (
    id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    -- The referral, deadline or webhook the event is about.
    subject_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    -- Events of the calendar (an answer date or a deadline coming close) are told once.
    once_key TEXT UNIQUE,
    fanned_out_at TIMESTAMP
);
CREATE INDEX outbox_events_to_fan_out ON outbox_events (occurred_at) WHERE fanned_out_at IS NULL;

-- One event to one webhook or one user's e-mail, with its attempts. Its id is the
-- `webhook-id` a receiver sees on every attempt.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES outbox_events (id),
    webhook_id TEXT REFERENCES webhooks (id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users (id),
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    -- When the next attempt is due; an attempt in flight pushes it on by a lease, so that an
    -- instance that dies mid-attempt leaves the delivery to another.
    next_attempt_at TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    last_response_code INTEGER,
    last_error TEXT,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    CHECK ((webhook_id IS NULL) <> (user_id IS NULL))
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_by_event ON deliveries (event_id);

-- A user's choices about e-mail: the language and the event types they want no e-mail about.
CREATE TABLE notification_settings (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    language TEXT NOT NULL,
    -- JSON list of event types.
    email_off TEXT NOT NULL
);
