package entra

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/auth"
)

// fetchesPerRound is what one refresh costs with one tenant and both
// versions: two discovery documents and two key sets.
const fetchesPerRound = 4

func TestStartFetchesOneRound(t *testing.T) {
	e := newEnv(t, nil)
	if got := e.iss.fetches.Load(); got != fetchesPerRound {
		t.Fatalf("start made %d fetches, want %d", got, fetchesPerRound)
	}
}

func TestNewKeyAcceptedWithoutRestart(t *testing.T) {
	e := newEnv(t, nil)
	e.iss.publish(e.keys[0], e.keys[1])
	raw := e.mint(t, tok{key: e.keys[1]})

	// Inside min_refresh_interval of the start, the unknown kid does not
	// trigger a fetch.
	_, err := e.v.Verify(context.Background(), raw)
	if ae := asAuthError(t, err); ae.Reason != ReasonUnknownKey {
		t.Fatalf("got %s, want %s", ae.Reason, ReasonUnknownKey)
	}
	if got := e.iss.fetches.Load(); got != fetchesPerRound {
		t.Fatalf("%d fetches, want no new ones", got)
	}

	e.clock.advance(minRefreshInterval)
	if _, err := e.v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("token signed with the new key: %v", err)
	}
	if got := e.iss.fetches.Load(); got != 2*fetchesPerRound {
		t.Fatalf("%d fetches, want one more round (%d)", got, 2*fetchesPerRound)
	}
}

func TestIssuerDownKeepsLastGoodKeys(t *testing.T) {
	e := newEnv(t, nil)
	e.iss.down.Store(true)
	if err := e.v.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Refresh with the issuer down = %v, want its error", err)
	}
	for _, ver := range []string{Version1, Version2} {
		if _, err := e.v.Verify(context.Background(), e.mint(t, tok{ver: ver})); err != nil {
			t.Fatalf("v%s token after a failed refresh: %v", ver, err)
		}
	}
	if err := e.v.Ready(); err != nil {
		t.Fatalf("Ready after a failed refresh = %v; the old keys are still good", err)
	}
	// An unknown kid while down: rejected, not an internal error.
	e.clock.advance(minRefreshInterval)
	_, err := e.v.Verify(context.Background(), e.mint(t, tok{key: e.keys[2]}))
	if ae := asAuthError(t, err); ae.Reason != ReasonUnknownKey {
		t.Fatalf("got %s, want %s", ae.Reason, ReasonUnknownKey)
	}
}

