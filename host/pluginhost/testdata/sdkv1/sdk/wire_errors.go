package sdk

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/itsm-connector/itsm-connector/sdk/internal/itsmv1"
)

// Bounds on the text of an error on the wire. The status message is only a
// summary for gRPC tooling; the Error detail carries the full text, which is
// still bounded because it travels in HTTP/2 trailers.
const (
	maxStatusMessage = 1 << 10
	maxErrorMessage  = 32 << 10
)

// errorToStatus turns a plugin's error into the gRPC status the host decodes
// with errorFromStatus: the classification, retry-after and diagnostics
// travel in an itsmv1.Error detail; the status code mirrors them for tools.
func errorToStatus(err error) error {
	msg := err.Error()
	w := &itsmv1.Error{Message: truncate(msg, maxErrorMessage)}
	code := codes.Unknown

	var classified *Error
	if errors.As(err, &classified) {
		w.Kind = kindToWire[classified.Kind]
		if classified.RetryAfter > 0 {
			w.RetryAfter = durationpb.New(classified.RetryAfter)
		}
		switch classified.Kind {
		case KindRetryable:
			code = codes.Unavailable
		case KindPermanent:
			code = codes.FailedPrecondition
		case KindNotFound:
			code = codes.NotFound
		}
	}
	var diags Diagnostics
	if errors.As(err, &diags) {
		w.Diagnostics = diagnosticsToWire(diags)
		code = codes.InvalidArgument
	}
	switch {
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}

	st, detailErr := status.New(code, truncate(msg, maxStatusMessage)).WithDetails(w)
	if detailErr != nil {
		// Only a broken protobuf runtime gets here; keep the message at least.
		return status.Error(code, truncate(msg, maxStatusMessage))
	}
	return st.Err()
}

// remoteError is an error that came back from the plugin: its text, and the
// context error it wrapped in the plugin, if any, so that errors.Is works
// across the wire.
type remoteError struct {
	msg   string
	cause error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.cause }

// errorFromStatus rebuilds on the host the error a plugin call returned.
// Errors the plugin returned keep their classification, retry-after and
// diagnostics. Failures of the transport itself (the plugin died, the
// connection broke) are retryable, so an alert in flight is never lost;
// cancellation and deadlines of the caller's ctx wrap ctx's own error.
func errorFromStatus(ctx context.Context, method string, err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return Retryable(fmt.Errorf("plugin %s call failed: %w", method, err))
	}
	for _, d := range st.Details() {
		if w, ok := d.(*itsmv1.Error); ok {
			return pluginError(st.Code(), w)
		}
	}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded:
		cause := context.Canceled
		if st.Code() == codes.DeadlineExceeded {
			cause = context.DeadlineExceeded
		}
		if ctx.Err() != nil {
			cause = ctx.Err()
		}
		return fmt.Errorf("plugin %s call: %w", method, cause)
	case codes.Unimplemented:
		return Permanent(fmt.Errorf("plugin does not implement %s (built against an older protocol?): %s", method, st.Message()))
	case codes.ResourceExhausted:
		return Permanent(fmt.Errorf("plugin %s call: message larger than the %d MiB limit between host and plugin: %s",
			method, MaxMessageSize>>20, st.Message()))
	default:
		return Retryable(fmt.Errorf("plugin %s call failed (%s): %s", method, st.Code(), st.Message()))
	}
}

// pluginError rebuilds the error a plugin returned from its wire form.
func pluginError(code codes.Code, w *itsmv1.Error) error {
	var cause error
	switch code {
	case codes.Canceled:
		cause = context.Canceled
	case codes.DeadlineExceeded:
		cause = context.DeadlineExceeded
	}
	var base error = &remoteError{msg: w.GetMessage(), cause: cause}
	if len(w.GetDiagnostics()) > 0 {
		base = diagnosticsFromWire(w.GetDiagnostics())
	}
	kind, ok := kindFromWire[w.GetKind()]
	if !ok {
		return base
	}
	e := &Error{Kind: kind, Err: base}
	if w.GetRetryAfter() != nil {
		e.RetryAfter = w.GetRetryAfter().AsDuration()
	}
	return e
}

// truncate cuts s to at most n bytes on a rune boundary, saying so.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = " … (truncated)"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
