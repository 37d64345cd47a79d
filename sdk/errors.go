package sdk

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrorKind classifies a failed call so the host knows what to do next.
type ErrorKind string

// Error kinds.
const (
	// KindRetryable: try again later (network trouble, 429, 5xx).
	KindRetryable ErrorKind = "retryable"
	// KindPermanent: retrying cannot help (bad request, forbidden); the host
	// dead-letters the delivery.
	KindPermanent ErrorKind = "permanent"
	// KindNotFound: Request.Ref no longer exists remotely (deleted); the
	// host forgets it and creates a new work item.
	KindNotFound ErrorKind = "not_found"
)

// Error is a classified plugin error. Build it with [Retryable],
// [RetryableAfter], [Permanent], [NotFound] or [FromHTTPStatus]; an
// unclassified error reaching the host counts as retryable.
type Error struct {
	Kind ErrorKind
	// RetryAfter is the backend's requested delay, zero when it gave none.
	RetryAfter time.Duration
	// Err is the underlying cause; its message must not contain secrets.
	Err error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return string(e.Kind)
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Retryable marks err as worth retrying after the host's backoff.
func Retryable(err error) error { return &Error{Kind: KindRetryable, Err: err} }

// RetryableAfter marks err as worth retrying no sooner than after d.
func RetryableAfter(err error, d time.Duration) error {
	return &Error{Kind: KindRetryable, RetryAfter: d, Err: err}
}

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &Error{Kind: KindPermanent, Err: err} }

// NotFound reports that the referenced work item no longer exists.
func NotFound(err error) error { return &Error{Kind: KindNotFound, Err: err} }

// KindOf classifies err; an unclassified non-nil error is retryable, so a
// plugin that forgets to classify never loses an alert.
func KindOf(err error) ErrorKind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindRetryable
}

// RetryAfterOf returns the delay a retryable error asked for, or zero.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// FromHTTPStatus classifies a failed HTTP exchange by its status, with
// [HTTPStatusKind], honouring Retry-After (and X-RateLimit-Reset) when it is
// retryable. A plugin that knows a 404 means the item was deleted returns
// NotFound instead. msg describes the call and the backend's own error text;
// keep secrets out of it.
func FromHTTPStatus(status int, header http.Header, msg string) error {
	err := fmt.Errorf("HTTP %d: %s", status, msg)
	if status >= 300 && status < 400 {
		err = fmt.Errorf("%w (a redirect, which plugins do not follow: check the URL, the service may have moved)", err)
	}
	if HTTPStatusKind(status) == KindRetryable {
		return RetryableAfter(err, ParseRetryAfter(header, time.Now()))
	}
	return Permanent(err)
}

// HTTPStatusKind is the kind of a failed HTTP answer with status, the SDK's
// one rule for it (sdkhttp.Classify follows it too): 408, 425, 429 and 5xx
// are retryable, since the same request may succeed later; every other
// status is permanent. Another 4xx says the request is wrong. A 3xx is a
// redirect, which a plugin does not follow: the configured URL is wrong or
// the service has moved, and only the operator can fix that. A 1xx or 2xx
// that the plugin took as a failure will be the same answer next time.
func HTTPStatusKind(status int) ErrorKind {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly,
		status == http.StatusTooManyRequests, status >= 500:
		return KindRetryable
	default:
		return KindPermanent
	}
}

// ParseRetryAfter reads Retry-After (delay-seconds or an HTTP date) from h,
// and X-RateLimit-Reset (epoch seconds) when Retry-After is absent. It
// returns zero when neither says anything usable.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
			return time.Duration(secs * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
			return 0
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if epoch, err := strconv.ParseInt(v, 10, 64); err == nil {
			if d := time.Unix(epoch, 0).Sub(now); d > 0 {
				return d
			}
		}
	}
	return 0
}
