package pluginhost

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/hclfuncs"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/zclconf/go-cty/cty"
)

func attr(name, typ string) sdk.Attribute { return sdk.Attribute{Name: name, Type: typ} }

// decodeOne decodes the config block of the single backend in src.
func decodeOne(t *testing.T, schema sdk.Schema, src string) (*DecodedConfig, hcl.Diagnostics, parsed) {
	t.Helper()
	p := parseBackends(t, "connector.hcl", src)
	b := p.backends[0]
	dec, diags := DecodeConfig(schema, b.Config, b.ConfigRange, loadContext(t.TempDir()), hclfuncs.PerAlert())
	return dec, diags, p
}

// sameJSON compares two JSON documents structurally.
func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", gb, wb)
	}
}

func TestDecodeConfigTypesAndNesting(t *testing.T) {
	t.Setenv("PLUGINHOST_TEST_SECRET", "s3cret")
	tests := []struct {
		name   string
		schema sdk.Schema
		body   string
		want   string
	}{
		{
			name: "primitives",
			schema: sdk.Schema{Attributes: []sdk.Attribute{
				attr("s", "string"), attr("n", "number"), attr("b", "bool"), attr("absent", "string"),
			}},
			body: `s = "x"
n = 42.5
b = true`,
			want: `{"s":"x","n":42.5,"b":true,"absent":null}`,
		},
		{
			name:   "conversion to the declared type",
			schema: sdk.Schema{Attributes: []sdk.Attribute{attr("s", "string"), attr("n", "number")}},
			body: `s = 7
n = "8"`,
			want: `{"s":"7","n":8}`,
		},
		{
			name: "collections",
			schema: sdk.Schema{Attributes: []sdk.Attribute{
				attr("l", "list(string)"), attr("set", "set(number)"), attr("m", "map(string)"), attr("t", "tuple([string, number])"),
			}},
			body: `l = ["a", "b"]
set = [2, 1, 2]
m = { k = "v", "x-y" = "z" }
t = ["a", 1]`,
			want: `{"l":["a","b"],"set":[1,2],"m":{"k":"v","x-y":"z"},"t":["a",1]}`,
		},
		{
			name: "objects with optional attributes",
			schema: sdk.Schema{Attributes: []sdk.Attribute{
				attr("o", "object({host = string, port = optional(number)})"),
				attr("lo", "list(object({name = string}))"),
			}},
			body: `o = { host = "h" }
lo = [{ name = "a" }, { name = "b" }]`,
			want: `{"o":{"host":"h","port":null},"lo":[{"name":"a"},{"name":"b"}]}`,
		},
		{
			name:   "any keeps the written shape",
			schema: sdk.Schema{Attributes: []sdk.Attribute{attr("a", "any"), attr("b", "any")}},
			body: `a = { x = [1, "two"] }
b = "s"`,
			want: `{"a":{"x":[1,"two"]},"b":"s"}`,
		},
		{
			name: "defaults",
			schema: sdk.Schema{Attributes: []sdk.Attribute{
				{Name: "n", Type: "number", Default: json.RawMessage(`3`)},
				{Name: "l", Type: "list(string)", Default: json.RawMessage(`["x"]`)},
				{Name: "a", Type: "any", Default: json.RawMessage(`{"k":true}`)},
				{Name: "set", Type: "string", Default: json.RawMessage(`"d"`)},
			}},
			body: `set = "given"`,
			want: `{"n":3,"l":["x"],"a":{"k":true},"set":"given"}`,
		},
		{
			name:   "load-time functions",
			schema: sdk.Schema{Attributes: []sdk.Attribute{{Name: "token", Type: "string", Sensitive: true}, attr("up", "string")}},
			body: `token = env("PLUGINHOST_TEST_SECRET")
up = upper("x")`,
			want: `{"token":"s3cret","up":"X"}`,
		},
		{
			name: "single block present and absent",
			schema: sdk.Schema{Blocks: []sdk.Block{
				{Name: "auth", Nesting: sdk.NestingSingle, Schema: sdk.Schema{Attributes: []sdk.Attribute{attr("user", "string")}}},
				{Name: "tls", Nesting: sdk.NestingSingle, Schema: sdk.Schema{Attributes: []sdk.Attribute{attr("ca", "string")}}},
			}},
			body: `auth {
  user = "u"
}`,
			want: `{"auth":{"user":"u"},"tls":null}`,
		},
		{
			name: "list blocks",
			schema: sdk.Schema{Blocks: []sdk.Block{
				{Name: "rule", Nesting: sdk.NestingList, Schema: sdk.Schema{Attributes: []sdk.Attribute{attr("match", "string")}}},
				{Name: "none", Nesting: sdk.NestingList, Schema: sdk.Schema{Attributes: []sdk.Attribute{attr("x", "string")}}},
			}},
			body: `rule { match = "a" }
rule { match = "b" }`,
			want: `{"rule":[{"match":"a"},{"match":"b"}],"none":[]}`,
		},
		{
			name: "map blocks, nested two deep",
			schema: sdk.Schema{Blocks: []sdk.Block{
				{Name: "action", Nesting: sdk.NestingMap, Schema: sdk.Schema{
					Attributes: []sdk.Attribute{attr("method", "string")},
					Blocks: []sdk.Block{{Name: "header", Nesting: sdk.NestingMap, Schema: sdk.Schema{
						Attributes: []sdk.Attribute{attr("value", "string")},
					}}},
				}},
			}},
			body: `action "create" {
  method = "POST"
  header "Accept" { value = "application/json" }
}
action "resolve" { method = "PATCH" }`,
			want: `{"action":{"create":{"method":"POST","header":{"Accept":{"value":"application/json"}}},"resolve":{"method":"PATCH","header":{}}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "backend \"t\" \"x\" {\n  config {\n" + tt.body + "\n  }\n}\n"
			dec, diags, p := decodeOne(t, tt.schema, src)
			if diags.HasErrors() {
				t.Fatalf("diagnostics:\n%s", p.render(t, diags))
			}
			sameJSON(t, dec.Config, tt.want)
		})
	}
}

func TestDecodeConfigErrors(t *testing.T) {
	schema := sdk.Schema{
		Attributes: []sdk.Attribute{
			{Name: "url", Type: "string", Required: true},
			{Name: "port", Type: "number"},
			{Name: "password", Type: "string", Sensitive: true},
			{Name: "subject", Type: "string", PerAlert: true},
		},
		Blocks: []sdk.Block{
			{Name: "auth", Nesting: sdk.NestingSingle, Required: true, Schema: sdk.Schema{Attributes: []sdk.Attribute{attr("user", "string")}}},
		},
	}
	tests := []struct {
		name, body string
		want       []string // summaries, in order
	}{
		{"missing required attribute", `auth {}`, []string{"Missing required argument"}},
		{"missing required block", `url = "u"`, []string{"Missing auth block"}},
		{"wrong type", "url = \"u\"\nport = \"eighty\"\nauth {}", []string{"Incorrect attribute value type"}},
		{"unknown block", "url = \"u\"\nauth {}\nproxy {}", []string{"Unsupported block type"}},
		{"per-alert uses a load-time function", "url = \"u\"\nauth {}\nsubject = env(\"HOME\")", []string{"Error in function call"}},
		{"per-alert misspells an alert field", "url = \"u\"\nauth {}\nsubject = alert.severty_label", []string{"Unsupported attribute"}},
		{"per-alert has the wrong type", "url = \"u\"\nauth {}\nsubject = alert.targets", []string{"Incorrect attribute value type"}},
		{"load-time attribute refers to alert", "url = alert.rule\nauth {}", []string{"Variables not allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "backend \"t\" \"x\" {\n  config {\n" + tt.body + "\n  }\n}\n"
			_, diags, _ := decodeOne(t, schema, src)
			var got []string
			for _, d := range diags {
				got = append(got, d.Summary)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("summaries = %q, want %q\n%s", got, tt.want, diags.Error())
			}
			for _, d := range diags {
				if d.Subject == nil || d.Subject.Filename != "connector.hcl" || d.Subject.Start.Line < 2 {
					t.Errorf("diagnostic %q does not point into the config block: %v", d.Summary, d.Subject)
				}
			}
		})
	}
}

func TestDecodeConfigInvalidSchema(t *testing.T) {
	for _, s := range []sdk.Schema{
		{Attributes: []sdk.Attribute{attr("x", "strng")}},
		{Attributes: []sdk.Attribute{attr("x", "list(")}},
		{Attributes: []sdk.Attribute{{Name: "x", Type: "number", Default: json.RawMessage(`"no"`)}}},
		{Attributes: []sdk.Attribute{attr("x", "string"), attr("x", "string")}},
	} {
		_, diags, _ := decodeOne(t, s, "backend \"t\" \"x\" {\n  config {}\n}\n")
		if len(diags) != 1 || diags[0].Summary != "Invalid plugin schema" {
			t.Errorf("schema %+v: got %v, want one Invalid plugin schema", s, diags)
		}
	}
}

// An attribute the plugin does not declare is reported the way `validate`
// prints it: file, line and snippet.
func TestUnsupportedArgumentGolden(t *testing.T) {
	src := `# The ServiceNow backend for production.
backend "servicenow" "prod" {
  config {
    instance_url = "https://contoso.service-now.com"
    usrname      = "admin"
  }
}
`
	schema := sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "instance_url", Type: "string", Required: true},
		{Name: "username", Type: "string"},
		{Name: "short_description", Type: "string", PerAlert: true},
	}}
	p := parseBackends(t, "connector.hcl", src)
	b := p.backends[0]
	_, diags := DecodeConfig(schema, b.Config, b.ConfigRange, loadContext(t.TempDir()), hclfuncs.PerAlert())
	golden(t, "unsupported_argument.golden", p.render(t, diags))
}

func TestRenderPerAlertValues(t *testing.T) {
	schema := sdk.Schema{
		Attributes: []sdk.Attribute{
			{Name: "url", Type: "string"},
			{Name: "subject", Type: "string", PerAlert: true},
			{Name: "urgency", Type: "number", PerAlert: true},
			{Name: "tags", Type: "list(string)", PerAlert: true},
			{Name: "note", Type: "string", PerAlert: true, Default: json.RawMessage(`"none"`)},
			{Name: "absent", Type: "string", PerAlert: true},
		},
		Blocks: []sdk.Block{
			{Name: "action", Nesting: sdk.NestingMap, Schema: sdk.Schema{Attributes: []sdk.Attribute{
				{Name: "method", Type: "string"},
				{Name: "body", Type: "string", PerAlert: true},
			}}},
			{Name: "static", Nesting: sdk.NestingSingle, Schema: sdk.Schema{Attributes: []sdk.Attribute{attr("x", "string")}}},
		},
	}
	src := `backend "rest" "ops" {
  config {
    url     = "https://example.test"
    subject = "[${alert.severity_label}] ${alert.rule} on ${alert.resource_name}"
    urgency = alert.severity == 0 ? 1 : 2
    tags    = [alert.signal_type, fields.team, correlation_key]
    action "update" {
      method = "PATCH"
      body   = jsonencode({ id = work_item.id, key = work_item.key, project = lookup(work_item.attributes, "project", "none") })
    }
    static { x = "y" }
  }
}
`
	dec, diags, p := decodeOne(t, schema, src)
	if diags.HasErrors() {
		t.Fatalf("diagnostics:\n%s", p.render(t, diags))
	}
	sameJSON(t, dec.Config, `{"url":"https://example.test","action":{"update":{"method":"PATCH"}},"static":{"x":"y"}}`)
	if !dec.HasPerAlert() {
		t.Fatal("HasPerAlert = false")
	}
	sev := 0
	req := &sdk.Request{
		CorrelationKey: "key-1",
		Alert: sdk.Alert{
			ID: "a1", Rule: "cpu high", Severity: &sev, SeverityLabel: "Sev0", SignalType: "Metric",
			ResourceName: "vm1", Condition: sdk.ConditionFired, FiredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		},
		Fields: map[string]any{"team": "ops"},
		Ref:    &sdk.WorkItem{ID: "42", Key: "OPS-42", Attributes: map[string]string{"project": "7"}},
	}
	vals, err := dec.RenderValues(req)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, vals, `{
		"subject":"[Sev0] cpu high on vm1","urgency":1,"tags":["Metric","ops","key-1"],
		"note":"none","absent":null,
		"action":{"update":{"body":"{\"id\":\"42\",\"key\":\"OPS-42\",\"project\":\"7\"}"}}
	}`)

	// A field the route did not set fails this alert, permanently, naming the line.
	req.Fields = nil
	_, err = dec.RenderValues(req)
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "connector.hcl:6") {
		t.Errorf("render without fields: %v (kind %s), want a permanent error at connector.hcl:6", err, sdk.KindOf(err))
	}
}

func TestRenderWithoutPerAlertAttributes(t *testing.T) {
	dec, diags, _ := decodeOne(t, sdk.Schema{Attributes: []sdk.Attribute{attr("a", "string")}}, "backend \"t\" \"x\" {\n  config {\n a = \"b\"\n }\n}\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if v, err := dec.RenderValues(&sdk.Request{}); v != nil || err != nil {
		t.Errorf("RenderValues = %s, %v; want nothing", v, err)
	}
}

// Configure diagnostics land on the attribute they name.
func TestPathRange(t *testing.T) {
	schema := sdk.Schema{
		Attributes: []sdk.Attribute{attr("url", "string"), {Name: "subject", Type: "string", PerAlert: true}},
		Blocks: []sdk.Block{
			{Name: "auth", Nesting: sdk.NestingSingle, Schema: sdk.Schema{Attributes: []sdk.Attribute{attr("secret", "string")}}},
			{Name: "rule", Nesting: sdk.NestingList, Schema: sdk.Schema{Attributes: []sdk.Attribute{attr("match", "string")}}},
			{Name: "action", Nesting: sdk.NestingMap, Schema: sdk.Schema{Attributes: []sdk.Attribute{attr("method", "string")}}},
		},
	}
	src := `backend "t" "x" {
  config {
    url     = "http://x"
    subject = alert.rule
    auth {
      secret = "s"
    }
    rule { match = "a" }
    rule { match = "b" }
    action "create" { method = "POST" }
    action "resolve" { method = "PATCH" }
  }
}
`
	dec, diags, _ := decodeOne(t, schema, src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tests := []struct {
		path []string
		line int
	}{
		{nil, 2},
		{[]string{"url"}, 3},
		{[]string{"subject"}, 4},
		{[]string{"auth", "secret"}, 6},
		{[]string{"auth", "nope"}, 5},
		{[]string{"rule", "1", "match"}, 9},
		{[]string{"rule", "0"}, 8},
		{[]string{"action", "resolve", "method"}, 11},
		{[]string{"action", "missing"}, 10},
		{[]string{"nothing"}, 2},
	}
	for _, tt := range tests {
		if got := dec.PathRange(tt.path).Start.Line; got != tt.line {
			t.Errorf("PathRange(%q) line = %d, want %d", tt.path, got, tt.line)
		}
	}
	hd := dec.Diagnostics(sdk.Diagnostics{
		sdk.AttributeError("Bad secret", "rejected", "auth", "secret"),
		sdk.AttributeWarning("Plain HTTP", "", "url"),
	})
	if hd[0].Severity != hcl.DiagError || hd[0].Subject.Start.Line != 6 || hd[1].Severity != hcl.DiagWarning || hd[1].Subject.Start.Line != 3 {
		t.Errorf("mapped diagnostics = %v", hd)
	}
}

// A type error on a sensitive attribute is printed without the values of
// the variables involved.
func TestSensitiveDiagnosticsCarryNoValues(t *testing.T) {
	schema := sdk.Schema{Attributes: []sdk.Attribute{{Name: "password", Type: "number", Sensitive: true}}}
	p := parseBackends(t, "connector.hcl", "backend \"t\" \"x\" {\n  config {\n    password = secret\n  }\n}\n")
	b := p.backends[0]
	ctx := loadContext(t.TempDir())
	ctx.Variables = map[string]cty.Value{"secret": cty.StringVal("hunter2")}
	_, diags := DecodeConfig(schema, b.Config, b.ConfigRange, ctx, hclfuncs.PerAlert())
	if !diags.HasErrors() {
		t.Fatal("want a type error")
	}
	if out := p.render(t, diags); strings.Contains(out, "hunter2") {
		t.Errorf("diagnostic shows the secret:\n%s", out)
	}
}

// BenchmarkRenderValues measures rendering one per-alert template for a
// call, the host-side cost every plugin call with per-alert values pays.
func BenchmarkRenderValues(b *testing.B) {
	schema := sdk.Schema{Attributes: []sdk.Attribute{{Name: "subject", Type: "string", PerAlert: true}}}
	p := parseBackends(b, "connector.hcl", "backend \"t\" \"x\" {\n  config {\n    subject = \"[${alert.severity_label}] ${alert.rule}\"\n  }\n}\n")
	be := p.backends[0]
	dec, diags := DecodeConfig(schema, be.Config, be.ConfigRange, loadContext(b.TempDir()), hclfuncs.PerAlert())
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	sev := 1
	req := &sdk.Request{CorrelationKey: "k", Alert: sdk.Alert{ID: "a", Rule: "cpu high", Severity: &sev, SeverityLabel: "Sev1"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dec.RenderValues(req); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPerAlertChecksEveryReference: per-alert attributes, nested blocks
// included, have every variable reference checked at load, also where an
// evaluation against unknown values skips (after && and ||, in the
// branches of ?:, in for expressions).
func TestPerAlertChecksEveryReference(t *testing.T) {
	schema := sdk.Schema{
		Attributes: []sdk.Attribute{{Name: "subject", Type: "string", PerAlert: true}},
		Blocks: []sdk.Block{{Name: "comment", Nesting: sdk.NestingList, Schema: sdk.Schema{
			Attributes: []sdk.Attribute{{Name: "body", Type: "string", PerAlert: true}},
		}}},
	}
	tests := []struct {
		name, body string
		want       []string // substrings of the diagnostics; nil: valid
	}{
		{"alert field in the false branch", `subject = alert.severity <= 1 ? alert.rule : alert.descripton`,
			[]string{"Unsupported attribute", `alert.descripton does not exist`, `Did you mean "description"?`}},
		{"alert field in a template's conditional", `subject = "${alert.severity == 0 ? alert.rulle : "other"}"`,
			[]string{`alert.rulle does not exist`, `Did you mean "rule"?`}},
		{"work_item attribute after &&", `subject = alert.severity <= 1 && work_item.idd == "" ? "a" : "b"`,
			[]string{`work_item.idd does not exist`, `Did you mean "id"?`}},
		{"configuration item through a for", `subject = join(",", [for ci in configuration_items : ci.nmae])`,
			[]string{`ci.nmae does not exist`, `Did you mean "name"?`}},
		{"alert field in a nested block after ||", "comment {\n  body = correlation_key == \"\" || alert.sevrity == 1 ? \"x\" : \"y\"\n}",
			[]string{`alert.sevrity does not exist`, `Did you mean "severity"?`}},
		{"unknown variable after ||", `subject = alert.severity <= 1 || wrk_item.id == "" ? "a" : "b"`,
			[]string{"Unknown variable", `"wrk_item"`, "alert, configuration_items, correlation_key, fields, work_item"}},
		{"valid: every variable", `subject = "${alert.rule} ${fields.any.thing} ${correlation_key} ${work_item.key} ${configuration_items[0].resource_id} ${alert.custom_properties["team"]}"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "backend \"t\" \"x\" {\n  config {\n" + tt.body + "\n  }\n}\n"
			_, diags, p := decodeOne(t, schema, src)
			out := p.render(t, diags)
			if tt.want == nil {
				if diags.HasErrors() {
					t.Fatalf("want no errors, got:\n%s", out)
				}
				return
			}
			if n := len(diags.Errs()); n != 1 {
				t.Fatalf("got %d errors, want 1:\n%s", n, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, out)
				}
			}
		})
	}
}
