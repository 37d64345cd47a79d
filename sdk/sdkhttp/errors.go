package sdkhttp

import (
	"errors"
	"net/http"
	"net/url"
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
