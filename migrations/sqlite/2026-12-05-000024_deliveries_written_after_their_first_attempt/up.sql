-- An event is leased to the instance attempting its first deliveries, which writes them (with
-- what became of the attempt) when the attempts are over; an instance that dies meanwhile
-- leaves the event to whoever comes after the lease.
ALTER TABLE outbox_events ADD COLUMN leased_until TIMESTAMP;
