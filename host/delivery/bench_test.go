package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// benchEngine returns an engine over a fresh SQLite file whose workers are
// not started, so only ingest (durable commit) is measured.
func benchEngine(b *testing.B) *Engine {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(st, StaticBackends{"fake.a": {Client: newFake(), Capabilities: allCaps()}}, testOptions(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = e.Stop(context.Background())
		_ = st.Close()
	})
	return e
}

// benchAlert is a static metric alert carrying Microsoft's sample payload
// as its raw context (about 2 KB), so commits write realistic rows.
func benchAlert(b *testing.B) sdk.Alert {
	raw, err := os.ReadFile("testdata/platform-metric-static-fired.json")
	if err != nil {
		b.Fatal(err)
	}
	sev := 3
	return sdk.Alert{Rule: "WCUS-R2-Gen2", Severity: &sev, SeverityLabel: "Sev3", SignalType: "Metric",
		Condition: sdk.ConditionFired, MonitoringService: "Platform", FiredAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Targets:            []string{"/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/pipelinealertrg/providers/microsoft.compute/virtualmachines/wcus-r2-gen2"},
		ConfigurationItems: []sdk.ConfigurationItem{{Name: "wcus-r2-gen2"}}, Context: json.RawMessage(raw)}
}

// BenchmarkIngest measures acknowledged alerts per second with many
// concurrent webhook requests sharing group commits.
func BenchmarkIngest(b *testing.B) {
	e := benchEngine(b)
	base := benchAlert(b)
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			a := base
			a.ID = fmt.Sprintf("/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/%d", i)
			if err := e.Ingest(context.Background(), &a, decision("fake.a", a.ID, time.Hour)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkIngestSerial is one request at a time: one commit (and fsync)
// per alert, the floor that group commit lifts.
func BenchmarkIngestSerial(b *testing.B) {
	e := benchEngine(b)
	base := benchAlert(b)
	b.ResetTimer()
	for i := range b.N {
		a := base
		a.ID = fmt.Sprintf("/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/%d", i)
		if err := e.Ingest(context.Background(), &a, decision("fake.a", a.ID, time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkDeliver measures the delivery rate with an instant in-process
// plugin and a real SQLite store: b.N new alerts are ingested with the
// workers stopped, then the workers start and the clock runs until every
// work item is created (the queue is empty). max_in_flight is 16, as in
// cmd/loadgen's instant-backend.hcl.
func BenchmarkDeliver(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	f := newFake()
	opts := testOptions()
	opts.PollInterval = time.Second
	e, err := New(st, StaticBackends{"fake.a": {Client: f, Capabilities: allCaps(), Limits: Limits{MaxInFlight: 16}}}, opts, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = e.Stop(context.Background())
		_ = st.Close()
	})
	base := benchAlert(b)
	var n atomic.Int64
	errs := make(chan error, 32)
	for range 32 {
		go func() {
			for {
				i := n.Add(1)
				if i > int64(b.N) {
					errs <- nil
					return
				}
				a := base
				a.ID = fmt.Sprintf("/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/%d", i)
				if err := e.Ingest(context.Background(), &a, decision("fake.a", a.ID, time.Hour)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 32 {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for f.count("create") < b.N {
		if time.Now().After(deadline) {
			b.Fatalf("timed out: %d of %d created", f.count("create"), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	for {
		s, err := e.Stats(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if s.Backends["fake.a"].Queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("timed out: %d items still queued", s.Backends["fake.a"].Queued)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
}
