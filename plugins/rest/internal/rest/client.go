package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/rest/internal/jsonpath"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktext"
)

const (
	// maxResponse caps how much of a response is read.
	maxResponse = 4 << 20
	// maxErrorBody caps how much of a response body goes into an error.
	maxErrorBody = 4 << 10
)

// APIError is a failed exchange with the API. Its message carries the
// response body, bounded and with secrets removed, never credentials.
type APIError struct {
	// Exchange is the call, its Op the action block, e.g. "create: POST
	// /api/v2/tickets: HTTP 422".
	sdkhttp.Exchange
	// Body is the start of the response body.
	Body string
	// Failure is where a successful status reported the error in its body
	// (the action's result.error); empty for a failed status.
	Failure string
}

func (e *APIError) Error() string {
	msg := "rest: " + e.Exchange.String()
	if e.Failure != "" {
		msg += " reports a failure at result.error " + e.Failure
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// client sends the requests of one configuration.
type client struct {
	base      *url.URL
	http      *http.Client
	headers   http.Header
	auth      sdkhttp.Authenticator
	sign      *signer
	secrets   []bodySecret
	retryable statusSet
	redact    *redactor
	userAgent string
	now       func() time.Time
	log       func() *slog.Logger
}

// response is a successful exchange.
type response struct {
	status int
	header http.Header
	body   []byte
	// doc is the decoded JSON body; nil when the body is empty or not JSON.
	doc    any
	docErr error
}

// outcome says how a response that is not an error should be read.
type outcome int

const (
	outcomeOK outcome = iota
	outcomeNotFound
)

// do performs one action: builds the request from its rendered values and
// body (already final, or nil), sends it (see sdkhttp.Do: renewing the
// credential once after a 401), signs it, and classifies the answer.
func (c *client) do(ctx context.Context, a *action, av *ActionValues, body []byte) (*response, outcome, error) {
	u, err := target(c.base, av, a.name)
	if err != nil {
		return nil, 0, sdk.Permanent(fmt.Errorf("rest: %s: %w", a.name, err))
	}
	header := http.Header{"User-Agent": {c.userAgent}}
	for k, vs := range c.headers {
		header[k] = vs
	}
	for k, v := range av.Headers {
		if !validHeaderName(k) || strings.ContainsAny(v, "\r\n") {
			return nil, 0, sdk.Permanent(fmt.Errorf("rest: %s: headers: %q is not a valid header (name, or a value with a line break)", a.name, k))
		}
		header.Set(k, v)
	}
	var start time.Time
	var r *response
	var o outcome
	err = sdkhttp.Do(ctx, sdkhttp.Call{
		Client: c.http, Auth: c.auth, Op: "rest: " + a.name,
		Method: a.method, URL: u.String(), Path: u.Path, Body: body, Header: header,
		MaxBody: maxResponse, Redact: c.redact.apply,
		Prepare: func(req *http.Request) error {
			if c.sign != nil {
				c.sign.sign(req.Header, body)
			}
			start = c.now()
			return nil
		},
		Answered: func(resp *http.Response) {
			c.log().Debug("request", "action", a.name, "method", a.method, "path", u.Path,
				"status", resp.StatusCode, "duration", c.now().Sub(start).String())
		},
	}, func(resp *http.Response, raw []byte) error {
		var err error
		r, o, err = c.interpret(a, u, resp, raw)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return r, o, nil
}

// interpret classifies an answer by the action's status sets.
func (c *client) interpret(a *action, u *url.URL, resp *http.Response, raw []byte) (*response, outcome, error) {
	status := resp.StatusCode
	switch {
	case a.success.has(status):
		r := &response{status: status, header: resp.Header, body: raw}
		if len(bytes.TrimSpace(raw)) > 0 {
			r.doc, r.docErr = jsonpath.Decode(raw)
		}
		if a.failure != nil {
			if msg, failed := failure(r, a.failure); failed {
				// The API answered and refused: the same request would be
				// refused again.
				return nil, 0, sdk.Permanent(&APIError{Exchange: sdkhttp.Exchange{Op: a.name, Method: a.method, Path: u.Path, Status: status},
					Failure: a.failure.String(), Body: c.redact.apply(sdktext.Truncate(msg, maxErrorBody))})
			}
		}
		return r, outcomeOK, nil
	case a.notFound.has(status) && a.name != ActionCreate:
		// A create that finds nothing is a failure like any other.
		return nil, outcomeNotFound, nil
	}
	apiErr := &APIError{Exchange: sdkhttp.Exchange{Op: a.name, Method: a.method, Path: u.Path, Status: status},
		Body: c.redact.apply(sdkhttp.Snippet(raw, maxErrorBody))}
	switch {
	case c.retryable.has(status):
		return nil, 0, sdk.RetryableAfter(apiErr, sdk.ParseRetryAfter(resp.Header, c.now()))
	case status >= 300 && status < 400:
		if loc := resp.Header.Get("Location"); loc != "" {
			apiErr.Body = strings.TrimSpace("redirect to " + c.redact.apply(loc) + " (redirects are not followed; fix the URL) " + apiErr.Body)
		}
		return nil, 0, sdk.Permanent(apiErr)
	default:
		return nil, 0, sdk.Permanent(apiErr)
	}
}

// finalBody applies body_secrets (and extra settings such as find_ci's id)
// to a rendered body. A body that needs changes must be a JSON object.
func (c *client) finalBody(action string, rendered *string, extra []bodySecret) ([]byte, error) {
	if rendered == nil || *rendered == "" {
		if len(extra) > 0 {
			return nil, sdk.Permanent(fmt.Errorf("rest: %s: the body is empty, so %s cannot be written into it", action, extra[0].path))
		}
		return nil, nil
	}
	sets := append(append([]bodySecret(nil), c.secrets...), extra...)
	if len(sets) == 0 {
		return []byte(*rendered), nil
	}
	doc, err := jsonpath.Decode([]byte(*rendered))
	if err == nil {
		if _, isObj := doc.(map[string]any); !isObj {
			err = errors.New("it is not a JSON object")
		}
	}
	if err != nil {
		// Never quote the body: a secret could be in it.
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: body_secrets and find_ci.body_path need a JSON object body: %s", action, c.redact.apply(err.Error())))
	}
	for _, s := range sets {
		if doc, err = s.path.Set(doc, s.value); err != nil {
			return nil, sdk.Permanent(fmt.Errorf("rest: %s: write into the body: %w", action, err))
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, sdk.Permanent(fmt.Errorf("rest: %s: encode body: %w", action, err))
	}
	return out, nil
}
