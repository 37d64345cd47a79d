package entra

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// maxDocumentBytes caps a discovery document or JWKS response.
const maxDocumentBytes = 1 << 20

// fetchTimeout bounds one refresh round (all discovery documents and key sets).
const fetchTimeout = 30 * time.Second

// minRSABits is the smallest RSA modulus accepted from a JWKS.
const minRSABits = 2048

// source is one discovery document: a tenant and a token version.
type source struct{ tenant, version string }

// publicKey is one usable RS256 key from a JWKS.
type publicKey struct {
	kid, x5t string
	pub      *rsa.PublicKey
}

// keyIndex finds a version's keys by kid or, for a header without kid, by x5t.
type keyIndex struct {
	byKid map[string]*publicKey
	byX5t map[string]*publicKey
}

func (ix *keyIndex) empty() bool {
	return ix == nil || len(ix.byKid)+len(ix.byX5t) == 0
}

func (ix *keyIndex) find(kid, x5t string) *publicKey {
	if ix == nil {
		return nil
	}
	if kid != "" {
		return ix.byKid[kid]
	}
	if x5t != "" {
		return ix.byX5t[x5t]
	}
	return nil
}

// snapshot is one immutable view of the issuers and keys; readers load it
// atomically and never lock.
type snapshot struct {
	// issuers is the `iss` each tenant and version publishes.
	issuers map[source]string
	// jwksURIs is the key set each discovery document names.
	jwksURIs map[source]string
	// sets holds each JWKS by URI (kept separately so that a failed fetch
	// can reuse the last good one).
	sets map[string][]*publicKey
	// keys indexes, per token version, the union of the key sets named by
	// that version's discovery documents.
	keys map[string]*keyIndex
	// complete is true when every source has an issuer and a key set.
	complete bool
}

// hasKey reports whether the key named kid (or, failing that, x5t) is
// still in version's key set.
func (s *snapshot) hasKey(version, name string) bool {
	ix := s.keys[version]
	return ix != nil && (ix.byKid[name] != nil || ix.byX5t[name] != nil)
}

// refreshCall is one refresh round that concurrent callers share.
type refreshCall struct {
	// started is when the round began: the keys it loads include every
	// key published before then.
	started time.Time
	done    chan struct{}
	err     error
}

// keyManager loads discovery documents and key sets, keeps the last good
// ones, and refreshes them periodically and on demand (single-flight; on
// an unknown kid within a budget, see unknownkey.go).
type keyManager struct {
	cfg    Config
	client *http.Client
	log    hclog.Logger
	now    func() time.Time
	hooks  Hooks
	// wait bounds a request's wait for a key refresh; unknownKidWait
	// when zero.
	wait time.Duration
	// onSwap runs after a new snapshot is installed.
	onSwap func(old, next *snapshot)

	snap atomic.Pointer[snapshot]

	mu       sync.Mutex
	inflight *refreshCall
	lastErr  error
	// lastGood is when the last round that loaded every source without
	// error started.
	lastGood time.Time
	// budget limits the rounds that unknown kids start.
	budget refreshBudget

	ready     chan struct{}
	readyOnce sync.Once
	// running tracks refresh rounds, so Close can wait for them.
	running sync.WaitGroup

	// bg bounds every fetch; cancelled by Close.
	bg context.Context
}

func (m *keyManager) current() *snapshot { return m.snap.Load() }

