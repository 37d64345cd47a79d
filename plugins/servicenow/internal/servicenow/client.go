package servicenow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// APIError is a failed exchange with the instance. Its message carries
// ServiceNow's error.message and error.detail, never credentials.
type APIError struct {
	// Exchange is the call, e.g. "create incident: POST
	// /api/now/table/incident: HTTP 400".
	sdkhttp.Exchange
	// Message and Detail are ServiceNow's error envelope, when it sent one.
	Message string
	Detail  string
	// Hint explains the failure to an operator when the plugin recognises it.
	Hint string
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("servicenow: " + e.Exchange.String())
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

// client talks to one instance.
type client struct {
	base string
	http *http.Client
	auth sdkhttp.Authenticator
	now  func() time.Time
}

// do sends cl (see sdkhttp.Do: Op, Method, Path below the base URL, Query
// and JSON are the caller's; the credential is renewed once after a 401)
// and decodes a JSON answer into out. Failures come back classified for
// the host.
func (c *client) do(ctx context.Context, cl sdkhttp.Call, out any) error {
	apiErr := &APIError{Exchange: sdkhttp.Exchange{Op: cl.Op, Method: cl.Method, Path: cl.Path}}
	cl.Client, cl.Auth, cl.URL, cl.Op = c.http, c.auth, c.base+cl.Path, "servicenow: "+cl.Op
	return sdkhttp.Do(ctx, cl, func(resp *http.Response, body []byte) error { return c.interpret(apiErr, resp, body, out) })
}

// interpret classifies an answer into apiErr and decodes a successful one.
func (c *client) interpret(apiErr *APIError, resp *http.Response, body []byte, out any) error {
	apiErr.Status = resp.StatusCode
	html := sdkhttp.LooksLikeHTML(resp.Header, body)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if html {
			apiErr.Message = "the instance answered with an HTML page instead of JSON"
			apiErr.Hint = "it is probably hibernating or under maintenance; wake it up, the call will be retried"
			return sdk.Retryable(apiErr)
		}
		if out == nil || len(bytes.TrimSpace(body)) == 0 {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			apiErr.Message = "undecodable JSON answer: " + err.Error()
			return sdk.Retryable(apiErr)
		}
		return nil
	}

	if html {
		apiErr.Message = "HTML error page"
		apiErr.Hint = "the instance may be hibernating, under maintenance or behind a proxy"
	} else {
		var env struct {
			Error struct {
				Message any `json:"message"`
				Detail  any `json:"detail"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &env) == nil {
			apiErr.Message, apiErr.Detail = text(env.Error.Message), text(env.Error.Detail)
		}
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		if apiErr.Hint == "" {
			apiErr.Hint = "check the credentials in the auth block"
		}
	case http.StatusTooManyRequests:
		if apiErr.Hint == "" {
			apiErr.Hint = "rate limited by the instance"
		}
	}
	return sdkhttp.Classify(resp.StatusCode, resp.Header, c.now(), apiErr)
}

// statusOf returns the HTTP status of a failed call, or 0.
func statusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// text renders an error envelope value; ServiceNow sends strings, null, and
// on some endpoints objects.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
