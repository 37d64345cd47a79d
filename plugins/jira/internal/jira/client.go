package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

// APIError is a failed exchange with Jira. Its message carries Jira's
// errorMessages and the fields it rejected, never credentials.
type APIError struct {
	// Exchange is the call, e.g. "create issue: POST /rest/api/3/issue:
	// HTTP 400".
	sdkhttp.Exchange
	// Messages are Jira's errorMessages.
	Messages []string
	// Fields are Jira's errors: field id → message.
	Fields map[string]string
	// FieldNames maps the ids in Fields to display names, when known.
	FieldNames map[string]string
	// Hint explains the failure to an operator when the plugin recognises it.
	Hint string
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("jira: " + e.Exchange.String())
	for _, m := range e.Messages {
		if m = strings.TrimSpace(m); m != "" {
			b.WriteString(": " + m)
		}
	}
	for _, id := range sdktext.SortedKeys(e.Fields) {
		name := id
		if n := e.FieldNames[id]; n != "" && n != id {
			name = fmt.Sprintf("%s (%s)", id, n)
		}
		fmt.Fprintf(&b, ": field %s: %s", name, e.Fields[id])
	}
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

// RejectedFields returns the ids of the fields Jira rejected, sorted.
func (e *APIError) RejectedFields() []string { return sdktext.SortedKeys(e.Fields) }

// client talks to one Jira site.
type client struct {
	base string
	http *http.Client
	auth sdkhttp.Authenticator
	now  func() time.Time
	// fieldNames names field ids in error messages, from the metadata
	// cache only (it never fetches).
	fieldNames func() map[string]string
}

// do sends cl (see sdkhttp.Do: Op, Method, Path below the base URL, Query
// and JSON are the caller's) and decodes a JSON answer into out. Failures
// come back classified for the host.
func (c *client) do(ctx context.Context, cl sdkhttp.Call, out any) error {
	return c.send(ctx, cl, false, out)
}

// doIssue is do for a call on an existing issue: a 404 means it was
// deleted.
func (c *client) doIssue(ctx context.Context, cl sdkhttp.Call, out any) error {
	return c.send(ctx, cl, true, out)
}

func (c *client) send(ctx context.Context, cl sdkhttp.Call, issue bool, out any) error {
	apiErr := &APIError{Exchange: sdkhttp.Exchange{Op: cl.Op, Method: cl.Method, Path: cl.Path}}
	cl.Client, cl.Auth, cl.URL, cl.Op = c.http, c.auth, c.base+cl.Path, "jira: "+cl.Op
	return sdkhttp.Do(ctx, cl, func(resp *http.Response, body []byte) error { return c.interpret(apiErr, issue, resp, body, out) })
}

// interpret classifies an answer into apiErr and decodes a successful one.
func (c *client) interpret(apiErr *APIError, issue bool, resp *http.Response, body []byte, out any) error {
	apiErr.Status = resp.StatusCode
	html := sdkhttp.LooksLikeHTML(resp.Header, body)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if html {
			apiErr.Messages = []string{"Jira answered with an HTML page instead of JSON"}
			apiErr.Hint = "check url: a login page, single sign-on or a proxy answered instead of the REST API"
			return sdk.Permanent(apiErr)
		}
		if out == nil || len(bytes.TrimSpace(body)) == 0 {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			apiErr.Messages = []string{"undecodable JSON answer: " + err.Error()}
			return sdk.Retryable(apiErr)
		}
		return nil
	}

	if html {
		apiErr.Messages = []string{"HTML error page"}
	} else {
		var env struct {
			ErrorMessages []string          `json:"errorMessages"`
			Errors        map[string]string `json:"errors"`
		}
		if json.Unmarshal(body, &env) == nil {
			apiErr.Messages, apiErr.Fields = env.ErrorMessages, env.Errors
		}
		if len(apiErr.Messages) == 0 && len(apiErr.Fields) == 0 {
			apiErr.Messages = []string{http.StatusText(resp.StatusCode)}
		}
	}
	if len(apiErr.Fields) > 0 && c.fieldNames != nil {
		apiErr.FieldNames = c.fieldNames()
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		apiErr.Hint = "check the credentials in the auth block (Cloud: email and api_token; Data Center: a personal access token or username and password)"
	case http.StatusForbidden:
		apiErr.Hint = "the account lacks a permission in the project (browse, create, edit, comment or transition issues)"
	case http.StatusTooManyRequests:
		apiErr.Hint = "rate limited by Jira"
	case http.StatusNotFound:
		if issue {
			apiErr.Hint = "the issue was deleted or the account can no longer see it"
			return sdk.NotFound(apiErr)
		}
	case http.StatusGone:
		apiErr.Hint = "this API was removed from the site; check flavor"
	}
	return sdkhttp.Classify(resp.StatusCode, retryHeader(resp.Header), c.now(), apiErr)
}

// retryHeader keeps Retry-After only: Jira Cloud's X-RateLimit-Reset is an
// ISO timestamp, which sdk.ParseRetryAfter would misread as epoch seconds.
func retryHeader(h http.Header) http.Header {
	if v := h.Get("Retry-After"); v != "" {
		return http.Header{"Retry-After": {v}}
	}
	return nil
}
