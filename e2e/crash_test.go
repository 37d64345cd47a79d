//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
)

// The crash test's shape. The host starts in well under a second, so six
// kills spread over the sending keep it down and restarting for a good part
// of the run while staying within about a minute per engine.
const (
	crashAlerts  = 200                    // alerts sent; half of them later resolved
	crashSenders = 8                      // concurrent senders, like Azure's parallel action groups
	crashKills   = 6                      // SIGKILLs while alerts arrive
	crashPace    = 25 * time.Millisecond  // between fired notifications (40 alerts/s)
	crashGapMin  = 300 * time.Millisecond // between a restart and the next kill
	crashGapMax  = 1500 * time.Millisecond
	// crashNotifyFor bounds the retries of one notification; a sender gives
	// up then, and the notification counts as never acknowledged.
	crashNotifyFor = 45 * time.Second
	crashDrain     = 90 * time.Second
	// crashResolveFor bounds the wait for every resolution to be sent.
	crashResolveFor = 3 * time.Minute
)

func crashConfig(store string) string {
	return `auth "dev" {}
` + store + `
backend "file" "local" {
  config { directory = "data/workitems" }
}
route "everything" {
  send_to       = [backend.file.local]
  reopen_window = "24h"
}
`
}

// TestCrashRecovery sends alerts, half of them resolved as soon as their
// Fired is acknowledged, while the host is killed with SIGKILL at random
// moments and restarted; in the end every acknowledged alert has exactly
// one work item in the file backend, resolved when its resolution was
// acknowledged and open otherwise, with the route's default
// on_resolved_without_item. It runs
// on SQLite, and on PostgreSQL when ITSM_TEST_POSTGRES_DSN is set. The
// seed of the kill schedule is logged; ITSM_E2E_SEED replays it.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crash test; skipped with -short")
	}
	t.Run("sqlite", func(t *testing.T) {
		crashTest(t, "store {\n  driver = \"sqlite\"\n  path   = \"data/connector.db\"\n}")
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := harness.PostgresDatabase(t)
		crashTest(t, fmt.Sprintf("store {\n  driver = \"postgres\"\n  dsn    = %q\n}", dsn))
	})
}

// notice is one notification to send: alert i, fired or resolved.
type notice struct {
	alert    int
	resolved bool
}

// ledger records what the connector acknowledged.
type ledger struct {
	mu          sync.Mutex
	firedAck    []bool
	firedDone   []bool // the sender finished with the fired notification
	resolvedAck []bool
	// resolvedTried marks the resolutions sent, acknowledged or not.
	resolvedTried []bool
	retried       int // notifications that needed more than one POST
	failed        []string
}

// startSenders starts n senders that deliver each notice from jobs with
// deliver (retrying as Azure does) and record the outcome in led, until
// jobs is closed or ctx ends. The returned group is done when they stop;
// workers counts them too.
func startSenders(ctx context.Context, workers *sync.WaitGroup, n int, jobs <-chan notice, alerts []harness.Alert,
	led *ledger, deliver func(context.Context, []byte) harness.Delivery) *sync.WaitGroup {
	var sending sync.WaitGroup
	for range n {
		sending.Add(1)
		workers.Add(1)
		go func() {
			defer workers.Done()
			defer sending.Done()
			for {
				var n notice
				select {
				case <-ctx.Done():
					return
				case next, ok := <-jobs:
					if !ok {
						return
					}
					n = next
				}
				payload := alerts[n.alert].Fired
				if n.resolved {
					payload = alerts[n.alert].Resolved
				}
				nctx, ncancel := context.WithTimeout(ctx, crashNotifyFor)
				led.record(n, deliver(nctx, payload))
				ncancel()
			}
		}()
	}
	return &sending
}

