//go:build linux

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
	"github.com/itsm-connector/itsm-connector/plugins/servicenow/snowfake"
)

// The outage test's shape.
const (
	outageBefore = 20 // alerts fired while ServiceNow is healthy
	outageDuring = 20 // alerts fired while it fails
	outageResolv = 10 // of the first ones, resolved while it fails
	// outageRetryAfter is the Retry-After of the 429 phase, in seconds.
	outageRetryAfter = 2
	// outageInFlight is ServiceNow's max_in_flight.
	outageInFlight = 4
	// outageGrace is how long after a 429 another request may still arrive:
	// calls already in flight when the 429 came back (at most
	// outageInFlight-1 of them) had passed the host's pause check.
	outageGrace = 500 * time.Millisecond
	// outage503For is how long A keeps answering 503 at least: a few
	// rounds of the host's exponential backoff (1 s base).
	outage503For  = 3 * time.Second
	outageTimeout = 90 * time.Second
)

const (
	snowUser     = "svc.itsm"
	snowPassword = "pw-e2e-0123456789"
	// snowStateNew and snowStateResolved are incident states.
	snowStateNew      = "1"
	snowStateResolved = "6"
	// snowCorrelationIDMax is the plugin's default incident.correlation_id_max.
	snowCorrelationIDMax = 100
)

func outageConfig(instanceURL string) string {
	return fmt.Sprintf(`auth "dev" {}
store {
  driver = "sqlite"
  path   = "data/connector.db"
}
backend "servicenow" "a" {
  config {
    instance_url = %q
    auth {
      type     = "basic"
      username = %q
      password = %q
    }
  }
  max_in_flight = %d
}
backend "file" "b" {
  config { directory = "data/workitems" }
}
route "everything" {
  send_to       = [backend.servicenow.a, backend.file.b]
  reopen_window = "24h"
}
`, instanceURL, snowUser, snowPassword, outageInFlight)
}

