-- Storms: a route's storm block attaches the alerts of a group beyond
-- storm.max_new new work items inside storm.window to one parent work item.
--
-- storm_groups counts, per route, backend and group (storm.group_by rendered
-- for the alert), the new work items of the current counting window
-- (window_start, opened) and the storm the group is in: it lasts until
-- storm_until, began at started, and parent_id is its parent work item.
-- Ingest reads and writes the row in the transaction that acknowledges the
-- alert, under the row's lock.
CREATE TABLE storm_groups (
    route        TEXT    NOT NULL,
    backend      TEXT    NOT NULL,
    group_key    TEXT    NOT NULL,
    window_start INTEGER NOT NULL DEFAULT 0,
    opened       INTEGER NOT NULL DEFAULT 0,
    storm_until  INTEGER NOT NULL DEFAULT 0,
    started      INTEGER NOT NULL DEFAULT 0,
    parent_id    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (route, backend, group_key)
);

-- storm_parent links a member to its parent work item (0: none); a member
-- makes no calls of its own. storm_members > 0 marks a parent: it counts
-- the members, and storm_firing those whose newest notification is a Fired.
-- A parent's condition and configuration items follow its members.
ALTER TABLE work_items ADD COLUMN storm_parent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE work_items ADD COLUMN storm_members INTEGER NOT NULL DEFAULT 0;
ALTER TABLE work_items ADD COLUMN storm_firing INTEGER NOT NULL DEFAULT 0;
