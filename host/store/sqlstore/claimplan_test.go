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

// finishedItems is how many delivered (not dirty) work items the claim
// plan tests put beside a few due ones: the claim must find the due ones
// through the partial index work_items_due, not by reading the finished.
const finishedItems = 1_000_000

// fillFinished inserts n finished work items of backend "b" and 5 due
// ones, one INSERT … SELECT each. series(k) is the engine's row source
// yielding g = 1..k.
func fillFinished(t *testing.T, db *sql.DB, series func(k int) string, n int) {
	t.Helper()
	const cols = `(route, backend, correlation_key, condition, alert_id, alert, fields, config_items,
		reopen_window, event_at, seq, applied_seq, remote, dirty, due_at, dirty_since, created_at, updated_at)`
	for _, q := range []string{
		`INSERT INTO work_items ` + cols + ` SELECT 'r', 'b', 'done-' || g, 'resolved', 'a' || g, '{}', '{}', '[]',
			0, g, 2, 2, 'resolved', 0, g, 0, g, g FROM ` + series(n),
		`INSERT INTO work_items ` + cols + ` SELECT 'r', 'b', 'due-' || g, 'fired', 'd' || g, '{}', '{}', '[]',
			0, g, 1, 0, 'none', 1, g, g, g, g FROM ` + series(5),
		`ANALYZE work_items`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("filling work_items: %v", err)
		}
	}
}

// TestClaimPlanPostgres checks that the claim finds due items through an
// index, whatever the number of finished items, both as a custom plan and
// as the generic plan a prepared statement switches to.
func TestClaimPlanPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a million rows; skipped with -short")
	}
	ctx := context.Background()
	dsn := storetest.PostgresSchema(t, "claimplan")
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

	conn, err := db.Conn(ctx) // PREPARE and SET hold for one session
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PREPARE claim AS "+sqlstore.ClaimQuery(postgres.Dialect)); err != nil {
		t.Fatalf("preparing the claim: %v", err)
	}
	now := time.Now().UnixNano()
	exec := "EXPLAIN (FORMAT JSON) EXECUTE claim('w', " + strconv.FormatInt(now+60e9, 10) + ", " +
		strconv.FormatInt(now, 10) + ", 'b', " + strconv.FormatInt(now, 10) + ", " + strconv.FormatInt(now, 10) + ", 64)"
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
		for _, s := range scans {
			if strings.HasPrefix(s, "Seq Scan") {
				t.Errorf("%s: the claim reads work_items sequentially:\n%s", mode, out)
			}
		}
		if !contains(scans, "Index Scan work_items_due") {
			t.Errorf("%s: the claim does not use work_items_due:\n%s", mode, out)
		}
		logAnalyzed(t, conn, mode, strings.Replace(exec, "(FORMAT JSON)", "(ANALYZE, BUFFERS, COSTS OFF)", 1))
	}
}

// logAnalyzed runs the claim under EXPLAIN ANALYZE in a transaction it
// rolls back, and logs the plan with its row and buffer counts (what
// docs/benchmarks.md shows).
func logAnalyzed(t *testing.T, conn *sql.Conn, mode, explain string) {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, explain)
	if err != nil {
		t.Fatalf("%s: %v", mode, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s:\n%s", mode, strings.Join(lines, "\n"))
}

// pgPlan is one node of EXPLAIN (FORMAT JSON).
type pgPlan struct {
	NodeType string   `json:"Node Type"`
	Relation string   `json:"Relation Name"`
	Index    string   `json:"Index Name"`
	Plans    []pgPlan `json:"Plans"`
}

func (p pgPlan) walk(f func(pgPlan)) {
	f(p)
	for _, c := range p.Plans {
		c.walk(f)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestClaimPlanSQLite is TestClaimPlanPostgres for SQLite: EXPLAIN QUERY
// PLAN must search work_items through work_items_due and never scan it.
func TestClaimPlanSQLite(t *testing.T) {
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
	// Under the race detector SQLite itself is instrumented; a tenth of
	// the rows gives the planner the same statistics' shape in seconds.
	n := finishedItems
	if raceEnabled {
		n /= 10
	}
	fillFinished(t, db, sqliteSeries, n)

	now := time.Now().UnixNano()
	details := sqlitePlan(t, db, sqlstore.ClaimQuery(sqlite.Dialect), "w", now+60e9, now, "b", now, now, 64)
	t.Logf("plan: %q", details)
	usesDue := false
	for _, d := range details {
		if strings.HasPrefix(d, "SCAN work_items") && !strings.Contains(d, "USING") {
			t.Errorf("the claim scans work_items: %q", details)
		}
		usesDue = usesDue || strings.Contains(d, "INDEX work_items_due")
	}
	if !usesDue {
		t.Errorf("the claim does not use work_items_due: %q", details)
	}
}

// sqliteSeries is fillFinished's row source on SQLite: a recursive CTE
// yielding g = 1..k.
func sqliteSeries(k int) string {
	return "(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < " + strconv.Itoa(k) + ") SELECT g FROM s)"
}

// sqlitePlan returns the details of EXPLAIN QUERY PLAN for query run with
// args.
func sqlitePlan(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var details []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		details = append(details, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return details
}
