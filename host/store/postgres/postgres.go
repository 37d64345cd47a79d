// Package postgres is the PostgreSQL store engine, for several host replicas
// sharing one state: row locks serialize ingest per key and
// FOR UPDATE SKIP LOCKED lets replicas claim work without waiting on each
// other.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is PostgreSQL's SQL dialect.
var Dialect = sqlstore.Dialect{
	Name:       "postgres",
	Numbered:   true,
	LockRow:    " FOR UPDATE",
	SkipLocked: " FOR UPDATE SKIP LOCKED",
	// Any constant works; it only has to be the same for every instance.
	MigrationLock: "SELECT pg_advisory_xact_lock(7405220931)",
}

// MaxConns caps the connection pool.
const MaxConns = 16

// Open connects to the PostgreSQL database named by dsn (a URL or key=value
// string; unknown parameters such as search_path become session settings),
// applies pending migrations and returns the store.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	if dsn == "" {
		return nil, errors.New("postgres store: dsn is empty; set store { dsn = env(\"...\") }")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres store: parsing dsn: %w", err)
	}
	db.SetMaxOpenConns(MaxConns)
	db.SetMaxIdleConns(MaxConns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres store: connecting: %w", err)
	}
	ms, err := sqlstore.LoadMigrations(migrations, "migrations")
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	if err := sqlstore.Migrate(ctx, db, Dialect, ms); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	return sqlstore.New(db, db, Dialect, db.Close), nil
}

var _ = stdlib.GetDefaultDriver // the import registers the "pgx" driver
