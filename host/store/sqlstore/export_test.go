package sqlstore

// ClaimQuery is the claim statement of dialect d, as Claim runs it, for
// tests that check its query plan.
func ClaimQuery(d Dialect) string { return buildQueries(d).claim }

// StatsQuery is the statement Stats counts queued work with, for tests
// that check its query plan.
func StatsQuery(d Dialect) string { return buildQueries(d).statsQueued }