// TestOutage makes backend A (ServiceNow) answer 503 for a while, then 429
// with Retry-After, then heal, while backend B (the file plugin) takes the
// same alerts: B completes while A still fails; once healed, A has exactly
// one incident per alert in the right state; no request reached A inside a
// Retry-After pause.
func TestOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end outage test; skipped with -short")
	}
	start := time.Now()
	snow := snowfake.New(snowfake.Options{BasicUsers: map[string]string{snowUser: snowPassword}, RequireCloseCode: true})
	t.Cleanup(snow.Close)
	rec := newRecorder(t, snow.URL)

	sample, err := os.ReadFile("testdata/metric-fired.json")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := harness.Alerts(sample, 0, outageBefore+outageDuring)
	if err != nil {
		t.Fatal(err)
	}
	// The alerts' resource, known to the CMDB by its ARM id.
	ci := snow.Seed("cmdb_ci_storage_account", map[string]string{"name": "test-storageAccount",
		"object_id": "/subscriptions/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e/resourcegroups/test-RG/providers/microsoft.storage/storageaccounts/test-storageAccount"})

	c := harness.Start(t, harness.Options{Config: outageConfig(rec.URL()), Plugins: []string{"servicenow", "file"}})
	sender := c.Sender(t)
	itemDir := filepath.Join(c.Dir(), "data", "workitems")
	phase := func(name string) { t.Logf("%v: %s", time.Since(start).Round(time.Millisecond), name) }

	// Healthy: the first alerts reach both backends.
	phase("healthy: firing the first alerts")
	for _, a := range alerts[:outageBefore] {
		sender.Send(t, a.Fired)
	}
	waitIncidents(t, snow, "the first incidents on A", alerts[:outageBefore], nil)
	waitFiles(t, itemDir, "the first work items on B", alerts[:outageBefore], nil)
	// The incidents exist before their Create returns (ServiceNow then binds
	// the Affected CIs): wait until the store recorded every one, so the
	// outage below holds exactly the changes sent during it.
	drainQueue(t, c)

	// 503: resolutions and new alerts arrive; B takes them all while A fails.
	phase("A answers 503")
	snow.FailAll(http.StatusServiceUnavailable, nil, "")
	resolved := map[string]bool{}
	for _, a := range alerts[:outageResolv] {
		sender.Send(t, a.Resolved)
		resolved[a.ID] = true
	}
	for _, a := range alerts[outageBefore:] {
		sender.Send(t, a.Fired)
	}
	waitFiles(t, itemDir, "every work item on B while A fails", alerts, resolved)
	checkIncidents(t, snow, "A during its outage", alerts[:outageBefore], nil, ci)
	// Held for A, not lost: its changes wait in the store.
	if n := jsonLen(t, c.Command(t, "workitems", "list", "-pending", "-backend", "servicenow.a", "-json")); n != outageResolv+outageDuring {
		t.Errorf("%d work items pending for A during its outage, want %d", n, outageResolv+outageDuring)
	}
	phase(fmt.Sprintf("B complete while A fails (%d answers 503 so far)", rec.count(http.StatusServiceUnavailable)))
	harness.Eventually(t, outageTimeout, "503 answers spanning a few backoff rounds", func() (bool, string) {
		first, last, n := rec.span(http.StatusServiceUnavailable)
		return n > 0 && last.Sub(first) >= outage503For, fmt.Sprintf("%d answers 503 over %v", n, last.Sub(first))
	})

	// 429 with Retry-After, until the host came back after at least one pause.
	snow.FailAll(http.StatusTooManyRequests, http.Header{"Retry-After": {strconv.Itoa(outageRetryAfter)}}, "")
	phase("A answers 429 with Retry-After")
	harness.Eventually(t, outageTimeout, "429 answers spanning a Retry-After pause", func() (bool, string) {
		first, last, n := rec.span(http.StatusTooManyRequests)
		return n > 0 && last.Sub(first) >= outageRetryAfter*time.Second, fmt.Sprintf("%d answers 429 over %v", n, last.Sub(first))
	})

	phase(fmt.Sprintf("A heals (%d answers 429)", rec.count(http.StatusTooManyRequests)))
	snow.Heal()
	waitIncidents(t, snow, "A to catch up", alerts, resolved)
	drainQueue(t, c)
	phase("A caught up")

	checkIncidents(t, snow, "A after the outage", alerts, resolved, ci)
	checkFiles(t, itemDir, "B after the outage", alerts, resolved)
	checkRetryAfter(t, rec.requests())
	t.Logf("ServiceNow saw %d requests (%d answered 503, %d answered 429); total %v",
		len(rec.requests()), rec.count(http.StatusServiceUnavailable), rec.count(http.StatusTooManyRequests), time.Since(start).Round(time.Millisecond))
}

