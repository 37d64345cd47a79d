-- Dead-letter ids are never reused. An INTEGER PRIMARY KEY takes the
-- largest id plus one, so after the newest letter was replayed or dropped
-- the next one got its id, and an operator (or a resubmitted form) acting
-- on the old id hit the new letter. AUTOINCREMENT keeps the largest id
-- ever given in sqlite_sequence. SQLite cannot add it to a table, so the
-- table is rebuilt; copying the rows seeds the sequence with the largest
-- id kept. (PostgreSQL's identity column never reused ids.)
CREATE TABLE dead_letters_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO dead_letters_new (id, item_id, route, backend, correlation_key, reason, last_error, attempts, alert, created_at)
    SELECT id, item_id, route, backend, correlation_key, reason, last_error, attempts, alert, created_at FROM dead_letters;
DROP TABLE dead_letters;
ALTER TABLE dead_letters_new RENAME TO dead_letters;
CREATE INDEX dead_letters_item ON dead_letters (item_id);
CREATE INDEX dead_letters_backend ON dead_letters (backend, id);
