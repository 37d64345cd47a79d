package rest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/itsm-connector/itsm-connector/plugins/rest/restfake"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

// These tests build Request.Values by hand, in the JSON shape the host
// renders them (one object per action, null for absent blocks). The
// plugin's tests one directory up render them from the example files
// through the host's own code instead.

// ticketConfig is a configuration for the fake ticket API at url, every
// action configured, without auth.
func ticketConfig(url string) map[string]any {
	state := map[string]any{"state": "ticket.status", "resolved_states": []string{"solved", "closed"}}
	return map[string]any{
		"base_url": url,
		"create": map[string]any{
			"success_statuses": []any{201},
			"result":           map[string]any{"id": "header:Location", "id_regex": "([^/]+)$", "key": "ticket.number", "url": "ticket.url"},
		},
		"lookup": map[string]any{"result": map[string]any{
			"id": "tickets[-1].id", "key": "tickets[-1].number", "state": "tickets[-1].status", "resolved_states": []string{"solved"},
		}},
		"update":  map[string]any{"method": "PUT", "result": state},
		"resolve": map[string]any{"method": "PUT", "result": state},
		"reopen":  map[string]any{"method": "PUT", "result": state},
	}
}

// ticketValues renders the ticket actions for key and the recorded id, as
// the host would from templates.
func ticketValues(key, id string) sdk.Values {
	put := func(body string) map[string]any {
		return map[string]any{"url": "/api/v2/tickets", "path": []string{id}, "body": body}
	}
	v := map[string]any{
		"create": map[string]any{"url": "/api/v2/tickets",
			"body": `{"ticket":{"subject":"High CPU","external_id":` + quote(key) + `}}`},
		"lookup":  map[string]any{"url": "/api/v2/tickets", "query": map[string]string{"external_id": key}},
		"update":  put(`{"ticket":{"comment":{"body":"fired again"}}}`),
		"resolve": put(`{"ticket":{"status":"solved"}}`),
		"reopen":  put(`{"ticket":{"status":"open"}}`),
		"find_ci": nil,
	}
	b, _ := json.Marshal(v)
	return b
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// env is one plugin configured against one fake ticket API.
type env struct {
	t     *testing.T
	fake  *restfake.Tickets
	p     *Plugin
	clock *fakehttp.Clock
	logs  *fakehttp.LogBuffer
}

// newEnv starts a fake ticket API with opts and a plugin configured for it;
// mutate edits the configuration first.
func newEnv(t *testing.T, opts restfake.Options, mutate func(cfg map[string]any)) *env {
	t.Helper()
	c := fakehttp.NewClock()
	opts.Now = c.Now
	fake := restfake.NewTickets(opts)
	t.Cleanup(fake.Close)
	cfg := ticketConfig(fake.URL)
	if mutate != nil {
		mutate(cfg)
	}
	logs := &fakehttp.LogBuffer{}
	p := New(Options{Version: "test", Logger: logs.Logger(), Now: c.Now})
	sdktest.ConfigureWarnings(t, p, sdktest.ConfigOf(t, cfg))
	return &env{t: t, fake: fake, p: p, clock: c, logs: logs}
}

func (e *env) request(key string, ref *sdk.WorkItem) *sdk.Request {
	id := ""
	if ref != nil {
		id = ref.ID
	}
	a := sdktest.SampleAlert()
	return &sdk.Request{CorrelationKey: key, Alert: a, ConfigurationItems: a.ConfigurationItems, Ref: ref, Values: ticketValues(key, id)}
}

func (e *env) create(key string) *sdk.WorkItem {
	e.t.Helper()
	wi, err := e.p.Create(context.Background(), e.request(key, nil))
	if err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	return wi
}
