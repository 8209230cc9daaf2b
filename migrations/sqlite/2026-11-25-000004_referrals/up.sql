-- Referrals between partner organisations and their change feed.

CREATE TABLE referrals (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id),
    from_organisation_id TEXT NOT NULL REFERENCES organisations (id),
    to_organisation_id TEXT NOT NULL REFERENCES organisations (id),
    service TEXT NOT NULL,
    urgency TEXT NOT NULL,
    reason TEXT NOT NULL,
    shared_fields TEXT NOT NULL,
    consent_id TEXT NOT NULL REFERENCES consents (id),
    status TEXT NOT NULL,
    status_reason_code TEXT,
    status_reason TEXT,
    respond_by DATE NOT NULL,
    partner_client_id TEXT REFERENCES clients (id),
    outcome TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    declined_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    completed_at TIMESTAMP,
    expired_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX referrals_inbox ON referrals (to_organisation_id, status, id);
CREATE INDEX referrals_outbox ON referrals (from_organisation_id, status, id);
CREATE INDEX referrals_by_consent ON referrals (consent_id);
CREATE INDEX referrals_pending_by_due ON referrals (respond_by) WHERE status = 'pending';
-- At most one open referral of a client to a partner for a service, even under concurrency.
CREATE UNIQUE INDEX referrals_one_open ON referrals (client_id, to_organisation_id, service)
    WHERE status IN ('pending', 'accepted');

-- Every transition, in the order it committed: `position` is taken from a single counter row
-- inside the transition's transaction, so positions become visible in order and a poller that
-- remembers its last position misses nothing.
CREATE TABLE referral_events (
    id TEXT PRIMARY KEY NOT NULL,
    position BIGINT NOT NULL UNIQUE,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    from_organisation_id TEXT NOT NULL,
    to_organisation_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor_id TEXT,
    at TIMESTAMP NOT NULL,
    reason_code TEXT,
    reason TEXT
);
CREATE INDEX referral_events_from ON referral_events (from_organisation_id, position);
CREATE INDEX referral_events_to ON referral_events (to_organisation_id, position);
CREATE INDEX referral_events_by_referral ON referral_events (referral_id, position);

CREATE TABLE referral_feed (
    id INTEGER PRIMARY KEY NOT NULL,
    position BIGINT NOT NULL
);
INSERT INTO referral_feed (id, position) VALUES (1, 0);
