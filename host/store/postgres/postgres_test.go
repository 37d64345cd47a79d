package postgres_test

import (
	"context"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/postgres"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
)

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
		dsn := storetest.PostgresSchema(t, "storetest")
		return open(t, dsn), func() store.Store { return open(t, dsn) }
	}})
}

func TestMigrationsIdempotent(t *testing.T) {
	dsn := storetest.PostgresSchema(t, "storetest")
	for i := 0; i < 2; i++ {
		if err := open(t, dsn).Close(); err != nil {
			t.Fatal(err)
		}
	}
}
