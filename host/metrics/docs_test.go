package metrics

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// operationsDocPath is the operator's guide whose metrics table this test
// keeps in step with the registry.
const operationsDocPath = "../../docs/operations.md"

// metricPrefix starts the name of every metric the connector defines; Go
// and process collector metrics (go_*, process_*) are not in the table.
const metricPrefix = "itsm_"

// docMetric is one metric: its name, Prometheus type and label names.
type docMetric struct {
	name   string
	typ    string
	labels []string
}

func (m docMetric) String() string {
	return fmt.Sprintf("%s %s [%s]", m.name, m.typ, strings.Join(m.labels, ", "))
}

// histogramSeries are the suffixes of a histogram's series, which PromQL in
// the doc may name (itsm_ingest_duration_seconds_bucket).
var histogramSeries = []string{"_bucket", "_sum", "_count"}

// TestOperationsDocMetrics fails when docs/operations.md and the registry
// disagree: a registered metric without a row in the metrics table, a row
// whose type or labels differ from the registration, or an itsm_… name
// anywhere in the doc (table, PromQL) that is not registered.
func TestOperationsDocMetrics(t *testing.T) {
	registered := registeredMetrics(t)
	raw, err := os.ReadFile(operationsDocPath)
	if err != nil {
		t.Fatalf("reading the operations guide: %v", err)
	}
	doc := string(raw)
	rows, err := parseMetricRows(doc)
	if err != nil {
		t.Fatalf("%s: %v", operationsDocPath, err)
	}

	names := make([]string, 0, len(registered))
	for name := range registered {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		want := registered[name]
		got, ok := rows[name]
		if !ok {
			t.Errorf("%s has no metrics table row for %s; add: | `%s` | %s | %s | … |",
				operationsDocPath, name, name, want.typ, labelCell(want.labels))
			continue
		}
		if got.typ != want.typ || !slices.Equal(got.labels, want.labels) {
			t.Errorf("%s describes %v, but the registry has %v", operationsDocPath, got, want)
		}
	}
	for _, name := range metricNames(doc) {
		if base, ok := histogramBase(name, registered); ok {
			if _, isRow := rows[name]; isRow {
				t.Errorf("%s has a table row for %s; the row belongs to the histogram %s", operationsDocPath, name, base)
			}
		}
	}
	checkMetricUse(t, operationsDocPath, doc, registered)
}

// checkMetricUse fails the test for every itsm_… name in text (a doc, a
// dashboard, alerting rules) that is neither a registered metric nor a
// series of a registered histogram, and for every label a selector in text
// puts on a metric (itsm_x{backend="a"}) that the metric does not have.
func checkMetricUse(t *testing.T, source, text string, registered map[string]docMetric) {
	t.Helper()
	for _, name := range metricNames(text) {
		if _, ok := registered[name]; ok {
			continue
		}
		if _, ok := histogramBase(name, registered); ok {
			continue
		}
		t.Errorf("%s names %s, which is not a registered metric", source, name)
	}
	for _, sel := range selectorLabels(text) {
		m, ok := registered[sel.metric]
		if !ok {
			base, isSeries := histogramBase(sel.metric, registered)
			if !isSeries {
				continue // reported above
			}
			m = registered[base]
			m.labels = append(slices.Clone(m.labels), "le")
		}
		for _, l := range sel.labels {
			if !slices.Contains(m.labels, l) && !slices.Contains(targetLabels, l) {
				t.Errorf("%s selects %s by label %q, which it does not have (labels: %s)", source, sel.metric, l, labelCell(m.labels))
			}
		}
	}
}

// targetLabels are the labels Prometheus adds to every scraped series.
var targetLabels = []string{"job", "instance"}

// selector is one metric{label…} selector: the metric and its label names.
type selector struct {
	metric string
	labels []string
}

var (
	selectorRe = regexp.MustCompile(`\b(` + metricPrefix + `[a-z0-9_]+)\{([^}]*)\}`)
	matcherRe  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
)

// selectorLabels lists the selectors in text with the label names they match on.
func selectorLabels(text string) []selector {
	var out []selector
	for _, m := range selectorRe.FindAllStringSubmatch(text, -1) {
		sel := selector{metric: m[1]}
		for _, l := range matcherRe.FindAllStringSubmatch(m[2], -1) {
			sel.labels = append(sel.labels, l[1])
		}
		out = append(out, sel)
	}
	return out
}

// registeredMetrics returns every itsm_ metric of a fully wired registry:
// New's collectors plus the runtime collector, each labelled vector given
// one child so that Gather reports it with its type and label names.
func registeredMetrics(t *testing.T) map[string]docMetric {
	t.Helper()
	m := New()
	m.RegisterRuntime(func(context.Context) ([]BackendRuntime, int64, error) {
		return []BackendRuntime{{Backend: "servicenow.prod"}}, 0, nil
	})
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		get := v.Field(i).MethodByName("GetMetricWithLabelValues")
		if !get.IsValid() {
			continue
		}
		if !addChild(get) {
			t.Fatalf("Metrics.%s: no label count between 0 and 8 is accepted", v.Type().Field(i).Name)
		}
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	out := map[string]docMetric{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), metricPrefix) {
			continue
		}
		dm := docMetric{name: f.GetName(), typ: strings.ToLower(f.GetType().String())}
		if ms := f.GetMetric(); len(ms) > 0 {
			for _, l := range ms[0].GetLabel() {
				dm.labels = append(dm.labels, l.GetName())
			}
		}
		slices.Sort(dm.labels)
		out[dm.name] = dm
	}
	if len(out) == 0 {
		t.Fatal("no itsm_ metrics registered")
	}
	return out
}

