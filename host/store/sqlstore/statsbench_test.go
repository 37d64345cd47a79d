package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/postgres"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
)

// queuedItems is how many queued work items the Stats benchmarks count,
// each holding an alert the size of Microsoft's metric alert sample.
const queuedItems = 100_000

// fillQueued inserts n queued (dirty) work items of backend "b", each
// with an alert of 1.9 KB, in one INSERT … SELECT; series is as for
// fillFinished and param the engine's first placeholder.
func fillQueued(b *testing.B, db *sql.DB, series func(k int) string, param string, n int) {
	b.Helper()
	alert := `{"data":"` + strings.Repeat("x", 1900) + `"}`
	for _, q := range []string{
		`INSERT INTO work_items (route, backend, correlation_key, condition, alert_id, alert, fields, config_items,
			reopen_window, event_at, seq, applied_seq, remote, dirty, due_at, dirty_since, created_at, updated_at)
			SELECT 'r', 'b', 'q-' || g, 'fired', 'a' || g, ` + param + `, '{}', '[]',
			0, g, 1, 0, 'none', 1, g, g, g, g FROM ` + series(n),
		`ANALYZE work_items`,
	} {
		var args []any
		if strings.Contains(q, param) {
			args = []any{alert}
		}
		if _, err := db.Exec(q, args...); err != nil {
			b.Fatalf("filling work_items: %v", err)
		}
	}
}

func benchmarkStats(b *testing.B, st store.Store) {
	ctx := context.Background()
	for b.Loop() {
		s, err := st.Stats(ctx, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if q := s.Backends["b"].Queued; q != queuedItems {
			b.Fatalf("Stats counted %d queued; want %d", q, queuedItems)
		}
	}
}

// BenchmarkStatsSQLite is one /metrics scrape's queue count on SQLite
// with 100,000 items queued.
func BenchmarkStatsSQLite(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "stats.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	fillQueued(b, db, sqliteSeries, "?", queuedItems)
	benchmarkStats(b, st)
}

// BenchmarkStatsPostgres is BenchmarkStatsSQLite on PostgreSQL (vacuumed,
// as autovacuum keeps a table).
func BenchmarkStatsPostgres(b *testing.B) {
	ctx := context.Background()
	dsn := storetest.PostgresSchema(b, "statsbench")
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	fillQueued(b, db, func(k int) string { return "generate_series(1, " + strconv.Itoa(k) + ") AS g" }, "$1", queuedItems)
	if _, err := db.Exec("VACUUM ANALYZE work_items"); err != nil {
		b.Fatal(err)
	}
	benchmarkStats(b, st)
}
