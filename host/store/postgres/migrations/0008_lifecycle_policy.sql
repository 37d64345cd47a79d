-- Lifecycle policy: flapping and maintenance windows.
--
-- flap_window, flap_max and flap_quiet are the route's flap block, kept per
-- work item like reopen_window and replaced by every applied notification
-- (0: the route has none). flap_transitions holds the event times (Unix
-- nanoseconds, a JSON array, oldest first) of the alert's recent fire and
-- resolve transitions, written by ingest; flapping_since is the time of the
-- transition that marked the alert flapping (0: not flapping), and
-- flap_noted the flapping_since whose note a worker delivered.
ALTER TABLE work_items ADD COLUMN flap_window BIGINT NOT NULL DEFAULT 0;
ALTER TABLE work_items ADD COLUMN flap_max BIGINT NOT NULL DEFAULT 0;
ALTER TABLE work_items ADD COLUMN flap_quiet BIGINT NOT NULL DEFAULT 0;
ALTER TABLE work_items ADD COLUMN flap_transitions TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN flapping_since BIGINT NOT NULL DEFAULT 0;
ALTER TABLE work_items ADD COLUMN flap_noted BIGINT NOT NULL DEFAULT 0;

-- A maintenance window holds a work item whose notification matched it:
-- maint_seq is the seq of the newest held notification (0: no hold),
-- maint_cond its condition, maint_window the window's name, maint_until
-- the end of the window (the item is due then) and maint_on_end what
-- happens to an alert still firing at the end ('create' or 'drop').
ALTER TABLE work_items ADD COLUMN maint_window TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN maint_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE work_items ADD COLUMN maint_on_end TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN maint_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE work_items ADD COLUMN maint_cond TEXT NOT NULL DEFAULT '';
CREATE INDEX work_items_maint ON work_items (maint_window) WHERE maint_seq > 0;

-- Ad-hoc maintenance windows, started through the admin API. Ending one
-- sets its end_at; its row stays until a window of the same name replaces it.
CREATE TABLE maintenance_windows (
    name       TEXT    PRIMARY KEY,
    when_expr  TEXT    NOT NULL,
    start_at   BIGINT  NOT NULL,
    end_at     BIGINT  NOT NULL,
    on_end     TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