// addChild calls a vector's GetMetricWithLabelValues with as many label
// values as it takes, creating one child; false when no count fits.
func addChild(get reflect.Value) bool {
	for n := 0; n <= 8; n++ {
		args := make([]reflect.Value, n)
		for i := range args {
			args[i] = reflect.ValueOf("x")
		}
		if out := get.Call(args); out[1].IsNil() {
			return true
		}
	}
	return false
}

// metricRow matches a metrics table row: | `itsm_name` | type | labels | meaning |.
var metricRow = regexp.MustCompile("^\\|\\s*`(" + metricPrefix + "[a-z0-9_]+)`\\s*\\|([^|]*)\\|([^|]*)\\|")

// backticked matches the label names of a row's labels cell.
var backticked = regexp.MustCompile("`([a-z_][a-z0-9_]*)`")

// parseMetricRows reads the metrics table rows of doc by metric name. A
// labels cell lists names in backticks; anything else (—) means none.
func parseMetricRows(doc string) (map[string]docMetric, error) {
	rows := map[string]docMetric{}
	for _, line := range strings.Split(doc, "\n") {
		m := metricRow.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		if _, dup := rows[m[1]]; dup {
			return nil, fmt.Errorf("metrics table lists %s twice", m[1])
		}
		dm := docMetric{name: m[1], typ: strings.TrimSpace(m[2])}
		for _, l := range backticked.FindAllStringSubmatch(m[3], -1) {
			dm.labels = append(dm.labels, l[1])
		}
		slices.Sort(dm.labels)
		rows[dm.name] = dm
	}
	return rows, nil
}

// metricName matches an itsm_… name anywhere in the doc. Upper-case
// environment variables (ITSM_POSTGRES_DSN) do not match.
var metricName = regexp.MustCompile(`\b` + metricPrefix + `[a-z0-9_]+\b`)

// metricNames lists the distinct itsm_… names doc mentions, in order.
func metricNames(doc string) []string {
	var out []string
	for _, n := range metricName.FindAllString(doc, -1) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// histogramBase returns the registered histogram whose series name is.
func histogramBase(name string, registered map[string]docMetric) (string, bool) {
	for _, suffix := range histogramSeries {
		base, ok := strings.CutSuffix(name, suffix)
		if ok && registered[base].typ == "histogram" {
			return base, true
		}
	}
	return "", false
}

// labelCell renders label names as the table writes them.
func labelCell(labels []string) string {
	if len(labels) == 0 {
		return "—"
	}
	cells := make([]string, len(labels))
	for i, l := range labels {
		cells[i] = "`" + l + "`"
	}
	return strings.Join(cells, ", ")
}

func TestParseMetricRows(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    map[string]docMetric
		wantErr bool
	}{
		{
			name: "labels in backticks, sorted",
			doc:  "| `itsm_deliveries_total` | counter | `outcome`, `backend` | plugin calls |",
			want: map[string]docMetric{"itsm_deliveries_total": {name: "itsm_deliveries_total", typ: "counter", labels: []string{"backend", "outcome"}}},
		},
		{
			name: "no labels",
			doc:  "| `itsm_unmatched_dead_letters` | gauge | — | alerts no route took |",
			want: map[string]docMetric{"itsm_unmatched_dead_letters": {name: "itsm_unmatched_dead_letters", typ: "gauge"}},
		},
		{
			name: "prose and PromQL are not rows",
			doc:  "rate(itsm_deliveries_total[5m])\n| metric | type | labels | meaning |\n|---|---|---|---|\n",
			want: map[string]docMetric{},
		},
		{
			name:    "a metric listed twice",
			doc:     "| `itsm_in_flight` | gauge | `backend` | a |\n| `itsm_in_flight` | gauge | `backend` | b |",
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMetricRows(tt.doc)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) && !tt.wantErr {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		doc  string
		want []string
	}{
		{"histogram_quantile(0.99, rate(itsm_ingest_duration_seconds_bucket[5m]))", []string{"itsm_ingest_duration_seconds_bucket"}},
		{"`itsm_queue_due` and itsm_queue_due again", []string{"itsm_queue_due"}},
		{"dsn = env(\"ITSM_POSTGRES_DSN\"), itsm-connector serve", nil},
	}
	for _, tt := range tests {
		if got := metricNames(tt.doc); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %v, want %v", tt.doc, got, tt.want)
		}
	}
}

func TestSelectorLabels(t *testing.T) {
	got := selectorLabels(`rate(itsm_deliveries_total{outcome=~"retryable|permanent", backend!="a"}[5m]) / itsm_in_flight`)
	want := []selector{{metric: "itsm_deliveries_total", labels: []string{"outcome", "backend"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
