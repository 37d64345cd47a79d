package app

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/auth"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/devissuer"
	"github.com/itsm-connector/itsm-connector/host/entra"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestAuthSettingsValidateAndServeAgree loads auth "entra_id" blocks as
// `validate` does and builds the verifier from them as `serve` does: both
// must accept or refuse the same settings, and the verifier must use the
// values the file says, an explicit zero included.
func TestAuthSettingsValidateAndServeAgree(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	iss, err := devissuer.Start(ctx, devissuer.Options{KeyFile: filepath.Join(t.TempDir(), "key.pem")})
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	// A token that expired a minute ago: inside the default clock skew of
	// 5 minutes, outside a skew of 0.
	expired, err := iss.Mint(devissuer.MintOptions{IssuedAt: time.Now().Add(-devissuer.DefaultLifetime - time.Minute)})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		attr string
		err  string // part of both errors; "" when both accept
		// expiredOK says whether the token that expired a minute ago
		// is accepted.
		expiredOK bool
	}{
		{name: "defaults", expiredOK: true},
		{name: "max_token_bytes = 512", attr: `max_token_bytes = 512`, err: "auth.max_token_bytes"},
		{name: "clock_skew = 30m", attr: `clock_skew = "30m"`, expiredOK: true},
		{name: "clock_skew = 0s", attr: `clock_skew = "0s"`, expiredOK: false},
		{name: "clock_skew = 2m", attr: `clock_skew = "2m"`, expiredOK: true},
		{name: "clock_skew = 30s", attr: `clock_skew = "30s"`, expiredOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := `
auth "entra_id" {
  tenant_id      = "` + iss.TenantID() + `"
  audiences      = ["` + iss.Audience() + `"]
  required_roles = ["` + devissuer.DefaultRole + `"]
  authority      = "` + iss.Authority() + `"
  ` + tc.attr + `
}
backend "file" "a" {}
route "r" { send_to = [backend.file.a] }
`
			cfg, diags := config.Load([]byte(src), filepath.Join(t.TempDir(), "connector.hcl"))
			step, serveErr := newAuth(ctx, cfg, t.TempDir(), hclog.NewNullLogger(), metrics.New())
			if serveErr == nil {
				defer step.close()
			}
			switch {
			case tc.err != "":
				if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.err) {
					t.Errorf("validate: want an error naming %s, got %v", tc.err, diags)
				}
				if serveErr == nil || !strings.Contains(serveErr.Error(), tc.err) {
					t.Errorf("serve: want an error naming %s, got %v", tc.err, serveErr)
				}
				return
			case diags.HasErrors():
				t.Fatalf("validate refuses what serve must accept: %v (serve: %v)", diags, serveErr)
			case serveErr != nil:
				t.Fatalf("validate accepts, serve refuses: %v", serveErr)
			}
			v := step.Authenticator.(*entra.Verifier)
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			defer wcancel()
			if err := v.WaitReady(wctx); err != nil {
				t.Fatal(err)
			}
			_, err := v.Verify(ctx, expired)
			var ae *auth.Error
			switch {
			case tc.expiredOK && err != nil:
				t.Errorf("a token expired a minute ago: %v, want accepted", err)
			case !tc.expiredOK && (!errors.As(err, &ae) || ae.Reason != entra.ReasonExpired):
				t.Errorf("a token expired a minute ago: %v, want %s", err, entra.ReasonExpired)
			}
		})
	}
}

// TestAuthMetrics: the verifier serve builds counts its key refreshes and
// the outcome of tokens naming an unknown signing key.
func TestAuthMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	iss, err := devissuer.Start(ctx, devissuer.Options{KeyFile: filepath.Join(t.TempDir(), "key.pem")})
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	src := `
auth "entra_id" {
  tenant_id = "` + iss.TenantID() + `"
  audiences = ["` + iss.Audience() + `"]
  authority = "` + iss.Authority() + `"
}
backend "file" "a" {}
route "r" { send_to = [backend.file.a] }
`
	cfg, diags := config.Load([]byte(src), filepath.Join(t.TempDir(), "connector.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m := metrics.New()
	step, err := newAuth(ctx, cfg, t.TempDir(), hclog.NewNullLogger(), m)
	if err != nil {
		t.Fatal(err)
	}
	defer step.close()
	v := step.Authenticator.(*entra.Verifier)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := v.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.AuthKeyRefreshes.WithLabelValues("start", "ok")); got != 1 {
		t.Errorf("start refreshes = %v, want 1", got)
	}
	// A kid nobody published, in a token that claims to be issued after
	// the start: looked up once, then rejected.
	raw, err := iss.Mint(devissuer.MintOptions{IssuedAt: time.Now().Add(time.Minute), Header: map[string]any{"kid": "not-published", "x5t": "not-published"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(ctx, raw)
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Reason != entra.ReasonUnknownKey {
		t.Fatalf("unknown kid: %v, want %s", err, entra.ReasonUnknownKey)
	}
	if got := testutil.ToFloat64(m.AuthKeyRefreshes.WithLabelValues("unknown_kid", "ok")); got != 1 {
		t.Errorf("unknown_kid refreshes = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.AuthUnknownKeys.WithLabelValues(entra.UnknownKeyRejected)); got != 1 {
		t.Errorf("unknown keys rejected = %v, want 1", got)
	}
}
