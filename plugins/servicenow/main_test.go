package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// TestBinary builds the plugin, starts it as a subprocess over go-plugin's
// gRPC protocol, as the host does, and runs one incident's lifecycle
// against a fake instance.
func TestBinary(t *testing.T) {
	fake := snowfake.New(snowfake.Options{BasicUsers: map[string]string{"svc": "pw-123456"}, RequireCloseCode: true})
	t.Cleanup(fake.Close)
	ciID := fake.Seed("cmdb_ci_vm_instance", map[string]string{"name": "vm-web-01", "object_id": sdktest.SampleAlert().Resource.ID})

	c := sdktest.Launch(t, ".")
	ctx := context.Background()

	info, err := c.Info(ctx)
	if err != nil || info.Name != "servicenow" || !info.Capabilities.Reopen || !info.Capabilities.CMDB {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	cfg, _ := json.Marshal(map[string]any{
		"instance_url": fake.URL,
		"auth":         map[string]any{"type": "basic", "username": "svc", "password": "pw-123456"},
	})
	if err := c.Configure(ctx, cfg); sdk.AsDiagnostics(err).HasErrors() {
		t.Fatalf("Configure: %v", err)
	}
	a := sdktest.SampleAlert()
	req := &sdk.Request{CorrelationKey: "k1", Alert: a, ConfigurationItems: a.ConfigurationItems}
	item, err := c.Create(ctx, req)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if len(item.Bindings) != 1 || item.Bindings[0].BoundID != ciID {
		t.Errorf("bindings over the wire = %+v", item.Bindings)
	}
	req.Ref, req.Alert = item, sdktest.Resolved(a, a.FiredAt.Add(5*time.Minute))
	if item, err = c.Resolve(ctx, req); err != nil || item.State != sdk.StateResolved {
		t.Fatalf("Resolve = %+v, %v", item, err)
	}
	fake.FailNext(1, 404, nil, "")
	if _, err := c.Update(ctx, req); sdk.KindOf(err) != sdk.KindNotFound {
		t.Errorf("Update of a deleted incident over the wire: %v (%s), want not_found", err, sdk.KindOf(err))
	}
}
