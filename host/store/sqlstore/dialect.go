package sqlstore

import (
	"strconv"
	"strings"
)

// Dialect is what differs between the SQL engines.
type Dialect struct {
	// Name names the engine in error messages.
	Name string
	// Numbered placeholders ($1, $2, ...) instead of "?".
	Numbered bool
	// LockRow is appended to the per-key SELECT of Ingest, e.g. " FOR UPDATE".
	LockRow string
	// SkipLocked is appended to the SELECT inside Claim, e.g.
	// " FOR UPDATE SKIP LOCKED", so replicas never wait on each other.
	SkipLocked string
	// MigrationLock serializes migrations across instances, e.g. an
	// advisory lock; empty when the engine needs none.
	MigrationLock string
}

// rebind rewrites "?" placeholders for the dialect.
func (d Dialect) rebind(q string) string {
	if !d.Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
