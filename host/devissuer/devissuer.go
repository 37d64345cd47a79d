// Package devissuer is the token issuer of dev mode: an RSA signing key,
// an OpenID issuer on loopback that serves the same discovery documents
// and JWKS shape as Entra ID (v1 and v2), and a minter of tokens shaped
// like the ones Azure Monitor action groups send. Dev mode points the
// normal entra.Verifier at it, so dev tokens go through the same checks as
// production ones.
//
// The key can live in a file (Options.KeyFile) so that `serve -dev` and
// the `token` / `send` commands, separate processes, share it.
package devissuer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/host/entra"
)

// Issuer is a running dev OpenID issuer with its minter.
type Issuer struct {
	*Minter
	srv       *http.Server
	ln        net.Listener
	authority string
	done      chan struct{}
}

// Start loads or creates the key and serves the issuer on opts.Addr
// (loopback only) until ctx ends or Close is called.
func Start(ctx context.Context, opts Options) (*Issuer, error) {
	opts = opts.withDefaults()
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("dev issuer address %q: %w", opts.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("dev issuer address %q: must be a loopback address", opts.Addr)
	}
	m, err := NewMinter(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("dev issuer: listening on %s: %w", opts.Addr, err)
	}
	iss := &Issuer{
		Minter:    m,
		ln:        ln,
		authority: "http://" + ln.Addr().String(),
		done:      make(chan struct{}),
	}
	iss.srv = &http.Server{Handler: iss.handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(iss.done)
		_ = iss.srv.Serve(ln)
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = iss.Close()
		case <-iss.done:
		}
	}()
	return iss, nil
}

// Authority is the issuer's base URL, the `authority` of the verifier.
func (i *Issuer) Authority() string { return i.authority }

// VerifierConfig is the entra.Config that accepts this issuer's default
// tokens (both versions, the default app and role).
func (i *Issuer) VerifierConfig() entra.Config {
	c := entra.DefaultConfig()
	c.TenantIDs = []string{i.TenantID()}
	c.Audiences = []string{i.Audience(), i.ClientID()}
	c.RequiredRoles = []string{DefaultRole}
	c.Authority = i.authority
	return c
}

// Close stops the server.
func (i *Issuer) Close() error {
	err := i.srv.Close()
	<-i.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// handler serves Entra's endpoint layout:
//
//	/{tid}/.well-known/openid-configuration        v1 discovery
//	/{tid}/v2.0/.well-known/openid-configuration   v2 discovery
//	/common/discovery/keys                          v1 JWKS
//	/{tid}/discovery/v2.0/keys                      v2 JWKS
func (i *Issuer) handler() http.Handler {
	tid := i.TenantID()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /"+tid+"/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, discovery(i.authority, tid, i.V1Issuer(), i.authority+"/common/discovery/keys", "/oauth2"))
	})
	mux.HandleFunc("GET /"+tid+"/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, discovery(i.authority, tid, i.V2Issuer(), i.authority+"/"+tid+"/discovery/v2.0/keys", "/oauth2/v2.0"))
	})
	keys := func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"keys": []any{i.jwk()}})
	}
	mux.HandleFunc("GET /common/discovery/keys", keys)
	mux.HandleFunc("GET /"+tid+"/discovery/v2.0/keys", keys)
	return mux
}

// discovery is an OpenID configuration with the fields Entra publishes
// that matter here.
func discovery(authority, tid, issuer, jwksURI, oauthPath string) map[string]any {
	base := authority + "/" + tid + oauthPath
	return map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              jwksURI,
		"token_endpoint":                        base + "/token",
		"authorization_endpoint":                base + "/authorize",
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "token id_token", "token"},
		"subject_types_supported":               []string{"pairwise"},
		"scopes_supported":                      []string{"openid"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"tenant_region_scope":                   "dev",
		"cloud_instance_name":                   strings.TrimPrefix(authority, "http://"),
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}