// resolveWhenFired sends each alert of toResolve its resolution once its
// fired notification was acknowledged and, when waitItem is set, its work
// item exists in itemDir (as a real alert resolves minutes after it
// fired); alerts never acknowledged are skipped. It returns when all are
// sent, ctx ends, or timeout passes (an error naming how many wait).
func resolveWhenFired(ctx context.Context, timeout time.Duration, itemDir string, waitItem bool, toResolve map[int]bool,
	alerts []harness.Alert, led *ledger, jobs chan<- notice) error {
	pending := make(map[int]bool, len(toResolve))
	for i := range toResolve {
		pending[i] = true
	}
	return harness.Poll(timeout, func() (bool, string) {
		if ctx.Err() != nil {
			return true, ""
		}
		items, err := harness.FileWorkItems(itemDir)
		if err != nil {
			return false, err.Error()
		}
		exists := map[string]bool{}
		for _, it := range items {
			exists[it.CorrelationKey] = true
		}
		for i := range pending {
			done, acked := led.fired(i)
			switch {
			case done && !acked:
				delete(pending, i) // never acknowledged: nothing to resolve
			case acked && (!waitItem || exists[alerts[i].ID]):
				delete(pending, i)
				jobs <- notice{alert: i, resolved: true}
			}
		}
		return len(pending) == 0, fmt.Sprintf("%d resolutions wait for their work item", len(pending))
	})
}

func newLedger(n int) *ledger {
	return &ledger{firedAck: make([]bool, n), firedDone: make([]bool, n), resolvedAck: make([]bool, n), resolvedTried: make([]bool, n)}
}

func (l *ledger) record(n notice, d harness.Delivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d.Attempts > 1 {
		l.retried++
	}
	if !d.Acknowledged() {
		l.failed = append(l.failed, fmt.Sprintf("alert %d resolved=%v: HTTP %d %s after %d attempts (%v)",
			n.alert, n.resolved, d.Status, strings.TrimSpace(string(d.Body)), d.Attempts, d.Err))
	}
	if n.resolved {
		l.resolvedAck[n.alert], l.resolvedTried[n.alert] = d.Acknowledged(), true
		return
	}
	l.firedAck[n.alert], l.firedDone[n.alert] = d.Acknowledged(), true
}

func (l *ledger) fired(i int) (done, acked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firedDone[i], l.firedAck[i]
}

// scenario is a seeded test's n alerts and the half of them that will
// resolve; the seed is logged, and ITSM_E2E_SEED replays it.
func scenario(t *testing.T, n int) (seed uint64, rng *rand.Rand, alerts []harness.Alert, toResolve map[int]bool) {
	t.Helper()
	seed = testSeed(t)
	rng = rand.New(rand.NewPCG(seed, seed>>1^0x5eed))
	sample, err := os.ReadFile("testdata/metric-fired.json")
	if err != nil {
		t.Fatal(err)
	}
	if alerts, err = harness.Alerts(sample, 0, n); err != nil {
		t.Fatal(err)
	}
	toResolve = map[int]bool{}
	for _, i := range rng.Perm(n)[:n/2] {
		toResolve[i] = true
	}
	return seed, rng, alerts, toResolve
}

