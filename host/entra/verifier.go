// Package entra verifies the Entra ID (Azure AD) bearer tokens that Azure
// Monitor action groups send with a Secure Webhook, as strictly as
// Microsoft's guidance asks: RS256 only, the key named by kid from the
// JWKS of the token version's discovery document, the issuer published in
// that document, the configured tenants, audiences, calling apps and app
// roles, and the token's lifetime with a clock skew.
//
// Signing keys load in the background (Ready reports until they have), are
// refreshed periodically and on an unknown kid (single-flight, within a
// budget; a kid that cannot be looked up now is a 503, see unknownkey.go),
// and the last good keys stay in use when a refresh fails.
// Verified tokens are cached by their SHA-256 until they expire, so Azure's
// hour-long token reuse costs one signature check per token.
package entra

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"

	"github.com/itsm-connector/itsm-connector/host/auth"
)

// Hooks receive verification events, typically to count them as metrics.
// Each hook may be nil and must be cheap and safe for concurrent use.
type Hooks struct {
	// Rejected is called with the Reason of every rejected token.
	Rejected func(reason string)
	// Verified is called for every accepted token; cached says the
	// signature check was skipped thanks to the cache.
	Verified func(cached bool)
	// KeysRefreshed is called after every key refresh round with its
	// trigger ("start", "periodic", "unknown_kid", "manual") and error.
	KeysRefreshed func(trigger string, err error)
	// UnknownKey is called with the outcome (UnknownKeyOutcomes) of every
	// token whose key was not in the key set when it arrived.
	UnknownKey func(outcome string)
}

// Option customizes a Verifier.
type Option func(*Verifier)

// WithHTTPClient sets the client used for discovery documents and key sets
// (default: a client with a 10s timeout).
func WithHTTPClient(c *http.Client) Option { return func(v *Verifier) { v.client = c } }

