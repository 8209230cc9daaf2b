-- Clients erased before erasure reached group sessions leave the group sessions of other
-- clients' files too, as later erasures make them (their names in those sessions' sealed texts
-- cannot be found any more: the erased record no longer holds them).
DELETE FROM session_participants
WHERE client_id IN (SELECT id FROM clients WHERE status = 'erased')
  AND session_id IN (
    SELECT id FROM sessions WHERE sessions.client_id <> session_participants.client_id
  );
