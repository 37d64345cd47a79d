-- A route's on_resolved_without_item, kept per work item like reopen_window
-- and updated with every applied notification. Existing items keep the
-- behaviour they had: record only.
ALTER TABLE work_items ADD COLUMN on_resolved_without_item TEXT NOT NULL DEFAULT 'record';
