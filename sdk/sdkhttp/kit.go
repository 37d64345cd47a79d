package sdkhttp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// Info is the sdk.Info of an HTTP plugin named name: Version from o, the
// protocol versions this SDK speaks, the capabilities p implements (see
// [sdk.CapabilitiesOf]) and schema. The plugin adds what depends on its
// backend, such as Capabilities.Comment.
func (o Options) Info(name string, p sdk.Plugin, schema sdk.Schema) sdk.Info {
	return sdk.Info{
		Name:         name,
		Version:      o.WithDefaults().Version,
		APIVersions:  []int{sdk.APIVersion},
		Capabilities: sdk.CapabilitiesOf(p),
		Schema:       schema,
	}
}

// JSONOf is v as JSON, for the Default of a schema attribute. It panics
// when v cannot be encoded: defaults are static values.
func JSONOf(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// State holds what one configuration runs on (the plugin's backend), so
// that Configure can swap it while calls are in flight.
type State[B any] struct {
	p atomic.Pointer[B]
}

// Configured returns the backend in effect, or a permanent error naming
// the plugin before Configure succeeded.
func (s *State[B]) Configured(plugin string) (*B, error) {
	b := s.p.Load()
	if b == nil {
		return nil, sdk.Permanent(errors.New(plugin + ": plugin is not configured"))
	}
	return b, nil
}

// Run calls op with the backend in effect, or returns Configured's
// permanent error before Configure: the start of each lifecycle method.
func (s *State[B]) Run(ctx context.Context, plugin string, req *sdk.Request, op func(context.Context, *B, *sdk.Request) (*sdk.WorkItem, error)) (*sdk.WorkItem, error) {
	b, err := s.Configured(plugin)
	if err != nil {
		return nil, err
	}
	return op(ctx, b, req)
}

// Load returns the backend in effect, or nil before Configure.
func (s *State[B]) Load() *B { return s.p.Load() }

// Store makes b the backend in effect.
func (s *State[B]) Store(b *B) { s.p.Store(b) }

// Configure is the frame of an HTTP plugin's Configure: it decodes cfg into
// a C (a mismatch is an error diagnostic), checks it with check, and when
// the diagnostics hold no error logs the warnings and calls apply with the
// result. It returns the diagnostics when they hold an error, the warnings
// alone when the configuration was accepted with warnings (the host shows
// them at their attributes' lines; see [sdk.Diagnostics]), else nil.
func Configure[C, S any](log *slog.Logger, cfg sdk.Config, check func(C) (S, sdk.Diagnostics), apply func(C, S)) error {
	var c C
	if err := cfg.Decode(&c); err != nil {
		return sdk.Diagnostics{sdk.AttributeError("configuration does not match the schema", err.Error())}
	}
	s, diags := check(c)
	if diags.HasErrors() {
		return diags
	}
	LogWarnings(log, diags)
	apply(c, s)
	if len(diags) > 0 {
		return diags
	}
	return nil
}

// LogInsecure logs, at error level, that a backend runs with TLS
// certificate verification off: backend names it ("ServiceNow"), exposes
// says what can be intercepted besides credentials ("incidents"), and
// urlKey and url name the endpoint.
func LogInsecure(log *slog.Logger, backend, exposes, urlKey, url string) {
	log.Error("TLS CERTIFICATE VERIFICATION IS DISABLED for this "+backend+" backend (tls.insecure_skip_verify = true): credentials and "+exposes+" can be intercepted", urlKey, url)
}
