package sdkhttp

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// TransportError classifies a failed exchange that got no HTTP answer
// (connection refused, TLS failure, timeout) as retryable. It drops the
// URL that *url.Error adds: the caller's message names the call already,
// and a query string may carry a correlation key or, in a badly built
// request, a credential. Wrap the result with the call's context:
//
//	fmt.Errorf("acme: create ticket: POST /tickets: %w", sdkhttp.TransportError(err))
func TransportError(err error) error {
	if err == nil {
		return nil
	}
	return sdk.Retryable(withoutURL(err))
}

// withoutURL returns the cause of a *url.Error, or err itself.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Classify classifies a failed HTTP answer by [sdk.HTTPStatusKind], the
// rule of [sdk.FromHTTPStatus] (408, 425, 429 and 5xx retryable, every other
// status permanent, a redirect included: [NewClient] never follows one),
// but keeps cause, the plugin's own error value with the backend's message,
// as the error, and reads Retry-After (and X-RateLimit-Reset) from header
// against now, the plugin's clock. A plugin that knows a status means more
// (a 404 on an existing item: deleted) checks for it first.
func Classify(status int, header http.Header, now time.Time, cause error) error {
	if sdk.HTTPStatusKind(status) == sdk.KindRetryable {
		return sdk.RetryableAfter(cause, sdk.ParseRetryAfter(header, now))
	}
	return sdk.Permanent(cause)
}

// Exchange names one request and the status it was answered with: the
// start of a failed call's message, "create issue: POST /rest/api/3/issue:
// HTTP 400", the form [Do] uses for a failure without an answer. Embed it
// in your backend's error type, which adds the backend's own message:
//
//	type APIError struct {
//		sdkhttp.Exchange
//		Message string // from the backend's error envelope
//	}
//
//	func (e *APIError) Error() string { return "acme: " + e.Exchange.String() + ": " + e.Message }
type Exchange struct {
	// Op says what the plugin was doing, e.g. "create issue".
	Op     string
	Method string
	// Path is the URL path without the query, which may carry a key.
	Path   string
	Status int
}

// String is "<Op>: <Method> <Path>: HTTP <Status>".
func (x Exchange) String() string {
	return x.Op + ": " + x.Method + " " + x.Path + ": HTTP " + strconv.Itoa(x.Status)
}