// readyErr is nil once every source has been loaded.
func (m *keyManager) readyErr() error {
	select {
	case <-m.ready:
		return nil
	default:
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lastErr != nil {
		return fmt.Errorf("%w: %v", ErrNotReady, m.lastErr)
	}
	return ErrNotReady
}

// refresh runs a refresh round, or joins the one in flight, and returns
// its error.
func (m *keyManager) refresh(ctx context.Context, trigger string) error {
	m.mu.Lock()
	c := m.inflight
	if c == nil {
		c = m.startLocked(trigger)
	}
	m.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startLocked starts a refresh round; m.mu is held and no round is in
// flight.
func (m *keyManager) startLocked(trigger string) *refreshCall {
	c := &refreshCall{started: m.now(), done: make(chan struct{})}
	m.inflight = c
	m.running.Add(1)
	go m.run(c, trigger)
	return c
}

func (m *keyManager) run(c *refreshCall, trigger string) {
	defer m.running.Done()
	ctx, cancel := context.WithTimeout(m.bg, fetchTimeout)
	defer cancel()
	old := m.current()
	next, err := m.fetch(ctx, old)
	if next != nil {
		m.snap.Store(next)
		if m.onSwap != nil {
			m.onSwap(old, next)
		}
	}
	switch {
	case err != nil:
		m.log.Warn("refreshing Entra ID signing keys failed; the last good keys stay in use",
			"trigger", trigger, "error", err)
	case old == nil || !sameKeys(old, next):
		m.log.Info("Entra ID signing keys loaded", "trigger", trigger, "keys", keyNames(next))
	default:
		m.log.Debug("Entra ID signing keys refreshed, unchanged", "trigger", trigger)
	}
	if m.hooks.KeysRefreshed != nil {
		m.hooks.KeysRefreshed(trigger, err)
	}
	// The round ends (a later Refresh starts a new one) before readiness
	// and the result are announced.
	m.mu.Lock()
	m.inflight = nil
	m.lastErr = err
	if err == nil {
		m.lastGood = c.started
	}
	m.mu.Unlock()
	if next != nil && next.complete {
		m.readyOnce.Do(func() { close(m.ready) })
	}
	c.err = err
	close(c.done)
}

// keyNames lists the key IDs of s, sorted and without duplicates, for
// logs and change detection.
func keyNames(s *snapshot) []string {
	var names []string
	for _, set := range s.sets {
		for _, k := range set {
			names = append(names, keyName(jwtHeader{Kid: k.kid, X5t: k.x5t}))
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func sameKeys(a, b *snapshot) bool { return slices.Equal(keyNames(a), keyNames(b)) }

// fetch builds a new snapshot. A source or key set that fails keeps its
// value from prev; the error joins every failure.
func (m *keyManager) fetch(ctx context.Context, prev *snapshot) (*snapshot, error) {
	next := &snapshot{
		issuers:  map[source]string{},
		jwksURIs: map[source]string{},
		sets:     map[string][]*publicKey{},
		keys:     map[string]*keyIndex{},
	}
	var errs []error
	for _, v := range m.cfg.TokenVersions {
		for _, t := range m.cfg.TenantIDs {
			src := source{tenant: t, version: v}
			iss, jwks, err := m.discover(ctx, src)
			if err != nil {
				errs = append(errs, err)
				if prev != nil && prev.issuers[src] != "" {
					iss, jwks = prev.issuers[src], prev.jwksURIs[src]
				} else {
					continue
				}
			}
			next.issuers[src] = iss
			next.jwksURIs[src] = jwks
		}
	}
	for _, uri := range next.jwksURIs {
		if _, done := next.sets[uri]; done {
			continue
		}
		set, err := m.loadJWKS(ctx, uri)
		if err != nil {
			errs = append(errs, err)
			if prev != nil && prev.sets[uri] != nil {
				next.sets[uri] = prev.sets[uri]
			}
			continue
		}
		next.sets[uri] = set
	}
	next.complete = true
	for _, v := range m.cfg.TokenVersions {
		ix := &keyIndex{byKid: map[string]*publicKey{}, byX5t: map[string]*publicKey{}}
		for _, t := range m.cfg.TenantIDs {
			src := source{tenant: t, version: v}
			set, ok := next.sets[next.jwksURIs[src]]
			if !ok || next.issuers[src] == "" {
				next.complete = false
				continue
			}
			for _, k := range set {
				if k.kid != "" {
					ix.byKid[k.kid] = k
				}
				if k.x5t != "" {
					ix.byX5t[k.x5t] = k
				}
			}
		}
		next.keys[v] = ix
	}
	return next, errors.Join(errs...)
}

// discoveryURL is where the discovery document of src lives.
func (m *keyManager) discoveryURL(src source) string {
	if src.version == Version2 {
		return m.cfg.Authority + "/" + src.tenant + "/v2.0/.well-known/openid-configuration"
	}
	return m.cfg.Authority + "/" + src.tenant + "/.well-known/openid-configuration"
}

// discover reads the issuer and JWKS URI of src's discovery document.
func (m *keyManager) discover(ctx context.Context, src source) (issuer, jwksURI string, err error) {
	u := m.discoveryURL(src)
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := m.getJSON(ctx, u, &doc); err != nil {
		return "", "", fmt.Errorf("discovery document for tenant %s, v%s tokens: %w", src.tenant, src.version, err)
	}
	// Multi-tenant documents carry a placeholder instead of the tenant.
	issuer = strings.ReplaceAll(doc.Issuer, "{tenantid}", src.tenant)
	if issuer == "" {
		return "", "", fmt.Errorf("discovery document %s has no issuer", u)
	}
	if err := m.checkKeyURL(doc.JWKSURI); err != nil {
		return "", "", fmt.Errorf("discovery document %s: jwks_uri: %w", u, err)
	}
	return issuer, doc.JWKSURI, nil
}

// checkKeyURL refuses a JWKS location that would weaken the transport of
// the authority (plain http when the authority is https).
func (m *keyManager) checkKeyURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme == "http" && strings.HasPrefix(m.cfg.Authority, "http://") && isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%q must use https", raw)
}

type jsonWebKey struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	X5t string `json:"x5t"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// loadJWKS fetches and parses a key set, keeping only RSA signing keys
// usable with RS256. A set without any usable key is an error.
func (m *keyManager) loadJWKS(ctx context.Context, uri string) ([]*publicKey, error) {
	var set struct {
		Keys []jsonWebKey `json:"keys"`
	}
	if err := m.getJSON(ctx, uri, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	var out []*publicKey
	for i, k := range set.Keys {
		pk, err := parseJWK(k)
		if err != nil {
			m.log.Warn("ignoring a key of the key set", "jwks_uri", uri, "index", i, "kid", k.Kid, "error", err)
			continue
		}
		if pk != nil {
			out = append(out, pk)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("key set %s has no usable RSA signing key", uri)
	}
	return out, nil
}

// parseJWK returns nil without error for keys that are not meant for us
// (another type or use), and an error for broken RSA keys.
func parseJWK(k jsonWebKey) (*publicKey, error) {
	if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "RS256") {
		return nil, nil
	}
	if k.Kid == "" && k.X5t == "" {
		return nil, errors.New("key has neither kid nor x5t")
	}
	nb, err := decodeB64(k.N)
	if err != nil || len(nb) == 0 {
		return nil, fmt.Errorf("modulus n is not base64url: %v", err)
	}
	eb, err := decodeB64(k.E)
	if err != nil || len(eb) == 0 || len(eb) > 4 {
		return nil, errors.New("exponent e is not a base64url integer of at most 4 bytes")
	}
	e := 0
	for _, b := range eb {
		e = e<<8 | int(b)
	}
	if e < 3 || e%2 == 0 {
		return nil, fmt.Errorf("exponent %d is not a valid RSA public exponent", e)
	}
	n := new(big.Int).SetBytes(nb)
	if n.BitLen() < minRSABits {
		return nil, fmt.Errorf("RSA modulus of %d bits is below %d", n.BitLen(), minRSABits)
	}
	return &publicKey{kid: k.Kid, x5t: k.X5t, pub: &rsa.PublicKey{N: n, E: e}}, nil
}

// decodeB64 accepts base64url with or without padding.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func (m *keyManager) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := m.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocumentBytes))
		return fmt.Errorf("GET %s: status %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: reading body: %w", u, err)
	}
	if len(body) > maxDocumentBytes {
		return fmt.Errorf("GET %s: body larger than %d bytes", u, maxDocumentBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: not a JSON document: %w", u, err)
	}
	return nil
}
