package sdk_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// TestFromHTTPStatus is the table of the one rule that classifies a failed
// HTTP answer; sdkhttp.Classify follows it too.
func TestFromHTTPStatus(t *testing.T) {
	tests := []struct {
		status int
		header http.Header
		kind   sdk.ErrorKind
		after  time.Duration
		says   string // in the message besides the status and msg
	}{
		// An answer the plugin took as a failure is the same next time.
		{http.StatusContinue, nil, sdk.KindPermanent, 0, ""},
		{http.StatusSwitchingProtocols, nil, sdk.KindPermanent, 0, ""},
		{http.StatusOK, nil, sdk.KindPermanent, 0, ""},
		{http.StatusAccepted, nil, sdk.KindPermanent, 0, ""},
		{http.StatusNoContent, nil, sdk.KindPermanent, 0, ""},
		// Plugins never follow redirects: the URL is wrong or has moved.
		{http.StatusMultipleChoices, nil, sdk.KindPermanent, 0, "redirect"},
		{http.StatusMovedPermanently, http.Header{"Location": {"/login"}}, sdk.KindPermanent, 0, "check the URL"},
		{http.StatusFound, nil, sdk.KindPermanent, 0, "redirect"},
		{http.StatusNotModified, nil, sdk.KindPermanent, 0, "redirect"},
		{http.StatusTemporaryRedirect, http.Header{"Retry-After": {"5"}}, sdk.KindPermanent, 0, "redirect"},
		{http.StatusPermanentRedirect, nil, sdk.KindPermanent, 0, "redirect"},
		// The request is wrong...
		{http.StatusBadRequest, nil, sdk.KindPermanent, 0, ""},
		{http.StatusUnauthorized, nil, sdk.KindPermanent, 0, ""},
		{http.StatusForbidden, nil, sdk.KindPermanent, 0, ""},
		{http.StatusNotFound, nil, sdk.KindPermanent, 0, ""},
		{http.StatusConflict, nil, sdk.KindPermanent, 0, ""},
		{http.StatusUnprocessableEntity, nil, sdk.KindPermanent, 0, ""},
		// ...except that it came too early or too often.
		{http.StatusRequestTimeout, nil, sdk.KindRetryable, 0, ""},
		{http.StatusTooEarly, nil, sdk.KindRetryable, 0, ""},
		{http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}, sdk.KindRetryable, 30 * time.Second, ""},
		// The server is in trouble.
		{http.StatusInternalServerError, nil, sdk.KindRetryable, 0, ""},
		{http.StatusBadGateway, nil, sdk.KindRetryable, 0, ""},
		{http.StatusServiceUnavailable, http.Header{"Retry-After": {"120"}}, sdk.KindRetryable, 2 * time.Minute, ""},
		{http.StatusGatewayTimeout, nil, sdk.KindRetryable, 0, ""},
		{599, nil, sdk.KindRetryable, 0, ""},
	}
	for _, tt := range tests {
		err := sdk.FromHTTPStatus(tt.status, tt.header, "create ticket: the backend's text")
		msg := err.Error()
		if sdk.KindOf(err) != tt.kind || sdk.RetryAfterOf(err) != tt.after {
			t.Errorf("FromHTTPStatus(%d) = %q (%s, after %v); want %s after %v", tt.status, msg, sdk.KindOf(err), sdk.RetryAfterOf(err), tt.kind, tt.after)
		}
		if !strings.Contains(msg, "HTTP ") || !strings.Contains(msg, "create ticket: the backend's text") || !strings.Contains(msg, tt.says) {
			t.Errorf("FromHTTPStatus(%d) = %q; want the status, the message and %q", tt.status, msg, tt.says)
		}
	}
}
