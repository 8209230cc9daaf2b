-- Whether accepting the referral created the partner's client record from the shared fields
-- (1) or linked a record the partner already held (0). Withdrawing the consent takes the
-- shared fields out of a created record only: a linked one was the partner's own.
ALTER TABLE referrals ADD COLUMN partner_client_created BOOLEAN NOT NULL DEFAULT 0;

-- Referrals accepted before the column existed: accepting created the record in the same
-- transaction, a moment before the acceptance was stamped, while a linked record existed before.
-- Timestamps are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' text, so they compare as text.
UPDATE referrals SET partner_client_created = 1
WHERE partner_client_id IS NOT NULL
  AND accepted_at IS NOT NULL
  AND EXISTS (
    SELECT 1 FROM clients
    WHERE clients.id = referrals.partner_client_id
      AND clients.created_at > referrals.created_at
      AND clients.created_at <= referrals.accepted_at
      AND clients.created_at >= datetime(referrals.accepted_at, '-5 seconds')
  );