func crashTest(t *testing.T, store string) {
	start := time.Now()
	seed, rng, alerts, toResolve := scenario(t, crashAlerts)

	c := harness.Start(t, harness.Options{Config: crashConfig(store)})
	sender := c.Sender(t)
	itemDir := filepath.Join(c.Dir(), "data", "workitems")
	led := newLedger(crashAlerts)

	ctx, cancel := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	defer func() { cancel(); workers.Wait() }() // before the connector's cleanup

	jobs := make(chan notice, 2*crashAlerts)
	sending := startSenders(ctx, &workers, crashSenders, jobs, alerts, led, sender.Deliver)

	// Producers: fired notifications at a steady pace; each resolution as
	// soon as its alert's fired notification was acknowledged, so that many
	// overtake a create still pending across the kills. The route keeps the
	// default on_resolved_without_item ("record"): an acknowledged Fired
	// still gets its work item, created and then resolved.
	var producing sync.WaitGroup
	producing.Add(2)
	workers.Add(2)
	go func() {
		defer workers.Done()
		defer producing.Done()
		tick := time.NewTicker(crashPace)
		defer tick.Stop()
		for i := range crashAlerts {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			jobs <- notice{alert: i}
		}
	}()
	var resolverErr error
	go func() {
		defer workers.Done()
		defer producing.Done()
		resolverErr = resolveWhenFired(ctx, crashResolveFor, itemDir, false, toResolve, alerts, led, jobs)
	}()

	// The kills, at seeded random moments while the producers run: half of
	// them the instant the backend wrote a work item, between the write and
	// the host's record of it, where a crash must not turn into a duplicate.
	watch, err := harness.WatchDir(itemDir)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	afterWrite := 0
	for k := 1; k <= crashKills; k++ {
		gap := crashGapMin + time.Duration(rng.Int64N(int64(crashGapMax-crashGapMin)))
		onWrite := rng.IntN(2) == 0
		time.Sleep(gap) // the fault schedule, not a wait for an event
		how := "at a random moment"
		if onWrite {
			w, err := watch.Next("WI-*.json", 2*time.Second)
			switch {
			case err != nil:
				how += " (" + err.Error() + ")"
			case w.Created:
				how, afterWrite = "right after the backend created "+w.Name, afterWrite+1
			default:
				how, afterWrite = "right after the backend rewrote "+w.Name, afterWrite+1
			}
		}
		c.Kill(t)
		t.Logf("kill %d/%d at %v, %v after the last start, %s", k, crashKills, time.Since(start).Round(time.Millisecond), gap.Round(time.Millisecond), how)
		c.Restart(t)
	}
	t.Logf("kills done at %v", time.Since(start).Round(time.Millisecond))
	producing.Wait()
	if resolverErr != nil {
		t.Fatalf("resolutions: %v", resolverErr)
	}
	close(jobs)
	sending.Wait()
	sent := time.Since(start)
	t.Logf("every notification sent at %v", sent.Round(time.Millisecond))

	// A final crash and restart, then the drain.
	c.Kill(t)
	c.Restart(t)

	want := led.finalStates(alerts)
	var items []harness.FileWorkItem
	harness.Eventually(t, crashDrain, "every acknowledged alert's work item in its final state", func() (bool, string) {
		if items, err = harness.FileWorkItems(itemDir); err != nil {
			return false, err.Error()
		}
		state := map[string]string{}
		for _, it := range items {
			state[it.CorrelationKey] = it.State
		}
		missing := 0
		for key, ok := range want {
			if !ok[state[key]] {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d alerts not yet in their final state", missing, len(want))
	})
	// Nothing left to do: the queue is empty, nothing was dead-lettered.
	drainQueue(t, c)
	if items, err = harness.FileWorkItems(itemDir); err != nil {
		t.Fatal(err)
	}
	problems := crashProblems(alerts, want, items)
	for i, p := range problems {
		if i == 20 {
			t.Errorf("… and %d more", len(problems)-i)
			break
		}
		t.Error(p)
	}

	led.mu.Lock()
	defer led.mu.Unlock()
	for _, f := range led.failed {
		t.Logf("not acknowledged: %s", f)
	}
	acked, resolved := 0, 0
	for i := range alerts {
		if led.firedAck[i] {
			acked++
		}
		if led.resolvedAck[i] {
			resolved++
		}
	}
	t.Logf("seed %d: %d alerts, %d acknowledged fired, %d acknowledged resolved, %d notifications retried, %d work items; %d host runs, %d kills right after a backend write; sending %v, total %v",
		seed, crashAlerts, acked, resolved, led.retried, len(items), c.Runs(), afterWrite, sent.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// finalStates maps the correlation key of every acknowledged alert to the
// work item states it may end in: resolved when its resolution was
// acknowledged, open when none was sent, either when one was sent but not
// acknowledged (the host may have committed it before dying).
func (l *ledger) finalStates(alerts []harness.Alert) map[string]map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	want := map[string]map[string]bool{}
	for i, a := range alerts {
		switch {
		case !l.firedAck[i]:
		case l.resolvedAck[i]:
			want[a.ID] = map[string]bool{harness.FileResolved: true}
		case l.resolvedTried[i]:
			want[a.ID] = map[string]bool{harness.FileOpen: true, harness.FileResolved: true}
		default:
			want[a.ID] = map[string]bool{harness.FileOpen: true}
		}
	}
	return want
}

// crashProblems checks the work items against want: exactly one per
// acknowledged alert, in an acceptable state; at most one for any other
// alert; none that no alert explains.
func crashProblems(alerts []harness.Alert, want map[string]map[string]bool, items []harness.FileWorkItem) []string {
	byKey := map[string][]harness.FileWorkItem{}
	for _, it := range items {
		byKey[it.CorrelationKey] = append(byKey[it.CorrelationKey], it)
	}
	known := map[string]bool{}
	for _, a := range alerts {
		known[a.ID] = true
	}
	var problems []string
	for key, ok := range want {
		got := byKey[key]
		switch {
		case len(got) != 1:
			problems = append(problems, fmt.Sprintf("%s: %d work items %v, want exactly one", key, len(got), ids(got)))
		case !ok[got[0].State]:
			problems = append(problems, fmt.Sprintf("%s: work item %s is %s, want %s", key, got[0].ID, got[0].State, states(ok)))
		}
	}
	for key, got := range byKey {
		switch {
		case !known[key]:
			problems = append(problems, fmt.Sprintf("work items %v have unknown correlation key %q", ids(got), key))
		case want[key] == nil && len(got) > 1:
			problems = append(problems, fmt.Sprintf("%s (never acknowledged): %d work items %v, want at most one", key, len(got), ids(got)))
		}
	}
	sort.Strings(problems)
	return problems
}

func states(set map[string]bool) string {
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, " or ")
}

// drainQueue waits until the store has no pending work item, then fails
// on dead letters: both read with the operator's commands.
func drainQueue(t *testing.T, c *harness.Connector) {
	t.Helper()
	harness.Eventually(t, crashDrain, "no work item pending", func() (bool, string) {
		n := jsonLen(t, c.Command(t, "workitems", "list", "-pending", "-json"))
		return n == 0, fmt.Sprintf("%d work items pending", n)
	})
	out := c.Command(t, "deadletter", "list", "-json")
	var dls adminapi.List
	if err := json.Unmarshal(out, &dls); err != nil {
		t.Fatalf("deadletter list -json: %v\n%s", err, out)
	}
	if len(dls.DeadLetters) != 0 {
		t.Errorf("dead letters, want none:\n%s", out)
	}
}

// jsonLen is the number of work items `workitems list -json` printed.
func jsonLen(t *testing.T, b []byte) int {
	t.Helper()
	var list adminapi.WorkItemList
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("not a work item list: %v\n%s", err, b)
	}
	return len(list.WorkItems)
}

func ids(items []harness.FileWorkItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID+"("+it.State+")")
	}
	return out
}

