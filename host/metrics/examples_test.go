package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The dashboards and alerting rules shipped in examples/, checked like the
// operations guide: every itsm_… metric and selector label they use exists.
const (
	dashboardGlob = "../../examples/grafana/*.json"
	rulesGlob     = "../../examples/prometheus/*.yaml"
)

func TestDashboardMetrics(t *testing.T) {
	registered := registeredMetrics(t)
	for _, path := range globAtLeastOne(t, dashboardGlob) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var dash any
		if err := json.Unmarshal(raw, &dash); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		queries := strings.Join(dashboardQueries(dash), "\n")
		if len(metricNames(queries)) == 0 {
			t.Errorf("%s: no query uses an %s metric", path, metricPrefix)
		}
		checkMetricUse(t, path, queries, registered)
	}
}

// dashboardQueries returns every query of a Grafana dashboard: the panels'
// targets (expr) and the template variables' queries (definition).
func dashboardQueries(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "expr" || k == "definition") {
				out = append(out, s)
				continue
			}
			out = append(out, dashboardQueries(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, dashboardQueries(x)...)
		}
	}
	return out
}

// alertRule is the part of a Prometheus alerting rule the guide shows.
type alertRule struct {
	Alert string `yaml:"alert"`
	Expr  string `yaml:"expr"`
	For   string `yaml:"for"`
}

type ruleFile struct {
	Groups []struct {
		Name  string      `yaml:"name"`
		Rules []alertRule `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertingRulesMetrics(t *testing.T) {
	registered := registeredMetrics(t)
	for _, path := range globAtLeastOne(t, rulesGlob) {
		rules := readRules(t, path)
		if len(rules) == 0 {
			t.Errorf("%s: no alerting rules", path)
		}
		for _, r := range rules {
			checkMetricUse(t, path+" ("+r.Alert+")", r.Expr, registered)
		}
	}
}

// suggestedAlerts matches the YAML block under "### Suggested alerts".
var suggestedAlerts = regexp.MustCompile("(?s)### Suggested alerts\n.*?```yaml\n(.*?)```")

// TestSuggestedAlertsMatchRules keeps the guide's "Suggested alerts" and
// examples/prometheus in step: the same alerts, expressions and durations.
func TestSuggestedAlertsMatchRules(t *testing.T) {
	raw, err := os.ReadFile(operationsDocPath)
	if err != nil {
		t.Fatal(err)
	}
	m := suggestedAlerts.FindSubmatch(raw)
	if m == nil {
		t.Fatalf("%s has no yaml block under ### Suggested alerts", operationsDocPath)
	}
	var doc ruleFile
	if err := yaml.Unmarshal(m[1], &doc); err != nil {
		t.Fatalf("%s, Suggested alerts: %v", operationsDocPath, err)
	}
	var inDoc []alertRule
	for _, g := range doc.Groups {
		inDoc = append(inDoc, g.Rules...)
	}
	path := filepath.Join("../../examples/prometheus", "itsm-connector-rules.yaml")
	inFile := readRules(t, path)
	if len(inDoc) != len(inFile) {
		t.Fatalf("%s suggests %d alerts, %s has %d", operationsDocPath, len(inDoc), path, len(inFile))
	}
	for i := range inDoc {
		d, f := inDoc[i], inFile[i]
		d.Expr, f.Expr = strings.Join(strings.Fields(d.Expr), " "), strings.Join(strings.Fields(f.Expr), " ")
		if !reflect.DeepEqual(d, f) {
			t.Errorf("alert %d differs:\n%s: %+v\n%s: %+v", i+1, operationsDocPath, d, path, f)
		}
	}
}

func readRules(t *testing.T, path string) []alertRule {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []alertRule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

func globAtLeastOne(t *testing.T, pattern string) []string {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		t.Fatalf("no files match %s (%v)", pattern, err)
	}
	return paths
}
