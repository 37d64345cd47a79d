package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
)

func open(t *testing.T, path string) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Opener{Engine: "sqlite", Open: func(t *testing.T) (store.Store, func() store.Store) {
		path := filepath.Join(t.TempDir(), "data", "connector.db")
		return open(t, path), func() store.Store { return open(t, path) }
	}})
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	for i := 0; i < 2; i++ {
		if err := open(t, path).Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), ""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}
