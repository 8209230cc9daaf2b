-- Indexes that serve the queries as the API sends them: with the statuses bound as parameters.
-- A partial index (`WHERE status = 'pending'`) is used only when the query's condition provably
-- matches its own. On SQLite a parameter list such as `status IN (?, ?)` never does (the query
-- read the whole table, or every open referral to a partner, instead), and `status = ?` does
-- only by preparing the statement again for each value bound; on PostgreSQL only plans made for
-- the bound values do, not the generic plan it may settle on after five runs.

-- A client's referrals: the check for an open duplicate when one is sent (it read every open
-- referral to the partner), and the erasure and merging of the client.
CREATE INDEX referrals_by_client ON referrals (client_id);
-- The referrals a partner accepted into a record of its own, for that record's erasure.
CREATE INDEX referrals_by_partner_client ON referrals (partner_client_id);

-- An organisation's deadlines by the day they end, for the report's deadline figures (the
-- partial index of open deadlines cannot serve a period that counts closed ones too, so each
-- report read every deadline of every organisation).
CREATE INDEX deadlines_by_organisation ON deadlines (organisation_id, due_on);

-- Pending referrals by answer date, for their expiry and the reminders before it.
DROP INDEX referrals_pending_by_due;
CREATE INDEX referrals_by_status_due ON referrals (status, respond_by);

-- Deliveries by status and next attempt, for the dispatcher's look for due deliveries and its
-- claim of them.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