// WithLogger sets the logger for key loading events. Tokens are never logged.
func WithLogger(l hclog.Logger) Option { return func(v *Verifier) { v.log = l } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// WithHooks sets the event hooks.
func WithHooks(h Hooks) Option { return func(v *Verifier) { v.hooks = h } }

// Verifier checks Entra ID tokens. It implements auth.Authenticator and
// auth.Readier and is safe for concurrent use.
type Verifier struct {
	cfg    Config
	client *http.Client
	log    hclog.Logger
	now    func() time.Time
	hooks  Hooks

	keys *keyManager
	// cache is nil when disabled.
	cache *tokenCache

	tenants   map[string]bool
	audiences map[string]bool
	apps      map[string]bool

	cancel context.CancelFunc
	wg     sync.WaitGroup
	// retryMin and retryMax bound the backoff between failed loads before
	// the keys are first loaded and after a failed periodic refresh.
	retryMin, retryMax time.Duration
	// keyWait bounds a request's wait for a key refresh (unknownKidWait).
	keyWait time.Duration
}

var (
	_ auth.Authenticator = (*Verifier)(nil)
	_ auth.Readier       = (*Verifier)(nil)
)

// New validates cfg and returns a Verifier that starts loading signing
// keys in the background; it does not wait for them (see Ready and
// WaitReady). Background work stops when ctx is cancelled or Close is
// called. Start from DefaultConfig: every field is used as it is.
func New(ctx context.Context, cfg Config, opts ...Option) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.normalized()
	v := &Verifier{
		cfg:       cfg,
		client:    &http.Client{Timeout: 10 * time.Second},
		log:       hclog.NewNullLogger(),
		now:       time.Now,
		tenants:   setOf(cfg.TenantIDs),
		audiences: setOf(cfg.Audiences),
		apps:      setOf(cfg.AllowedAppIDs),
		retryMin:  time.Second,
		retryMax:  time.Minute,
	}
	if cfg.CacheEntries > 0 {
		v.cache = newTokenCache(cfg.CacheEntries)
	}
	for _, o := range opts {
		o(v)
	}
	bg, cancel := context.WithCancel(ctx)
	v.cancel = cancel
	v.keys = &keyManager{
		cfg:    cfg,
		client: v.client,
		log:    v.log,
		now:    v.now,
		hooks:  v.hooks,
		wait:   v.keyWait,
		onSwap: v.evictRotated,
		ready:  make(chan struct{}),
		bg:     bg,
	}
	v.wg.Add(1)
	go v.refreshLoop(bg)
	return v, nil
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

// Ready returns nil once the discovery documents and key sets of every
// configured tenant and token version have been loaded; before that it
// wraps ErrNotReady with the last loading error.
func (v *Verifier) Ready() error { return v.keys.readyErr() }

// WaitReady blocks until Ready would return nil or ctx ends.
func (v *Verifier) WaitReady(ctx context.Context) error {
	select {
	case <-v.keys.ready:
		return nil
	case <-ctx.Done():
		if err := v.Ready(); err != nil {
			return fmt.Errorf("%w (%v)", err, ctx.Err())
		}
		return nil
	}
}

// Refresh reloads the discovery documents and key sets now (joining a
// refresh in flight) and returns its error; the last good keys stay in
// use on failure.
func (v *Verifier) Refresh(ctx context.Context) error {
	return v.keys.refresh(ctx, "manual")
}

// Close stops background key refreshes and waits for them to end.
func (v *Verifier) Close() error {
	v.cancel()
	v.wg.Wait()
	v.keys.running.Wait()
	return nil
}

// refreshLoop loads the keys at start, retrying with backoff until they
// are complete, then refreshes every RefreshEvery (sooner after a failure).
func (v *Verifier) refreshLoop(ctx context.Context) {
	defer v.wg.Done()
	trigger := "start"
	backoff := v.retryMin
	for {
		err := v.keys.refresh(ctx, trigger)
		if ctx.Err() != nil {
			return
		}
		wait := v.cfg.RefreshEvery
		if err != nil || v.Ready() != nil {
			wait = min(backoff, v.cfg.RefreshEvery)
			backoff = min(backoff*2, v.retryMax)
		} else {
			backoff = v.retryMin
			trigger = "periodic"
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// evictRotated drops cached tokens whose signing key left the key set.
func (v *Verifier) evictRotated(_, next *snapshot) {
	if v.cache == nil {
		return
	}
	v.cache.purge(func(e *cacheEntry) bool { return !next.hasKey(e.version, e.kid) })
}

// Authenticate verifies the bearer token of r's Authorization header.
func (v *Verifier) Authenticate(ctx context.Context, r *http.Request) (*auth.Principal, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
		return nil, v.reject(unauthorized(ReasonMissingToken, "the request has no Authorization header; "+
			"configure the action group's webhook as a Secure Webhook"))
	}
	if len(vals) > 1 {
		return nil, v.reject(unauthorized(ReasonMalformed, "the request has more than one Authorization header"))
	}
	scheme, token, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// Never echo the header: another scheme may carry a password.
		return nil, v.reject(unauthorized(ReasonNotBearer, "the Authorization header does not use the Bearer scheme"))
	}
	token = strings.TrimLeft(token, " ")
	if token == "" {
		return nil, v.reject(unauthorized(ReasonMalformed, "the Bearer token is empty"))
	}
	return v.Verify(ctx, token)
}

// Verify checks a raw token and returns its caller. A rejected token is an
// *auth.Error; an error wrapping ErrNotReady (or the context's error) means
// the token could not be checked yet and deserves a 503.
func (v *Verifier) Verify(ctx context.Context, raw string) (*auth.Principal, error) {
	if len(raw) > v.cfg.MaxTokenBytes {
		return nil, v.reject(unauthorized(ReasonTooLarge,
			fmt.Sprintf("the token is %d bytes, more than the limit of %d", len(raw), v.cfg.MaxTokenBytes)))
	}
	now := v.now()
	var h tokenHash
	if v.cache != nil {
		h = hashToken(raw)
		if e := v.cache.get(h, now); e != nil {
			if v.hooks.Verified != nil {
				v.hooks.Verified(true)
			}
			return clonePrincipal(&e.principal), nil
		}
	}
	e, err := v.verify(ctx, raw, now)
	if err != nil {
		if ae, ok := err.(*auth.Error); ok {
			return nil, v.reject(ae)
		}
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(h, e, now)
	}
	if v.hooks.Verified != nil {
		v.hooks.Verified(false)
	}
	return clonePrincipal(&e.principal), nil
}

func clonePrincipal(p *auth.Principal) *auth.Principal {
	c := *p
	c.Roles = slices.Clone(p.Roles)
	return &c
}

func (v *Verifier) reject(e *auth.Error) *auth.Error {
	if v.hooks.Rejected != nil {
		v.hooks.Rejected(e.Reason)
	}
	return e
}

// verify does the full check of an uncached token.
func (v *Verifier) verify(ctx context.Context, raw string, now time.Time) (*cacheEntry, error) {
	t, err := parseToken(raw)
	if err != nil {
		return nil, err
	}
	c := &t.claims

	// The version picks the discovery document, hence keys and issuer.
	ver := c.Ver
	if ver != Version1 && ver != Version2 {
		return nil, unauthorized(ReasonUnsupportedVersion, "the token's ver claim is "+quoteShort(ver)+", not \"1.0\" or \"2.0\"")
	}
	if !slices.Contains(v.cfg.TokenVersions, ver) {
		return nil, unauthorized(ReasonUnsupportedVersion, "v"+ver+" tokens are not accepted (token_versions); "+
			"check accessTokenAcceptedVersion in the app registration's manifest")
	}

	// Signature.
	snap := v.keys.current()
	if snap == nil || snap.keys[ver].empty() {
		return nil, fmt.Errorf("verifying a v%s token: %w", ver, v.keys.readyErr())
	}
	key := snap.keys[ver].find(t.header.Kid, t.header.X5t)
	if key == nil {
		// Maybe a key published since the last refresh (unknownkey.go).
		issued := now
		if c.Iat != nil && c.Iat.t.Before(now) {
			issued = c.Iat.t
		}
		if snap, err = v.keys.awaitKey(ctx, ver, t.header, issued); err != nil {
			return nil, err
		}
		key = snap.keys[ver].find(t.header.Kid, t.header.X5t)
	}
	if t.header.X5t != "" && key.x5t != "" && t.header.X5t != key.x5t {
		return nil, unauthorized(ReasonUnknownKey, "the token's x5t does not match the thumbprint of key "+quoteShort(key.kid))
	}
	if len(t.sig) != key.pub.Size() {
		return nil, unauthorized(ReasonBadSignature, "the token signature has the wrong length for its key")
	}
	if err := jwt.SigningMethodRS256.Verify(t.signed, t.sig, key.pub); err != nil {
		return nil, unauthorized(ReasonBadSignature, "the token signature does not verify; the token was altered or not issued by Entra ID")
	}

	// Lifetime.
	if err := checkTimes(c, now, v.cfg.ClockSkew, v.cfg.MaxTokenLifetime); err != nil {
		return nil, err
	}

	// Tenant, then the issuer that tenant publishes for this version.
	tid := strings.ToLower(c.Tid)
	if tid == "" {
		return nil, unauthorized(ReasonMalformed, "the token has no tid claim")
	}
	if !v.tenants[tid] {
		return nil, forbidden(ReasonWrongTenant, "tokens of tenant "+quoteShort(c.Tid)+" are not accepted (tenant_id)")
	}
	want := snap.issuers[source{tenant: tid, version: ver}]
	if want == "" {
		return nil, fmt.Errorf("verifying a v%s token of tenant %s: %w", ver, tid, v.keys.readyErr())
	}
	if c.Iss != want {
		other := Version2
		if ver == Version2 {
			other = Version1
		}
		if c.Iss != "" && c.Iss == snap.issuers[source{tenant: tid, version: other}] {
			return nil, unauthorized(ReasonWrongIssuer, "the token's iss is the issuer of v"+other+" tokens but its ver is "+ver)
		}
		return nil, unauthorized(ReasonWrongIssuer, "the token's iss "+quoteShort(c.Iss)+" is not "+strconv.QuoteToASCII(want)+
			", the issuer of v"+ver+" tokens for the tenant")
	}

	// Audience.
	audOK := false
	for _, a := range c.Aud {
		if v.audiences[a] {
			audOK = true
			break
		}
	}
	if !audOK {
		got := ""
		if len(c.Aud) > 0 {
			got = c.Aud[0]
		}
		return nil, unauthorized(ReasonWrongAudience, "the token's aud "+quoteShort(got)+
			" is not one of the configured audiences (audiences); it must be the app registration's Application ID URI or client ID")
	}

	// Caller and roles.
	app, claim := c.AppID, "appid"
	if ver == Version2 {
		app, claim = c.Azp, "azp"
	}
	if app == "" {
		return nil, forbidden(ReasonWrongApp, "the token has no "+claim+" claim naming the calling application")
	}
	if !v.apps[strings.ToLower(app)] {
		return nil, forbidden(ReasonWrongApp, "the calling application "+quoteShort(app)+" ("+claim+
			") is not allowed (allowed_app_ids); Azure Monitor action groups are "+AzureMonitorAppID)
	}
	for _, role := range v.cfg.RequiredRoles {
		if !slices.Contains(c.Roles, role) {
			return nil, forbidden(ReasonMissingRole, "the token lacks the app role "+strconv.QuoteToASCII(role)+
				" (required_roles); assign it to the calling service principal")
		}
	}

	return &cacheEntry{
		principal: auth.Principal{
			Subject:      c.Sub,
			AppID:        app,
			TenantID:     tid,
			Roles:        c.Roles,
			TokenVersion: ver,
		},
		expires: c.Exp.t.Add(v.cfg.ClockSkew),
		version: ver,
		kid:     keyName(jwtHeader{Kid: key.kid, X5t: key.x5t}),
	}, nil
}

func keyName(h jwtHeader) string {
	if h.Kid != "" {
		return h.Kid
	}
	return h.X5t
}