// snowCorrelationID is the plugin's correlation_id for a key: the key, or
// its SHA-256 in hex when longer than correlation_id_max (the default
// alert-id key of an Azure alert is).
func snowCorrelationID(key string) string {
	if len(key) <= snowCorrelationIDMax {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// incidentProblems compares A's incidents with what alerts should have
// made: exactly one incident each, resolved when in resolved, else new.
// With ci set, every incident must be bound to it.
func incidentProblems(snow *snowfake.Server, alerts []harness.Alert, resolved map[string]bool, ci string) []string {
	byCorr := map[string][]map[string]string{}
	for _, inc := range snow.Records("incident") {
		byCorr[inc["correlation_id"]] = append(byCorr[inc["correlation_id"]], inc)
	}
	var problems []string
	want := map[string]bool{}
	for _, a := range alerts {
		corr := snowCorrelationID(a.ID)
		want[corr] = true
		incs := byCorr[corr]
		if len(incs) != 1 {
			var numbers []string
			for _, inc := range incs {
				numbers = append(numbers, inc["number"]+"(state "+inc["state"]+")")
			}
			problems = append(problems, fmt.Sprintf("alert %s: %d incidents %v, want exactly one", a.ID, len(incs), numbers))
			continue
		}
		inc, state := incs[0], snowStateNew
		if resolved[a.ID] {
			state = snowStateResolved
		}
		switch {
		case inc["state"] != state:
			problems = append(problems, fmt.Sprintf("alert %s: incident %s in state %s, want %s", a.ID, inc["number"], inc["state"], state))
		case state == snowStateResolved && (inc["close_code"] == "" || inc["close_notes"] == ""):
			problems = append(problems, fmt.Sprintf("alert %s: incident %s resolved without close_code or close_notes", a.ID, inc["number"]))
		case ci != "" && inc["cmdb_ci"] != ci:
			problems = append(problems, fmt.Sprintf("alert %s: incident %s bound to cmdb_ci %q, want %q", a.ID, inc["number"], inc["cmdb_ci"], ci))
		}
	}
	for corr, incs := range byCorr {
		if !want[corr] {
			problems = append(problems, fmt.Sprintf("%d incidents with unexpected correlation_id %q", len(incs), corr))
		}
	}
	sort.Strings(problems)
	return problems
}

func waitIncidents(t *testing.T, snow *snowfake.Server, what string, alerts []harness.Alert, resolved map[string]bool) {
	t.Helper()
	harness.Eventually(t, outageTimeout, what, func() (bool, string) {
		p := incidentProblems(snow, alerts, resolved, "")
		return len(p) == 0, fmt.Sprintf("%d problems, first: %v", len(p), first(p))
	})
}

func checkIncidents(t *testing.T, snow *snowfake.Server, what string, alerts []harness.Alert, resolved map[string]bool, ci string) {
	t.Helper()
	for _, p := range incidentProblems(snow, alerts, resolved, ci) {
		t.Errorf("%s: %s", what, p)
	}
}

// fileProblems compares B's work items with what alerts should have made.
func fileProblems(dir string, alerts []harness.Alert, resolved map[string]bool) []string {
	items, err := harness.FileWorkItems(dir)
	if err != nil {
		return []string{err.Error()}
	}
	byKey := map[string][]harness.FileWorkItem{}
	for _, it := range items {
		byKey[it.CorrelationKey] = append(byKey[it.CorrelationKey], it)
	}
	var problems []string
	for _, a := range alerts {
		state := harness.FileOpen
		if resolved[a.ID] {
			state = harness.FileResolved
		}
		switch got := byKey[a.ID]; {
		case len(got) != 1:
			problems = append(problems, fmt.Sprintf("alert %s: %d work items %v, want exactly one", a.ID, len(got), ids(got)))
		case got[0].State != state:
			problems = append(problems, fmt.Sprintf("alert %s: work item %s is %s, want %s", a.ID, got[0].ID, got[0].State, state))
		}
		delete(byKey, a.ID)
	}
	for key, got := range byKey {
		problems = append(problems, fmt.Sprintf("work items %v with unexpected correlation key %q", ids(got), key))
	}
	sort.Strings(problems)
	return problems
}

func waitFiles(t *testing.T, dir, what string, alerts []harness.Alert, resolved map[string]bool) {
	t.Helper()
	harness.Eventually(t, outageTimeout, what, func() (bool, string) {
		p := fileProblems(dir, alerts, resolved)
		return len(p) == 0, fmt.Sprintf("%d problems, first: %v", len(p), first(p))
	})
}

func checkFiles(t *testing.T, dir, what string, alerts []harness.Alert, resolved map[string]bool) {
	t.Helper()
	for _, p := range fileProblems(dir, alerts, resolved) {
		t.Errorf("%s: %s", what, p)
	}
}

func first(p []string) string {
	if len(p) == 0 {
		return ""
	}
	return p[0]
}

// checkRetryAfter fails for every request that reached the instance inside
// the pause a 429's Retry-After asked for.
func checkRetryAfter(t *testing.T, reqs []proxied) {
	t.Helper()
	violations, pauses, worst := retryAfterViolations(reqs, outageGrace)
	for _, v := range violations {
		t.Error(v)
	}
	if pauses == 0 {
		t.Error("no 429 with Retry-After was answered: the rate-limit phase was not exercised")
	}
	t.Logf("%d answers 429 with Retry-After; the latest request inside a pause came %v after its 429", pauses, worst.Round(time.Millisecond))
}

// retryAfterViolations lists the requests that arrived inside the pause of
// a 429 answer with Retry-After, later than grace after that answer (calls
// already in flight when it came back may land in the grace). It also
// returns how many such answers there were, and the latest arrival inside
// a pause.
func retryAfterViolations(reqs []proxied, grace time.Duration) (violations []string, pauses int, worst time.Duration) {
	for _, r := range reqs {
		if r.Status != http.StatusTooManyRequests || r.RetryAfter == "" {
			continue
		}
		secs, err := strconv.Atoi(r.RetryAfter)
		if err != nil {
			violations = append(violations, fmt.Sprintf("429 with Retry-After %q, want seconds", r.RetryAfter))
			continue
		}
		pauses++
		until := r.Done.Add(time.Duration(secs) * time.Second)
		for _, o := range reqs {
			if !o.Arrived.After(r.Done) || !o.Arrived.Before(until) {
				continue
			}
			late := o.Arrived.Sub(r.Done)
			worst = max(worst, late)
			if late > grace {
				violations = append(violations, fmt.Sprintf("%s %s arrived %v after a 429 with Retry-After: %d (answered %s): inside the pause",
					o.Method, o.Path, late.Round(time.Millisecond), secs, r.Done.Format("15:04:05.000")))
			}
		}
	}
	return violations, pauses, worst
}

func TestRetryAfterViolations(t *testing.T) {
	t0 := time.Date(2025, 4, 15, 18, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	limited := proxied{Arrived: at(0), Done: at(10), Method: "GET", Path: "/a", Status: http.StatusTooManyRequests, RetryAfter: "2"}
	ok := func(ms int) proxied {
		return proxied{Arrived: at(ms), Done: at(ms + 5), Method: "GET", Path: "/b", Status: http.StatusOK}
	}
	tests := []struct {
		name       string
		reqs       []proxied
		violations int
		pauses     int
	}{
		{"nothing limited", []proxied{ok(0), ok(100)}, 0, 0},
		{"retried after the pause", []proxied{limited, ok(2010), ok(2500)}, 0, 1},
		{"in flight within the grace", []proxied{limited, ok(200)}, 0, 1},
		{"inside the pause", []proxied{limited, ok(1000), ok(1999)}, 2, 1},
		{"before the 429", []proxied{ok(-100), limited}, 0, 1},
		{"Retry-After not seconds", []proxied{{Done: at(0), Status: http.StatusTooManyRequests, RetryAfter: "soon"}}, 1, 0},
		{"429 without Retry-After is no pause", []proxied{{Done: at(0), Status: http.StatusTooManyRequests}, ok(100)}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, pauses, _ := retryAfterViolations(tt.reqs, 500*time.Millisecond)
			if len(v) != tt.violations || pauses != tt.pauses {
				t.Errorf("violations %q, pauses %d; want %d violations, %d pauses", v, pauses, tt.violations, tt.pauses)
			}
		})
	}
}

// proxied is one request that went through the recorder.
type proxied struct {
	Arrived, Done time.Time
	Method, Path  string
	Status        int
	RetryAfter    string
}

// recorder is a reverse proxy in front of the fake instance that logs when
// each request arrived and when its answer was sent.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []proxied
}

func newRecorder(t *testing.T, target string) *recorder {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arrived := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(sw, req)
		p := proxied{Arrived: arrived, Done: time.Now(), Method: req.Method, Path: req.URL.Path,
			Status: sw.status, RetryAfter: sw.Header().Get("Retry-After")}
		r.mu.Lock()
		r.reqs = append(r.reqs, p)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) URL() string { return r.srv.URL }

func (r *recorder) requests() []proxied {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]proxied(nil), r.reqs...)
}

func (r *recorder) count(status int) int {
	n := 0
	for _, p := range r.requests() {
		if p.Status == status {
			n++
		}
	}
	return n
}

// span returns the first and last answer times with status, and how many.
func (r *recorder) span(status int) (first, last time.Time, n int) {
	for _, p := range r.requests() {
		if p.Status != status {
			continue
		}
		if n == 0 || p.Done.Before(first) {
			first = p.Done
		}
		if p.Done.After(last) {
			last = p.Done
		}
		n++
	}
	return first, last, n
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
