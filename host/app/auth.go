package app

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/auth"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/devissuer"
	"github.com/itsm-connector/itsm-connector/host/entra"
	"github.com/itsm-connector/itsm-connector/host/metrics"
)

// DevKeyFile is the dev issuer's signing key under the data directory,
// shared by `serve -dev`, `token` and `send`.
const DevKeyFile = "dev-signing-key.pem"

// authStep is the configured authenticator and what to close with it.
type authStep struct {
	auth.Authenticator
	close func()
}

// newAuth builds the authentication step of cfg.Auth. In dev mode it starts
// the local issuer and points the ordinary Entra ID verifier at it.
func newAuth(ctx context.Context, cfg *config.Config, dataDir string, log hclog.Logger, m *metrics.Metrics) (*authStep, error) {
	opts := []entra.Option{entra.WithLogger(log.Named("auth")), entra.WithHooks(entraHooks(m))}
	switch cfg.Auth.Type {
	case config.AuthNone:
		log.Warn(`auth "none": every request is accepted without a token`)
		return &authStep{Authenticator: auth.None{}, close: func() {}}, nil
	case config.AuthDev:
		iss, err := devissuer.Start(ctx, devissuer.Options{KeyFile: filepath.Join(dataDir, DevKeyFile)})
		if err != nil {
			return nil, fmt.Errorf("dev issuer: %w", err)
		}
		v, err := entra.New(ctx, iss.VerifierConfig(), opts...)
		if err != nil {
			_ = iss.Close()
			return nil, err
		}
		log.Info("dev mode: tokens from the local issuer are accepted", "authority", iss.Authority(), "tenant_id", iss.TenantID())
		return &authStep{Authenticator: v, close: func() { _ = v.Close(); _ = iss.Close() }}, nil
	case config.AuthEntraID:
		if cfg.Auth.EntraID == nil {
			return nil, fmt.Errorf(`auth "entra_id": no settings`)
		}
		v, err := entra.New(ctx, *cfg.Auth.EntraID, opts...)
		if err != nil {
			return nil, err
		}
		return &authStep{Authenticator: v, close: func() { _ = v.Close() }}, nil
	}
	return nil, fmt.Errorf("auth %q: unknown type", cfg.Auth.Type)
}

// entraHooks counts the verifier's key refreshes and unknown keys; token
// rejections are counted by the webhook. m may be nil.
func entraHooks(m *metrics.Metrics) entra.Hooks {
	if m == nil {
		return entra.Hooks{}
	}
	return entra.Hooks{
		KeysRefreshed: func(trigger string, err error) {
			outcome := "ok"
			if err != nil {
				outcome = "failed"
			}
			m.AuthKeyRefreshes.WithLabelValues(trigger, outcome).Inc()
		},
		UnknownKey: func(outcome string) { m.AuthUnknownKeys.WithLabelValues(outcome).Inc() },
	}
}
