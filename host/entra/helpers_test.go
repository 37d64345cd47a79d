package entra

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testTenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	otherTenant  = "0b4f8e8a-0000-4000-8000-000000000099"
	testAppIDURI = "api://itsm-connector-test"
	testClientID = "3f2a1c55-6d4e-4f8b-9a0c-1b2c3d4e5f60"
	testRole     = "ActionGroupsSecureWebhook"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testKey is a signing key with its kid.
type testKey struct {
	kid  string
	priv *rsa.PrivateKey
}

var (
	keysOnce sync.Once
	keyPool  []*testKey
)

// keys returns n distinct 2048-bit keys, generated once per test binary.
func keys(t testing.TB, n int) []*testKey {
	t.Helper()
	keysOnce.Do(func() {
		for i := 0; i < 5; i++ {
			priv, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			sum := sha256.Sum256(priv.N.Bytes())
			keyPool = append(keyPool, &testKey{kid: base64.RawURLEncoding.EncodeToString(sum[:20]), priv: priv})
		}
	})
	if n > len(keyPool) {
		t.Fatalf("keys: want %d, pool has %d", n, len(keyPool))
	}
	return keyPool[:n]
}

func (k *testKey) jwk() map[string]any {
	return map[string]any{
		"kty": "RSA", "use": "sig", "kid": k.kid, "x5t": k.kid,
		"n":   base64.RawURLEncoding.EncodeToString(k.priv.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.priv.E)).Bytes()),
		"x5c": []string{"MIIC8TCCAdmgAwIBAgIQ"}, "cloud_instance_name": "microsoftonline.com",
	}
}

// testIssuer is an Entra-shaped OpenID issuer on httptest whose key sets
// can change, go down, and count fetches.
type testIssuer struct {
	srv    *httptest.Server
	tenant string

	mu     sync.Mutex
	v1Keys []*testKey
	v2Keys []*testKey
	// v2Issuer overrides the v2 discovery issuer (e.g. with a placeholder).
	v2Issuer string

	down    atomic.Bool
	fetches atomic.Int64
	// stalled holds every answer until the test ends (a slow issuer).
	stalled atomic.Bool
	release chan struct{}
}

func newTestIssuer(t testing.TB, published ...*testKey) *testIssuer {
	t.Helper()
	ti := &testIssuer{tenant: testTenant, v1Keys: published, v2Keys: published, release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		tid := r.PathValue("tenant")
		writeTestJSON(w, map[string]any{
			"issuer":   "https://sts.windows.net/" + tid + "/",
			"jwks_uri": ti.srv.URL + "/common/discovery/keys",
		})
	})
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		tid := r.PathValue("tenant")
		ti.mu.Lock()
		iss := ti.v2Issuer
		ti.mu.Unlock()
		if iss == "" {
			iss = ti.srv.URL + "/" + tid + "/v2.0"
		}
		writeTestJSON(w, map[string]any{
			"issuer":   iss,
			"jwks_uri": ti.srv.URL + "/" + tid + "/discovery/v2.0/keys",
		})
	})
	mux.HandleFunc("GET /common/discovery/keys", func(w http.ResponseWriter, _ *http.Request) {
		ti.mu.Lock()
		defer ti.mu.Unlock()
		writeTestJSON(w, jwks(ti.v1Keys))
	})
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", func(w http.ResponseWriter, _ *http.Request) {
		ti.mu.Lock()
		defer ti.mu.Unlock()
		writeTestJSON(w, jwks(ti.v2Keys))
	})
	ti.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ti.fetches.Add(1)
		if ti.stalled.Load() {
			select {
			case <-ti.release:
			case <-r.Context().Done():
			}
			return
		}
		if ti.down.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ti.srv.Close)
	t.Cleanup(func() { close(ti.release) }) // runs first: stalled answers end
	return ti
}

// withKeyWait shortens how long a request waits for a key refresh.
func withKeyWait(d time.Duration) Option { return func(v *Verifier) { v.keyWait = d } }

// publish replaces both key sets.
func (ti *testIssuer) publish(ks ...*testKey) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.v1Keys, ti.v2Keys = ks, ks
}

func (ti *testIssuer) v1Issuer() string { return "https://sts.windows.net/" + ti.tenant + "/" }
func (ti *testIssuer) v2IssuerURL() string {
	return ti.srv.URL + "/" + ti.tenant + "/v2.0"
}

