-- What the host knows of a work item resolved in the ITSM tool: who
-- resolved it and the resolution the tool gives, and whether a human did
-- it there (human_resolved = 1, found by a status read) rather than the
-- connector's Resolve. A Fired from before such a resolution never reopens
-- the item. status_checked_at is when the item's status was last read, so
-- the poller reads open items oldest-checked first.
ALTER TABLE work_items ADD COLUMN remote_resolved_by TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN resolution TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN human_resolved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE work_items ADD COLUMN status_checked_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX work_items_open ON work_items (backend, status_checked_at, id) WHERE remote = 'open' AND dead = 0;
