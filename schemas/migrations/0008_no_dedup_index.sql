-- In-file duplicates are found in memory (enroll/dedup.go): an index on a
-- hash is a random write per row into a b-tree as large as the file. The
-- dedup_key column stays, to confirm a candidate and to keep HELD records.
DROP INDEX batch_records_dedup;
