package jira

import (
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/plugins/jira/jirafake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

const (
	testEmail    = "alerts@contoso.example"
	testAPIToken = "ATATT3x-api-token-never-logged"
	testUser     = "svc-itsm"
	testPassword = "pa55-w0rd-never-logged"
	testPAT      = "NjM2-personal-access-token-never-logged"
)

// flavors are the two Jira flavors every lifecycle test runs against.
var flavors = []string{FlavorCloud, FlavorDataCenter}

// startFake starts a fake of the flavor with the test credentials.
func startFake(t testing.TB, flavor string, c *fakehttp.Clock, mutate func(*jirafake.Options)) *jirafake.Server {
	t.Helper()
	opts := jirafake.Options{Flavor: jirafake.Flavor(flavor), Now: c.Now}
	if flavor == FlavorCloud {
		opts.BasicUsers = map[string]string{testEmail: testAPIToken}
	} else {
		opts.BasicUsers = map[string]string{testUser: testPassword}
		opts.BearerTokens = []string{testPAT}
	}
	if mutate != nil {
		mutate(&opts)
	}
	s := jirafake.New(opts)
	t.Cleanup(s.Close)
	return s
}

// baseConfig is a valid configuration of the flavor for the fake at url.
func baseConfig(flavor, url string) map[string]any {
	auth := map[string]any{"type": "basic", "email": testEmail, "api_token": testAPIToken}
	if flavor == FlavorDataCenter {
		auth = map[string]any{"type": "bearer", "token": testPAT}
	}
	return map[string]any{
		"url":        url,
		"flavor":     flavor,
		"project":    "OPS",
		"issue_type": "Incident",
		"labels":     []any{"azure-monitor"},
		"components": []any{"Compute"},
		"auth":       auth,
	}
}

// env is one plugin configured against one fake.
type env struct {
	t      *testing.T
	flavor string
	fake   *jirafake.Server
	p      *Plugin
	clock  *fakehttp.Clock
	logs   *fakehttp.LogBuffer
}

// newEnv starts a fake of the flavor and a plugin configured for it;
// fakeOpts edits the fake's options, mutate the configuration.
func newEnv(t *testing.T, flavor string, fakeOpts func(*jirafake.Options), mutate func(cfg map[string]any)) *env {
	t.Helper()
	c := fakehttp.NewClock()
	fake := startFake(t, flavor, c, fakeOpts)
	cfg := baseConfig(flavor, fake.URL)
	if mutate != nil {
		mutate(cfg)
	}
	e := &env{t: t, flavor: flavor, fake: fake, clock: c, logs: &fakehttp.LogBuffer{}}
	e.p = e.newPlugin(cfg)
	return e
}

// newPlugin configures another plugin instance (a restarted process).
func (e *env) newPlugin(cfg map[string]any) *Plugin {
	e.t.Helper()
	if cfg == nil {
		cfg = baseConfig(e.flavor, e.fake.URL)
	}
	p := New(Options{Version: "test", Logger: e.logs.Logger(), Now: e.clock.Now})
	sdktest.ConfigureWarnings(e.t, p, sdktest.ConfigOf(e.t, cfg))
	return p
}

func (e *env) request(key string, a sdk.Alert, ref *sdk.WorkItem) *sdk.Request {
	return sdktest.Request(key, a, ref)
}

func (e *env) create(key string, a sdk.Alert) *sdk.WorkItem {
	e.t.Helper()
	return sdktest.Create(e.t, e.p, e.request(key, a, nil))
}

func (e *env) issue(keyOrID string) jirafake.Issue {
	e.t.Helper()
	is, ok := e.fake.Issue(keyOrID)
	if !ok {
		e.t.Fatalf("no issue %s in the fake", keyOrID)
	}
	return is
}

// noSecrets fails when a credential shows up in err or the logs.
func (e *env) noSecrets(err error) {
	e.t.Helper()
	for _, secret := range []string{testAPIToken, testPassword, testPAT} {
		if err != nil && strings.Contains(err.Error(), secret) {
			e.t.Errorf("a credential leaked into the error %q", err)
		}
		if strings.Contains(e.logs.String(), secret) {
			e.t.Error("a credential leaked into the logs")
		}
	}
}

func alert() sdk.Alert { return sdktest.SampleAlert() }

// forFlavors runs f as a sub-test per flavor.
func forFlavors(t *testing.T, f func(t *testing.T, flavor string)) {
	for _, fl := range flavors {
		t.Run(fl, func(t *testing.T) { f(t, fl) })
	}
}
