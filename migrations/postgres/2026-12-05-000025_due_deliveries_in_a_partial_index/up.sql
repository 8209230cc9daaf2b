-- Deliveries still to be made, by when they are due: only they are in the index. The dispatcher
-- writes the predicate out in its queries (not a bound status), so both databases prove the
-- index serves them; a bound status let PostgreSQL's generic plan read the whole table each
-- round when nothing was due. Delivered and failed rows, nearly all of them, no longer add to
-- this index when they are written.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
