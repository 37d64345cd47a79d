package pluginhost

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"google.golang.org/grpc"
)

// Limits on what a plugin sends the host. A plugin is a separate program,
// possibly hostile or broken; none of these bind a working one.
const (
	// MaxAnswerBytes bounds one answer from a plugin as the host receives
	// it: a gRPC message (work item, Info) or an error's status details.
	MaxAnswerBytes = 1 << 20
	// MaxWorkItemBytes bounds a work item as the host stores it (JSON).
	MaxWorkItemBytes = 256 << 10
	// MaxWorkItemFieldBytes bounds each string in a work item: its id,
	// key, url, state, correlation key, each attribute and binding field.
	MaxWorkItemFieldBytes = 64 << 10
	// MaxErrorBytes bounds the text of a plugin's error as the host keeps
	// it (retry notes, dead letters, the audit trail); longer text is cut.
	MaxErrorBytes = 8 << 10
)

// dialOptions are the gRPC options of the host's side of a plugin
// connection: the SDK's, with the receiving side capped at MaxAnswerBytes
// (later call options win over the SDK's).
func dialOptions() []grpc.DialOption {
	return append(hostside.DialOptions(),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxAnswerBytes)),
		grpc.WithMaxHeaderListSize(MaxAnswerBytes))
}

// checkWorkItem refuses a work item too large to store: a string field
// over MaxWorkItemFieldBytes, or more than MaxWorkItemBytes in all. The
// error names the field and its size.
func checkWorkItem(wi *sdk.WorkItem) error {
	if wi == nil {
		return nil
	}
	fields := []struct {
		name, value string
	}{{"id", wi.ID}, {"key", wi.Key}, {"url", wi.URL}, {"state", string(wi.State)}, {"correlation_key", wi.CorrelationKey}}
	for k, v := range wi.Attributes {
		fields = append(fields, struct{ name, value string }{fmt.Sprintf("attributes[%q]", truncate(k, 64)), k + v})
	}
	for i, b := range wi.Bindings {
		ci := b.ConfigurationItem
		for _, f := range []struct{ name, value string }{{"bound_id", b.BoundID}, {"bound_by", b.BoundBy}, {"reason", b.Reason},
			{"configuration_item.name", ci.Name}, {"configuration_item.resource_id", ci.ResourceID}} {
			fields = append(fields, struct{ name, value string }{fmt.Sprintf("bindings[%d].%s", i, f.name), f.value})
		}
	}
	for _, f := range fields {
		if len(f.value) > MaxWorkItemFieldBytes {
			return fmt.Errorf("its %s has %d bytes; a work item field may have at most %d (%d KiB)", f.name, len(f.value), MaxWorkItemFieldBytes, MaxWorkItemFieldBytes>>10)
		}
	}
	b, err := json.Marshal(wi)
	if err != nil {
		return fmt.Errorf("it cannot be stored: %w", err)
	}
	if len(b) > MaxWorkItemBytes {
		return fmt.Errorf("it has %d bytes as stored; a work item may have at most %d (%d KiB)", len(b), MaxWorkItemBytes, MaxWorkItemBytes>>10)
	}
	return nil
}

// truncate cuts s to at most n bytes, mark included, at a rune boundary,
// marking the cut. (Only an n shorter than the mark itself is exceeded.)
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// The count in the mark is at most len(s): reserve that many digits.
	cut := max(n-len(fmt.Sprintf("…[%d bytes cut]", len(s))), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…[%d bytes cut]", len(s)-cut)
}

// cutError is a plugin error whose text was cut to MaxErrorBytes; its
// class (retryable, permanent, not found, Retry-After) is the original's.
type cutError struct {
	msg string
	err error
}

func (e *cutError) Error() string { return e.msg }
func (e *cutError) Unwrap() error { return e.err }

// checkAnswer applies the limits to what a plugin call returned: a work
// item too large to store becomes a permanent error naming the plugin,
// the call and the field, an answer over MaxAnswerBytes one naming the
// plugin, and an error's text is cut to MaxErrorBytes.
func checkAnswer(backend, plugin, op string, wi *sdk.WorkItem, err error) (*sdk.WorkItem, error) {
	if errors.Is(err, sdk.ErrMessageTooLarge) {
		err = sdk.Permanent(fmt.Errorf("backend %s: plugin %q: the %s call exceeded the size limit (the host accepts answers of at most %d MiB): %w", backend, plugin, op, MaxAnswerBytes>>20, err))
	}
	if err != nil {
		if msg := err.Error(); len(msg) > MaxErrorBytes {
			err = &cutError{msg: truncate(msg, MaxErrorBytes), err: err}
		}
		return wi, err
	}
	if werr := checkWorkItem(wi); werr != nil {
		return nil, sdk.Permanent(fmt.Errorf("backend %s: plugin %q answered %s with a work item the host does not store: %w", backend, plugin, op, werr))
	}
	return wi, nil
}

// Relayed plugin log lines are limited per backend: a token bucket of
// logLinesPerSecond with bursts of logLineBurst, each line cut to
// MaxLogLineBytes.
const (
	logLinesPerSecond = 100
	logLineBurst      = 200
	// MaxLogLineBytes bounds one relayed plugin log line: its message and
	// attribute values together.
	MaxLogLineBytes = 4 << 10
)

// cutLogLine bounds a relayed log line to max bytes: the message first,
// then attribute values in order (keys count too); values over the budget
// are cut, pairs after it dropped and counted in "truncated_bytes".
func cutLogLine(msg string, args []any, max int) (string, []any) {
	size := len(msg)
	for _, a := range args {
		size += len(fmt.Sprint(a))
	}
	if size <= max {
		return msg, args
	}
	msg = truncate(msg, max)
	budget := max - len(msg)
	out := make([]any, 0, len(args)+2)
	dropped := 0
	for i := 0; i+1 < len(args); i += 2 {
		k, v := fmt.Sprint(args[i]), fmt.Sprint(args[i+1])
		if budget <= len(k) {
			dropped += len(k) + len(v)
			continue
		}
		budget -= len(k)
		if len(v) > budget {
			v = truncate(v, budget)
			out = append(out, args[i], v)
			budget = 0
			continue
		}
		budget -= len(v)
		out = append(out, args[i], args[i+1])
	}
	if len(args)%2 == 1 { // a key without a value
		dropped += len(fmt.Sprint(args[len(args)-1]))
	}
	if dropped > 0 {
		out = append(out, "truncated_bytes", dropped)
	}
	return msg, out
}
