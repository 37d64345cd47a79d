package entra

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/auth"
)

func TestAcceptsEntraTokens(t *testing.T) {
	e := newEnv(t, nil)
	for _, ver := range []string{Version1, Version2} {
		t.Run("v"+ver, func(t *testing.T) {
			raw := e.mint(t, tok{ver: ver})
			p, err := e.v.Authenticate(context.Background(), e.request("Bearer "+raw))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			want := auth.Principal{
				Subject: "9b1f3c4e-0000-4000-8000-000000000001", AppID: AzureMonitorAppID,
				TenantID: testTenant, Roles: []string{testRole}, TokenVersion: ver,
			}
			if p.Subject != want.Subject || p.AppID != want.AppID || p.TenantID != want.TenantID ||
				p.TokenVersion != want.TokenVersion || len(p.Roles) != 1 || p.Roles[0] != testRole {
				t.Errorf("principal = %+v, want %+v", *p, want)
			}
		})
	}
}

func TestRejections(t *testing.T) {
	const (
		s401 = http.StatusUnauthorized
		s403 = http.StatusForbidden
	)
	cases := []struct {
		name   string
		mod    func(*Config)
		setup  func(t *testing.T, e *env)
		authz  func(t *testing.T, e *env) string
		status int
		reason string
	}{
		{name: "no header", authz: func(*testing.T, *env) string { return "" },
			status: s401, reason: ReasonMissingToken},
		{name: "not Bearer", authz: func(*testing.T, *env) string { return "Basic dXNlcjpwYXNzd29yZA==" },
			status: s401, reason: ReasonNotBearer},
		{name: "empty Bearer", authz: func(*testing.T, *env) string { return "Bearer " },
			status: s401, reason: ReasonMalformed},
		{name: "malformed", authz: func(*testing.T, *env) string { return "Bearer not-a-jwt" },
			status: s401, reason: ReasonMalformed},
		{name: "four segments", authz: func(t *testing.T, e *env) string { return "Bearer " + e.mint(t, tok{}) + ".x" },
			status: s401, reason: ReasonMalformed},
		{name: "header not JSON", authz: func(t *testing.T, e *env) string {
			_, p, s := segments(e.mint(t, tok{}))
			return "Bearer " + base64.RawURLEncoding.EncodeToString([]byte("{nope")) + "." + p + "." + s
		}, status: s401, reason: ReasonMalformed},
		{name: "padded base64", authz: func(t *testing.T, e *env) string {
			h, p, s := segments(e.mint(t, tok{}))
			return "Bearer " + h + "=." + p + "." + s
		}, status: s401, reason: ReasonMalformed},
		{name: "alg none", authz: func(t *testing.T, e *env) string {
			h, p, _ := segments(e.mint(t, tok{header: func(h map[string]any) { h["alg"] = "none" }}))
			return "Bearer " + h + "." + p + "."
		}, status: s401, reason: ReasonUnsupportedAlg},
		{name: "HS256 signed with the public key as secret", authz: func(t *testing.T, e *env) string {
			der, err := x509.MarshalPKIXPublicKey(&e.keys[0].priv.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			h, p, _ := segments(e.mint(t, tok{header: func(h map[string]any) { h["alg"] = "HS256" }}))
			mac := hmac.New(sha256.New, secret)
			mac.Write([]byte(h + "." + p))
			return "Bearer " + h + "." + p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		}, status: s401, reason: ReasonUnsupportedAlg},
		{name: "ES256", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{header: func(h map[string]any) { h["alg"] = "ES256" }})
		}, status: s401, reason: ReasonUnsupportedAlg},
		{name: "crit header", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{header: func(h map[string]any) { h["crit"] = []string{"exp"} }})
		}, status: s401, reason: ReasonMalformed},
		{name: "unknown kid", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{key: e.keys[3]})
		}, status: s401, reason: ReasonUnknownKey},
		{name: "kid of a rotated-out key",
			setup: func(t *testing.T, e *env) {
				e.iss.publish(e.keys[1])
				if err := e.v.Refresh(context.Background()); err != nil {
					t.Fatal(err)
				}
			},
			authz:  func(t *testing.T, e *env) string { return "Bearer " + e.mint(t, tok{key: e.keys[0]}) },
			status: s401, reason: ReasonUnknownKey},
		{name: "v2 token signed with a key only in the v1 key set",
			setup: func(t *testing.T, e *env) {
				e.iss.mu.Lock()
				e.iss.v1Keys = []*testKey{e.keys[0], e.keys[2]}
				e.iss.mu.Unlock()
				if err := e.v.Refresh(context.Background()); err != nil {
					t.Fatal(err)
				}
			},
			authz: func(t *testing.T, e *env) string {
				return "Bearer " + e.mint(t, tok{ver: Version2, key: e.keys[2]})
			}, status: s401, reason: ReasonUnknownKey},
		{name: "x5t of another key", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{header: func(h map[string]any) { h["x5t"] = e.keys[1].kid }})
		}, status: s401, reason: ReasonUnknownKey},
		{name: "tampered payload", authz: func(t *testing.T, e *env) string {
			h, _, s := segments(e.mint(t, tok{claims: func(c map[string]any) { c["roles"] = []string{} }}))
			_, p, _ := segments(e.mint(t, tok{}))
			return "Bearer " + h + "." + p + "." + s
		}, status: s401, reason: ReasonBadSignature},
		{name: "signature stripped", authz: func(t *testing.T, e *env) string {
			h, p, _ := segments(e.mint(t, tok{}))
			return "Bearer " + h + "." + p + "."
		}, status: s401, reason: ReasonBadSignature},
		{name: "signed by another key under our kid", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{key: e.keys[1], header: func(h map[string]any) {
				h["kid"], h["x5t"] = e.keys[0].kid, e.keys[0].kid
			}})
		}, status: s401, reason: ReasonBadSignature},
		{name: "wrong issuer", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { c["iss"] = "https://evil.example/" + testTenant + "/" }})
		}, status: s401, reason: ReasonWrongIssuer},
		{name: "issuer derived from authority for v1", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { c["iss"] = e.iss.srv.URL + "/" + testTenant + "/" }})
		}, status: s401, reason: ReasonWrongIssuer},
		{name: "v2 token with the v1 issuer", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{ver: Version2, claims: func(c map[string]any) { c["iss"] = e.iss.v1Issuer() }})
		}, status: s401, reason: ReasonWrongIssuer},
		{name: "v1 token with the v2 issuer", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { c["iss"] = e.iss.v2IssuerURL() }})
		}, status: s401, reason: ReasonWrongIssuer},
		{name: "wrong tenant", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) {
				c["tid"] = otherTenant
				c["iss"] = "https://sts.windows.net/" + otherTenant + "/"
			}})
		}, status: s403, reason: ReasonWrongTenant},
		{name: "no tid", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { delete(c, "tid") }})
		}, status: s401, reason: ReasonMalformed},
		{name: "wrong audience", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { c["aud"] = "https://management.azure.com/" }})
		}, status: s401, reason: ReasonWrongAudience},
		{name: "wrong app id (v1 appid)", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { c["appid"] = "04b07795-8ddb-461a-bbee-02f9e1bf7b46" }})
		}, status: s403, reason: ReasonWrongApp},
		{name: "wrong app id (v2 azp, right appid)", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{ver: Version2, claims: func(c map[string]any) {
				c["azp"] = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
				c["appid"] = AzureMonitorAppID
			}})
		}, status: s403, reason: ReasonWrongApp},
		{name: "missing role", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { c["roles"] = []string{"Reader"} }})
		}, status: s403, reason: ReasonMissingRole},
		{name: "no roles claim", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { delete(c, "roles") }})
		}, status: s403, reason: ReasonMissingRole},
		{name: "expired", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) {
				c["iat"], c["nbf"], c["exp"] = t0.Add(-2*time.Hour).Unix(), t0.Add(-2*time.Hour).Unix(), t0.Add(-6*time.Minute).Unix()
			}})
		}, status: s401, reason: ReasonExpired},
		{name: "no exp", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { delete(c, "exp") }})
		}, status: s401, reason: ReasonMalformed},
		{name: "not yet valid", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) {
				c["nbf"], c["exp"] = t0.Add(10*time.Minute).Unix(), t0.Add(70*time.Minute).Unix()
			}})
		}, status: s401, reason: ReasonNotYetValid},
		{name: "issued in the future", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { c["iat"] = t0.Add(10 * time.Minute).Unix() }})
		}, status: s401, reason: ReasonNotYetValid},
		{name: "exp in the year 5100", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) {
				c["exp"] = time.Date(5100, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
			}})
		}, status: s401, reason: ReasonLifetimeTooLong},
		{name: "exp in the year 5100 without iat", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) {
				delete(c, "iat")
				delete(c, "nbf")
				c["exp"] = time.Date(5100, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
			}})
		}, status: s401, reason: ReasonLifetimeTooLong},
		{name: "no iat, exp beyond max_token_lifetime plus clock_skew", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) {
				delete(c, "iat")
				delete(c, "nbf")
				c["exp"] = t0.Add(DefaultMaxTokenLifetime + DefaultClockSkew + time.Minute).Unix()
			}})
		}, status: s401, reason: ReasonLifetimeTooLong},
		{name: "29h lifetime, the longest CAE token is 28h", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) {
				c["iat"], c["nbf"] = t0.Add(-2*time.Hour).Unix(), t0.Add(-2*time.Hour).Unix()
				c["exp"] = t0.Add(27 * time.Hour).Unix()
			}})
		}, status: s401, reason: ReasonLifetimeTooLong},
		{name: "issued 2h ago for 3h, max_token_lifetime 2h",
			mod: func(c *Config) { c.MaxTokenLifetime = 2 * time.Hour },
			authz: func(t *testing.T, e *env) string {
				return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) {
					c["iat"], c["nbf"] = t0.Add(-2*time.Hour).Unix(), t0.Add(-2*time.Hour).Unix()
					c["exp"] = t0.Add(time.Hour).Unix()
				}})
			}, status: s401, reason: ReasonLifetimeTooLong},
		{name: "oversized", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { c["pad"] = strings.Repeat("x", 17<<10) }})
		}, status: s401, reason: ReasonTooLarge},
		{name: "v2 not accepted", mod: func(c *Config) { c.TokenVersions = []string{"1.0"} },
			authz:  func(t *testing.T, e *env) string { return "Bearer " + e.mint(t, tok{ver: Version2}) },
			status: s401, reason: ReasonUnsupportedVersion},
		{name: "unknown version", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { c["ver"] = "3.0" }})
		}, status: s401, reason: ReasonUnsupportedVersion},
		{name: "exp as a string", authz: func(t *testing.T, e *env) string {
			return "Bearer " + e.mint(t, tok{claims: func(c map[string]any) { c["exp"] = "1900000000" }})
		}, status: s401, reason: ReasonMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.mod)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			authz := tc.authz(t, e)
			_, err := e.v.Authenticate(context.Background(), e.request(authz))
			var ae *auth.Error
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *auth.Error", err)
			}
			if ae.Status != tc.status || ae.Reason != tc.reason {
				t.Fatalf("got %d %s (%s), want %d %s", ae.Status, ae.Reason, ae.Description, tc.status, tc.reason)
			}
			if ae.Description == "" {
				t.Error("empty description")
			}
			if _, tokenPart, ok := strings.Cut(authz, " "); ok && len(tokenPart) > 20 && strings.Contains(ae.Description, tokenPart) {
				t.Error("the description contains the token")
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			if len(e.rejected) == 0 || e.rejected[len(e.rejected)-1] != tc.reason {
				t.Errorf("Rejected hook saw %v, want last %s", e.rejected, tc.reason)
			}
		})
	}
}

