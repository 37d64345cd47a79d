package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"testing"

	"github.com/itsm-connector/itsm-connector/plugins/rest/internal/rest"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// TestConformance runs the SDK conformance suite on the tickets example,
// the style that configures every action. Each call's per-alert values are
// rendered from the example's templates, as the host renders them.
func TestConformance(t *testing.T) {
	fake := ticketsFake(t)
	fake.SeedAsset("vm-web-01", sdktest.SampleAlert().Resource.ID)
	e := loadExample(t, "tickets", "helpdesk", fake.URL)
	cfg := e.pointAt(fake.URL)

	var invalid map[string]any
	if err := json.Unmarshal(cfg, &invalid); err != nil {
		t.Fatal(err)
	}
	invalid["create"].(map[string]any)["result"].(map[string]any)["id"] = "ticket..id"
	invalidCfg, _ := json.Marshal(invalid)

	sdktest.Run(t, sdktest.Suite{
		New: func(*testing.T) sdk.Plugin {
			return renderingPlugin{Plugin: rest.New(rest.Options{Version: "test", Logger: slog.New(slog.DiscardHandler)}), dec: e.dec}
		},
		Config:        cfg,
		InvalidConfig: invalidCfg,
		InvalidPath:   []string{"create", "result", "id"},
		InjectFault: func(_ *testing.T, f sdktest.Fault) {
			switch f.Kind {
			case sdk.KindRetryable:
				fake.FailAll(http.StatusServiceUnavailable, http.Header{"Retry-After": {"7"}}, `{"error":"maintenance"}`)
			case sdk.KindPermanent:
				fake.FailAll(http.StatusBadRequest, nil, `{"error":"BadRequest"}`)
			default:
				fake.Heal()
			}
		},
		Fields: map[string]any{"group": "cloud-operations"},
		Delete: func(t *testing.T, wi *sdk.WorkItem) {
			id, err := strconv.Atoi(wi.ID)
			if err != nil {
				t.Fatal(err)
			}
			fake.Delete(id)
		},
	})
}

// TestBinary builds the plugin, starts it as a subprocess over go-plugin's
// gRPC protocol, as the host does, and runs a ticket's lifecycle from the
// tickets example against the fake ticket API.
func TestBinary(t *testing.T) {
	c := sdktest.Launch(t, ".")
	info, err := c.Info(context.Background())
	if err != nil || info.Name != "rest" || !info.Capabilities.Lookup || !info.Capabilities.Reopen || info.Schema.Validate() != nil {
		t.Fatalf("Info = %+v, %v", info, err)
	}

	fake := ticketsFake(t)
	e := loadExampleWith(t, "tickets", "helpdesk", fake.URL, c)
	fired := alertOf("High CPU on web tier", 1)
	r := &record{}
	e.reconcile(r, fired)
	e.reconcile(r, resolved(fired))
	e.reconcile(r, fired)
	if r.ref.ID != "1001" || r.ref.State != sdk.StateOpen || len(r.calls) != 4 {
		t.Fatalf("lifecycle over the wire: ref %+v, calls %v", r.ref, r.calls)
	}
	fake.Delete(1001)
	if _, err := e.call("update", fired, r.ref); sdk.KindOf(err) != sdk.KindNotFound {
		t.Errorf("update of a deleted ticket over the wire: %v (%s), want not_found", err, sdk.KindOf(err))
	}
	fake.FailNext(1, http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}, "")
	_, err = e.call("lookup", fired, nil)
	if sdk.KindOf(err) != sdk.KindRetryable || sdk.RetryAfterOf(err).Seconds() != 30 {
		t.Errorf("lookup while rate limited over the wire: %v (%s, retry after %v)", err, sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
}