func jwks(ks []*testKey) map[string]any {
	list := []any{
		// Entries the verifier must skip.
		map[string]any{"kty": "EC", "use": "sig", "kid": "ec-key", "crv": "P-256", "x": "AA", "y": "AA"},
		map[string]any{"kty": "RSA", "use": "enc", "kid": "enc-key", "n": "AQAB", "e": "AQAB"},
	}
	for _, k := range ks {
		list = append(list, k.jwk())
	}
	return map[string]any{"keys": list}
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// fakeClock is a settable clock shared by the verifier and the test.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is a verifier wired to a test issuer.
type env struct {
	iss   *testIssuer
	clock *fakeClock
	v     *Verifier
	keys  []*testKey

	mu       sync.Mutex
	rejected []string
	verified []bool
	// unknown counts Hooks.UnknownKey outcomes.
	unknown map[string]int
}

// unknownOutcomes returns a copy of the UnknownKey outcome counts.
func (e *env) unknownOutcomes() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.unknown)
}

// newEnv starts an issuer publishing the first key of the pool and a
// ready verifier. mod adjusts the config.
func newEnv(t testing.TB, mod func(*Config), opts ...Option) *env {
	t.Helper()
	e := &env{keys: keys(t, 5), clock: newFakeClock(t0)}
	e.iss = newTestIssuer(t, e.keys[0])
	e.v = e.start(t, mod, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.v.WaitReady(ctx); err != nil {
		t.Fatalf("verifier not ready: %v", err)
	}
	return e
}

func (e *env) start(t testing.TB, mod func(*Config), opts ...Option) *Verifier {
	t.Helper()
	cfg := DefaultConfig()
	cfg.TenantIDs = []string{testTenant}
	cfg.Audiences = []string{testAppIDURI, testClientID}
	cfg.RequiredRoles = []string{testRole}
	cfg.Authority = e.iss.srv.URL
	if mod != nil {
		mod(&cfg)
	}
	all := append([]Option{
		WithHTTPClient(e.iss.srv.Client()),
		WithClock(e.clock.now),
		WithHooks(Hooks{
			Rejected: func(r string) { e.mu.Lock(); e.rejected = append(e.rejected, r); e.mu.Unlock() },
			Verified: func(c bool) { e.mu.Lock(); e.verified = append(e.verified, c); e.mu.Unlock() },
			UnknownKey: func(o string) {
				e.mu.Lock()
				defer e.mu.Unlock()
				if e.unknown == nil {
					e.unknown = map[string]int{}
				}
				e.unknown[o]++
			},
		}),
	}, opts...)
	v, err := New(context.Background(), cfg, all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// tok describes a token to mint; the zero value is a valid v1 token
// signed with key 0.
type tok struct {
	ver    string
	key    *testKey
	header func(map[string]any)
	claims func(map[string]any)
}

func (e *env) mint(t testing.TB, spec tok) string {
	t.Helper()
	if spec.ver == "" {
		spec.ver = Version1
	}
	if spec.key == nil {
		spec.key = e.keys[0]
	}
	h := map[string]any{"typ": "JWT", "alg": "RS256", "kid": spec.key.kid}
	iat := t0.Add(-time.Minute).Unix()
	c := map[string]any{
		"iat": iat, "nbf": iat, "exp": t0.Add(59 * time.Minute).Unix(),
		"aio": "E2ZgYJh", "oid": "9b1f3c4e-0000-4000-8000-000000000001",
		"sub": "9b1f3c4e-0000-4000-8000-000000000001", "rh": "0.AQ",
		"tid": e.iss.tenant, "uti": "abc", "ver": spec.ver,
		"roles": []string{testRole},
	}
	if spec.ver == Version1 {
		h["x5t"] = spec.key.kid
		c["iss"] = e.iss.v1Issuer()
		c["idp"] = e.iss.v1Issuer()
		c["aud"] = testAppIDURI
		c["appid"] = AzureMonitorAppID
		c["appidacr"] = "2"
	} else {
		c["iss"] = e.iss.v2IssuerURL()
		c["aud"] = testClientID
		c["azp"] = AzureMonitorAppID
		c["azpacr"] = "2"
		c["idtyp"] = "app"
	}
	if spec.header != nil {
		spec.header(h)
	}
	if spec.claims != nil {
		spec.claims(c)
	}
	return signRS256(t, spec.key.priv, h, c)
}

func encodeSegments(t testing.TB, h, c map[string]any) string {
	t.Helper()
	hb, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
}

func signRS256(t testing.TB, priv *rsa.PrivateKey, h, c map[string]any) string {
	t.Helper()
	signed := encodeSegments(t, h, c)
	d := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// segments splits a token into its three parts.
func segments(tok string) (string, string, string) {
	p := strings.SplitN(tok, ".", 3)
	return p[0], p[1], p[2]
}

func (e *env) request(authz string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/alerts", nil)
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return r
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