func TestReasonsListed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons {
		if seen[r] {
			t.Errorf("reason %s listed twice", r)
		}
		seen[r] = true
	}
	if len(Reasons) != 16 {
		t.Errorf("Reasons has %d entries; update it with the constants", len(Reasons))
	}
}

func TestClockSkew(t *testing.T) {
	e := newEnv(t, nil)
	// Expired four minutes ago: inside the default 5m skew.
	raw := e.mint(t, tok{claims: func(c map[string]any) { c["exp"] = t0.Add(-4 * time.Minute).Unix() }})
	if _, err := e.v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("token expired inside the skew rejected: %v", err)
	}
	// nbf four minutes ahead: inside the skew.
	raw = e.mint(t, tok{claims: func(c map[string]any) { c["nbf"] = t0.Add(4 * time.Minute).Unix() }})
	if _, err := e.v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("token valid in 4m rejected: %v", err)
	}
}

// TestTokenLifetimeAccepted: every lifetime Entra ID issues passes the
// default max_token_lifetime, and a limit of 2h still takes the default
// 60 to 90 minute tokens.
func TestTokenLifetimeAccepted(t *testing.T) {
	// issued sets iat and nbf to t0 - ago and exp to iat + life; a zero
	// ago leaves iat and nbf out.
	issued := func(ago, life time.Duration) func(map[string]any) {
		return func(c map[string]any) {
			if ago == 0 {
				delete(c, "iat")
				delete(c, "nbf")
				c["exp"] = t0.Add(life).Unix()
				return
			}
			iat := t0.Add(-ago)
			c["iat"], c["nbf"], c["exp"] = iat.Unix(), iat.Unix(), iat.Add(life).Unix()
		}
	}
	cases := []struct {
		name   string
		mod    func(*Config)
		claims func(map[string]any)
	}{
		{name: "75 minutes, the average Entra ID token", claims: issued(time.Minute, 75*time.Minute)},
		{name: "90 minutes, the longest default token", claims: issued(89*time.Minute, 90*time.Minute)},
		{name: "10 minutes, the shortest lifetime policy", claims: issued(time.Minute, 10*time.Minute)},
		{name: "1 day, the longest lifetime policy", claims: issued(time.Minute, 24*time.Hour)},
		{name: "27h, a CAE token", claims: issued(time.Minute, 27*time.Hour)},
		{name: "28h, the longest CAE token", claims: issued(time.Minute, 28*time.Hour)},
		{name: "no iat, exp 28h ahead", claims: issued(0, 28*time.Hour)},
		{name: "no iat, exp 28h ahead plus the skew", claims: issued(0, 28*time.Hour+DefaultClockSkew)},
		{name: "75 minutes under a limit of 2h", mod: func(c *Config) { c.MaxTokenLifetime = 2 * time.Hour },
			claims: issued(time.Minute, 75*time.Minute)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.mod)
			for _, ver := range []string{Version1, Version2} {
				if _, err := e.v.Verify(context.Background(), e.mint(t, tok{ver: ver, claims: tc.claims})); err != nil {
					t.Errorf("v%s: %v", ver, err)
				}
			}
		})
	}
}