func TestPeriodicRefresh(t *testing.T) {
	e := &env{keys: keys(t, 5), clock: newFakeClock(t0)}
	e.iss = newTestIssuer(t, e.keys[0])
	e.v = e.start(t, nil, func(v *Verifier) { v.cfg.RefreshEvery = 10 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.v.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	// The issuer goes down: periodic refreshes fail, old keys keep working.
	e.iss.down.Store(true)
	n := e.iss.fetches.Load()
	waitFor(t, "failed periodic refreshes", func() bool { return e.iss.fetches.Load() >= n+2*fetchesPerRound })
	if _, err := e.v.Verify(context.Background(), e.mint(t, tok{})); err != nil {
		t.Fatalf("after failed periodic refreshes: %v", err)
	}
	// Back up with a new key: a periodic refresh picks it up (the clock is
	// frozen, so no unknown-kid refresh can be the one that does).
	e.iss.publish(e.keys[1])
	e.iss.down.Store(false)
	waitFor(t, "the new key", func() bool {
		s := e.v.keys.current()
		return s.hasKey(Version1, e.keys[1].kid) && !s.hasKey(Version1, e.keys[0].kid)
	})
	if _, err := e.v.Verify(context.Background(), e.mint(t, tok{key: e.keys[1]})); err != nil {
		t.Fatal(err)
	}
}

func TestRandomKidFloodBoundedFetches(t *testing.T) {
	e := newEnv(t, nil)
	flood := func() {
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					var b [16]byte
					_, _ = rand.Read(b[:])
					kid := base64.RawURLEncoding.EncodeToString(b[:])
					raw := e.mint(t, tok{header: func(h map[string]any) { h["kid"], h["x5t"] = kid, kid }})
					_, err := e.v.Verify(context.Background(), raw)
					var ae *auth.Error
					if !errors.As(err, &ae) || ae.Reason != ReasonUnknownKey {
						t.Errorf("random kid: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	start := e.iss.fetches.Load()
	flood()
	if got := e.iss.fetches.Load() - start; got != 0 {
		t.Fatalf("400 random kids right after start caused %d fetches, want 0", got)
	}
	for round := 1; round <= 3; round++ {
		e.clock.advance(minRefreshInterval)
		flood()
		if got := e.iss.fetches.Load() - start; got != int64(round*fetchesPerRound) {
			t.Fatalf("after %d intervals of flooding: %d fetches, want %d", round, got, round*fetchesPerRound)
		}
	}
}

func TestRotationEvictsCachedTokens(t *testing.T) {
	e := newEnv(t, nil)
	raw := e.mint(t, tok{})
	if _, err := e.v.Verify(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	e.iss.publish(e.keys[1])
	if err := e.v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := e.v.Verify(context.Background(), raw)
	if ae := asAuthError(t, err); ae.Reason != ReasonUnknownKey {
		t.Fatalf("cached token of a removed key: got %s, want %s", ae.Reason, ReasonUnknownKey)
	}
}

func TestIssuerPlaceholderSubstituted(t *testing.T) {
	e := &env{keys: keys(t, 5), clock: newFakeClock(t0)}
	e.iss = newTestIssuer(t, e.keys[0])
	e.iss.v2Issuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
	e.v = e.start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.v.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	raw := e.mint(t, tok{ver: Version2, claims: func(c map[string]any) {
		c["iss"] = "https://login.microsoftonline.com/" + testTenant + "/v2.0"
	}})
	if _, err := e.v.Verify(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
}

func TestMultipleTenants(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TenantIDs = []string{testTenant, otherTenant} })
	if got := e.iss.fetches.Load(); got != 7 {
		t.Fatalf("start with two tenants made %d fetches, want 7 (4 documents, 3 distinct key sets)", got)
	}
	raw := e.mint(t, tok{claims: func(c map[string]any) {
		c["tid"] = otherTenant
		c["iss"] = "https://sts.windows.net/" + otherTenant + "/"
	}})
	if p, err := e.v.Verify(context.Background(), raw); err != nil || p.TenantID != otherTenant {
		t.Fatalf("second tenant: %+v, %v", p, err)
	}
	// A token of one tenant carrying the other's issuer.
	raw = e.mint(t, tok{claims: func(c map[string]any) { c["tid"] = otherTenant }})
	_, err := e.v.Verify(context.Background(), raw)
	if ae := asAuthError(t, err); ae.Reason != ReasonWrongIssuer {
		t.Fatalf("got %s, want %s", ae.Reason, ReasonWrongIssuer)
	}
}

func TestParseJWK(t *testing.T) {
	k := keys(t, 1)[0]
	good := k.jwk()
	str := func(m map[string]any, key string) string { s, _ := m[key].(string); return s }
	base := jsonWebKey{Kty: "RSA", Use: "sig", Kid: k.kid, N: str(good, "n"), E: str(good, "e")}
	cases := []struct {
		name    string
		mod     func(*jsonWebKey)
		skip    bool
		wantErr bool
	}{
		{name: "good"},
		{name: "EC key skipped", mod: func(j *jsonWebKey) { j.Kty = "EC" }, skip: true},
		{name: "encryption key skipped", mod: func(j *jsonWebKey) { j.Use = "enc" }, skip: true},
		{name: "PS256 key skipped", mod: func(j *jsonWebKey) { j.Alg = "PS256" }, skip: true},
		{name: "no kid", mod: func(j *jsonWebKey) { j.Kid = "" }, wantErr: true},
		{name: "small modulus", mod: func(j *jsonWebKey) { j.N = base64.RawURLEncoding.EncodeToString(make([]byte, 128)) }, wantErr: true},
		{name: "even exponent", mod: func(j *jsonWebKey) { j.E = "AQAA" }, wantErr: true},
		{name: "huge exponent", mod: func(j *jsonWebKey) { j.E = "AQAAAAAB" }, wantErr: true},
		{name: "bad base64", mod: func(j *jsonWebKey) { j.N = "!!" }, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := base
			if tc.mod != nil {
				tc.mod(&j)
			}
			pk, err := parseJWK(j)
			switch {
			case tc.wantErr:
				if err == nil {
					t.Fatal("want an error")
				}
			case tc.skip:
				if pk != nil || err != nil {
					t.Fatalf("want skipped, got %v, %v", pk, err)
				}
			default:
				if err != nil || pk == nil || pk.pub.N.Cmp(k.priv.N) != 0 {
					t.Fatalf("got %v, %v", pk, err)
				}
			}
		})
	}
}

func asAuthError(t *testing.T, err error) *auth.Error {
	t.Helper()
	var ae *auth.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an *auth.Error", err)
	}
	return ae
}
