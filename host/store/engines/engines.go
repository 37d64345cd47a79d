// Package engines opens a store by driver name, as the `store {}` block
// names it. It is separate from package store so that the interface does not
// import its implementations.
package engines

import (
	"context"
	"fmt"

	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/postgres"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
)

// Drivers are the accepted driver names.
var Drivers = []string{"sqlite", "postgres"}

// Open opens the store of driver: "sqlite" (or empty) takes a file path,
// "postgres" a DSN.
func Open(ctx context.Context, driver, dsnOrPath string) (store.Store, error) {
	switch driver {
	case "", "sqlite":
		return sqlite.Open(ctx, dsnOrPath)
	case "postgres":
		return postgres.Open(ctx, dsnOrPath)
	default:
		return nil, fmt.Errorf("store: unknown driver %q; use one of %q", driver, Drivers)
	}
}
