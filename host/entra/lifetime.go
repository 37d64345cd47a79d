package entra

import (
	"time"

	"github.com/itsm-connector/itsm-connector/host/auth"
)

// checkTimes decides whether a token's time claims let it in at now: it
// has an exp, is not expired (exp + skew), not used before its nbf or iat
// (minus skew), and claims no more than maxLife. The lifetime is checked
// twice: exp - iat against maxLife, and exp - now against maxLife + skew,
// so that a token without iat cannot name a far future exp either. A
// token that passes stays acceptable (as far as its times go) until
// exp + skew, which is how long the verified-token cache keeps it.
func checkTimes(c *jwtClaims, now time.Time, skew, maxLife time.Duration) *auth.Error {
	if c.Exp == nil {
		return unauthorized(ReasonMalformed, "the token has no exp claim")
	}
	exp := c.Exp.t
	if now.After(exp.Add(skew)) {
		return unauthorized(ReasonExpired, "the token expired at "+rfc3339(exp))
	}
	if c.Nbf != nil && now.Add(skew).Before(c.Nbf.t) {
		return unauthorized(ReasonNotYetValid, "the token is not valid before "+rfc3339(c.Nbf.t)+"; check the clocks")
	}
	if c.Iat != nil && now.Add(skew).Before(c.Iat.t) {
		return unauthorized(ReasonNotYetValid, "the token was issued in the future, at "+rfc3339(c.Iat.t)+"; check the clocks")
	}
	// time.Time.Sub saturates, so a far exp cannot overflow past the limit.
	if c.Iat != nil && exp.Sub(c.Iat.t) > maxLife {
		return unauthorized(ReasonLifetimeTooLong, "the token was issued at "+rfc3339(c.Iat.t)+" to expire at "+rfc3339(exp)+
			", a lifetime longer than "+fmtDuration(maxLife)+" (max_token_lifetime); Entra ID tokens live at most 28h")
	}
	if exp.Sub(now) > maxLife+skew {
		return unauthorized(ReasonLifetimeTooLong, "the token expires at "+rfc3339(exp)+", more than "+fmtDuration(maxLife)+
			" (max_token_lifetime) plus "+fmtDuration(skew)+" (clock_skew) from now; Entra ID tokens live at most 28h")
	}
	return nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
