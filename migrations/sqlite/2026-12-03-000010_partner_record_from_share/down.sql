ALTER TABLE referrals DROP COLUMN partner_client_created;
