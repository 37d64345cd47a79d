-- fired_seq is the seq of the newest Fired notification applied to the item
-- (0 when none), written by ingest in the same transaction. While it is
-- above applied_seq, a Fired the connector acknowledged has not reached the
-- backend: its work item is owed even when the alert has resolved since.
-- For existing items it is known only when their desired state is a Fired.
ALTER TABLE work_items ADD COLUMN fired_seq BIGINT NOT NULL DEFAULT 0;
UPDATE work_items SET fired_seq = seq WHERE condition = 'fired';
