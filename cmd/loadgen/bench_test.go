package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/app"
	"github.com/itsm-connector/itsm-connector/host/commonschema"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/devissuer"
	"github.com/itsm-connector/itsm-connector/host/entra"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/webhook"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// BenchmarkWebhookIngest is the host's per-alert work without HTTP or
// plugins: token check (dev issuer, verified-token cache), Common Alert
// Schema decoding, routing with the ingest scenario's route, and the
// durable group commit to SQLite, called concurrently as the server would.
// The delivery workers are not started, so only acknowledgement is timed.
// It reports the process's CPU time (user+system, all threads, including
// SQLite's) per alert as cpu-µs/alert. Profile it with -cpuprofile to see
// where an acknowledged alert's CPU goes.
func BenchmarkWebhookIngest(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	iss, err := devissuer.Start(ctx, devissuer.Options{KeyFile: filepath.Join(dir, devKeyFile)})
	if err != nil {
		b.Fatal(err)
	}
	defer iss.Close()
	ver, err := entra.New(ctx, iss.VerifierConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer ver.Close()
	tok, err := iss.Mint(devissuer.MintOptions{})
	if err != nil {
		b.Fatal(err)
	}

	src, err := os.ReadFile("configs/ingest.hcl")
	if err != nil {
		b.Fatal(err)
	}
	cfg, diags := config.Load(src, "ingest.hcl")
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	router, diags := app.CompileRoutes(cfg)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	backends := delivery.StaticBackends{}
	for _, bk := range cfg.Backends {
		backends[bk.Ref()] = delivery.Backend{Capabilities: sdk.Capabilities{Lookup: true, Update: true, Resolve: true, Reopen: true}}
	}
	eng, err := delivery.New(st, backends, delivery.Options{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Stop(ctx)

	h := &webhook.Handler{
		Auth: ver, Decode: commonschema.Decode, Router: routerOf{router}, Ingest: eng,
		Logger: hclog.NewNullLogger(), Metrics: metrics.New(),
	}
	bodies, err := newPayloads(defaultPayload)
	if err != nil {
		b.Fatal(err)
	}
	seq := newSequence("/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/bench-", 0, 0)
	var failed atomic.Int64
	b.SetParallelism(32) // 64 requests in flight on 2 cores, like loadgen -c 64
	b.ReportAllocs()
	cpu0, cpuErr := procCPU(os.Getpid())
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var body []byte
		for pb.Next() {
			body = bodies.render(body[:0], seq.nextNotice(), time.Now())
			req := httptest.NewRequest(http.MethodPost, webhook.AlertsPath, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusAccepted {
				failed.Add(1)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	// CPU per alert is the figure to compare: ns/op is wall time on 2
	// shared cores and follows the disk's fsync latency.
	if cpu1, err := procCPU(os.Getpid()); cpuErr == nil && err == nil {
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/alert")
	}
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d requests not acknowledged", n)
	}
}

// routerOf adapts a compiled router to webhook.Router.
type routerOf struct{ r *route.Router }

func (r routerOf) Route(a *sdk.Alert) (route.Decision, error) { return r.r.Route(a) }
