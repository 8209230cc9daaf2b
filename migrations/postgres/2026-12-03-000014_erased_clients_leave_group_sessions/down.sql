-- The participation rows of erased clients are not restored: erasure is irreversible.
SELECT 1;
