-- The rejected share above which the file was to be held (0: never), as it
-- was when the file was processed: a HELD batch's ack and `batch show` give
-- the ratio and the threshold it crossed, and `ack ID` rebuilds them.
ALTER TABLE batches ADD COLUMN max_reject_ratio REAL NOT NULL DEFAULT 0;
