-- lifecycle_policy is the route's field_policy and wont_fix, kept per work
-- item like reopen_window and replaced by every applied notification;
-- field_state is what the connector last wrote to each field that policy
-- governs, and whether a person has changed it since. Existing items have
-- neither: their fields are written as before (on create only).
ALTER TABLE work_items ADD COLUMN lifecycle_policy TEXT NOT NULL DEFAULT '{}';
ALTER TABLE work_items ADD COLUMN field_state TEXT NOT NULL DEFAULT '{}';
