package entra

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"maps"
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
	// Entra ID publishes a key, then signs a token with it.
	e.clock.advance(time.Minute)
	e.iss.publish(e.keys[0], e.keys[1])
	raw := e.mint(t, tok{key: e.keys[1], claims: issuedNow(e)})
	if _, err := e.v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("token signed with the new key: %v", err)
	}
	if got := e.iss.fetches.Load(); got != 2*fetchesPerRound {
		t.Fatalf("%d fetches, want one more round (%d)", got, 2*fetchesPerRound)
	}
}

// TestUnknownKidOfATokenIssuedBeforeTheLastRefresh: a refresh that
// started after the token was issued already had every key Entra ID could
// have signed it with, so the kid is rejected without another fetch.
func TestUnknownKidOfATokenIssuedBeforeTheLastRefresh(t *testing.T) {
	e := newEnv(t, nil)
	e.clock.advance(time.Minute)
	raw := e.mint(t, tok{key: e.keys[1]}) // issued before the start's refresh
	_, err := e.v.Verify(context.Background(), raw)
	if ae := asAuthError(t, err); ae.Reason != ReasonUnknownKey {
		t.Fatalf("got %s, want %s", ae.Reason, ReasonUnknownKey)
	}
	if got := e.iss.fetches.Load(); got != fetchesPerRound {
		t.Fatalf("%d fetches, want none after the start", got-fetchesPerRound)
	}
}