// TestCacheKeepsTokenOnlyForItsLifetime: a token refused for its lifetime
// is never cached, and a long-lived token leaves the cache when it
// expires (exp plus the skew), not later.
func TestCacheKeepsTokenOnlyForItsLifetime(t *testing.T) {
	e := newEnv(t, nil)
	far := e.mint(t, tok{claims: func(c map[string]any) { c["exp"] = time.Date(5100, 1, 1, 0, 0, 0, 0, time.UTC).Unix() }})
	for i := 0; i < 2; i++ {
		if _, err := e.v.Verify(context.Background(), far); asAuthError(t, err).Reason != ReasonLifetimeTooLong {
			t.Fatalf("attempt %d: %v, want %s", i, err, ReasonLifetimeTooLong)
		}
	}
	if n := e.v.cache.len(); n != 0 {
		t.Fatalf("the cache holds %d entries after refused tokens, want 0", n)
	}

	iat := t0.Add(-time.Minute)
	exp := iat.Add(28 * time.Hour)
	cae := e.mint(t, tok{claims: func(c map[string]any) { c["iat"], c["nbf"], c["exp"] = iat.Unix(), iat.Unix(), exp.Unix() }})
	for i := 0; i < 2; i++ {
		if _, err := e.v.Verify(context.Background(), cae); err != nil {
			t.Fatal(err)
		}
	}
	// Still accepted, from the cache, up to exp plus the skew.
	e.clock.advance(exp.Add(DefaultClockSkew).Sub(t0) - time.Second)
	if _, err := e.v.Verify(context.Background(), cae); err != nil {
		t.Fatalf("a second before exp + skew: %v", err)
	}
	e.clock.advance(2 * time.Second)
	if _, err := e.v.Verify(context.Background(), cae); asAuthError(t, err).Reason != ReasonExpired {
		t.Fatalf("after exp + skew: %v, want %s", err, ReasonExpired)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if want := []bool{false, true, true}; !slices.Equal(e.verified, want) {
		t.Errorf("Verified hook saw %v, want %v (one check, then the cache)", e.verified, want)
	}
}

func TestAudienceArrayAndCaseInsensitiveIDs(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TenantIDs = []string{strings.ToUpper(testTenant)} })
	raw := e.mint(t, tok{claims: func(c map[string]any) {
		c["aud"] = []string{"https://other", testAppIDURI}
		c["appid"] = strings.ToUpper(AzureMonitorAppID)
	}})
	if _, err := e.v.Verify(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
}

