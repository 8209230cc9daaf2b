-- Whether accepting the referral created the partner's client record from the shared fields
-- (1) or linked a record the partner already held (0). Withdrawing the consent takes the
-- shared fields out of a created record only: a linked one was the partner's own.
ALTER TABLE referrals ADD COLUMN partner_client_created BOOLEAN NOT NULL DEFAULT 0;

-- Referrals accepted before the column existed, told apart by the audit trail: accepting
-- recorded the record's `client.create` in the same request as its `referral.accept`, while a
-- linked record was created by a request of its own. Records created without a request (the
-- demo data) were always created by accepting. Timestamps are stored as
-- 'YYYY-MM-DD HH:MM:SS.ffffff' text, so they compare as text.
UPDATE referrals SET partner_client_created = 1
WHERE partner_client_id IS NOT NULL
  AND EXISTS (
    SELECT 1 FROM audit_events made
    WHERE made.client_id = referrals.partner_client_id
      AND made.action = 'client.create'
      AND (
        made.request_id IS NULL
        OR EXISTS (
          SELECT 1 FROM audit_events accepted
          WHERE accepted.organisation_id = referrals.to_organisation_id
            AND accepted.at >= made.at
            AND accepted.at <= datetime(made.at, '+60 seconds')
            AND accepted.action = 'referral.accept'
            AND accepted.resource_id = referrals.id
            AND accepted.request_id = made.request_id
        )
      )
  );
