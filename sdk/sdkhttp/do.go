package sdkhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// Call is one HTTP request for [Do].
type Call struct {
	// Client sends the request; build it with [NewClient].
	Client *http.Client
	// Auth adds credentials to each attempt; nil sends none.
	Auth Authenticator
	// Op prefixes every error, e.g. "acme: create ticket".
	Op string
	// Method and URL are the request's; Path is what errors show of the
	// URL (the path without the query, which may carry a key).
	Method, URL, Path string
	// Query is added to URL.
	Query url.Values
	// Body is sent as is, as application/json unless Header says
	// otherwise; nil sends no body.
	Body []byte
	// JSON, when not nil, is encoded as the body instead of Body; a value
	// that cannot be encoded is a permanent error.
	JSON any
	// Header is set on the request after Accept (application/json) and
	// Content-Type, so it may override them.
	Header http.Header
	// MaxBody caps how much of the answer is read (see [ReadBody]).
	MaxBody int64
	// Redact, when set, removes secrets from a transport error's text
	// (the error then keeps its class but not its cause).
	Redact func(string) string
	// Prepare, when set, runs on each attempt after Auth, just before the
	// request is sent (e.g. to sign it).
	Prepare func(*http.Request) error
	// Answered, when set, sees each answer that arrived (e.g. to log it).
	Answered func(*http.Response)
}

// Do sends c and hands the answer to interpret: it builds the request,
// adds credentials, sends it and reads the body; on a 401 it asks
// Auth.Renew and, when renewing can help, sends the request once more.
// A request that cannot be built is permanent, a failed exchange and an
// unreadable body retryable (see [TransportError]); everything else,
// including 401 after the renewal, is interpret's to classify, usually
// with [Classify].
func Do(ctx context.Context, c Call, interpret func(resp *http.Response, body []byte) error) error {
	auth := c.Auth
	if auth == nil {
		auth = NoAuth{}
	}
	if c.JSON != nil {
		var err error
		if c.Body, err = json.Marshal(c.JSON); err != nil {
			return sdk.Permanent(fmt.Errorf("%s: encode request: %w", c.Op, err))
		}
	}
	if len(c.Query) > 0 {
		c.URL += "?" + c.Query.Encode()
	}
	for attempt := 0; ; attempt++ {
		var rdr io.Reader
		if c.Body != nil {
			rdr = bytes.NewReader(c.Body)
		}
		req, err := http.NewRequestWithContext(ctx, c.Method, c.URL, rdr)
		if err != nil {
			return sdk.Permanent(fmt.Errorf("%s: build request: %w", c.Op, err))
		}
		req.Header.Set("Accept", "application/json")
		if len(c.Body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, vs := range c.Header {
			req.Header[k] = vs
		}
		if err := auth.Apply(ctx, req); err != nil {
			return err
		}
		if c.Prepare != nil {
			if err := c.Prepare(req); err != nil {
				return err
			}
		}
		resp, err := c.Client.Do(req)
		if err != nil {
			if c.Redact != nil {
				return sdk.Retryable(fmt.Errorf("%s: %s %s: %s", c.Op, c.Method, c.Path, c.Redact(TransportError(err).Error())))
			}
			return fmt.Errorf("%s: %s %s: %w", c.Op, c.Method, c.Path, TransportError(err))
		}
		body, err := ReadBody(resp, c.MaxBody)
		if c.Answered != nil {
			c.Answered(resp)
		}
		if err != nil {
			return sdk.Retryable(fmt.Errorf("%s: %s %s: %w", c.Op, c.Method, c.Path, err))
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && auth.Renew() {
			continue
		}
		return interpret(resp, body)
	}
}
