// Package auth is the authentication step of the webhook: one interface that
// the Entra ID verifier (host/entra) and the explicit `auth "none" {}`
// implement.
package auth

import (
	"context"
	"net/http"
	"time"
)

// Principal is the verified caller of a webhook request.
type Principal struct {
	// Subject is the token's subject (the calling service principal).
	Subject string
	// AppID is the calling application (appid in v1 tokens, azp in v2).
	AppID string
	// TenantID is the caller's tenant.
	TenantID string
	// Roles are the app roles the token carries.
	Roles []string
	// TokenVersion is "1.0" or "2.0"; empty without a token.
	TokenVersion string
}

// Authenticator verifies a webhook request.
type Authenticator interface {
	// Authenticate returns the caller, or an *Error saying why not.
	Authenticate(ctx context.Context, r *http.Request) (*Principal, error)
}

// Readier is implemented by authenticators that need something before they
// can verify (signing keys); /readyz waits for it.
type Readier interface {
	Ready() error
}

// Error is a rejected request. Status is 401 for a missing or invalid token
// and 403 for a valid token that may not call us.
type Error struct {
	Status int
	// Reason is a short stable identifier, used as a log field and metric
	// label, e.g. "missing_token", "expired", "wrong_audience".
	Reason string
	// Description is the human explanation sent to the caller; it never
	// contains the token.
	Description string
}

func (e *Error) Error() string { return e.Reason + ": " + e.Description }

// Unavailable says a request cannot be checked now but can be later, for
// example while the signing key it names is looked up: the webhook
// answers 503 with Retry-After, which Azure Monitor retries.
type Unavailable struct {
	// Reason is a short stable identifier for logs, e.g.
	// "key_refresh_throttled".
	Reason string
	// RetryAfter is when a retry can succeed; zero leaves it to the caller.
	RetryAfter time.Duration
	// Description is the human explanation sent to the caller.
	Description string
}

func (e *Unavailable) Error() string { return e.Reason + ": " + e.Description }

// None accepts every request. It exists only when the config says
// `auth "none" {}`, and `validate` warns about it.
type None struct{}

// Authenticate accepts r without looking at it.
func (None) Authenticate(context.Context, *http.Request) (*Principal, error) {
	return &Principal{Subject: "anonymous"}, nil
}

var _ Authenticator = None{}
