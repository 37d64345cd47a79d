package entra

import (
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"

	"github.com/itsm-connector/itsm-connector/host/auth"
)

// tokenHash keys the cache: the SHA-256 of the raw token, so the cache
// never holds a token and a collision is out of reach.
type tokenHash [sha256.Size]byte

func hashToken(raw string) tokenHash {
	// Hash the string's bytes in place; sha256 only reads them.
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// cacheEntry is one verified token.
type cacheEntry struct {
	principal auth.Principal
	// expires is the token's exp plus the clock skew: when checkTimes
	// would refuse it as expired, and at most max_token_lifetime plus twice
	// the skew after the token was verified (checkTimes refuses a later exp).
	expires time.Time
	// version and kid let a key rotation evict the tokens it signed.
	version, kid string
}

// tokenCache is a bounded map of verified tokens. Each entry lives until
// its token expires; when full, expired entries go first, then arbitrary
// ones (Go's map order), which is enough for a cache whose working set is
// one token per action group per hour.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[tokenHash]*cacheEntry
	max int
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{m: make(map[tokenHash]*cacheEntry), max: max}
}

// get returns the entry for h if it is still valid at now.
func (c *tokenCache) get(h tokenHash, now time.Time) *cacheEntry {
	c.mu.RLock()
	e := c.m[h]
	c.mu.RUnlock()
	if e == nil || !now.Before(e.expires) {
		return nil
	}
	return e
}

func (c *tokenCache) put(h tokenHash, e *cacheEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[h]; !ok && len(c.m) >= c.max {
		for k, old := range c.m {
			if !now.Before(old.expires) {
				delete(c.m, k)
			}
		}
		// Still full: make room for a tenth of the capacity at once so the
		// sweep above is not repeated on every insert.
		for k := range c.m {
			if len(c.m) < c.max-c.max/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[h] = e
}

// purge drops every entry for which drop returns true.
func (c *tokenCache) purge(drop func(*cacheEntry) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if drop(e) {
			delete(c.m, k)
		}
	}
}

func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
