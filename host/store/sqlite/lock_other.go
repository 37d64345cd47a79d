//go:build !unix

package sqlite

// Own is a no-op where flock is not available; run one connector per
// SQLite store.
func Own(string) (release func(), err error) { return func() {}, nil }
