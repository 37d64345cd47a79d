// Package store is the durable state of delivery: one interface ([Store])
// and two engines that pass the same conformance suite (package storetest):
// embedded SQLite (package sqlite, the default; pure Go, no cgo) and
// PostgreSQL (package postgres, for several replicas). Package sqlstore holds
// the SQL both share; package engines opens one by driver name.
//
// # Model: desired state per key, and a dirty mark
//
// A work item slot is identified by route + backend + correlation key. Its
// row holds the desired state (the newest notification: fired or resolved,
// with the alert, the route's fields, configuration items and reopen
// window), the remote state (none, open, resolved, the plugin's ref, a
// "creating" intent) and scheduling columns (dirty, due time, attempts,
// lease). Ingest merges a notification into the row and sets dirty in the
// same transaction that the webhook waits for; a worker claims dirty rows
// (a lease per row, so one worker per key), reconciles, and clears dirty
// only if no newer notification arrived meanwhile. Many notifications for
// one key coalesce into one row: the queue is level-triggered, not a log of
// events. Audit events and dead letters are tables of their own.
//
// # Ordering
//
// Every notification carries its own time: the resolved time for Resolved,
// the fired time for Fired (the receipt time when Azure sent none). [Merge]
// applies a notification only when it is newer than the desired state; at
// equal times a resolution wins, and the same alert, condition and time
// again is a duplicate (a webhook retry) that changes nothing. So a Fired
// that arrives after its own Resolved is stale and never reopens or
// recreates anything, and a re-sent Fired never counts as a re-fire.
//
// # Why not a job queue engine (River)
//
// River was considered, as it has PostgreSQL and SQLite drivers. It models
// discrete jobs: a job row per enqueue, run at least once. Our delivery
// needs a different shape: one mutable desired state per key, where a newer
// notification replaces what is queued and an older one must be ignored, and
// where at most one worker touches a key at a time. With River the
// desired-state table would still be needed (it is the truth the worker
// reconciles toward), and jobs would only be wake-ups: two writes per alert
// on the hot path whose target is 5,000 acknowledged alerts/s, a second
// migration system and schema beside ours, and job-uniqueness rules that
// deduplicate inserts but do not merge a newer state into a queued job.
// The dirty-row design needs one row write (plus its audit event) per
// alert, claims work with the same technique River uses on PostgreSQL
// (UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING), and
// is a few hundred lines that both engines share and one suite tests.
//
// # Engines
//
// SQLite runs in WAL mode with synchronous=FULL (a commit is on disk before
// the alert is acknowledged), a 10 s busy timeout, BEGIN IMMEDIATE and a
// single writer connection; readers use a separate read-only pool. One host
// process owns a SQLite file. PostgreSQL serializes ingest per key with
// SELECT … FOR UPDATE after INSERT … ON CONFLICT DO NOTHING, lets replicas
// claim without waiting on each other with SKIP LOCKED, and serializes
// migrations with an advisory lock. Migrations are numbered SQL files
// embedded in each engine and recorded in schema_migrations; they run at
// open. Times are stored as Unix nanoseconds, booleans as 0/1 integers, so
// both engines share every query but placeholders.
//
// Group commit lives in package delivery: concurrent Ingest calls queue and
// one goroutine commits them together, so throughput is not one fsync per
// alert.
package store
