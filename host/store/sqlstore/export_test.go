package sqlstore

import "github.com/itsm-connector/itsm-connector/host/store"

// ClaimQuery is the claim statement of dialect d, as Claim runs it, for
// tests that check its query plan.
func ClaimQuery(d Dialect) string { return buildQueries(d).claim }

// StatsQuery is the statement Stats counts queued work with, for tests
// that check its query plan.
func StatsQuery(d Dialect) string { return buildQueries(d).statsQueued }

// ListItemsQuery is ListItems' statement for f, for tests that check its
// query plan.
func ListItemsQuery(d Dialect, f store.ItemFilter) (string, []any, error) {
	return listItemsQuery(d, f)
}
