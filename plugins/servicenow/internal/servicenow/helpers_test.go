package servicenow

import (
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

const (
	testUser     = "itsm.integration"
	testPassword = "pa55-w0rd-never-logged"
	vmID         = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-web" +
		"/providers/Microsoft.Compute/virtualMachines/vm-web-01"
)

// env is one plugin configured against one fake instance.
type env struct {
	t     *testing.T
	fake  *snowfake.Server
	p     *Plugin
	clock *fakehttp.Clock
	logs  *fakehttp.LogBuffer
}

// startFake starts a fake with basic credentials and the close-code data
// policy, on the clock.
func startFake(t *testing.T, c *fakehttp.Clock, mutate func(*snowfake.Options)) *snowfake.Server {
	t.Helper()
	opts := snowfake.Options{
		BasicUsers:       map[string]string{testUser: testPassword},
		RequireCloseCode: true,
		Now:              c.Now,
	}
	if mutate != nil {
		mutate(&opts)
	}
	s := snowfake.New(opts)
	t.Cleanup(s.Close)
	return s
}

// baseConfig is a valid configuration for the fake at url.
func baseConfig(url string) map[string]any {
	return map[string]any{
		"instance_url": url,
		"auth":         map[string]any{"type": "basic", "username": testUser, "password": testPassword},
		"incident": map[string]any{
			"caller_id": "monitoring.user", "assignment_group": "cloud-ops",
			"category": "software", "contact_type": "monitoring",
		},
	}
}

// newEnv starts a fake and a plugin configured for it; mutate edits the
// configuration first.
func newEnv(t *testing.T, fakeOpts func(*snowfake.Options), mutate func(cfg map[string]any)) *env {
	t.Helper()
	c := fakehttp.NewClock()
	fake := startFake(t, c, fakeOpts)
	cfg := baseConfig(fake.URL)
	if mutate != nil {
		mutate(cfg)
	}
	logs := &fakehttp.LogBuffer{}
	p := New(Options{Version: "test", Logger: logs.Logger(), Now: c.Now})
	sdktest.ConfigureWarnings(t, p, sdktest.ConfigOf(t, cfg))
	return &env{t: t, fake: fake, p: p, clock: c, logs: logs}
}

func (e *env) request(key string, a sdk.Alert, ref *sdk.WorkItem) *sdk.Request {
	return sdktest.Request(key, a, ref)
}

func (e *env) create(key string, a sdk.Alert) *sdk.WorkItem {
	e.t.Helper()
	return sdktest.Create(e.t, e.p, e.request(key, a, nil))
}

// requests returns the logged requests with method on a path prefix.
func (e *env) requests(method, pathPrefix string) []snowfake.Request {
	var out []snowfake.Request
	for _, r := range e.fake.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, pathPrefix) {
			out = append(out, r)
		}
	}
	return out
}

func alert() sdk.Alert { return sdktest.SampleAlert() }
