package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkredact"
)

// secretSet is every sensitive value the host has decoded from a backend's
// config block since it started, and the redactor built from them. All that
// a plugin returns passes through it before the host logs, stores or shows
// it: errors, Configure diagnostics, relayed log lines and work items.
//
// One set serves every backend (a plugin has no business echoing another
// backend's secret either), and values are only added: after a reload the
// previous values stay, since a rotated secret may still be valid and a
// call in flight may still echo it.
type secretSet struct {
	mu     sync.Mutex
	values map[string]bool
	red    atomic.Pointer[sdkredact.Redactor]
}

// add registers the sensitive values of dec; values sdkredact cannot
// replace are left out (see shortSecretWarnings).
func (s *secretSet) add(dec *DecodedConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	added := false
	for _, sv := range dec.sensitive {
		if sdkredact.CoverageOf(sv.value) != sdkredact.CoverNone && !s.values[sv.value] {
			if s.values == nil {
				s.values = map[string]bool{}
			}
			s.values[sv.value] = true
			added = true
		}
	}
	if added {
		s.red.Store(sdkredact.New(slices.Collect(maps.Keys(s.values))...))
	}
}

// replace redacts text.
func (s *secretSet) replace(text string) string { return s.red.Load().Replace(text) }

// redactedError is a plugin error whose text held a secret. It keeps the
// error's class (sdk.KindOf, sdk.RetryAfterOf) and the sentinels the host
// tests with errors.Is, but not the original text: nothing that unwraps it
// can find the secret.
type redactedError struct {
	msg  string
	orig error
}

func (e *redactedError) Error() string { return e.msg }

// sentinels are the errors a plugin call's error is tested for.
var sentinels = []error{context.Canceled, context.DeadlineExceeded, sdk.ErrMessageTooLarge, errClosed}

// Is implements errors.Is for the sentinels only.
func (e *redactedError) Is(target error) bool {
	return slices.Contains(sentinels, target) && errors.Is(e.orig, target)
}

// error redacts err's text, keeping its class.
func (s *secretSet) error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := s.replace(msg)
	if clean == msg {
		return err
	}
	return &sdk.Error{Kind: sdk.KindOf(err), RetryAfter: sdk.RetryAfterOf(err), Err: &redactedError{msg: clean, orig: err}}
}

// workItem returns a copy of wi with every string redacted: id, key, url,
// state, correlation key, attributes (names and values), the note and
// the bindings. The id and attributes come back to the plugin on later
// calls as they are stored, redacted.
func (s *secretSet) workItem(wi *sdk.WorkItem) *sdk.WorkItem {
	if wi == nil || s.red.Load().Empty() {
		return wi
	}
	r := s.replace
	out := *wi
	out.ID, out.Key, out.URL, out.CorrelationKey, out.Note = r(wi.ID), r(wi.Key), r(wi.URL), r(wi.CorrelationKey), r(wi.Note)
	out.State = sdk.WorkItemState(r(string(wi.State)))
	if wi.Attributes != nil {
		out.Attributes = make(map[string]string, len(wi.Attributes))
		for k, v := range wi.Attributes {
			out.Attributes[r(k)] = r(v)
		}
	}
	out.Bindings = slices.Clone(wi.Bindings)
	for i, b := range out.Bindings {
		b.BoundID, b.BoundBy, b.Reason = r(b.BoundID), r(b.BoundBy), r(b.Reason)
		b.ConfigurationItem.Name, b.ConfigurationItem.ResourceID = r(b.ConfigurationItem.Name), r(b.ConfigurationItem.ResourceID)
		out.Bindings[i] = b
	}
	return &out
}

// diagnostics redacts the text of a plugin's Configure diagnostics.
func (s *secretSet) diagnostics(d sdk.Diagnostics) sdk.Diagnostics {
	out := slices.Clone(d)
	for i := range out {
		out[i].Summary, out[i].Detail = s.replace(out[i].Summary), s.replace(out[i].Detail)
	}
	return out
}

// args redacts a log line's attributes: keys, strings, errors and
// anything else that prints as text (numbers and booleans hold none).
func (s *secretSet) args(args []any) []any {
	if s.red.Load().Empty() {
		return args
	}
	var out []any
	for i, a := range args {
		var text string
		switch v := a.(type) {
		case nil, bool, int, int64, uint64, float64:
			continue
		case string:
			text = v
		default:
			text = fmt.Sprint(v)
		}
		if clean := s.replace(text); clean != text {
			if out == nil {
				out = slices.Clone(args)
			}
			out[i] = clean
		}
	}
	if out == nil {
		return args
	}
	return out
}

// redactLogger writes what a backend's plugin and its supervision log with
// the host's secrets redacted: the plugin's relayed lines, go-plugin's
// messages about the process, errors of calls that crashed it.
type redactLogger struct {
	hclog.Logger
	secrets *secretSet
}

// Log implements hclog.Logger.
func (l redactLogger) Log(level hclog.Level, msg string, args ...any) {
	l.Logger.Log(level, l.secrets.replace(msg), l.secrets.args(args)...)
}

// Trace implements hclog.Logger.
func (l redactLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }

// Debug implements hclog.Logger.
func (l redactLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }

// Info implements hclog.Logger.
func (l redactLogger) Info(msg string, args ...any) { l.Log(hclog.Info, msg, args...) }

// Warn implements hclog.Logger.
func (l redactLogger) Warn(msg string, args ...any) { l.Log(hclog.Warn, msg, args...) }

// Error implements hclog.Logger.
func (l redactLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

// With implements hclog.Logger.
func (l redactLogger) With(args ...any) hclog.Logger {
	return redactLogger{Logger: l.Logger.With(l.secrets.args(args)...), secrets: l.secrets}
}

// Named implements hclog.Logger.
func (l redactLogger) Named(name string) hclog.Logger {
	return redactLogger{Logger: l.Logger.Named(name), secrets: l.secrets}
}

// ResetNamed implements hclog.Logger.
func (l redactLogger) ResetNamed(name string) hclog.Logger {
	return redactLogger{Logger: l.Logger.ResetNamed(name), secrets: l.secrets}
}

// shortSecretWarnings warns about each sensitive value of dec that is too
// short to be redacted in every form (see sdkredact.CoverageOf), pointing
// at its attribute.
func shortSecretWarnings(dec *DecodedConfig) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, sv := range dec.sensitive {
		var what string
		switch sdkredact.CoverageOf(sv.value) {
		case sdkredact.CoverAll:
			continue
		case sdkredact.CoverText:
			what = fmt.Sprintf("only where it appears as written, not URL-, JSON-, hex- or base64-encoded (that takes %d bytes)", sdkredact.MinLen)
		default:
			if sv.value == "" {
				continue
			}
			what = fmt.Sprintf("nowhere (that takes at least %d bytes)", sdkredact.MinTextLen)
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Sensitive value too short to redact",
			Detail: fmt.Sprintf("The value of %s is %d bytes long. The host replaces a sensitive value in what plugins return (errors, log lines, work items) %s. Use a longer secret.",
				strings.Join(sv.path, "."), len(sv.value), what),
			Subject: dec.PathRange(sv.path).Ptr(),
		})
	}
	return diags
}
