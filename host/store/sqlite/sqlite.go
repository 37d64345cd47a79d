// Package sqlite is the embedded store engine, the default: one SQLite file
// (pure Go, no cgo, so the binary stays static) in WAL mode with a single
// writer connection, full fsync on commit and a busy timeout. One host
// process owns a file; run PostgreSQL for several replicas.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is SQLite's SQL dialect. Writes are serialized by the single
// writer connection and BEGIN IMMEDIATE, so no row locks are needed.
var Dialect = sqlstore.Dialect{Name: "sqlite"}

// Open opens (creating when absent) the SQLite database at path, applies
// pending migrations and returns the store.
func Open(ctx context.Context, path string) (store.Store, error) {
	if path == "" {
		return nil, errors.New("sqlite store: path is empty; set store { path = \"...\" }")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite store: creating directory for %s: %w", path, err)
		}
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlite store: creating %s: %w", path, err)
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite store: opening %s: %w", path, err)
	}
	// One writer: SQLite serializes writers anyway, and a single connection
	// turns lock contention into a queue in Go (group commit does the rest).
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite store: opening %s: %w", path, err)
	}
	ms, err := sqlstore.LoadMigrations(migrations, "migrations")
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	if err := sqlstore.Migrate(ctx, w, Dialect, ms); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite store: opening %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	return sqlstore.New(w, r, Dialect, nil), nil
}

// createPrivate creates the database file, empty (which SQLite reads as
// an empty database), readable and writable by the owner only, whatever
// the umask. SQLite gives the -wal, -shm and -journal files it creates the
// mode of the database file. An existing file is left as it is.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// The umask can only take permissions away, and 0600 is what is
	// wanted; Chmod makes it so even under a umask such as 0277.
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL: a commit is on disk before Ingest returns, so an acknowledged
	// alert survives a power cut, not only a process crash.
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}
