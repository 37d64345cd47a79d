package sdk

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
)

func TestInfoRoundTrip(t *testing.T) {
	in := Info{
		Name: "servicenow", Version: "1.2.3", APIVersions: []int{1, 2},
		Capabilities:        Capabilities{Lookup: true, Resolve: true, Comment: true, CMDB: true, ReadStatus: true, FieldPolicy: true},
		ReadAfterWriteDelay: 10 * time.Second,
		MaxStatusBatch:      100,
		Schema: Schema{
			Attributes: []Attribute{
				{Name: "instance_url", Type: "string", Required: true, Doc: "The instance."},
				{Name: "password", Type: "string", Sensitive: true},
				{Name: "body", Type: "string", PerAlert: true},
				{Name: "close_code", Type: "string", Default: json.RawMessage(`"Solved (Permanently)"`)},
			},
			Blocks: []Block{{
				Name: "oauth", Nesting: NestingSingle, Required: true, Doc: "OAuth.",
				Schema: Schema{
					Attributes: []Attribute{{Name: "client_id", Type: "string"}},
					Blocks:     []Block{{Name: "scopes", Nesting: NestingList, Schema: Schema{Attributes: []Attribute{{Name: "name", Type: "string"}}}}},
				},
			}},
		},
	}
	if got := infoFromWire(infoToWire(in)); !reflect.DeepEqual(got, in) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, in)
	}
}

