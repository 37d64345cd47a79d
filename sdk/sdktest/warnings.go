package sdktest

import (
	"context"
	"slices"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// ConfigureWarnings configures p with cfg over real gRPC, as the host
// does, and returns the warnings it accepted the configuration with (nil
// when none). It fails the test when Configure rejects cfg (an error
// diagnostic, or a plain error) and, when want is given, unless the
// warnings name exactly those attribute paths, in order: the paths the
// host turns into the operator's lines.
//
//	sdktest.ConfigureWarnings(t, p, cfg, []string{"tls", "insecure_skip_verify"})
func ConfigureWarnings(tb testing.TB, p sdk.Plugin, cfg sdk.Config, want ...[]string) []sdk.Diagnostic {
	tb.Helper()
	var diags sdk.Diagnostics
	if err := Connect(tb, p).Configure(context.Background(), cfg); err != nil {
		diags = sdk.AsDiagnostics(err)
		if diags.HasErrors() {
			tb.Fatalf("Configure rejected the configuration: %v", err)
		}
	}
	if want == nil {
		return diags
	}
	got := make([][]string, len(diags))
	for i, d := range diags {
		got[i] = d.Path
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		tb.Fatalf("Configure warned at %q (%v); want warnings at %q", got, diags, want)
	}
	return diags
}

// Rejected is err when it rejects the configuration, nil when it holds
// only warnings (the configuration is then in effect): for tests that call
// a plugin's Configure directly and do not look at its warnings.
func Rejected(err error) error {
	if err != nil && !sdk.AsDiagnostics(err).HasErrors() {
		return nil
	}
	return err
}
