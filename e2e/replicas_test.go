//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/e2e/harness"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
)

// The replica test's shape.
const (
	replicaAlerts  = 200                   // alerts sent; half of them later resolved
	replicaSenders = 8                     // concurrent senders behind the load balancer
	replicaPace    = 25 * time.Millisecond // between fired notifications (40 alerts/s)
	// One alert in replicaPairEvery first arrives as two notifications at
	// once, each at another replica: the same Fired twice (Azure's retry
	// landing elsewhere), or the Fired and a newer re-fire.
	replicaPairEvery = 10
	// Each replica's rate_limit and max_in_flight for the file backend:
	// three replicas make at most 30 calls/s while alerts arrive at 40/s,
	// so each holds leased items waiting for its rate limit most of the
	// run, and the one killed leaves some behind.
	replicaRate     = 10
	replicaInFlight = 8
	// The kill comes after this many fired notifications (seeded).
	replicaKillMin = 60
	replicaKillMax = 140
	// The shared delivery block's call_timeout and lease. Each step of a
	// claim renews its lease for replicaLease, and a live replica's step
	// is one wait for its rate limit (at most replicaInFlight calls ahead:
	// under a second) and one plugin call (the file plugin's take
	// milliseconds; abandoned after replicaCallTimeout), so no live
	// replica's call outlasts its lease, while a dead replica's items are
	// taken over within replicaLease of the kill.
	replicaCallTimeout = 5 * time.Second
	replicaLease       = 15 * time.Second
)

// replicaIDs are the replicas' delivery instance ids, which name their
// leases in the store.
var replicaIDs = []string{"replica-a", "replica-b", "replica-c"}

func replicaConfig(dsn string) string {
	return fmt.Sprintf(`auth "dev" {}
store {
  driver = "postgres"
  dsn    = %q
}
delivery {
  instance_id  = env(%q)
  call_timeout = %q
  lease        = %q
}
backend "file" "local" {
  config { directory = "data/workitems" }
  rate_limit    = %d
  max_in_flight = %d
}
route "everything" {
  send_to       = [backend.file.local]
  reopen_window = "24h"
}
`, dsn, harness.InstanceIDEnv, replicaCallTimeout, replicaLease, replicaRate, replicaInFlight)
}