func TestMaxStatusBatchFitsTheWire(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, 0}, {-1, 0}, {50, 50}, {1 << 40, math.MaxInt32}} {
		if got := infoFromWire(infoToWire(Info{MaxStatusBatch: tt.in})).MaxStatusBatch; got != tt.want {
			t.Errorf("MaxStatusBatch %d arrives as %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestRequestRoundTrip(t *testing.T) {
	sev := 2
	resolved := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	in := &Request{
		CorrelationKey: "rule|/subscriptions/x/resourceGroups/rg/providers/p/t/n",
		Alert: Alert{
			ID: "a1", Rule: "r", Severity: &sev, Condition: ConditionResolved,
			FiredAt: resolved.Add(-time.Hour), ResolvedAt: &resolved,
			CustomProperties: map[string]string{"k": "v"},
			Context:          json.RawMessage(`{"x":1}`),
		},
		Fields:             map[string]any{"urgency": float64(1), "short_description": "CPU", "tags": []any{"a", "b"}},
		Values:             Values(`{"body":"{\"subject\":\"r\"}"}`),
		ConfigurationItems: []ConfigurationItem{{Name: "vm1", ResourceID: "/subscriptions/x/vm1"}},
		Ref: &WorkItem{
			ID: "sys1", Key: "INC001", URL: "https://x/INC001", State: StateResolved, CorrelationKey: "k",
			Bindings:   []CIBinding{{ConfigurationItem: ConfigurationItem{Name: "vm1"}, BoundID: "ci1", BoundBy: "name"}, {Reason: "no match"}},
			Attributes: map[string]string{"project": "OPS"},
			Note:       "closed OPS-8 as a duplicate of OPS-7",
		},
		Note:        "Alert is flapping: more than 4 fire/resolve transitions within 30m0s.",
		FieldPolicy: map[string]FieldPolicy{"urgency": FieldAlways, "short_description": FieldCreate, "tags": FieldComment},
	}
	w, err := callToWire(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := callFromWire(w)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, in)
	}
}

func TestRequestRoundTripEmpty(t *testing.T) {
	w, err := callToWire(&Request{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := callFromWire(w)
	if err != nil {
		t.Fatal(err)
	}
	if got.Fields != nil || got.Values != nil || got.Ref != nil || got.ConfigurationItems != nil || got.FieldPolicy != nil {
		t.Errorf("empty request came back with %#v", got)
	}
}

// TestFieldPolicyFromNewerHost: a policy value this SDK does not know
// leaves the field to the plugin's own behaviour, as no policy does.
func TestFieldPolicyFromNewerHost(t *testing.T) {
	w, err := callToWire(&Request{FieldPolicy: map[string]FieldPolicy{"a": FieldAlways}})
	if err != nil {
		t.Fatal(err)
	}
	w.FieldPolicy["b"] = 99
	got, err := callFromWire(w)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]FieldPolicy{"a": FieldAlways}; !reflect.DeepEqual(got.FieldPolicy, want) {
		t.Errorf("FieldPolicy = %v, want %v", got.FieldPolicy, want)
	}
}

func TestRequestFieldPolicyHelpers(t *testing.T) {
	r := &Request{FieldPolicy: map[string]FieldPolicy{"a": FieldCreate, "b": FieldAlways, "c": FieldComment, "d": FieldComment}}
	tests := []struct {
		field            string
		onCreate, update bool
		comments         bool
	}{
		{"a", true, false, false},
		{"b", true, true, false},
		{"c", true, false, true},
		{"none", true, false, false}, // no policy: written on create only
	}
	for _, tt := range tests {
		if got := r.Writes(tt.field, true); got != tt.onCreate {
			t.Errorf("Writes(%q, create) = %v, want %v", tt.field, got, tt.onCreate)
		}
		if got := r.Writes(tt.field, false); got != tt.update {
			t.Errorf("Writes(%q, update) = %v, want %v", tt.field, got, tt.update)
		}
		if got := r.Comments(tt.field); got != tt.comments {
			t.Errorf("Comments(%q) = %v, want %v", tt.field, got, tt.comments)
		}
	}
	if got := r.Commented(); !reflect.DeepEqual(got, []string{"c", "d"}) {
		t.Errorf("Commented = %v", got)
	}
}

func TestCallToWireRejectsUnencodableFields(t *testing.T) {
	_, err := callToWire(&Request{Fields: map[string]any{"bad": func() {}}})
	if err == nil || !strings.Contains(err.Error(), "encode fields") {
		t.Fatalf("err = %v, want an encode fields error", err)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{strings.Repeat("a", 40), 30, strings.Repeat("a", 30-len(" … (truncated)")) + " … (truncated)"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
	// Never splits a rune.
	got := truncate(strings.Repeat("é", 100), 51)
	if !utf8.ValidString(got) || len(got) > 51 {
		t.Errorf("truncate split a rune or overran: %q (%d bytes)", got, len(got))
	}
}

func TestWatchParent(t *testing.T) {
	var ppid atomic.Int64
	ppid.Store(4242)
	gone := make(chan struct{})
	stop := watchParent(4242, time.Millisecond, func() int { return int(ppid.Load()) }, func() { close(gone) })
	defer stop()
	select {
	case <-gone:
		t.Fatal("gone called while the parent is alive")
	default:
	}
	ppid.Store(1) // re-parented to init: the host died
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("gone not called within 10s after the parent changed")
	}
}

func TestWatchParentIgnoresInit(t *testing.T) {
	stop := watchParent(1, time.Millisecond, func() int { return 7 }, func() { t.Error("gone called for a plugin started by init") })
	stop()
}

// TestLogLinesParseOnHost checks that slog, log and hclog lines written by a
// plugin have the shape go-plugin's host side parses: "@level",
// "@message", "@timestamp" in hclog's layout.
func TestLogLinesParseOnHost(t *testing.T) {
	prevSlog, prevHclog := slog.Default(), hclog.Default()
	t.Cleanup(func() { slog.SetDefault(prevSlog); hclog.SetDefault(prevHclog) })

	var buf bytes.Buffer
	setupLogging(&buf, "debug")
	slog.Info("created", "id", "INC1")
	slog.Debug("details", slog.Group("http", "status", 201))
	slog.Log(t.Context(), levelTrace, "dropped below debug")
	hclog.Default().Warn("slow backend", "ms", 1200)
	slog.Error("failed")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []struct{ level, msg string }{
		{"info", "created"}, {"debug", "details"}, {"warn", "slow backend"}, {"error", "failed"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i, err, line)
		}
		if m["@level"] != want[i].level || m["@message"] != want[i].msg {
			t.Errorf("line %d: level %v message %v, want %s %s", i, m["@level"], m["@message"], want[i].level, want[i].msg)
		}
		ts, _ := m["@timestamp"].(string)
		if _, err := time.Parse(jsonTimeFormat, ts); err != nil {
			t.Errorf("line %d: @timestamp %q does not parse as the host expects: %v", i, ts, err)
		}
	}
	if !strings.Contains(lines[0], `"id":"INC1"`) || !strings.Contains(lines[1], `"http":{"status":201}`) {
		t.Errorf("attributes lost:\n%s", buf.String())
	}
}

func TestLogLevelDefaultsToInfo(t *testing.T) {
	prevSlog, prevHclog := slog.Default(), hclog.Default()
	t.Cleanup(func() { slog.SetDefault(prevSlog); hclog.SetDefault(prevHclog) })
	var buf bytes.Buffer
	setupLogging(&buf, "nonsense")
	slog.Debug("hidden")
	slog.Info("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "shown") {
		t.Errorf("unexpected output for default level:\n%s", buf.String())
	}
}
