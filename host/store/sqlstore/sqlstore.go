// Package sqlstore implements [store.Store] on database/sql. The SQLite and
// PostgreSQL engines share it and differ only in their [Dialect], their
// connection setup and their migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// Store is a [store.Store] over two connection pools: w takes every write
// (one connection for SQLite, whose writers are serialized anyway) and r
// serves listings.
type Store struct {
	w, r  *sql.DB
	d     Dialect
	q     queries
	close func() error

	// prep holds the statements of the write path (ingest, claim, record),
	// prepared once on w: preparing them per transaction cost as much as
	// the statements' work when a transaction holds one or two items.
	prepMu sync.Mutex
	prep   *prepared
}

// prepared are the write path's statements; database/sql re-prepares them
// on any new connection by itself.
type prepared struct {
	all                                                 []*sql.Stmt
	selectDesired, insertItem, updateDesired            *sql.Stmt
	insertEvent, insertDead, claim, deadFromItem        *sql.Stmt
	recordContinue, recordDone, recordRetry, recordDead *sql.Stmt
}

var _ store.Store = (*Store)(nil)

// New returns a store on already migrated databases. closeFn, when set,
// runs on Close instead of closing w and r.
func New(w, r *sql.DB, d Dialect, closeFn func() error) *Store {
	s := &Store{w: w, r: r, d: d, close: closeFn}
	s.q = buildQueries(d)
	return s
}

// Close releases the connection pools.
func (s *Store) Close() error {
	s.prepMu.Lock()
	if s.prep != nil {
		closeAll(s.prep.all)
	}
	s.prep = nil
	s.prepMu.Unlock()
	if s.close != nil {
		return s.close()
	}
	return errors.Join(s.w.Close(), s.r.Close())
}

const itemCols = `id, route, backend, correlation_key, condition, alert_id, alert, fields, config_items,
	reopen_window, on_resolved_without_item, event_at, seq, applied_seq, fired_seq, remote, ref, remote_resolved_at,
	intent, create_attempt_at, dirty, dead, due_at, dirty_since, attempts, last_error, lease_owner, lease_until, created_at, updated_at,
	human_resolved, remote_resolved_by, resolution, status_checked_at, trace_parent,
	flap_window, flap_max, flap_quiet, flap_transitions, flapping_since, flap_noted,
	maint_seq, maint_cond, maint_window, maint_until, maint_on_end, maint_prior_fired,
	lifecycle_policy, field_state, storm_parent, storm_members, storm_firing`

const maintCols = `name, when_expr, start_at, end_at, on_end, reason, created_at`

const deadCols = `id, item_id, route, backend, correlation_key, reason, last_error, attempts, alert, created_at`

// progressSet clears the maintenance hold the worker settled (Progress.HoldSettled),
// unless ingest held a newer notification meanwhile.
const progressSet = `remote = ?, ref = ?, ref_key = ?, remote_resolved_at = ?, intent = ?, create_attempt_at = ?, applied_seq = ?,
	attempts = ?, last_error = ?, updated_at = ?, human_resolved = ?, remote_resolved_by = ?, resolution = ?, flap_noted = ?,
	field_state = ?,
	maint_seq = CASE WHEN maint_seq = ? THEN 0 ELSE maint_seq END,
	maint_cond = CASE WHEN maint_seq = ? THEN '' ELSE maint_cond END,
	maint_window = CASE WHEN maint_seq = ? THEN '' ELSE maint_window END,
	maint_until = CASE WHEN maint_seq = ? THEN 0 ELSE maint_until END,
	maint_on_end = CASE WHEN maint_seq = ? THEN '' ELSE maint_on_end END,
	maint_prior_fired = CASE WHEN maint_seq = ? THEN 0 ELSE maint_prior_fired END`

type queries struct {
	selectDesired, insertItem, updateDesired, reviveDelete string
	insertEvent, insertDead, claim                         string
	recordContinue, recordDone, recordRetry, recordDead    string
	deadFromItem, releaseLeases, getItem, events           string
	getDead, deleteDead, replayItem, pruneEvents           string
	giveUpFired                                            string
	statusChecked, statusSelect, statusResolved            string
	statsQueued, statsDead                                 string
	putMaint, listMaint, getMaint, endMaint, releaseMaint  string
	stormLockInsert, stormLockSelect, stormWrite           string
	stormExists, stormMember, stormParentSelect            string
	stormParentUpdate, stormParentCount, stormParentID     string
}

