CREATE TABLE work_items (
    id                 INTEGER PRIMARY KEY,
    route              TEXT    NOT NULL,
    backend            TEXT    NOT NULL,
    correlation_key    TEXT    NOT NULL,
    condition          TEXT    NOT NULL,
    alert_id           TEXT    NOT NULL,
    alert              TEXT    NOT NULL,
    fields             TEXT    NOT NULL,
    config_items       TEXT    NOT NULL,
    reopen_window      INTEGER NOT NULL,
    event_at           INTEGER NOT NULL,
    seq                INTEGER NOT NULL,
    applied_seq        INTEGER NOT NULL DEFAULT 0,
    remote             TEXT    NOT NULL DEFAULT 'none',
    ref                TEXT    NOT NULL DEFAULT '',
    remote_resolved_at INTEGER NOT NULL DEFAULT 0,
    intent             TEXT    NOT NULL DEFAULT '',
    dirty              INTEGER NOT NULL,
    dead               INTEGER NOT NULL DEFAULT 0,
    due_at             INTEGER NOT NULL,
    dirty_since        INTEGER NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT    NOT NULL DEFAULT '',
    lease_owner        TEXT    NOT NULL DEFAULT '',
    lease_until        INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (route, backend, correlation_key)
);
CREATE INDEX work_items_due ON work_items (backend, due_at) WHERE dirty = 1 AND dead = 0;
CREATE INDEX work_items_backend ON work_items (backend, id);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    op          TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    duration_ns INTEGER NOT NULL
);
CREATE INDEX events_item ON events (item_id, id);

CREATE TABLE dead_letters (
    id              INTEGER PRIMARY KEY,
    item_id         INTEGER NOT NULL DEFAULT 0,
    route           TEXT    NOT NULL,
    backend         TEXT    NOT NULL,
    correlation_key TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    last_error      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    alert           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX dead_letters_item ON dead_letters (item_id);
CREATE INDEX dead_letters_backend ON dead_letters (backend, id);
