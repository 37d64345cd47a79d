package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/store/postgres"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/sqlstore"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
)

// The queue statistics behind /metrics run on every scrape. They must
// count the queued items from the partial index work_items_due alone,
// never reading the table's rows (each holds the alert): with 100,000
// items queued that was about 200 MB of pages per scrape.

// TestStatsPlanPostgres checks that Stats' query is an index-only scan of
// work_items_due, as a custom and as a generic plan, beside a million
// finished items (vacuumed, as autovacuum keeps a table).
func TestStatsPlanPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a million rows; skipped with -short")
	}
	ctx := context.Background()
	dsn := storetest.PostgresSchema(t, "statsplan")
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillFinished(t, db, func(k int) string { return "generate_series(1, " + strconv.Itoa(k) + ") AS g" }, finishedItems)
	if _, err := db.Exec("VACUUM ANALYZE work_items"); err != nil {
		t.Fatal(err)
	}

	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PREPARE stats AS "+sqlstore.StatsQuery(postgres.Dialect)); err != nil {
		t.Fatalf("preparing the stats query: %v", err)
	}
	now := strconv.FormatInt(time.Now().UnixNano(), 10)
	exec := "EXPLAIN (FORMAT JSON) EXECUTE stats(" + now + ", " + now + ", " + now + ")"
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = "+mode); err != nil {
			t.Fatal(err)
		}
		var out string
		if err := conn.QueryRowContext(ctx, exec).Scan(&out); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		var plans []struct{ Plan pgPlan }
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("%s: reading the plan: %v\n%s", mode, err, out)
		}
		var scans []string
		plans[0].Plan.walk(func(p pgPlan) {
			if p.Relation == "work_items" {
				scans = append(scans, p.NodeType+" "+p.Index)
			}
		})
		t.Logf("%s: scans of work_items: %q", mode, scans)
		if len(scans) != 1 || scans[0] != "Index Only Scan work_items_due" {
			t.Errorf("%s: the stats query reads work_items other than by an index-only scan of work_items_due:\n%s", mode, out)
		}
		logAnalyzed(t, conn, mode, strings.Replace(exec, "(FORMAT JSON)", "(ANALYZE, BUFFERS, COSTS OFF)", 1))
	}
}

// TestStatsPlanSQLite is TestStatsPlanPostgres for SQLite: EXPLAIN QUERY
// PLAN must read work_items through the covering index work_items_due.
func TestStatsPlanSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a million rows; skipped with -short")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "plan.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := finishedItems
	if raceEnabled {
		n /= 10
	}
	fillFinished(t, db, sqliteSeries, n)

	now := time.Now().UnixNano()
	details := sqlitePlan(t, db, sqlstore.StatsQuery(sqlite.Dialect), now, now, now)
	t.Logf("plan: %q", details)
	covering := false
	for _, d := range details {
		if strings.Contains(d, "work_items") && !strings.Contains(d, "USING COVERING INDEX work_items_due") {
			t.Errorf("the stats query reads work_items other than through the covering index work_items_due: %q", details)
		}
		covering = covering || strings.Contains(d, "USING COVERING INDEX work_items_due")
	}
	if !covering {
		t.Errorf("the stats query does not use work_items_due as a covering index: %q", details)
	}
}