// TestReplicas runs three connectors on one PostgreSQL database with one
// configuration, their file backend writing into one shared directory,
// behind a round-robin load balancer; each names its leases with its own
// instance id (replicaIDs, through harness.InstanceIDEnv). Alerts arrive
// from concurrent senders, half of them later resolved; some first arrive
// as two notifications at once at two replicas. One replica is SIGKILLed
// while it holds leased work items and stays down: its items stay its
// until their leases end, then the others take them over. In the end every
// acknowledged alert has exactly one work item in the right state, nothing
// is pending and nothing dead-lettered. It needs ITSM_TEST_POSTGRES_DSN,
// and waits out a real lease (replicaLease, 15 seconds, set in the shared
// configuration). The seed is logged; ITSM_E2E_SEED replays it.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end replica test; skipped with -short")
	}
	dsn := harness.PostgresDatabase(t)
	start := time.Now()
	seed, rng, alerts, toResolve := scenario(t, replicaAlerts)
	victimAt := rng.IntN(len(replicaIDs))
	killAfter := replicaKillMin + rng.IntN(replicaKillMax-replicaKillMin)
	pairRng := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())) // the producer's own

	replicas := harness.StartReplicas(t, harness.Options{Config: replicaConfig(dsn)}, replicaIDs...)
	victim := replicas[victimAt]
	victimID := victim.InstanceID()
	var survivors []*harness.Connector
	for _, c := range replicas {
		if c != victim {
			survivors = append(survivors, c)
		}
	}
	operator := survivors[0] // runs the store commands
	lb := harness.Balance(t, replicas...)
	direct := make([]*harness.Sender, len(replicas))
	for i, c := range replicas {
		direct[i] = c.Sender(t)
	}
	itemDir := filepath.Join(replicas[0].Dir(), "data", "workitems")
	led := newLedger(replicaAlerts)

	ctx, cancel := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	defer func() { cancel(); workers.Wait() }() // before the connectors' cleanup

	jobs := make(chan notice, 2*replicaAlerts)
	sending := startSenders(ctx, &workers, replicaSenders, jobs, alerts, led, lb.Deliver)

	// Producers: fired notifications at a steady pace through the load
	// balancer, every replicaPairEvery-th as a pair straight to two
	// replicas; each resolution once its alert's fired notification was
	// acknowledged and its work item exists (see crashTest).
	reached := make(chan struct{}) // closed once killAfter alerts were sent
	pairs, refires := 0, 0
	var producing, pairing sync.WaitGroup
	producing.Add(2)
	workers.Add(2)
	go func() {
		defer workers.Done()
		defer producing.Done()
		tick := time.NewTicker(replicaPace)
		defer tick.Stop()
		for i := range replicaAlerts {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if i == killAfter {
				close(reached)
			}
			if i%replicaPairEvery != replicaPairEvery/2 {
				jobs <- notice{alert: i}
				continue
			}
			a, b := twoRunning(pairRng, replicas)
			second := alerts[i].Fired
			if (i/replicaPairEvery)%2 == 1 {
				second, refires = alerts[i].Refired, refires+1
			}
			pairs++
			pairing.Add(1)
			workers.Add(1)
			go func() {
				defer workers.Done()
				defer pairing.Done()
				led.record(notice{alert: i}, sendPair(ctx, lb, direct[a], direct[b], alerts[i].Fired, second))
			}()
		}
		pairing.Wait()
	}()
	var resolverErr error
	go func() {
		defer workers.Done()
		defer producing.Done()
		// A resolution may wait for an item the killed replica was
		// creating: until its lease ends and another replica finishes it.
		resolverErr = resolveWhenFired(ctx, replicaLease+crashDrain, itemDir, true, toResolve, alerts, led, jobs)
	}()

	// The kill: once killAfter alerts went out, the instant the store
	// shows the victim holding a lease. It stays down to the end.
	select {
	case <-reached:
	case <-time.After(time.Minute):
		t.Fatalf("the producer did not reach alert %d within a minute", killAfter)
	}
	harness.Eventually(t, 30*time.Second, victimID+" holding a lease", func() (bool, string) {
		return len(leasedBy(t, operator, victimID, time.Now())) > 0, "it holds none"
	})
	victim.Kill(t)
	killedAt := time.Now()
	orphans := leasedBy(t, operator, victimID, killedAt)
	var leaseEnd time.Time
	for _, o := range orphans {
		if o.LeaseUntil.After(leaseEnd) {
			leaseEnd = o.LeaseUntil
		}
		t.Logf("left leased by %s: work item %d (%s), intent %q, remote %s, lease until %s (%v after the kill)",
			victimID, o.ID, o.CorrelationKey, o.Intent, o.Remote, o.LeaseUntil.Format(time.RFC3339Nano), o.LeaseUntil.Sub(killedAt).Round(time.Millisecond))
	}
	t.Logf("killed %s at %v, after %d alerts; it left %d work items leased", victimID, killedAt.Sub(start).Round(time.Millisecond), killAfter, len(orphans))
	if len(orphans) == 0 {
		t.Errorf("%s held no lease once killed: the takeover is not exercised", victimID)
	}
	if d := leaseEnd.Sub(killedAt); d > replicaLease {
		t.Fatalf("a lease of %s ends %v after the kill, beyond the configured lease (%v)", victimID, d, replicaLease)
	}

	// Until its lease ends, an item the dead replica held stays its: no
	// other replica may take it over sooner. The store is read again and
	// again from the kill until every lease has ended, while the
	// notifications go on.
	reads, inLease := 0, map[int64]int{}
	reported := map[int64]bool{}
	harness.Eventually(t, time.Until(leaseEnd)+crashDrain, "the end of every lease "+victimID+" held", func() (bool, string) {
		before := time.Now()
		all := itemsByID(t, operator)
		read := time.Now()
		reads++
		for _, o := range orphans {
			if !read.Before(o.LeaseUntil) {
				continue
			}
			inLease[o.ID]++
			if cur := all[o.ID]; cur.LeaseOwner != victimID && !reported[o.ID] {
				reported[o.ID] = true
				t.Errorf("work item %d (%s): leased by %s until %s, but read between %s and %s it is held by %q, pending %v",
					o.ID, o.CorrelationKey, victimID, o.LeaseUntil.Format(time.RFC3339Nano),
					before.Format(time.RFC3339Nano), read.Format(time.RFC3339Nano), cur.LeaseOwner, cur.Pending)
			}
		}
		return !before.Before(leaseEnd), fmt.Sprintf("%d reads so far", reads)
	})
	for _, o := range orphans {
		if inLease[o.ID] == 0 {
			t.Errorf("work item %d (%s): no read of the store came before its lease ended (%s): its hold is not checked",
				o.ID, o.CorrelationKey, o.LeaseUntil.Format(time.RFC3339Nano))
		}
	}
	t.Logf("the orphans' holds checked in %d reads of the store until the leases ended, %v after the kill", reads, time.Since(killedAt).Round(time.Millisecond))

	producing.Wait()
	if resolverErr != nil {
		t.Fatalf("resolutions: %v", resolverErr)
	}
	close(jobs)
	sending.Wait()
	sent := time.Since(start)
	t.Logf("every notification sent at %v", sent.Round(time.Millisecond))

	// The takeover and the drain, with the victim still down.
	want := led.finalStates(alerts)
	var (
		items []harness.FileWorkItem
		err   error
	)
	wait := crashDrain
	if d := time.Until(leaseEnd); d > 0 {
		wait += d
	}
	harness.Eventually(t, wait, "every acknowledged alert's work item in its final state", func() (bool, string) {
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
	drained := time.Since(start)
	drainQueue(t, operator)
	if items, err = harness.FileWorkItems(itemDir); err != nil {
		t.Fatal(err)
	}
	problems := crashProblems(alerts, want, items)
	all := itemsByID(t, operator)
	for _, o := range orphans {
		if cur := all[o.ID]; cur.Pending || cur.Dead || cur.LeaseOwner != "" {
			problems = append(problems, fmt.Sprintf("work item %d (%s), left leased by %s: pending %v, dead %v, leased by %q; want in sync",
				o.ID, o.CorrelationKey, victimID, cur.Pending, cur.Dead, cur.LeaseOwner))
		}
	}
	for i, p := range problems {
		if i == 20 {
			t.Errorf("… and %d more", len(problems)-i)
			break
		}
		t.Error(p)
	}

	// Every replica took part, and the store's contention is logged.
	var share []string
	for _, c := range replicas {
		logs, id := c.Logs(), c.InstanceID()
		calls := strings.Count(logs, `"@message":"plugin call"`)
		share = append(share, fmt.Sprintf("%s %d", id, calls))
		if c != victim && calls == 0 {
			t.Errorf("%s made no plugin call: the replicas do not share the work", id)
		}
		if n := strings.Count(logs, "group commit failed"); n > 0 {
			t.Logf("%s: %d group commits failed and were committed one by one (deadlocks: %d)", id, n, strings.Count(logs, "deadlock detected"))
		}
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
	t.Logf("seed %d: %d alerts (%d first sent to two replicas at once, %d of them with a re-fire), %d acknowledged fired, %d acknowledged resolved, %d notifications retried, %d work items; plugin calls per replica: %s; %s killed at %v leaving %d leased, all in their final state at %v, total %v",
		seed, replicaAlerts, pairs, refires, acked, resolved, led.retried, len(items), strings.Join(share, ", "),
		victimID, killedAt.Sub(start).Round(time.Millisecond), len(orphans), drained.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// twoRunning picks two distinct running replicas (by index) at random.
func twoRunning(rng *rand.Rand, replicas []*harness.Connector) (int, int) {
	var up []int
	for i, c := range replicas {
		if c.PID() != 0 {
			up = append(up, i)
		}
	}
	if len(up) < 2 { // cannot happen with one replica killed; send both to one
		return up[0], up[0]
	}
	p := rng.Perm(len(up))
	return up[p[0]], up[p[1]]
}

// sendPair posts two notifications of one alert at the same instant, each
// straight to its own replica. One not acknowledged (its replica died) is
// delivered again through the load balancer, as Azure's retry would be.
// The result is an acknowledged delivery when there is one.
func sendPair(ctx context.Context, lb, first, second *harness.Sender, p1, p2 []byte) harness.Delivery {
	gate := make(chan struct{})
	var wg sync.WaitGroup
	out := make([]harness.Delivery, 2)
	for k, s := range []*harness.Sender{first, second} {
		payload := p1
		if k == 1 {
			payload = p2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			d := harness.Delivery{Attempts: 1}
			d.Status, d.Body, d.Err = s.Post(ctx, payload)
			if !d.Acknowledged() {
				nctx, cancel := context.WithTimeout(ctx, crashNotifyFor)
				retry := lb.Deliver(nctx, payload)
				cancel()
				retry.Attempts += d.Attempts
				d = retry
			}
			out[k] = d
		}()
	}
	close(gate)
	wg.Wait()
	if out[0].Acknowledged() {
		return out[0]
	}
	return out[1]
}

// storeItems lists the work items in the store with the operator's
// command, all of them or only the pending ones.
func storeItems(t *testing.T, c *harness.Connector, pendingOnly bool) []adminapi.WorkItem {
	t.Helper()
	args := []string{"workitems", "list", "-json", "-limit", fmt.Sprint(10 * replicaAlerts)}
	if pendingOnly {
		args = append(args, "-pending")
	}
	out := c.Command(t, args...)
	var list adminapi.WorkItemList
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("workitems list: %v\n%s", err, out)
	}
	return list.WorkItems
}

// leasedBy lists the pending work items owner holds a lease on beyond at,
// by id.
func leasedBy(t *testing.T, c *harness.Connector, owner string, at time.Time) []adminapi.WorkItem {
	t.Helper()
	var out []adminapi.WorkItem
	for _, it := range storeItems(t, c, true) {
		if it.LeaseOwner == owner && it.LeaseUntil.After(at) {
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// itemsByID is every work item in the store, by id.
func itemsByID(t *testing.T, c *harness.Connector) map[int64]adminapi.WorkItem {
	t.Helper()
	out := map[int64]adminapi.WorkItem{}
	for _, it := range storeItems(t, c, false) {
		out[it.ID] = it
	}
	return out
}
