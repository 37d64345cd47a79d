package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/postgres"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/sqlstore"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
)

// TestUpgradeKeepsExistingItems migrates a database holding a work item
// written under the first schema to the current one, on both engines: the
// item reads back with the defaults of the columns added since (its route's
// on_resolved_without_item is record, the behaviour it was ingested under),
// a firing item's Fired counts as acknowledged (fired_seq is its seq), and
// dead letters keep their ids while a dropped one's id is not given again,
// and a "creating" intent counts as a Create attempted when it was recorded.
func TestUpgradeKeepsExistingItems(t *testing.T) {
	engines := []struct {
		name    string
		driver  string
		dialect sqlstore.Dialect
		dir     string
		// prepare returns the database/sql data source of a fresh, empty
		// database and the function that opens it as a store.
		prepare func(t *testing.T) (string, func(ctx context.Context) (store.Store, error))
	}{
		{"sqlite", "sqlite", sqlite.Dialect, "../sqlite/migrations", func(t *testing.T) (string, func(context.Context) (store.Store, error)) {
			path := filepath.Join(t.TempDir(), "c.db")
			return "file:" + path, func(ctx context.Context) (store.Store, error) { return sqlite.Open(ctx, path) }
		}},
		{"postgres", "pgx", postgres.Dialect, "../postgres/migrations", func(t *testing.T) (string, func(context.Context) (store.Store, error)) {
			dsn := storetest.PostgresSchema(t, "upgradetest")
			return dsn, func(ctx context.Context) (store.Store, error) { return postgres.Open(ctx, dsn) }
		}},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			src, open := e.prepare(t)
			ms, err := sqlstore.LoadMigrations(os.DirFS(e.dir), ".")
			if err != nil || len(ms) < 2 || ms[0].Version != 1 {
				t.Fatalf("LoadMigrations(%s) = %d migrations, %v; want the first and later ones", e.dir, len(ms), err)
			}
			db, err := sql.Open(e.driver, src)
			if err != nil {
				t.Fatal(err)
			}
			if err := sqlstore.Migrate(ctx, db, e.dialect, ms[:1]); err != nil {
				_ = db.Close()
				t.Fatalf("applying %s: %v", ms[0].Name, err)
			}
			var id, firingID int64
			err = db.QueryRowContext(ctx, `INSERT INTO work_items (route, backend, correlation_key, condition, alert_id,
				alert, fields, config_items, reopen_window, event_at, seq, dirty, due_at, dirty_since, created_at, updated_at)
				VALUES ('r', 'file.x', 'k', 'resolved', 'a', '{"id":"a"}', 'null', 'null', 0, 1, 1, 1, 1, 1, 1, 1)
				RETURNING id`).Scan(&id)
			if err == nil {
				err = db.QueryRowContext(ctx, `INSERT INTO work_items (route, backend, correlation_key, condition, alert_id,
					alert, fields, config_items, reopen_window, event_at, seq, intent, dirty, due_at, dirty_since, created_at, updated_at)
					VALUES ('r', 'file.x', 'k2', 'fired', 'b', '{"id":"b"}', 'null', 'null', 0, 1, 2, 'creating', 1, 1, 1, 1, 7)
					RETURNING id`).Scan(&firingID)
			}
			if err == nil {
				// An item with its rule, severity and ticket in the JSON
				// columns, and one whose ticket has an id but no key.
				_, err = db.ExecContext(ctx, `INSERT INTO work_items (route, backend, correlation_key, condition, alert_id,
					alert, fields, config_items, reopen_window, event_at, seq, remote, ref, dirty, due_at, dirty_since, created_at, updated_at)
					VALUES ('r', 'file.x', 'k3', 'fired', 'c', '{"id":"c","rule":"cpu high","severity_label":"Sev1"}', 'null', 'null',
					0, 1, 1, 'open', '{"id":"sys1","key":"INC0001"}', 0, 1, 1, 1, 1),
					('r', 'file.x', 'k4', 'fired', 'd', '{"id":"d","rule":"disk full","severity_label":"Sev3"}', 'null', 'null',
					0, 1, 1, 'open', '{"id":"file-4.json"}', 0, 1, 1, 1, 1)`)
			}
			if err != nil {
				_ = db.Close()
				t.Fatalf("writing an item under the first schema: %v", err)
			}
			for _, reason := range []string{"unmatched: one", "unmatched: two"} {
				if _, err := db.ExecContext(ctx, `INSERT INTO dead_letters (route, backend, correlation_key, reason, last_error,
					attempts, alert, created_at) VALUES ('', '', '', '`+reason+`', '', 0, '{"id":"u"}', 1)`); err != nil {
					_ = db.Close()
					t.Fatalf("writing a dead letter under the first schema: %v", err)
				}
			}
			_ = db.Close()
			s, err := open(ctx)
			if err != nil {
				t.Fatalf("opening (and migrating) the store: %v", err)
			}
			defer s.Close()
			it, err := s.GetItem(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if it.OnResolvedWithoutItem != route.ResolvedRecord || it.CorrelationKey != "k" || !it.Dirty || it.FiredSeq != 0 {
				t.Errorf("migrated item: policy %q key %q dirty %v fired seq %d; want record, k, dirty, 0",
					it.OnResolvedWithoutItem, it.CorrelationKey, it.Dirty, it.FiredSeq)
			}
			firing, err := s.GetItem(ctx, firingID)
			if err != nil {
				t.Fatal(err)
			}
			if firing.FiredSeq != 2 || firing.AppliedSeq != 0 {
				t.Errorf("migrated firing item: fired seq %d applied %d; want 2, 0", firing.FiredSeq, firing.AppliedSeq)
			}
			// Its creating intent was recorded just before a Create whose
			// outcome is unknown: it counts as attempted when recorded, so
			// the next claim looks it up first.
			if firing.Intent != store.IntentCreating || firing.CreateAttemptAt.UnixNano() != 7 || !it.CreateAttemptAt.IsZero() {
				t.Errorf("migrated intents: firing %q attempted at %v, resolved attempted at %v; want creating at 7 ns, none",
					firing.Intent, firing.CreateAttemptAt.UnixNano(), it.CreateAttemptAt)
			}
			// The console's search columns are filled from the stored JSON.
			for _, c := range []struct {
				f    store.ItemFilter
				want string
			}{
				{store.ItemFilter{Search: "cpu high"}, "k3"},
				{store.ItemFilter{Search: "INC0001"}, "k3"},
				{store.ItemFilter{Search: "file-4.json"}, "k4"},
				{store.ItemFilter{Severity: "Sev3"}, "k4"},
			} {
				items, err := s.ListItems(ctx, c.f)
				if err != nil || len(items) != 1 || items[0].CorrelationKey != c.want {
					t.Errorf("migrated items by %+v: %d, %v; want %s", c.f, len(items), err, c.want)
				}
			}
			// The dead letters keep their ids, and the newest one's id is
			// not given again once it is dropped.
			dls, err := s.ListDeadLetters(ctx, store.DeadLetterFilter{})
			if err != nil || len(dls) != 2 || dls[0].ID != 2 || dls[1].ID != 1 || dls[1].Reason != "unmatched: one" {
				t.Fatalf("migrated dead letters: %d, %v; want ids 2 and 1", len(dls), err)
			}
			if err := s.DropDeadLetter(ctx, 2); err != nil {
				t.Fatal(err)
			}
			res, err := s.Ingest(ctx, []store.Notification{{Alert: storetest.Alert("u3", "fired", time.Unix(1, 0)), Unmatched: "three"}})
			if err != nil || res[0].DeadLetterID <= 2 {
				t.Errorf("dead letter after dropping id 2: %+v, %v; want an id above 2", res, err)
			}
		})
	}
}
