package entra

import (
	"errors"
	"net/http"

	"github.com/itsm-connector/itsm-connector/host/auth"
)

// Rejection reasons: the stable Reason of every *auth.Error the verifier
// returns. They are metric labels and log fields, and the troubleshooting
// table of docs/entra-setup.md lists each one.
const (
	// 401: no usable token.
	ReasonMissingToken = "missing_token"
	ReasonNotBearer    = "not_bearer"
	ReasonTooLarge     = "token_too_large"
	ReasonMalformed    = "malformed_token"
	// 401: the token is not a genuine, current token for us.
	ReasonUnsupportedAlg     = "unsupported_algorithm"
	ReasonUnknownKey         = "unknown_signing_key"
	ReasonBadSignature       = "invalid_signature"
	ReasonExpired            = "expired"
	ReasonNotYetValid        = "not_yet_valid"
	ReasonLifetimeTooLong    = "lifetime_too_long"
	ReasonUnsupportedVersion = "unsupported_token_version"
	ReasonWrongIssuer        = "wrong_issuer"
	ReasonWrongAudience      = "wrong_audience"
	// 403: a genuine token from a caller that may not create work items.
	ReasonWrongTenant = "wrong_tenant"
	ReasonWrongApp    = "wrong_app"
	ReasonMissingRole = "missing_role"
)

// Reasons lists every rejection reason, for pre-registering metric labels.
var Reasons = []string{
	ReasonMissingToken, ReasonNotBearer, ReasonTooLarge, ReasonMalformed,
	ReasonUnsupportedAlg, ReasonUnknownKey, ReasonBadSignature, ReasonExpired,
	ReasonNotYetValid, ReasonLifetimeTooLong, ReasonUnsupportedVersion, ReasonWrongIssuer,
	ReasonWrongAudience, ReasonWrongTenant, ReasonWrongApp, ReasonMissingRole,
}

// ErrNotReady is returned (wrapped, and not as an *auth.Error) while no
// signing keys for the token's version have ever been loaded: the request
// should be answered 503 so that Azure Monitor retries it.
var ErrNotReady = errors.New("entra: signing keys not loaded yet")

func unauthorized(reason, desc string) *auth.Error {
	return &auth.Error{Status: http.StatusUnauthorized, Reason: reason, Description: desc}
}

func forbidden(reason, desc string) *auth.Error {
	return &auth.Error{Status: http.StatusForbidden, Reason: reason, Description: desc}
}
