//go:build race

package sqlstore_test

// raceEnabled: the race detector instruments the pure-Go SQLite engine
// too, which makes filling a million rows take minutes.
const raceEnabled = true
