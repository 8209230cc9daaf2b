DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
DROP INDEX referrals_by_status_due;
CREATE INDEX referrals_pending_by_due ON referrals (respond_by) WHERE status = 'pending';
DROP INDEX deadlines_by_organisation;
DROP INDEX referrals_by_partner_client;
DROP INDEX referrals_by_client;
