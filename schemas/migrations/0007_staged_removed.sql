-- When the staged copy of a batch was deleted by staging_retention (an
-- APPLIED batch, or one a rerun superseded, older than the retention):
-- empty while it is kept. `batch show` and `rerun` say so rather than
-- calling the copy unreadable.
ALTER TABLE batches ADD COLUMN staged_removed_at TEXT NOT NULL DEFAULT '';
-- The retention sweep looks only at copies still kept.
CREATE INDEX batches_staged_kept ON batches (staged_path) WHERE staged_removed_at = '';
