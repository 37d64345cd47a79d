package entra

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// b64 decodes JWT segments: unpadded base64url, canonical only, so a
// token has exactly one spelling (and one cache entry).
var b64 = base64.RawURLEncoding.Strict()

// jwtHeader is the JOSE header fields the verifier looks at.
type jwtHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	X5t  string          `json:"x5t"`
	Crit json.RawMessage `json:"crit"`
}

// jwtClaims is the subset of Entra ID access token claims that is checked.
type jwtClaims struct {
	Iss   string       `json:"iss"`
	Aud   audience     `json:"aud"`
	Tid   string       `json:"tid"`
	AppID string       `json:"appid"`
	Azp   string       `json:"azp"`
	Roles []string     `json:"roles"`
	Exp   *numericDate `json:"exp"`
	Nbf   *numericDate `json:"nbf"`
	Iat   *numericDate `json:"iat"`
	Ver   string       `json:"ver"`
	Sub   string       `json:"sub"`
}

// audience is `aud`: a string, or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*a = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = audience{s}
	return nil
}

// numericDate is a JWT NumericDate: seconds since the epoch, a JSON number.
type numericDate struct{ t time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return errors.New("not a NumericDate")
	}
	sec, frac := math.Modf(f)
	d.t = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

// parsedToken is a token split and decoded, its signature not yet checked.
type parsedToken struct {
	header jwtHeader
	claims jwtClaims
	// signed is the signing input: header.payload.
	signed string
	sig    []byte
}

// parseToken splits and decodes raw. Errors are *auth.Error (malformed).
func parseToken(raw string) (*parsedToken, error) {
	h, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return nil, unauthorized(ReasonMalformed, "the token is not a JWT (header.payload.signature)")
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 {
		return nil, unauthorized(ReasonMalformed, "the token is not a JWT (header.payload.signature); encrypted tokens are not accepted")
	}
	if h == "" || p == "" {
		return nil, unauthorized(ReasonMalformed, "the token has an empty header or payload")
	}
	t := &parsedToken{signed: raw[:len(h)+1+len(p)]}

	hb, err := b64.DecodeString(h)
	if err != nil {
		return nil, unauthorized(ReasonMalformed, "the token header is not base64url")
	}
	if err := json.Unmarshal(hb, &t.header); err != nil {
		return nil, unauthorized(ReasonMalformed, "the token header is not a JSON object")
	}
	if t.header.Alg != "RS256" {
		return nil, unauthorized(ReasonUnsupportedAlg,
			"token algorithm "+quoteShort(t.header.Alg)+" is not accepted; Entra ID tokens are signed with RS256")
	}
	if len(t.header.Crit) > 0 {
		return nil, unauthorized(ReasonMalformed, "the token header has crit extensions, which are not supported")
	}
	if t.header.Kid == "" && t.header.X5t == "" {
		return nil, unauthorized(ReasonMalformed, "the token header names no signing key (kid or x5t)")
	}

	pb, err := b64.DecodeString(p)
	if err != nil {
		return nil, unauthorized(ReasonMalformed, "the token payload is not base64url")
	}
	if err := json.Unmarshal(pb, &t.claims); err != nil {
		return nil, unauthorized(ReasonMalformed, "the token payload is not a valid claims object: "+shortErr(err))
	}
	if s == "" {
		return nil, unauthorized(ReasonBadSignature, "the token is not signed")
	}
	if t.sig, err = b64.DecodeString(s); err != nil {
		return nil, unauthorized(ReasonMalformed, "the token signature is not base64url")
	}
	return t, nil
}

// quoteShort quotes an untrusted value for a description: bounded and
// ASCII-only, since descriptions end up in a response header.
func quoteShort(s string) string {
	if len(s) > 32 {
		return strconv.QuoteToASCII(s[:32]) + "..."
	}
	return strconv.QuoteToASCII(s)
}

// shortErr bounds a JSON error message (it may quote input).
func shortErr(err error) string {
	msg := err.Error()
	if len(msg) > 120 {
		msg = msg[:120] + "..."
	}
	return msg
}
