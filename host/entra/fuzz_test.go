package entra

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/auth"
	"github.com/itsm-connector/itsm-connector/host/internal/fuzztest"
)

// TestMain: see fuzztest.Main.
func TestMain(m *testing.M) { fuzztest.Main(m) }

// FuzzVerify feeds arbitrary strings to the verifier. Properties: no
// panic; every outcome is a rejection (*auth.Error with 401 or 403 and a
// known reason) or an acceptance; and only the genuine seed tokens are ever
// accepted, whatever the mutation (base64 is canonical, so no other
// spelling of them exists).
//
// In CI: go test -run=^$ -fuzz=FuzzVerify -fuzztime=10s ./host/entra
func FuzzVerify(f *testing.F) {
	e := newEnv(f, nil, WithHooks(Hooks{}))
	valid := map[string]bool{}
	for _, ver := range []string{Version1, Version2} {
		raw := e.mint(f, tok{ver: ver})
		valid[raw] = true
		f.Add(raw)
		h, p, s := segments(raw)
		f.Add(h + "." + p + ".")
		f.Add(h + "." + p)
		f.Add(p + "." + h + "." + s)
		f.Add(strings.ToUpper(raw[:1]) + raw[1:])
	}
	for _, s := range []string{
		"", ".", "..", "...", "a.b.c",
		e.mint(f, tok{header: func(h map[string]any) { h["alg"] = "none" }}),
		e.mint(f, tok{header: func(h map[string]any) { h["kid"] = "unknown" }}),
		e.mint(f, tok{claims: func(c map[string]any) { c["aud"] = []any{1, 2} }}),
		e.mint(f, tok{claims: func(c map[string]any) { c["exp"] = 1e300 }}),
		e.mint(f, tok{claims: func(c map[string]any) { c["exp"] = 1e11 }}),
		e.mint(f, tok{claims: func(c map[string]any) { delete(c, "iat"); c["exp"] = 4e9 }}),
		e.mint(f, tok{claims: func(c map[string]any) { c["roles"] = "ActionGroupsSecureWebhook" }}),
		"eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
		"eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJ2ZXIiOiIxLjAifQ.",
	} {
		f.Add(s)
	}
	known := map[string]bool{}
	for _, r := range Reasons {
		known[r] = true
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := e.v.Verify(ctx, raw)
		if err == nil {
			if !valid[raw] {
				t.Fatalf("accepted a token that was never issued: %q", raw)
			}
			if p == nil || p.TenantID != testTenant {
				t.Fatalf("accepted with principal %+v", p)
			}
			return
		}
		var ae *auth.Error
		if !errors.As(err, &ae) {
			t.Fatalf("not a rejection: %v", err)
		}
		if (ae.Status != 401 && ae.Status != 403) || !known[ae.Reason] || ae.Description == "" {
			t.Fatalf("bad rejection %+v", ae)
		}
	})
}