func buildQueries(d Dialect) queries {
	r := d.rebind
	return queries{
		selectDesired: r(`SELECT id, condition, event_at, alert_id, dead, flap_transitions, flapping_since, storm_parent FROM work_items
			WHERE route = ? AND backend = ? AND correlation_key = ?` + d.LockRow),
		// insertItem makes a held notification's new item due, and
		// pending, from the end of its maintenance window.
		insertItem: r(`INSERT INTO work_items (route, backend, correlation_key, condition, alert_id, alert,
			rule, severity, fields, config_items, reopen_window, on_resolved_without_item, event_at, seq, applied_seq, fired_seq,
			intent, dirty, due_at, dirty_since, created_at, updated_at, trace_parent,
			flap_window, flap_max, flap_quiet, flap_transitions, flapping_since,
			maint_seq, maint_cond, maint_window, maint_until, maint_on_end, lifecycle_policy)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0, ?, ?, 1, ?, ?, ?, ?, COALESCE(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (route, backend, correlation_key) DO NOTHING RETURNING id`),
		// updateDesired keeps fired_seq (the newest applied Fired) through
		// a Resolved: a Fired acknowledged before stays owed its work item.
		// It records the creating intent (see createIntent) for a
		// notification that may need a new work item, and keeps an intent
		// already there with its attempt mark. A notification a
		// maintenance window holds (its window named) becomes the item's
		// hold (the first one also records, in maint_prior_fired, the
		// fired_seq of before it: a Fired the window may not give up); one
		// that is not held leaves the hold for the worker to settle. A dirty item keeps its due time (a retry's backoff),
		// unless a policy holds it (a maintenance window, or a flapping
		// alert's resolution held open): then it is due now, or at the
		// window's end for a held notification on an item without an open
		// work item (and pending from then).
		updateDesired: r(`UPDATE work_items SET condition = ?, alert_id = ?, alert = ?, rule = ?, severity = ?, fields = ?,
			config_items = ?, reopen_window = ?, on_resolved_without_item = ?, lifecycle_policy = ?, event_at = ?, seq = seq + 1,
			fired_seq = CASE WHEN ? = 'fired' THEN seq + 1 ELSE fired_seq END,
			intent = CASE WHEN storm_parent = 0 AND remote <> 'open' AND (? = 'fired' OR (remote = 'none' AND ? = 'create_and_resolve'))
				THEN 'creating' ELSE intent END,
			flap_window = ?, flap_max = ?, flap_quiet = ?, flap_transitions = ?, flapping_since = ?,
			maint_seq = CASE WHEN ? <> '' THEN seq + 1 ELSE maint_seq END,
			maint_cond = CASE WHEN ? <> '' THEN ? ELSE maint_cond END,
			maint_window = CASE WHEN ? <> '' THEN ? ELSE maint_window END,
			maint_until = CASE WHEN ? <> '' THEN ? ELSE maint_until END,
			maint_on_end = CASE WHEN ? <> '' THEN ? ELSE maint_on_end END,
			maint_prior_fired = CASE WHEN ? <> '' AND maint_seq = 0 THEN fired_seq ELSE maint_prior_fired END,
			due_at = CASE WHEN dirty = 1 AND dead = 0 AND maint_seq = 0
					AND NOT (flapping_since > 0 AND remote = 'open' AND condition = 'resolved') THEN due_at
				WHEN ? <> '' AND remote <> 'open' THEN ? ELSE ? END,
			dirty_since = CASE WHEN dirty = 1 AND dead = 0 THEN dirty_since
				WHEN ? <> '' AND remote <> 'open' THEN ? ELSE ? END,
			attempts = CASE WHEN dead = 1 THEN 0 ELSE attempts END,
			dirty = 1, dead = 0, updated_at = ?, trace_parent = COALESCE(?, '')
			WHERE id = ? RETURNING seq`),
		reviveDelete: r(`DELETE FROM dead_letters WHERE item_id = ?`),
		// The storm statements (see stormAdmit and stormJoin): the group
		// row is locked before the member's work item is looked for, so
		// that concurrent transactions count each new work item once.
		stormLockInsert: r(`INSERT INTO storm_groups (route, backend, group_key) VALUES (?, ?, ?)
			ON CONFLICT (route, backend, group_key) DO NOTHING`),
		stormLockSelect: r(`SELECT window_start, opened, storm_until, started, parent_id FROM storm_groups
			WHERE route = ? AND backend = ? AND group_key = ?` + d.LockRow),
		stormWrite: r(`UPDATE storm_groups SET window_start = ?, opened = ?, storm_until = ?, started = ?, parent_id = ?
			WHERE route = ? AND backend = ? AND group_key = ?`),
		stormExists:   r(`SELECT COUNT(*) FROM work_items WHERE route = ? AND backend = ? AND correlation_key = ?`),
		stormMember:   r(`UPDATE work_items SET storm_parent = ?, intent = '', create_attempt_at = 0 WHERE id = ?`),
		stormParentID: r(`SELECT id FROM work_items WHERE route = ? AND backend = ? AND correlation_key = ?`),
		stormParentSelect: r(`SELECT alert, config_items, storm_members, storm_firing, event_at, dead FROM work_items
			WHERE id = ?` + d.LockRow),
		// stormParentUpdate moves a parent's desired state as
		// updateDesired moves an item's (a new seq, the creating intent
		// when it fires without an open work item, dirty, revived).
		stormParentUpdate: r(`UPDATE work_items SET condition = ?, alert = ?, config_items = ?, event_at = ?, seq = seq + 1,
			fired_seq = CASE WHEN ? = 'fired' THEN seq + 1 ELSE fired_seq END,
			intent = CASE WHEN remote <> 'open' AND ? = 'fired' THEN 'creating' ELSE intent END,
			storm_members = ?, storm_firing = ?,
			due_at = CASE WHEN dirty = 1 AND dead = 0 THEN due_at ELSE ? END,
			dirty_since = CASE WHEN dirty = 1 AND dead = 0 THEN dirty_since ELSE ? END,
			attempts = CASE WHEN dead = 1 THEN 0 ELSE attempts END,
			dirty = 1, dead = 0, updated_at = ? WHERE id = ?`),
		stormParentCount: r(`UPDATE work_items SET storm_firing = ? WHERE id = ?`),
		insertEvent: r(`INSERT INTO events (item_id, at, kind, op, outcome, message, duration_ns, trace_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, COALESCE(?, ''))`),
		insertDead: r(`INSERT INTO dead_letters (item_id, route, backend, correlation_key, reason,
			last_error, attempts, alert, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		// claim marks the attempt of a creating intent that has none, in
		// the commit that leases the item (see store.Store.Claim).
		claim: r(`UPDATE work_items SET lease_owner = ?, lease_until = ?,
			create_attempt_at = CASE WHEN intent = 'creating' AND create_attempt_at = 0 THEN ? ELSE create_attempt_at END
			WHERE id IN (
			SELECT id FROM work_items WHERE backend = ? AND dirty = 1 AND dead = 0
			AND due_at <= ? AND lease_until < ? ORDER BY due_at LIMIT ?` + d.SkipLocked + `)
			RETURNING ` + itemCols),
		recordContinue: r(`UPDATE work_items SET ` + progressSet + `, lease_until = ?
			WHERE id = ? AND lease_owner = ?`),
		recordDone: r(`UPDATE work_items SET ` + progressSet + `,
			dirty = CASE WHEN seq > ? THEN 1 ELSE 0 END,
			due_at = ?, dirty_since = ?, lease_owner = '', lease_until = 0
			WHERE id = ? AND lease_owner = ?`),
		// recordRetry: a policy's hold (Progress.DirtySince) makes the item
		// pending from the hold's end, not from its notification.
		recordRetry: r(`UPDATE work_items SET ` + progressSet + `,
			dirty = 1, due_at = ?, dirty_since = CASE WHEN CAST(? AS BIGINT) > 0 THEN ? ELSE dirty_since END, lease_owner = '', lease_until = 0
			WHERE id = ? AND lease_owner = ?`),
		recordDead: r(`UPDATE work_items SET ` + progressSet + `,
			dirty = 0, dead = 1, lease_owner = '', lease_until = 0
			WHERE id = ? AND lease_owner = ?`),
		deadFromItem: r(`INSERT INTO dead_letters (item_id, route, backend, correlation_key, reason,
			last_error, attempts, alert, created_at)
			SELECT id, route, backend, correlation_key, ?, last_error, attempts, alert, ?
			FROM work_items WHERE id = ?`),
		releaseLeases: r(`UPDATE work_items SET lease_owner = '', lease_until = 0 WHERE lease_owner = ?`),
		getItem:       r(`SELECT ` + itemCols + ` FROM work_items WHERE id = ?`),
		events: r(`SELECT id, item_id, at, kind, op, outcome, message, duration_ns, trace_id FROM events
			WHERE item_id = ? ORDER BY id`),
		// pruneEvents walks events in id order, which is the order they
		// were written in (so no index on at is kept up on the ingest
		// path), and skips the trails of items an operator may still need
		// (dirty or dead).
		pruneEvents: r(`DELETE FROM events WHERE id IN (
			SELECT e.id FROM events e WHERE e.at < ? AND NOT EXISTS (
				SELECT 1 FROM work_items w WHERE w.id = e.item_id AND (w.dirty = 1 OR w.dead = 1))
			ORDER BY e.id LIMIT ?)`),
		getDead:    r(`SELECT ` + deadCols + ` FROM dead_letters WHERE id = ?`),
		deleteDead: r(`DELETE FROM dead_letters WHERE id = ?`),
		// giveUpFired: a dropped letter's Fired is no longer owed a work
		// item (the operator gave it up).
		giveUpFired:   r(`UPDATE work_items SET applied_seq = fired_seq WHERE id = ? AND applied_seq < fired_seq`),
		statusChecked: r(`UPDATE work_items SET status_checked_at = ? WHERE id = ?`),
		statusSelect:  r(`SELECT ref, lease_until FROM work_items WHERE id = ? AND remote = 'open' AND dead = 0` + d.LockRow),
		// statusResolved records a resolution found in the tool; the
		// applied desired state stays applied, so nothing is called until
		// a newer notification arrives.
		statusResolved: r(`UPDATE work_items SET remote = 'resolved', ref = ?, remote_resolved_at = ?, human_resolved = 1,
			remote_resolved_by = ?, resolution = ?, status_checked_at = ?, updated_at = ? WHERE id = ?`),
		replayItem: r(`UPDATE work_items SET dead = 0, dirty = 1, due_at = ?, dirty_since = ?, attempts = 0,
			last_error = '', updated_at = ? WHERE id = ?`),
		statsQueued: r(`SELECT backend, COUNT(*), MIN(dirty_since),
			COUNT(CASE WHEN due_at <= ? AND lease_until < ? THEN 1 END),
			COUNT(CASE WHEN lease_until >= ? THEN 1 END)
			FROM work_items WHERE dirty = 1 AND dead = 0 GROUP BY backend`),
		statsDead: `SELECT backend, item_id = 0, COUNT(*) FROM dead_letters GROUP BY backend, item_id = 0`,
		// putMaint replaces a window of the same name only once it has
		// ended: RETURNING gives no row otherwise.
		putMaint: r(`INSERT INTO maintenance_windows (name, when_expr, start_at, end_at, on_end, reason, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET when_expr = excluded.when_expr, start_at = excluded.start_at,
			end_at = excluded.end_at, on_end = excluded.on_end, reason = excluded.reason, created_at = excluded.created_at
			WHERE maintenance_windows.end_at <= ? RETURNING name`),
		listMaint: r(`SELECT ` + maintCols + ` FROM maintenance_windows WHERE end_at > ? ORDER BY start_at, name`),
		getMaint:  r(`SELECT ` + maintCols + ` FROM maintenance_windows WHERE name = ? AND end_at > ?` + d.LockRow),
		// endMaint also cancels a window that has not started yet.
		endMaint: r(`UPDATE maintenance_windows SET end_at = ?, start_at = CASE WHEN start_at > ? THEN ? ELSE start_at END
			WHERE name = ?`),
		releaseMaint: r(`UPDATE work_items SET maint_until = ?,
			due_at = CASE WHEN dirty = 1 AND dead = 0 AND due_at > ? THEN ? ELSE due_at END
			WHERE maint_seq > 0 AND maint_window = ? AND maint_until > ?`),
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// orNull is s as a statement argument, nil when empty. The trace columns
// are written with COALESCE, NULL becoming the empty string: an untraced
// row (every row with tracing off) binding NULL costs the SQLite driver no
// allocation, and binding an empty string one.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Ingest applies notifications in one transaction.
func (s *Store) Ingest(ctx context.Context, nots []store.Notification) ([]store.IngestResult, error) {
	// Prepare before BEGIN: with SQLite's single writer connection the
	// transaction holds the only connection a DB-level prepare could use.
	p, err := s.statements(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: beginning ingest transaction: %w", s.d.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	sel, ins, upd := tx.StmtContext(ctx, p.selectDesired), tx.StmtContext(ctx, p.insertItem), tx.StmtContext(ctx, p.updateDesired)
	dead := tx.StmtContext(ctx, p.insertDead)

	res := make([]store.IngestResult, len(nots))
	evs := make([]ingestEvent, 0, len(nots))
	for i, n := range nots {
		if n.Alert == nil {
			return nil, fmt.Errorf("ingest: notification %d has no alert", i)
		}
		alertJSON := n.AlertJSON
		if alertJSON == nil {
			if alertJSON, err = json.Marshal(n.Alert); err != nil {
				return nil, fmt.Errorf("ingest: encoding alert %q: %w", n.Alert.ID, err)
			}
		}
		now := n.ReceivedAt
		if now.IsZero() {
			now = time.Now()
		}
		if n.Unmatched != "" || len(n.Deliveries) == 0 {
			reason := n.Unmatched
			if reason == "" {
				reason = "no route matched"
			}
			if err := dead.QueryRowContext(ctx, 0, "", "", "", "unmatched: "+reason, "", 0,
				string(alertJSON), ns(now)).Scan(&res[i].DeadLetterID); err != nil {
				return nil, fmt.Errorf("%s: recording unmatched alert %q: %w", s.d.Name, n.Alert.ID, err)
			}
			continue
		}
		at := store.EventTime(n.Alert, now)
		atText := at.Format(time.RFC3339Nano)
		traceID := store.TraceIDOf(n.TraceParent)
		alertStr := string(alertJSON)
		cond := n.Alert.Condition
		res[i].Deliveries = make([]store.DeliveryOutcome, len(n.Deliveries))
		for j, d := range n.Deliveries {
			out, revived, err := s.ingestOne(ctx, sel, ins, upd, tx, n.Alert, alertStr, d, n.Hold, cond, at, now, n.TraceParent, &evs)
			if err != nil {
				return nil, err
			}
			if revived {
				evs = append(evs, ingestEvent{item: out.ItemID, at: ns(now), kind: store.EventReplay, outcome: "revived",
					msg: "a new notification revived the dead-lettered work item", traceID: traceID})
			}
			out.Backend = d.Backend
			res[i].Deliveries[j] = out
			msg := string(cond) + " notification for alert " + n.Alert.ID + " at " + atText + ": " + string(out.Outcome)
			if d.Note != "" {
				msg += "; " + d.Note
			}
			if note := store.PolicyNote(out, d, n.Hold); note != "" {
				msg += "; " + note
			}
			evs = append(evs, ingestEvent{item: out.ItemID, at: ns(now), kind: store.EventNotification, op: string(cond),
				outcome: string(out.Outcome), msg: msg, traceID: traceID})
		}
	}
	if err := s.insertEvents(ctx, tx, p.insertEvent, evs); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%s: committing ingest of %d alerts: %w", s.d.Name, len(nots), err)
	}
	return res, nil
}

// ingestEvent is an event row that Ingest writes with the others of its
// transaction, in the order they were recorded.
type ingestEvent struct {
	item, at                        int64
	kind, op, outcome, msg, traceID string
}

// eventsPerInsert caps the rows of one multi-row event INSERT (8 values
// each, well under SQLite's and PostgreSQL's limits on bound values).
const eventsPerInsert = 256

// insertEvents writes evs in order: one row with the prepared statement
// one, more as multi-row INSERTs, one statement per eventsPerInsert rows
// instead of one per row.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, one *sql.Stmt, evs []ingestEvent) error {
	for len(evs) > 0 {
		chunk := evs[:min(len(evs), eventsPerInsert)]
		evs = evs[len(chunk):]
		args := make([]any, 0, 8*len(chunk))
		for _, e := range chunk {
			args = append(args, e.item, e.at, e.kind, e.op, e.outcome, e.msg, 0, orNull(e.traceID))
		}
		var err error
		if len(chunk) == 1 {
			_, err = tx.StmtContext(ctx, one).ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, s.insertEventsQuery(len(chunk)), args...)
		}
		if err != nil {
			return fmt.Errorf("%s: recording notification events: %w", s.d.Name, err)
		}
	}
	return nil
}

// insertEventsQuery is the event INSERT with n rows of values.
func (s *Store) insertEventsQuery(n int) string {
	var b strings.Builder
	b.Grow(90 + 19*n)
	b.WriteString(`INSERT INTO events (item_id, at, kind, op, outcome, message, duration_ns, trace_id) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?, ?, ?, ?, ?, ?, ?, COALESCE(?, ''))`)
	}
	return s.d.rebind(b.String())
}

// ingestOne merges one delivery into its work item; revived reports that
// it brought a dead-lettered item back, which Ingest records as an event.
// The outcome says whether the item flaps and whether a maintenance window
// holds it, for the notification's audit event.
func (s *Store) ingestOne(ctx context.Context, sel, ins, upd *sql.Stmt, tx *sql.Tx, a *sdk.Alert, alertJSON string,
	d route.Delivery, hold *route.MaintenanceHold, cond sdk.Condition, at, now time.Time, traceParent string, evs *[]ingestEvent) (_ store.DeliveryOutcome, revived bool, _ error) {
	// A storm's member is admitted before its work item is written: the
	// decision is made under the group's lock, in this transaction. A
	// notification a maintenance window holds opens no work item now, so
	// it is not counted (at the window's end it gets its own).
	var join, started int64
	if d.Storm != nil && (hold == nil || hold.Window == "") {
		var err error
		if join, started, err = s.stormAdmit(ctx, tx, a, d, cond, at, now, traceParent); err != nil {
			return store.DeliveryOutcome{}, false, err
		}
	}
	fields, err := json.Marshal(d.Fields)
	if err != nil {
		return store.DeliveryOutcome{}, false, fmt.Errorf("ingest: encoding fields of route %q: %w", d.Route, err)
	}
	cis, err := json.Marshal(d.ConfigurationItems)
	if err != nil {
		return store.DeliveryOutcome{}, false, fmt.Errorf("ingest: encoding configuration items of route %q: %w", d.Route, err)
	}
	policy := d.OnResolvedWithoutItem.OrDefault()
	lifecycle, err := json.Marshal(d.Policy)
	if err != nil {
		return store.DeliveryOutcome{}, false, fmt.Errorf("ingest: encoding the lifecycle policy of route %q: %w", d.Route, err)
	}
	firedSeq := 0 // the new item's fired_seq: its seq, 1, for a Fired
	if cond == sdk.ConditionFired {
		firedSeq = 1
	}
	intent := store.IntentNone
	if join == 0 && (cond == sdk.ConditionFired || policy == route.ResolvedCreateAndResolve) {
		intent = store.IntentCreating // a new slot: nothing exists yet
	}
	var flapWindow, flapQuiet, flapMax int64
	if f := d.Flap; f != nil {
		flapWindow, flapMax, flapQuiet = int64(f.Window), int64(f.MaxTransitions), int64(f.QuietPeriod)
	}
	var h route.MaintenanceHold // Window "" when not held
	if hold != nil {
		h = *hold
	}
	// Insert first: most notifications are a new alert's Fired, which then
	// costs one statement; an existing key falls through to read and merge.
	flap := store.ObserveFlap(d.Flap, store.FlapState{}, "", cond, at)
	due, maintSeq := now, 0
	if h.Window != "" {
		due, maintSeq = h.Until, 1
	}
	var id int64
	err = ins.QueryRowContext(ctx, d.Route, d.Backend, d.CorrelationKey, string(cond), a.ID, alertJSON, a.Rule, a.SeverityLabel,
		string(fields), string(cis), int64(d.ReopenWindow), string(policy), ns(at), firedSeq, string(intent), ns(due), ns(due), ns(now), ns(now), orNull(traceParent),
		flapWindow, flapMax, flapQuiet, encodeTimes(flap.Transitions), ns(flap.Since),
		maintSeq, maintCond(h, cond), h.Window, ns(h.Until), h.OnEnd, string(lifecycle)).Scan(&id)
	if err == nil {
		out := store.DeliveryOutcome{ItemID: id, Outcome: store.OutcomeNew, Flapping: flap.Flapping(), FlapStarted: flap.Flapping(),
			Held: h.Window != ""}
		if join != 0 {
			if _, err := tx.ExecContext(ctx, s.q.stormMember, join, id); err != nil {
				return store.DeliveryOutcome{}, false, fmt.Errorf("%s: attaching work item %d to storm parent %d: %w", s.d.Name, id, join, err)
			}
			out.StormParent, out.StormJoined, out.StormStarted = join, true, started != 0
			m := store.StormMember{Joined: true, Now: cond, Items: d.ConfigurationItems, At: at}
			if err := s.stormJoin(ctx, tx, join, a, id, m, now, evs); err != nil {
				return store.DeliveryOutcome{}, false, err
			}
		}
		return out, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.DeliveryOutcome{}, false, fmt.Errorf("%s: inserting work item %s/%s/%q: %w", s.d.Name, d.Route, d.Backend, d.CorrelationKey, err)
	}
	var (
		curCond, curID, curTransitions string
		curAt, curSince, curParent     int64
		curDead                        int
	)
	if err := sel.QueryRowContext(ctx, d.Route, d.Backend, d.CorrelationKey).Scan(&id, &curCond, &curAt, &curID, &curDead,
		&curTransitions, &curSince, &curParent); err != nil {
		return store.DeliveryOutcome{}, false, fmt.Errorf("%s: reading work item %s/%s/%q: %w", s.d.Name, d.Route, d.Backend, d.CorrelationKey, err)
	}
	out := store.Merge(store.Desired{Condition: sdk.Condition(curCond), EventAt: fromNS(curAt), AlertID: curID}, cond, at, a.ID)
	if out != store.OutcomeApplied {
		return store.DeliveryOutcome{ItemID: id, Outcome: out, StormParent: curParent}, false, nil
	}
	transitions, err := decodeTimes(curTransitions)
	if err != nil {
		return store.DeliveryOutcome{}, false, fmt.Errorf("%s: work item %d: decoding stored flap transitions: %w", s.d.Name, id, err)
	}
	was := store.FlapState{Transitions: transitions, Since: fromNS(curSince)}
	flap = store.ObserveFlap(d.Flap, was, sdk.Condition(curCond), cond, at)
	var seq int64
	if err := upd.QueryRowContext(ctx, string(cond), a.ID, alertJSON, a.Rule, a.SeverityLabel, string(fields), string(cis), int64(d.ReopenWindow),
		string(policy), string(lifecycle), ns(at), string(cond), string(cond), string(policy),
		flapWindow, flapMax, flapQuiet, encodeTimes(flap.Transitions), ns(flap.Since),
		h.Window, h.Window, maintCond(h, cond), h.Window, h.Window, h.Window, ns(h.Until), h.Window, h.OnEnd, h.Window,
		h.Window, ns(h.Until), ns(now),
		h.Window, ns(h.Until), ns(now), ns(now), orNull(traceParent), id).Scan(&seq); err != nil {
		return store.DeliveryOutcome{}, false, fmt.Errorf("%s: updating work item %d: %w", s.d.Name, id, err)
	}
	if curDead == 1 {
		if _, err := tx.ExecContext(ctx, s.q.reviveDelete, id); err != nil {
			return store.DeliveryOutcome{}, false, fmt.Errorf("%s: clearing dead letters of work item %d: %w", s.d.Name, id, err)
		}
	}
	if curParent != 0 {
		m := store.StormMember{Was: sdk.Condition(curCond), Now: cond, Items: d.ConfigurationItems, At: at}
		if err := s.stormJoin(ctx, tx, curParent, a, id, m, now, evs); err != nil {
			return store.DeliveryOutcome{}, false, err
		}
	}
	return store.DeliveryOutcome{ItemID: id, Outcome: store.OutcomeApplied, Flapping: flap.Flapping(),
		FlapStarted: flap.Flapping() && !was.Flapping(), Held: h.Window != "", StormParent: curParent}, curDead == 1, nil
}

// stormAdmit applies the storm rule (store.ObserveStorm) to a Fired of
// delivery d (cond), under the lock of its group's row: when the slot has no work
// item yet, the notification would open a new one, and it either counts
// against storm.max_new or joins the storm. It returns the parent work
// item the alert joins (0: it opens its own) and, when the alert starts
// the storm, that parent again as started. A storm's parent is created
// here, in the same transaction, with the storm's first member's alert.
//
// Every notification of a storm route takes the group's lock first, a
// resolution too (which may then lock its parent): one order, group before
// parent, so that two transactions of one group never wait on each other.
func (s *Store) stormAdmit(ctx context.Context, tx *sql.Tx, a *sdk.Alert, d route.Delivery, cond sdk.Condition, at, now time.Time,
	traceParent string) (join, started int64, _ error) {
	group := d.Storm.Group
	if _, err := tx.ExecContext(ctx, s.q.stormLockInsert, d.Route, d.Backend, group); err != nil {
		return 0, 0, fmt.Errorf("%s: storm group %s/%s/%q: %w", s.d.Name, d.Route, d.Backend, group, err)
	}
	var ws, until, start int64
	var g store.StormGroup
	if err := tx.QueryRowContext(ctx, s.q.stormLockSelect, d.Route, d.Backend, group).Scan(&ws, &g.Opened, &until, &start, &g.ParentID); err != nil {
		return 0, 0, fmt.Errorf("%s: reading storm group %s/%s/%q: %w", s.d.Name, d.Route, d.Backend, group, err)
	}
	g.WindowStart, g.Until, g.Started = fromNS(ws), fromNS(until), fromNS(start)
	if cond != sdk.ConditionFired {
		return 0, 0, nil // a resolution opens no work item
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.q.stormExists, d.Route, d.Backend, d.CorrelationKey).Scan(&n); err != nil {
		return 0, 0, fmt.Errorf("%s: reading work item %s/%s/%q: %w", s.d.Name, d.Route, d.Backend, d.CorrelationKey, err)
	}
	if n > 0 {
		return 0, 0, nil // not a new work item: an existing member or not
	}
	g, joins, starts := store.ObserveStorm(d.Storm, g, now)
	if starts {
		key := store.StormKey(group, g.Started)
		p := store.StormParent{EventAt: at}
		pa := store.StormAlert(a, key, p)
		raw, err := json.Marshal(pa)
		if err != nil {
			return 0, 0, fmt.Errorf("ingest: encoding the storm alert of %q: %w", key, err)
		}
		fields, err := json.Marshal(d.Fields)
		if err != nil {
			return 0, 0, fmt.Errorf("ingest: encoding fields of route %q: %w", d.Route, err)
		}
		id, err := s.insertStormParent(ctx, tx, d, key, pa, string(raw), string(fields), at, now, traceParent)
		if err != nil {
			return 0, 0, err
		}
		g.ParentID, started = id, id
	}
	if _, err := tx.ExecContext(ctx, s.q.stormWrite, ns(g.WindowStart), g.Opened, ns(g.Until), ns(g.Started), g.ParentID,
		d.Route, d.Backend, group); err != nil {
		return 0, 0, fmt.Errorf("%s: writing storm group %s/%s/%q: %w", s.d.Name, d.Route, d.Backend, group, err)
	}
	if joins {
		join = g.ParentID
	}
	return join, started, nil
}

// insertStormParent writes a new storm's parent work item, with no
// member yet: stormJoin adds the first in the same transaction, which
// makes the parent fire.
func (s *Store) insertStormParent(ctx context.Context, tx *sql.Tx, d route.Delivery, key string, pa *sdk.Alert, alertJSON, fields string,
	at, now time.Time, traceParent string) (int64, error) {
	lifecycle, err := json.Marshal(d.Policy)
	if err != nil {
		return 0, fmt.Errorf("ingest: encoding the lifecycle policy of route %q: %w", d.Route, err)
	}
	var id int64
	err = tx.QueryRowContext(ctx, s.q.insertItem, d.Route, d.Backend, key, string(sdk.ConditionResolved), pa.ID, alertJSON, pa.Rule, pa.SeverityLabel,
		fields, "[]", int64(d.ReopenWindow), string(route.ResolvedRecord), ns(at), 0, string(store.IntentNone), ns(now), ns(now), ns(now), ns(now),
		orNull(traceParent), 0, 0, 0, "", 0, 0, "", "", 0, "", string(lifecycle)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.QueryRowContext(ctx, s.q.stormParentID, d.Route, d.Backend, key).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: inserting storm parent %s/%s/%q: %w", s.d.Name, d.Route, d.Backend, key, err)
	}
	return id, nil
}

// stormJoin applies a member's notification to its parent's desired state
// (store.JoinStorm), under the parent row's lock, and records it in the
// parent's audit trail when the parent moves.
func (s *Store) stormJoin(ctx context.Context, tx *sql.Tx, parent int64, a *sdk.Alert, member int64, m store.StormMember, now time.Time,
	evs *[]ingestEvent) error {
	var (
		alertJSON, cisJSON string
		p                  store.StormParent
		eventAt            int64
		dead               int
	)
	if err := tx.QueryRowContext(ctx, s.q.stormParentSelect, parent).Scan(&alertJSON, &cisJSON, &p.Members, &p.Firing, &eventAt, &dead); err != nil {
		return fmt.Errorf("%s: reading storm parent %d: %w", s.d.Name, parent, err)
	}
	p.EventAt = fromNS(eventAt)
	if err := json.Unmarshal([]byte(cisJSON), &p.ConfigurationItems); err != nil {
		return fmt.Errorf("%s: storm parent %d: decoding stored configuration items: %w", s.d.Name, parent, err)
	}
	next, changed := store.JoinStorm(p, m)
	if !changed {
		if _, err := tx.ExecContext(ctx, s.q.stormParentCount, next.Firing, parent); err != nil {
			return fmt.Errorf("%s: updating storm parent %d: %w", s.d.Name, parent, err)
		}
		return nil
	}
	var first sdk.Alert
	if err := json.Unmarshal([]byte(alertJSON), &first); err != nil {
		return fmt.Errorf("%s: storm parent %d: decoding stored alert: %w", s.d.Name, parent, err)
	}
	pa := store.StormAlert(&first, first.ID, next)
	raw, err := json.Marshal(pa)
	if err != nil {
		return fmt.Errorf("ingest: encoding the storm alert of %q: %w", first.ID, err)
	}
	cis, err := json.Marshal(next.ConfigurationItems)
	if err != nil {
		return fmt.Errorf("ingest: encoding configuration items of storm parent %d: %w", parent, err)
	}
	cond := string(next.Condition())
	if _, err := tx.ExecContext(ctx, s.q.stormParentUpdate, cond, string(raw), string(cis), ns(next.EventAt), cond, cond,
		next.Members, next.Firing, ns(now), ns(now), ns(now), parent); err != nil {
		return fmt.Errorf("%s: updating storm parent %d: %w", s.d.Name, parent, err)
	}
	if dead == 1 {
		if _, err := tx.ExecContext(ctx, s.q.reviveDelete, parent); err != nil {
			return fmt.Errorf("%s: clearing dead letters of work item %d: %w", s.d.Name, parent, err)
		}
	}
	var msg string
	switch {
	case m.Joined:
		msg = fmt.Sprintf("storm: alert %s (work item %d) joined; %s, %d firing", a.ID, member, pa.Description, next.Firing)
	case next.Firing > 0:
		msg = fmt.Sprintf("storm: alert %s (work item %d) fired again; %d firing", a.ID, member, next.Firing)
	default:
		msg = fmt.Sprintf("storm: alert %s (work item %d) resolved, the last of %d members to resolve: resolving", a.ID, member, next.Members)
	}
	*evs = append(*evs, ingestEvent{item: parent, at: ns(now), kind: store.EventNotification, op: cond, outcome: string(store.OutcomeApplied),
		msg: msg})
	return nil
}

// maintCond is the maint_cond a notification of cond writes: its condition
// when a window holds it, else nothing (the column is left as it is).
func maintCond(h route.MaintenanceHold, cond sdk.Condition) string {
	if h.Window == "" {
		return ""
	}
	return string(cond)
}

// encodeTimes is the flap_transitions text of ts: a JSON array of Unix
// nanoseconds, or "" for none.
func encodeTimes(ts []time.Time) string {
	if len(ts) == 0 {
		return ""
	}
	n := make([]int64, len(ts))
	for i, t := range ts {
		n[i] = t.UnixNano()
	}
	b, _ := json.Marshal(n) // int64s always encode
	return string(b)
}

func decodeTimes(s string) ([]time.Time, error) {
	if s == "" {
		return nil, nil
	}
	var n []int64
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		return nil, err
	}
	out := make([]time.Time, len(n))
	for i, v := range n {
		out[i] = time.Unix(0, v).UTC()
	}
	return out, nil
}

// statements prepares the write path's statements on the write pool the
// first time. Prepare before BEGIN: with SQLite's single writer connection
// a transaction holds the only connection a DB-level prepare could use.
func (s *Store) statements(ctx context.Context) (*prepared, error) {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if s.prep == nil {
		q, p := s.q, &prepared{}
		// Each statement into its field, by name.
		for _, st := range []struct {
			into **sql.Stmt
			sql  string
		}{
			{&p.selectDesired, q.selectDesired}, {&p.insertItem, q.insertItem}, {&p.updateDesired, q.updateDesired},
			{&p.insertEvent, q.insertEvent}, {&p.insertDead, q.insertDead}, {&p.claim, q.claim},
			{&p.deadFromItem, q.deadFromItem}, {&p.recordContinue, q.recordContinue}, {&p.recordDone, q.recordDone},
			{&p.recordRetry, q.recordRetry}, {&p.recordDead, q.recordDead},
		} {
			prep, err := s.w.PrepareContext(ctx, st.sql)
			if err != nil {
				closeAll(p.all)
				return nil, fmt.Errorf("%s: preparing statements: %w", s.d.Name, err)
			}
			*st.into, p.all = prep, append(p.all, prep)
		}
		s.prep = p
	}
	return s.prep, nil
}

func closeAll(sts []*sql.Stmt) {
	for _, st := range sts {
		_ = st.Close()
	}
}

// Claim leases due dirty items of backend.
func (s *Store) Claim(ctx context.Context, backend, owner string, now time.Time, lease time.Duration, limit int) ([]*store.Item, error) {
	if limit <= 0 {
		return nil, nil
	}
	res, err := s.RecordAll(ctx, nil, []store.ClaimRequest{{Backend: backend, Owner: owner, Now: now, Lease: lease, Limit: limit}})
	if err != nil {
		return nil, err
	}
	return res.Claimed[0], nil
}

// Record writes the outcome of one reconcile step.
func (s *Store) Record(ctx context.Context, p store.Progress) error {
	res, err := s.RecordAll(ctx, []store.Progress{p}, nil)
	if err != nil {
		return err
	}
	return res.Errs[0]
}

// recordArgs is one Progress as the statement that writes it and its
// arguments.
type recordArgs struct {
	stmt func(*prepared) *sql.Stmt
	args []any
	now  time.Time
}

func progressArgs(p store.Progress) (recordArgs, error) {
	ref, refKey := "", ""
	if p.Ref != nil {
		b, err := json.Marshal(p.Ref)
		if err != nil {
			return recordArgs{}, fmt.Errorf("work item %d: encoding work item ref: %w", p.ItemID, err)
		}
		ref, refKey = string(b), store.TicketKey(p.Ref)
	}
	remote := p.Remote
	if remote == "" {
		remote = store.RemoteNone
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	attemptAt := p.CreateAttemptAt
	if p.Intent == store.IntentNone {
		attemptAt = time.Time{}
	}
	fieldState := []byte("{}")
	if len(p.FieldState) > 0 {
		var err error
		if fieldState, err = json.Marshal(p.FieldState); err != nil {
			return recordArgs{}, fmt.Errorf("work item %d: encoding field state: %w", p.ItemID, err)
		}
	}
	r := recordArgs{now: now, args: []any{string(remote), ref, refKey, ns(p.RemoteResolvedAt), string(p.Intent), ns(attemptAt),
		p.AppliedSeq, p.Attempts, p.LastError, ns(now), boolInt(p.HumanResolved), p.ResolvedBy, p.Resolution, ns(p.FlapNoted),
		string(fieldState),
		p.HoldSettled, p.HoldSettled, p.HoldSettled, p.HoldSettled, p.HoldSettled, p.HoldSettled}}
	switch {
	case p.DeadLetter != "":
		r.stmt = func(q *prepared) *sql.Stmt { return q.recordDead }
	case p.Done:
		r.stmt = func(q *prepared) *sql.Stmt { return q.recordDone }
		r.args = append(r.args, p.AppliedSeq, ns(now), ns(now))
	case p.Retry:
		r.stmt = func(q *prepared) *sql.Stmt { return q.recordRetry }
		r.args = append(r.args, ns(p.RetryAt), ns(p.DirtySince), ns(p.DirtySince))
	default:
		r.stmt = func(q *prepared) *sql.Stmt { return q.recordContinue }
		r.args = append(r.args, ns(p.LeaseUntil))
	}
	r.args = append(r.args, p.ItemID, p.Owner)
	return r, nil
}

// RecordAll writes the outcomes of many reconcile steps in one transaction,
// checking each item's lease, then makes the claims. Items are written in
// id order, so that two writers holding row locks on several items
// (PostgreSQL) take them in the same order.
func (s *Store) RecordAll(ctx context.Context, ps []store.Progress, claims []store.ClaimRequest) (store.RecordResult, error) {
	var res store.RecordResult
	if len(ps) == 0 && len(claims) == 0 {
		return res, nil
	}
	args := make([]recordArgs, len(ps))
	for i, p := range ps {
		a, err := progressArgs(p)
		if err != nil {
			return store.RecordResult{}, err
		}
		args[i] = a
	}
	order := make([]int, len(ps))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ps[order[a]].ItemID < ps[order[b]].ItemID })
	prep, err := s.statements(ctx)
	if err != nil {
		return store.RecordResult{}, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.RecordResult{}, fmt.Errorf("%s: beginning record or claim transaction: %w", s.d.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	ev, dead := tx.StmtContext(ctx, prep.insertEvent), tx.StmtContext(ctx, prep.deadFromItem)
	var follow []ingestEvent
	res.Errs = make([]error, len(ps))
	for _, i := range order {
		p, a := ps[i], args[i]
		r, err := tx.StmtContext(ctx, a.stmt(prep)).ExecContext(ctx, a.args...)
		if err != nil {
			return store.RecordResult{}, fmt.Errorf("%s: recording progress of work item %d: %w", s.d.Name, p.ItemID, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return store.RecordResult{}, fmt.Errorf("%s: recording progress of work item %d: %w", s.d.Name, p.ItemID, err)
		} else if n != 1 {
			res.Errs[i] = fmt.Errorf("work item %d for %q: %w", p.ItemID, p.Owner, store.ErrLeaseLost)
			continue
		}
		if p.DeadLetter != "" {
			if _, err := dead.ExecContext(ctx, p.DeadLetter, ns(a.now), p.ItemID); err != nil {
				return store.RecordResult{}, fmt.Errorf("%s: dead-lettering work item %d: %w", s.d.Name, p.ItemID, err)
			}
		}
		for _, e := range p.Events {
			at := e.At
			if at.IsZero() {
				at = a.now
			}
			if _, err := ev.ExecContext(ctx, p.ItemID, ns(at), e.Kind, e.Op, e.Outcome, e.Message, int64(e.Duration), orNull(e.TraceID)); err != nil {
				return store.RecordResult{}, fmt.Errorf("%s: recording audit event of work item %d: %w", s.d.Name, p.ItemID, err)
			}
		}
		evs, err := s.followUps(ctx, tx, prep, p.ItemID, p.FollowUps, a.now)
		if err != nil {
			return store.RecordResult{}, err
		}
		follow = append(follow, evs...)
	}
	if err := s.insertEvents(ctx, tx, prep.insertEvent, follow); err != nil {
		return store.RecordResult{}, err
	}
	if len(claims) > 0 {
		claim := tx.StmtContext(ctx, prep.claim)
		res.Claimed = make([][]*store.Item, len(claims))
		for i, c := range claims {
			if c.Limit <= 0 {
				continue
			}
			rows, err := claim.QueryContext(ctx, c.Owner, ns(c.Now.Add(c.Lease)), ns(c.Now), c.Backend, ns(c.Now), ns(c.Now), c.Limit)
			if err != nil {
				return store.RecordResult{}, fmt.Errorf("%s: claiming work for backend %q: %w", s.d.Name, c.Backend, err)
			}
			if res.Claimed[i], err = scanItems(rows); err != nil {
				return store.RecordResult{}, fmt.Errorf("%s: claiming work for backend %q: %w", s.d.Name, c.Backend, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return store.RecordResult{}, fmt.Errorf("%s: committing progress of %d work items and %d claims: %w", s.d.Name, len(ps), len(claims), err)
	}
	return res, nil
}

// followUps merges the follow-up notifications of work item from into
// their slots, as ingest merges an alert, and returns their audit events.
func (s *Store) followUps(ctx context.Context, tx *sql.Tx, p *prepared, from int64, fus []store.FollowUp, now time.Time) ([]ingestEvent, error) {
	if len(fus) == 0 {
		return nil, nil
	}
	sel, ins, upd := tx.StmtContext(ctx, p.selectDesired), tx.StmtContext(ctx, p.insertItem), tx.StmtContext(ctx, p.updateDesired)
	var evs []ingestEvent
	for _, f := range fus {
		if f.Alert == nil {
			return nil, fmt.Errorf("follow-up of work item %d for %s/%q has no alert", from, f.Backend, f.CorrelationKey)
		}
		raw, err := json.Marshal(f.Alert)
		if err != nil {
			return nil, fmt.Errorf("follow-up of work item %d: encoding alert %q: %w", from, f.Alert.ID, err)
		}
		d := route.Delivery{Route: f.Route, Backend: f.Backend, CorrelationKey: f.CorrelationKey, Fields: f.Fields,
			ReopenWindow: f.ReopenWindow, OnResolvedWithoutItem: route.ResolvedRecord}
		out, revived, err := s.ingestOne(ctx, sel, ins, upd, tx, f.Alert, string(raw), d, nil, f.Condition, f.EventAt.UTC(), now, f.TraceParent, &evs)
		if err != nil {
			return nil, err
		}
		if revived {
			evs = append(evs, ingestEvent{item: out.ItemID, at: ns(now), kind: store.EventReplay, outcome: "revived",
				msg: "a new notification revived the dead-lettered work item"})
		}
		msg := fmt.Sprintf("%s requested by work item %d for alert %s at %s: %s", f.Condition, from, f.Alert.ID,
			f.EventAt.UTC().Format(time.RFC3339Nano), out.Outcome)
		if f.Note != "" {
			msg += "; " + f.Note
		}
		evs = append(evs, ingestEvent{item: out.ItemID, at: ns(now), kind: store.EventNotification, op: string(f.Condition),
			outcome: string(out.Outcome), msg: msg, traceID: store.TraceIDOf(f.TraceParent)})
	}
	return evs, nil
}

// OpenItems returns open, unleased items of backend, least recently
// status-checked first.
func (s *Store) OpenItems(ctx context.Context, backend string, now time.Time, limit int) ([]*store.Item, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(`SELECT `+itemCols+` FROM work_items
		WHERE backend = ? AND remote = 'open' AND dead = 0 AND lease_until < ?
		ORDER BY status_checked_at, id LIMIT ?`), backend, ns(now), limit)
	if err != nil {
		return nil, fmt.Errorf("%s: listing open work items of %q: %w", s.d.Name, backend, err)
	}
	items, err := scanItems(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: listing open work items of %q: %w", s.d.Name, backend, err)
	}
	return items, nil
}

// OpenItemsByRef returns backend's open items whose Ref.ID is in refIDs.
func (s *Store) OpenItemsByRef(ctx context.Context, backend string, refIDs []string) ([]*store.Item, error) {
	if len(refIDs) == 0 {
		return nil, nil
	}
	want := map[string]bool{}
	for _, id := range refIDs {
		want[id] = true
	}
	// The ref is JSON text; read the backend's open items and match in
	// Go, on the same index the poll reads.
	var out []*store.Item
	var after int64
	for {
		rows, err := s.r.QueryContext(ctx, s.d.rebind(`SELECT `+itemCols+` FROM work_items
			WHERE backend = ? AND remote = 'open' AND dead = 0 AND id > ? ORDER BY id LIMIT 500`), backend, after)
		if err != nil {
			return nil, fmt.Errorf("%s: finding work items of %q by ref: %w", s.d.Name, backend, err)
		}
		items, err := scanItems(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: finding work items of %q by ref: %w", s.d.Name, backend, err)
		}
		for _, it := range items {
			if it.Ref != nil && (want[it.Ref.ID] || (it.Ref.Key != "" && want[it.Ref.Key])) {
				out = append(out, it)
			}
		}
		if len(items) < 500 {
			return out, nil
		}
		after = items[len(items)-1].ID
	}
}

// RecordStatus writes status reads in one transaction.
func (s *Store) RecordStatus(ctx context.Context, us []store.StatusUpdate) ([]bool, error) {
	if len(us) == 0 {
		return nil, nil
	}
	prep, err := s.statements(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: beginning status transaction: %w", s.d.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	applied := make([]bool, len(us))
	var evs []ingestEvent
	for i, u := range us {
		now := u.Now
		if now.IsZero() {
			now = time.Now()
		}
		if !u.Resolved {
			if _, err := tx.ExecContext(ctx, s.q.statusChecked, ns(now), u.ItemID); err != nil {
				return nil, fmt.Errorf("%s: recording the status read of work item %d: %w", s.d.Name, u.ItemID, err)
			}
			continue
		}
		var ref string
		var leaseUntil int64
		err := tx.QueryRowContext(ctx, s.q.statusSelect, u.ItemID).Scan(&ref, &leaseUntil)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading work item %d: %w", s.d.Name, u.ItemID, err)
		}
		var wi sdk.WorkItem
		if ref == "" || json.Unmarshal([]byte(ref), &wi) != nil || wi.ID != u.RefID || leaseUntil >= ns(now) {
			// Another work item by now, or a worker holds it: the next read decides.
			if _, err := tx.ExecContext(ctx, s.q.statusChecked, ns(now), u.ItemID); err != nil {
				return nil, fmt.Errorf("%s: recording the status read of work item %d: %w", s.d.Name, u.ItemID, err)
			}
			continue
		}
		wi.State = sdk.StateResolved
		b, _ := json.Marshal(wi)
		if _, err := tx.ExecContext(ctx, s.q.statusResolved, string(b), ns(u.ResolvedAt), u.ResolvedBy, u.Resolution, ns(now), ns(now), u.ItemID); err != nil {
			return nil, fmt.Errorf("%s: recording the resolution of work item %d: %w", s.d.Name, u.ItemID, err)
		}
		applied[i] = true
		for _, e := range u.Events {
			at := e.At
			if at.IsZero() {
				at = now
			}
			evs = append(evs, ingestEvent{item: u.ItemID, at: ns(at), kind: e.Kind, op: e.Op, outcome: e.Outcome, msg: e.Message, traceID: e.TraceID})
		}
		fe, err := s.followUps(ctx, tx, prep, u.ItemID, u.FollowUps, now)
		if err != nil {
			return nil, err
		}
		evs = append(evs, fe...)
	}
	if err := s.insertEvents(ctx, tx, prep.insertEvent, evs); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%s: committing %d status reads: %w", s.d.Name, len(us), err)
	}
	return applied, nil
}

// ReleaseLeases frees every lease owner holds.
func (s *Store) ReleaseLeases(ctx context.Context, owner string) error {
	if _, err := s.w.ExecContext(ctx, s.q.releaseLeases, owner); err != nil {
		return fmt.Errorf("%s: releasing leases of %q: %w", s.d.Name, owner, err)
	}
	return nil
}

// ListItems returns matching work items, newest first.
func (s *Store) ListItems(ctx context.Context, f store.ItemFilter) ([]*store.Item, error) {
	q, args, err := listItemsQuery(s.d, f)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: listing work items: %w", s.d.Name, err)
	}
	items, err := scanItems(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: listing work items: %w", s.d.Name, err)
	}
	return items, nil
}

// listItemsQuery is ListItems' statement for f. Every filter is an
// equality, and a search is one on an indexed column each (rule,
// correlation_key, ref_key), so that no listing reads every stored alert;
// the dead and pending states read their partial indexes. The rest walk
// the primary key newest first and stop at the limit.
func listItemsQuery(d Dialect, f store.ItemFilter) (string, []any, error) {
	var where []string
	var args []any
	if f.Backend != "" {
		where, args = append(where, "backend = ?"), append(args, f.Backend)
	}
	if f.Route != "" {
		where, args = append(where, "route = ?"), append(args, f.Route)
	}
	if f.CorrelationKey != "" {
		where, args = append(where, "correlation_key = ?"), append(args, f.CorrelationKey)
	}
	if f.DirtyOnly {
		where = append(where, "dirty = 1")
	}
	switch f.State {
	case store.ItemStateAll:
	case store.ItemStatePending:
		where = append(where, "dirty = 1 AND dead = 0")
	case store.ItemStateFailing:
		where = append(where, "dirty = 1 AND dead = 0 AND attempts > 0")
	case store.ItemStateDead:
		where = append(where, "dead = 1")
	case store.ItemStateInSync:
		where = append(where, "dirty = 0 AND dead = 0")
	default:
		return "", nil, fmt.Errorf("listing work items: unknown state %q", f.State)
	}
	if f.Severity != "" {
		where, args = append(where, "severity = ?"), append(args, f.Severity)
	}
	if f.Search != "" {
		// The matches come from the three indexes, and the other filters
		// apply to them alone (planners took the backend's index instead
		// and read all its items).
		where = append(where, `id IN (SELECT id FROM work_items WHERE correlation_key = ?
			UNION SELECT id FROM work_items WHERE rule = ?
			UNION SELECT id FROM work_items WHERE ref_key = ? AND ref_key <> '')`)
		args = append(args, f.Search, f.Search, f.Search)
	}
	if f.BeforeID > 0 {
		where, args = append(where, "id < ?"), append(args, f.BeforeID)
	}
	q := `SELECT ` + itemCols + ` FROM work_items`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limitOr(f.Limit))
	return d.rebind(q), args, nil
}

func limitOr(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

// GetItem returns one work item.
func (s *Store) GetItem(ctx context.Context, id int64) (*store.Item, error) {
	rows, err := s.r.QueryContext(ctx, s.q.getItem, id)
	if err != nil {
		return nil, fmt.Errorf("%s: reading work item %d: %w", s.d.Name, id, err)
	}
	items, err := scanItems(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: reading work item %d: %w", s.d.Name, id, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("work item %d: %w", id, store.ErrNotFound)
	}
	return items[0], nil
}

// Events returns an item's audit trail, oldest first.
func (s *Store) Events(ctx context.Context, itemID int64) ([]store.Event, error) {
	rows, err := s.r.QueryContext(ctx, s.q.events, itemID)
	if err != nil {
		return nil, fmt.Errorf("%s: reading audit trail of work item %d: %w", s.d.Name, itemID, err)
	}
	out, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: reading audit trail of work item %d: %w", s.d.Name, itemID, err)
	}
	return out, nil
}

func scanEvents(rows *sql.Rows) ([]store.Event, error) {
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		var at, dur int64
		if err := rows.Scan(&e.ID, &e.ItemID, &at, &e.Kind, &e.Op, &e.Outcome, &e.Message, &dur, &e.TraceID); err != nil {
			return nil, err
		}
		e.At, e.Duration = fromNS(at), time.Duration(dur)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ListEvents returns a page of an item's audit trail, newest first.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	q, args := `SELECT id, item_id, at, kind, op, outcome, message, duration_ns, trace_id FROM events WHERE item_id = ?`, []any{f.ItemID}
	if f.BeforeID > 0 {
		q, args = q+" AND id < ?", append(args, f.BeforeID)
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(q+" ORDER BY id DESC LIMIT ?"), append(args, limitOr(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("%s: reading audit trail of work item %d: %w", s.d.Name, f.ItemID, err)
	}
	out, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: reading audit trail of work item %d: %w", s.d.Name, f.ItemID, err)
	}
	return out, nil
}

// PruneEvents deletes up to limit events older than before, first written
// first, except those of dirty or dead items.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 || before.IsZero() {
		return 0, nil
	}
	r, err := s.w.ExecContext(ctx, s.q.pruneEvents, ns(before), limit)
	if err != nil {
		return 0, fmt.Errorf("%s: pruning audit events before %s: %w", s.d.Name, before.UTC().Format(time.RFC3339), err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: pruning audit events before %s: %w", s.d.Name, before.UTC().Format(time.RFC3339), err)
	}
	return n, nil
}

// ListDeadLetters returns matching dead letters, newest first.
func (s *Store) ListDeadLetters(ctx context.Context, f store.DeadLetterFilter) ([]*store.DeadLetter, error) {
	var where []string
	var args []any
	if f.Backend != "" {
		where, args = append(where, "backend = ?"), append(args, f.Backend)
	}
	if f.Unmatched {
		where = append(where, "item_id = 0")
	}
	if f.ItemID > 0 {
		where, args = append(where, "item_id = ?"), append(args, f.ItemID)
	}
	if f.BeforeID > 0 {
		where, args = append(where, "id < ?"), append(args, f.BeforeID)
	}
	q := `SELECT ` + deadCols + ` FROM dead_letters`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limitOr(f.Limit))
	rows, err := s.r.QueryContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("%s: listing dead letters: %w", s.d.Name, err)
	}
	out, err := scanDead(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: listing dead letters: %w", s.d.Name, err)
	}
	return out, nil
}

// GetDeadLetter returns one dead letter.
func (s *Store) GetDeadLetter(ctx context.Context, id int64) (*store.DeadLetter, error) {
	return s.getDead(ctx, s.r, id)
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (s *Store) getDead(ctx context.Context, db querier, id int64) (*store.DeadLetter, error) {
	rows, err := db.QueryContext(ctx, s.q.getDead, id)
	if err != nil {
		return nil, fmt.Errorf("%s: reading dead letter %d: %w", s.d.Name, id, err)
	}
	out, err := scanDead(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: reading dead letter %d: %w", s.d.Name, id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dead letter %d: %w", id, store.ErrNotFound)
	}
	return out[0], nil
}

// ReplayDeadLetter revives a delivery's dead letter, or returns an
// unmatched one for the caller to route again.
func (s *Store) ReplayDeadLetter(ctx context.Context, id int64, now time.Time) (*store.DeadLetter, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: beginning replay transaction: %w", s.d.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	dl, err := s.getDead(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if dl.ItemID == 0 {
		return dl, nil
	}
	if _, err := tx.ExecContext(ctx, s.q.replayItem, ns(now), ns(now), ns(now), dl.ItemID); err != nil {
		return nil, fmt.Errorf("%s: reviving work item %d: %w", s.d.Name, dl.ItemID, err)
	}
	if _, err := tx.ExecContext(ctx, s.q.insertEvent, dl.ItemID, ns(now), store.EventReplay, "", "replayed",
		fmt.Sprintf("dead letter %d replayed (was: %s)", id, dl.Reason), 0, nil); err != nil {
		return nil, fmt.Errorf("%s: recording replay: %w", s.d.Name, err)
	}
	if _, err := tx.ExecContext(ctx, s.q.deleteDead, id); err != nil {
		return nil, fmt.Errorf("%s: deleting replayed dead letter %d: %w", s.d.Name, id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%s: committing replay of dead letter %d: %w", s.d.Name, id, err)
	}
	return dl, nil
}

// DropDeadLetter deletes a dead letter.
func (s *Store) DropDeadLetter(ctx context.Context, id int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: beginning drop transaction: %w", s.d.Name, err)
	}
	defer func() { _ = tx.Rollback() }()
	dl, err := s.getDead(ctx, tx, id)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q.deleteDead, id); err != nil {
		return fmt.Errorf("%s: deleting dead letter %d: %w", s.d.Name, id, err)
	}
	if dl.ItemID != 0 {
		if _, err := tx.ExecContext(ctx, s.q.giveUpFired, dl.ItemID); err != nil {
			return fmt.Errorf("%s: dropping dead letter %d: %w", s.d.Name, id, err)
		}
		if _, err := tx.ExecContext(ctx, s.q.insertEvent, dl.ItemID, ns(time.Now()), store.EventDeadLetter, "", "dropped",
			fmt.Sprintf("dead letter %d dropped by an operator", id), 0, nil); err != nil {
			return fmt.Errorf("%s: recording drop: %w", s.d.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: committing drop of dead letter %d: %w", s.d.Name, id, err)
	}
	return nil
}

// Stats counts queued work and dead letters per backend.
func (s *Store) Stats(ctx context.Context, now time.Time) (store.Stats, error) {
	st := store.Stats{Backends: map[string]store.BackendStats{}}
	rows, err := s.r.QueryContext(ctx, s.q.statsQueued, ns(now), ns(now), ns(now))
	if err != nil {
		return st, fmt.Errorf("%s: counting queued work: %w", s.d.Name, err)
	}
	for rows.Next() {
		var (
			b      string
			bs     store.BackendStats
			oldest int64
		)
		if err := rows.Scan(&b, &bs.Queued, &oldest, &bs.Due, &bs.Leased); err != nil {
			rows.Close()
			return st, fmt.Errorf("%s: counting queued work: %w", s.d.Name, err)
		}
		bs.OldestPending = fromNS(oldest)
		st.Backends[b] = bs
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("%s: counting queued work: %w", s.d.Name, err)
	}
	rows, err = s.r.QueryContext(ctx, s.q.statsDead)
	if err != nil {
		return st, fmt.Errorf("%s: counting dead letters: %w", s.d.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b string
		var unmatched bool
		var n int64
		if err := rows.Scan(&b, &unmatched, &n); err != nil {
			return st, fmt.Errorf("%s: counting dead letters: %w", s.d.Name, err)
		}
		if unmatched {
			st.Unmatched += n
			continue
		}
		bs := st.Backends[b]
		bs.DeadLetters += n
		st.Backends[b] = bs
	}
	return st, rows.Err()
}

func scanItems(rows *sql.Rows) ([]*store.Item, error) {
	defer rows.Close()
	var out []*store.Item
	for rows.Next() {
		var (
			it                                            store.Item
			cond, alert, fields, cis, remote, ref, intent string
			policy, lifecycle, fieldState                 string
			reopen, eventAt, resolvedAt, due, since       int64
			attemptAt                                     int64
			leaseUntil, created, updated, checked         int64
			dirty, dead, human                            int
			flapWindow, flapMax, flapQuiet, flapSince     int64
			noted, maintUntil                             int64
			transitions, maintCond                        string
		)
		if err := rows.Scan(&it.ID, &it.Route, &it.Backend, &it.CorrelationKey, &cond, &it.AlertID, &alert, &fields, &cis,
			&reopen, &policy, &eventAt, &it.Seq, &it.AppliedSeq, &it.FiredSeq, &remote, &ref, &resolvedAt, &intent, &attemptAt, &dirty, &dead,
			&due, &since, &it.Attempts, &it.LastError, &it.LeaseOwner, &leaseUntil, &created, &updated,
			&human, &it.ResolvedBy, &it.Resolution, &checked, &it.TraceParent,
			&flapWindow, &flapMax, &flapQuiet, &transitions, &flapSince, &noted,
			&it.Hold.Seq, &maintCond, &it.Hold.Window, &maintUntil, &it.Hold.OnEnd, &it.Hold.PriorFiredSeq, &lifecycle, &fieldState,
			&it.StormParent, &it.Storm.Members, &it.Storm.Firing); err != nil {
			return nil, err
		}
		it.HumanResolved, it.StatusCheckedAt = human == 1, fromNS(checked)
		it.Condition, it.Remote, it.Intent = sdk.Condition(cond), store.RemoteState(remote), store.Intent(intent)
		it.OnResolvedWithoutItem = route.ResolvedPolicy(policy)
		it.ReopenWindow, it.EventAt, it.RemoteResolvedAt = time.Duration(reopen), fromNS(eventAt), fromNS(resolvedAt)
		it.CreateAttemptAt = fromNS(attemptAt)
		it.Dirty, it.Dead = dirty == 1, dead == 1
		it.DueAt, it.DirtySince, it.LeaseUntil = fromNS(due), fromNS(since), fromNS(leaseUntil)
		if flapWindow > 0 {
			it.Flap = &route.FlapPolicy{Window: time.Duration(flapWindow), MaxTransitions: int(flapMax), QuietPeriod: time.Duration(flapQuiet)}
		}
		ts, err := decodeTimes(transitions)
		if err != nil {
			return nil, fmt.Errorf("work item %d: decoding stored flap transitions: %w", it.ID, err)
		}
		it.FlapState, it.FlapNoted = store.FlapState{Transitions: ts, Since: fromNS(flapSince)}, fromNS(noted)
		it.Hold.Condition, it.Hold.Until = sdk.Condition(maintCond), fromNS(maintUntil)
		it.CreatedAt, it.UpdatedAt = fromNS(created), fromNS(updated)
		if it.Storm.Members > 0 {
			it.Storm.EventAt = it.EventAt
		}
		it.Alert = new(sdk.Alert)
		if err := json.Unmarshal([]byte(alert), it.Alert); err != nil {
			return nil, fmt.Errorf("work item %d: decoding stored alert: %w", it.ID, err)
		}
		if err := json.Unmarshal([]byte(fields), &it.Fields); err != nil {
			return nil, fmt.Errorf("work item %d: decoding stored fields: %w", it.ID, err)
		}
		if err := json.Unmarshal([]byte(cis), &it.ConfigurationItems); err != nil {
			return nil, fmt.Errorf("work item %d: decoding stored configuration items: %w", it.ID, err)
		}
		if err := json.Unmarshal([]byte(lifecycle), &it.Policy); err != nil {
			return nil, fmt.Errorf("work item %d: decoding stored lifecycle policy: %w", it.ID, err)
		}
		if fieldState != "{}" {
			if err := json.Unmarshal([]byte(fieldState), &it.FieldState); err != nil {
				return nil, fmt.Errorf("work item %d: decoding stored field state: %w", it.ID, err)
			}
		}
		if ref != "" {
			it.Ref = new(sdk.WorkItem)
			if err := json.Unmarshal([]byte(ref), it.Ref); err != nil {
				return nil, fmt.Errorf("work item %d: decoding stored ref: %w", it.ID, err)
			}
		}
		out = append(out, &it)
	}
	return out, rows.Err()
}

func scanDead(rows *sql.Rows) ([]*store.DeadLetter, error) {
	defer rows.Close()
	var out []*store.DeadLetter
	for rows.Next() {
		var dl store.DeadLetter
		var alert string
		var created int64
		if err := rows.Scan(&dl.ID, &dl.ItemID, &dl.Route, &dl.Backend, &dl.CorrelationKey, &dl.Reason, &dl.LastError,
			&dl.Attempts, &alert, &created); err != nil {
			return nil, err
		}
		dl.CreatedAt = fromNS(created)
		dl.Alert = new(sdk.Alert)
		if err := json.Unmarshal([]byte(alert), dl.Alert); err != nil {
			return nil, fmt.Errorf("dead letter %d: decoding stored alert: %w", dl.ID, err)
		}
		out = append(out, &dl)
	}
	return out, rows.Err()
}

// PutMaintenance stores an ad-hoc maintenance window, unless one of the
// same name has not ended by now.
func (s *Store) PutMaintenance(ctx context.Context, w store.MaintenanceWindow, now time.Time) error {
	var name string
	err := s.w.QueryRowContext(ctx, s.q.putMaint, w.Name, w.When, ns(w.Start), ns(w.End), w.OnEnd, w.Reason, ns(w.CreatedAt), ns(now)).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("maintenance window %q has not ended: %w", w.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("%s: storing maintenance window %q: %w", s.d.Name, w.Name, err)
	}
	return nil
}

// ListMaintenance returns the ad-hoc windows that have not ended by now.
func (s *Store) ListMaintenance(ctx context.Context, now time.Time) ([]store.MaintenanceWindow, error) {
	rows, err := s.r.QueryContext(ctx, s.q.listMaint, ns(now))
	if err != nil {
		return nil, fmt.Errorf("%s: listing maintenance windows: %w", s.d.Name, err)
	}
	out, err := scanMaint(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: listing maintenance windows: %w", s.d.Name, err)
	}
	return out, nil
}

// EndMaintenance ends ad-hoc window name at at and releases the work items
// it holds.
func (s *Store) EndMaintenance(ctx context.Context, name string, at time.Time) (store.MaintenanceWindow, int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.MaintenanceWindow{}, 0, fmt.Errorf("%s: beginning the end of maintenance window %q: %w", s.d.Name, name, err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, s.q.getMaint, name, ns(at))
	if err != nil {
		return store.MaintenanceWindow{}, 0, fmt.Errorf("%s: reading maintenance window %q: %w", s.d.Name, name, err)
	}
	ws, err := scanMaint(rows)
	if err != nil {
		return store.MaintenanceWindow{}, 0, fmt.Errorf("%s: reading maintenance window %q: %w", s.d.Name, name, err)
	}
	if len(ws) == 0 {
		return store.MaintenanceWindow{}, 0, fmt.Errorf("no ad-hoc maintenance window %q is on or to come: %w", name, store.ErrNotFound)
	}
	w := ws[0]
	if _, err := tx.ExecContext(ctx, s.q.endMaint, ns(at), ns(at), ns(at), name); err != nil {
		return store.MaintenanceWindow{}, 0, fmt.Errorf("%s: ending maintenance window %q: %w", s.d.Name, name, err)
	}
	r, err := tx.ExecContext(ctx, s.q.releaseMaint, ns(at), ns(at), ns(at), name, ns(at))
	if err != nil {
		return store.MaintenanceWindow{}, 0, fmt.Errorf("%s: releasing the work items of maintenance window %q: %w", s.d.Name, name, err)
	}
	released, err := r.RowsAffected()
	if err != nil {
		return store.MaintenanceWindow{}, 0, fmt.Errorf("%s: releasing the work items of maintenance window %q: %w", s.d.Name, name, err)
	}
	if err := tx.Commit(); err != nil {
		return store.MaintenanceWindow{}, 0, fmt.Errorf("%s: committing the end of maintenance window %q: %w", s.d.Name, name, err)
	}
	if w.Start.After(at) {
		w.Start = at
	}
	w.End = at
	return w, released, nil
}

func scanMaint(rows *sql.Rows) ([]store.MaintenanceWindow, error) {
	defer rows.Close()
	var out []store.MaintenanceWindow
	for rows.Next() {
		var (
			w                   store.MaintenanceWindow
			start, end, created int64
		)
		if err := rows.Scan(&w.Name, &w.When, &start, &end, &w.OnEnd, &w.Reason, &created); err != nil {
			return nil, err
		}
		w.Start, w.End, w.CreatedAt = fromNS(start), fromNS(end), fromNS(created)
		out = append(out, w)
	}
	return out, rows.Err()
}