// testSeed is $ITSM_E2E_SEED, or a fresh seed; it is logged either way.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ITSM_E2E_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ITSM_E2E_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (rerun with ITSM_E2E_SEED=%d)", seed, seed)
	return seed
}

func TestCrashProblems(t *testing.T) {
	alerts := []harness.Alert{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	open := map[string]bool{harness.FileOpen: true}
	resolved := map[string]bool{harness.FileResolved: true}
	either := map[string]bool{harness.FileOpen: true, harness.FileResolved: true}
	item := func(id, key, state string) harness.FileWorkItem {
		return harness.FileWorkItem{ID: id, CorrelationKey: key, State: state}
	}
	tests := []struct {
		name  string
		want  map[string]map[string]bool
		items []harness.FileWorkItem
		n     int
	}{
		{"all right", map[string]map[string]bool{"a": open, "b": resolved, "c": either},
			[]harness.FileWorkItem{item("1", "a", "open"), item("2", "b", "resolved"), item("3", "c", "resolved")}, 0},
		{"lost", map[string]map[string]bool{"a": open, "b": open}, []harness.FileWorkItem{item("1", "a", "open")}, 1},
		{"duplicated", map[string]map[string]bool{"a": open},
			[]harness.FileWorkItem{item("1", "a", "open"), item("2", "a", "open")}, 1},
		{"wrong state", map[string]map[string]bool{"a": resolved}, []harness.FileWorkItem{item("1", "a", "open")}, 1},
		{"unacknowledged alert with one item", map[string]map[string]bool{}, []harness.FileWorkItem{item("1", "c", "open")}, 0},
		{"unacknowledged alert duplicated", map[string]map[string]bool{},
			[]harness.FileWorkItem{item("1", "c", "open"), item("2", "c", "open")}, 1},
		{"unknown key", map[string]map[string]bool{}, []harness.FileWorkItem{item("1", "zzz", "open")}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := crashProblems(alerts, tt.want, tt.items); len(p) != tt.n {
				t.Errorf("problems %q, want %d", p, tt.n)
			}
		})
	}
}
