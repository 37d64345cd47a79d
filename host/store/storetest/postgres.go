package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// PostgresDSNEnv names the variable holding the PostgreSQL test server's
// DSN; tests that need PostgreSQL skip without it.
const PostgresDSNEnv = "ITSM_TEST_POSTGRES_DSN"

// PostgresSchema creates a schema of its own for one test (named prefix_
// and random hex) and returns a DSN whose search_path points at it; the
// schema is dropped when the test ends. It skips the test when
// PostgresDSNEnv is not set.
func PostgresSchema(t testing.TB, prefix string) string {
	t.Helper()
	dsn := os.Getenv(PostgresDSNEnv)
	if dsn == "" {
		t.Skipf("%s not set; PostgreSQL store tests need a server (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresDSNEnv)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := prefix + "_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", PostgresDSNEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
