package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/jira/jirafake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// TestBinary builds the plugin, starts it as a subprocess over go-plugin's
// gRPC protocol, as the host does, and runs one issue's lifecycle against a
// fake Jira Cloud whose search index lags.
func TestBinary(t *testing.T) {
	fake := jirafake.New(jirafake.Options{
		Flavor:             jirafake.Cloud,
		BasicUsers:         map[string]string{"alerts@contoso.example": "api-token-123456"},
		IndexAfterSearches: 3,
	})
	t.Cleanup(fake.Close)

	c := sdktest.Launch(t, ".")
	ctx := context.Background()

	info, err := c.Info(ctx)
	if err != nil || info.Name != "jira" || !info.Capabilities.Reopen || !info.Capabilities.Comment || !info.Capabilities.Lookup {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	cfg, _ := json.Marshal(map[string]any{
		"url": fake.URL, "flavor": "cloud", "project": "OPS",
		"auth": map[string]any{"type": "basic", "email": "alerts@contoso.example", "api_token": "api-token-123456"},
	})
	if err := c.Configure(ctx, cfg); sdk.AsDiagnostics(err).HasErrors() {
		t.Fatalf("Configure: %v", err)
	}
	a := sdktest.SampleAlert()
	req := &sdk.Request{CorrelationKey: "k1", Alert: a, Fields: map[string]any{"Team": "Web"}}
	item, err := c.Create(ctx, req)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if found, err := c.Lookup(ctx, &sdk.Request{CorrelationKey: "k1", Alert: a}); err != nil || found == nil || found.ID != item.ID {
		t.Errorf("Lookup while the index lags = %+v, %v; want %s", found, err, item.ID)
	}
	req.Ref, req.Alert = item, sdktest.Resolved(a, a.FiredAt.Add(5*time.Minute))
	if item, err = c.Resolve(ctx, req); err != nil || item.State != sdk.StateResolved {
		t.Fatalf("Resolve = %+v, %v", item, err)
	}
	if is, _ := fake.Issue(item.Key); is.Resolution != "Done" {
		t.Errorf("resolution = %q, want Done", is.Resolution)
	}
	fake.DeleteIssue(item.Key)
	if _, err := c.Update(ctx, req); sdk.KindOf(err) != sdk.KindNotFound {
		t.Errorf("Update of a deleted issue over the wire: %v (%s), want not_found", err, sdk.KindOf(err))
	}
	fake.FailNext(1, 429, map[string][]string{"Retry-After": {"9"}}, "")
	_, err = c.Create(ctx, &sdk.Request{CorrelationKey: "k2", Alert: a})
	if sdk.KindOf(err) != sdk.KindRetryable || sdk.RetryAfterOf(err) != 9*time.Second {
		t.Errorf("rate-limited Create over the wire: %v (%s, %v), want retryable after 9s", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
}