func TestCache(t *testing.T) {
	e := newEnv(t, nil)
	raw := e.mint(t, tok{})
	for i := 0; i < 3; i++ {
		p, err := e.v.Verify(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		p.Roles[0] = "mutated" // must not leak into the cache
	}
	p, err := e.v.Verify(context.Background(), raw)
	if err != nil || p.Roles[0] != testRole {
		t.Fatalf("cached principal = %+v, %v", p, err)
	}
	e.mu.Lock()
	got := e.verified
	e.mu.Unlock()
	if len(got) != 4 || got[0] || !got[1] || !got[3] {
		t.Fatalf("Verified hook saw %v, want one uncached then cached", got)
	}
	// The entry expires with the token (exp + skew).
	e.clock.advance(59*time.Minute + DefaultClockSkew + time.Second)
	_, err = e.v.Verify(context.Background(), raw)
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Reason != ReasonExpired {
		t.Fatalf("after expiry: %v, want %s", err, ReasonExpired)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newTokenCache(10)
	for i := 0; i < 100; i++ {
		c.put(hashToken(string(rune('a'+i))+"x"), &cacheEntry{expires: t0.Add(time.Hour)}, t0)
		if c.len() > 10 {
			t.Fatalf("cache holds %d entries, bound 10", c.len())
		}
	}
	// Expired entries go first.
	c = newTokenCache(2)
	c.put(hashToken("old"), &cacheEntry{expires: t0.Add(time.Second)}, t0)
	c.put(hashToken("live"), &cacheEntry{expires: t0.Add(time.Hour)}, t0)
	c.put(hashToken("new"), &cacheEntry{expires: t0.Add(time.Hour)}, t0.Add(time.Minute))
	if c.get(hashToken("live"), t0.Add(time.Minute)) == nil || c.get(hashToken("new"), t0.Add(time.Minute)) == nil {
		t.Fatal("live entries evicted before the expired one")
	}
}

func TestNotReadyIsNotARejection(t *testing.T) {
	e := &env{keys: keys(t, 5), clock: newFakeClock(t0)}
	e.iss = newTestIssuer(t, e.keys[0])
	e.iss.down.Store(true)
	e.v = e.start(t, nil, func(v *Verifier) { v.retryMin, v.retryMax = time.Millisecond, 10*time.Millisecond })
	waitFor(t, "a failed load", func() bool { return e.iss.fetches.Load() >= 2 })
	if err := e.v.Ready(); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Ready() = %v, want ErrNotReady with the cause", err)
	}
	_, err := e.v.Verify(context.Background(), e.mint(t, tok{}))
	var ae *auth.Error
	if errors.As(err, &ae) || !errors.Is(err, ErrNotReady) {
		t.Fatalf("Verify before ready = %v, want ErrNotReady and no *auth.Error", err)
	}
	e.iss.down.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.v.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Verify(context.Background(), e.mint(t, tok{})); err != nil {
		t.Fatal(err)
	}
}

func TestDescriptionsAreHeaderSafe(t *testing.T) {
	e := newEnv(t, nil)
	raw := e.mint(t, tok{header: func(h map[string]any) { h["alg"] = "RS256\"\r\nX-Evil: 1" }})
	_, err := e.v.Verify(context.Background(), raw)
	var ae *auth.Error
	if !errors.As(err, &ae) {
		t.Fatal(err)
	}
	if strings.ContainsAny(ae.Description, "\r\n") {
		t.Fatalf("description has a line break: %q", ae.Description)
	}
	b, _ := json.Marshal(ae)
	if len(b) == 0 {
		t.Fatal("unmarshalable error")
	}
}

func TestCacheDisabled(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CacheEntries = 0 })
	raw := e.mint(t, tok{})
	for i := 0; i < 2; i++ {
		if _, err := e.v.Verify(context.Background(), raw); err != nil {
			t.Fatal(err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.verified) != 2 || e.verified[0] || e.verified[1] {
		t.Fatalf("Verified hook saw %v, want two uncached checks", e.verified)
	}
}

func TestDescriptionsAreASCII(t *testing.T) {
	e := newEnv(t, nil)
	for _, raw := range []string{
		e.mint(t, tok{header: func(h map[string]any) { h["alg"] = "RS256é" + strings.Repeat("x", 40) }}),
		e.mint(t, tok{claims: func(c map[string]any) { c["aud"] = "api://ünïcode" }}),
		e.mint(t, tok{claims: func(c map[string]any) { c["iss"] = 7 }}),
	} {
		_, err := e.v.Verify(context.Background(), raw)
		ae := asAuthError(t, err)
		for _, r := range ae.Description {
			if r > 0x7e || r < 0x20 {
				t.Fatalf("description %q has a non-ASCII or control character", ae.Description)
			}
		}
	}
}