// TestRotationAfterKidFlood: forged tokens with random kids use up the
// unknown-kid refresh budget; a token signed by a key published after that
// gets 503 with a Retry-After of at most unknownKidEvery (Azure retries
// 503), never 401 (Azure does not retry 401), and is accepted on the retry.
func TestRotationAfterKidFlood(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	// The burst: each forged token, a second after the previous one,
	// costs one refresh round and is rejected after it.
	for i := 1; i <= unknownKidBurst; i++ {
		e.clock.advance(time.Second)
		_, err := e.v.Verify(ctx, e.forged(t))
		if ae := asAuthError(t, err); ae.Reason != ReasonUnknownKey {
			t.Fatalf("forged token %d: got %s, want %s", i, ae.Reason, ReasonUnknownKey)
		}
		if got := e.iss.fetches.Load(); got != int64(1+i)*fetchesPerRound {
			t.Fatalf("after forged token %d: %d fetches, want %d", i, got, (1+i)*fetchesPerRound)
		}
	}
	// Then the flood: throttled, no fetch.
	e.clock.advance(time.Second)
	flood(t, e, 8, 50, func(err error) bool {
		u, ok := asUnavailable(err)
		return ok && u.Reason == "key_refresh_throttled" && u.RetryAfter > 0 && u.RetryAfter <= unknownKidEvery
	})
	fetched := e.iss.fetches.Load()
	if fetched != (1+unknownKidBurst)*fetchesPerRound {
		t.Fatalf("the flood caused %d fetches", fetched-(1+unknownKidBurst)*fetchesPerRound)
	}

	// Entra ID rotates: a new key, and a genuine token signed with it.
	e.clock.advance(time.Second)
	e.iss.publish(e.keys[0], e.keys[2])
	raw := e.mint(t, tok{key: e.keys[2], claims: issuedNow(e)})
	_, err := e.v.Verify(ctx, raw)
	u, ok := asUnavailable(err)
	if !ok {
		t.Fatalf("genuine token with a new key right after the flood: %v, want 503 (auth.Unavailable)", err)
	}
	if u.RetryAfter <= 0 || u.RetryAfter > unknownKidEvery {
		t.Fatalf("Retry-After %v, want within (0, %v]", u.RetryAfter, unknownKidEvery)
	}
	// Azure retries after Retry-After: accepted, with one more round.
	e.clock.advance(u.RetryAfter)
	if _, err := e.v.Verify(ctx, raw); err != nil {
		t.Fatalf("retry after %v: %v", u.RetryAfter, err)
	}
	if got := e.iss.fetches.Load(); got != fetched+fetchesPerRound {
		t.Fatalf("%d fetches for the retry, want one round (%d)", got-fetched, fetchesPerRound)
	}
	want := map[string]int{UnknownKeyRejected: unknownKidBurst, UnknownKeyThrottled: 400 + 1, UnknownKeyFound: 1}
	if got := e.unknownOutcomes(); !maps.Equal(got, want) {
		t.Errorf("unknown-key outcomes %v, want %v", got, want)
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
	// An unknown kid while down: TestIssuerDownUnknownKid.
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

// TestRandomKidFloodBoundedFetches: however many forged kids arrive, the
// issuer sees at most unknownKidBurst refresh rounds plus one per
// unknownKidEvery, concurrent unknown kids share one round, and every
// forged token gets 401 or a throttled 503.
func TestRandomKidFloodBoundedFetches(t *testing.T) {
	e := newEnv(t, nil)
	start := e.iss.fetches.Load()
	const step, steps = 10 * time.Second, 30
	for i := 1; i <= steps; i++ {
		e.clock.advance(step)
		before := e.iss.fetches.Load()
		flood(t, e, 4, 5, func(err error) bool {
			if ae, ok := err.(*auth.Error); ok {
				return ae.Reason == ReasonUnknownKey
			}
			u, ok := asUnavailable(err)
			return ok && u.Reason == "key_refresh_throttled"
		})
		if got := e.iss.fetches.Load() - before; got > fetchesPerRound {
			t.Fatalf("step %d: 20 concurrent forged tokens caused %d fetches, want at most one round (%d)", i, got, fetchesPerRound)
		}
	}
	rounds := (e.iss.fetches.Load() - start) / fetchesPerRound
	limit := int64(unknownKidBurst) + int64(steps*step/unknownKidEvery)
	if rounds > limit {
		t.Fatalf("%d forged tokens over %v caused %d refresh rounds, want at most %d", steps*20, steps*step, rounds, limit)
	}
	// And the flood does not stop lookups: one per unknownKidEvery still
	// happens, so a genuine new key waits no longer than that.
	if floor := int64(steps * step / unknownKidEvery); rounds < floor {
		t.Fatalf("%d refresh rounds over %v of flooding, want at least %d", rounds, steps*step, floor)
	}
}

// TestIssuerDownUnknownKid: a kid that cannot be looked up because the
// issuer is down gets 503 with Retry-After, not 401; once the issuer is
// back, the retry is accepted.
func TestIssuerDownUnknownKid(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.clock.advance(time.Minute)
	e.iss.down.Store(true)
	e.iss.publish(e.keys[0], e.keys[1])
	raw := e.mint(t, tok{key: e.keys[1], claims: issuedNow(e)})
	_, err := e.v.Verify(ctx, raw)
	u, ok := asUnavailable(err)
	if !ok || u.Reason != "issuer_unavailable" || u.RetryAfter <= 0 {
		t.Fatalf("unknown kid with the issuer down: %v, want 503 issuer_unavailable with Retry-After", err)
	}
	// Known keys keep working.
	if _, err := e.v.Verify(ctx, e.mint(t, tok{})); err != nil {
		t.Fatalf("known key with the issuer down: %v", err)
	}
	e.iss.down.Store(false)
	e.clock.advance(u.RetryAfter)
	if _, err := e.v.Verify(ctx, raw); err != nil {
		t.Fatalf("retry with the issuer back: %v", err)
	}
	want := map[string]int{UnknownKeyIssuerUnavailable: 1, UnknownKeyFound: 1}
	if got := e.unknownOutcomes(); !maps.Equal(got, want) {
		t.Errorf("unknown-key outcomes %v, want %v", got, want)
	}
}

// issuedNow sets iat and nbf to the test clock's now and exp an hour on.
func issuedNow(e *env) func(map[string]any) {
	now := e.clock.now()
	return func(c map[string]any) {
		c["iat"], c["nbf"], c["exp"] = now.Unix(), now.Unix(), now.Add(time.Hour).Unix()
	}
}

// forged mints a token, issued now, naming a random key ID.
func (e *env) forged(t testing.TB) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	kid := base64.RawURLEncoding.EncodeToString(b[:])
	return e.mint(t, tok{header: func(h map[string]any) { h["kid"], h["x5t"] = kid, kid }, claims: issuedNow(e)})
}

// flood verifies workers×each forged tokens concurrently and fails the
// test for any answer ok does not accept.
func flood(t *testing.T, e *env, workers, each int, ok func(error) bool) {
	t.Helper()
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := e.v.Verify(context.Background(), e.forged(t)); !ok(err) {
					t.Errorf("forged token: unexpected answer %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func asUnavailable(err error) (*auth.Unavailable, bool) {
	var u *auth.Unavailable
	ok := errors.As(err, &u)
	return u, ok
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

// A request does not wait longer than the key wait for a refresh that
// hangs: it gets 503 issuer_unavailable with Retry-After (Azure retries);
// a request whose own context ends meanwhile gets that error.
func TestUnknownKidIssuerTooSlow(t *testing.T) {
	e := newEnv(t, nil, withKeyWait(50*time.Millisecond))
	e.clock.advance(time.Minute)
	e.iss.publish(e.keys[0], e.keys[1])
	e.iss.stalled.Store(true)
	raw := e.mint(t, tok{key: e.keys[1], claims: issuedNow(e)})
	_, err := e.v.Verify(context.Background(), raw)
	if u, ok := asUnavailable(err); !ok || u.Reason != "issuer_unavailable" || u.RetryAfter <= 0 {
		t.Fatalf("unknown kid while the refresh hangs: %v, want 503 issuer_unavailable with Retry-After", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.v.Verify(ctx, raw); !errors.Is(err, context.Canceled) {
		t.Fatalf("unknown kid with the request's context ended: %v, want context.Canceled", err)
	}
}
