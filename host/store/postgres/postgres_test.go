package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/postgres"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
)

// DSNEnv names the variable holding the test server's DSN.
const DSNEnv = "ITSM_TEST_POSTGRES_DSN"

// freshSchema creates a schema of its own for one test and returns a DSN
// whose search_path points at it; the schema is dropped after the test.
func freshSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(DSNEnv)
	if dsn == "" {
		t.Skipf("%s not set; PostgreSQL store tests need a server (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", DSNEnv)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "storetest_" + hex.EncodeToString(b)
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
		t.Fatalf("%s is not a URL: %v", DSNEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, dsn string) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Opener{Engine: "postgres", Open: func(t *testing.T) (store.Store, func() store.Store) {
		dsn := freshSchema(t)
		return open(t, dsn), func() store.Store { return open(t, dsn) }
	}})
}

func TestMigrationsIdempotent(t *testing.T) {
	dsn := freshSchema(t)
	for i := 0; i < 2; i++ {
		if err := open(t, dsn).Close(); err != nil {
			t.Fatal(err)
		}
	}
}
