-- create_attempt_at is when a claim that may call Create for the item's
-- "creating" intent began (0: no Create attempted since the intent was
-- recorded). Ingest now records the intent in the commit that acknowledges
-- the alert, and the claim marks the attempt in the commit that leases the
-- item, so a worker that finds a mark from an earlier claim knows that a
-- Create may have reached the backend and looks it up first. An intent
-- recorded before this column existed was recorded just before its Create:
-- its outcome is unknown, so it counts as attempted when it was recorded.
ALTER TABLE work_items ADD COLUMN create_attempt_at BIGINT NOT NULL DEFAULT 0;
UPDATE work_items SET create_attempt_at = updated_at WHERE intent = 'creating';
