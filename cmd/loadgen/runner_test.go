package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/commonschema"
)

// alertServer answers like the webhook: 401 without a bearer token, 400 for
// a body that does not decode, else the status of respond (202 by default).
func alertServer(t *testing.T, respond func(n int64) int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var count atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := count.Add(1)
		body, _ := io.ReadAll(r.Body)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := commonschema.Decode(body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		status := http.StatusAccepted
		if respond != nil {
			status = respond(n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &count
}

func testSpec(t *testing.T, url string) spec {
	t.Helper()
	bodies, err := newPayloads(defaultPayload)
	if err != nil {
		t.Fatal(err)
	}
	return spec{URL: url, Tokens: []string{"t1", "t2"}, Concurrency: 4, Total: 40, Timeout: 10 * time.Second,
		Seq: newSequence("/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/test-", 0, 0.25), Bodies: bodies}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		respond    func(n int64) int
		noTokens   bool
		rate       float64
		wantAcked  int
		wantStatus map[int]int
	}{
		{name: "all acknowledged", wantAcked: 40, wantStatus: map[int]int{}},
		{name: "open loop", rate: 2000, wantAcked: 40, wantStatus: map[int]int{}},
		{name: "no token", noTokens: true, wantAcked: 0, wantStatus: map[int]int{401: 40}},
		{name: "every fourth unavailable", respond: func(n int64) int {
			if n%4 == 0 {
				return http.StatusServiceUnavailable
			}
			return http.StatusAccepted
		}, wantAcked: 30, wantStatus: map[int]int{503: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, count := alertServer(t, tt.respond)
			s := testSpec(t, srv.URL)
			s.Rate = tt.rate
			if tt.noTokens {
				s.Tokens = nil
			}
			o := run(context.Background(), s)
			if o.Requests != 40 || count.Load() != 40 {
				t.Errorf("sent %d requests, server saw %d, want 40", o.Requests, count.Load())
			}
			if o.Acked != tt.wantAcked || len(o.AckLatency) != tt.wantAcked {
				t.Errorf("acked %d (%d latencies), want %d", o.Acked, len(o.AckLatency), tt.wantAcked)
			}
			if len(o.Status) != len(tt.wantStatus) {
				t.Errorf("statuses %v, want %v", o.Status, tt.wantStatus)
			}
			for code, n := range tt.wantStatus {
				if o.Status[code] != n {
					t.Errorf("statuses %v, want %v", o.Status, tt.wantStatus)
				}
			}
			if len(o.Errors) != 0 {
				t.Errorf("transport errors %v", o.ErrorSample)
			}
			if o.Elapsed <= 0 {
				t.Errorf("elapsed %v", o.Elapsed)
			}
		})
	}
}

func TestRunDuration(t *testing.T) {
	srv, _ := alertServer(t, nil)
	s := testSpec(t, srv.URL)
	s.Total, s.Duration, s.Rate = 0, 50*time.Millisecond, 200
	o := run(context.Background(), s)
	if o.Requests == 0 || o.Acked != o.Requests {
		t.Errorf("sent %d, acked %d: want some, all acknowledged", o.Requests, o.Acked)
	}
}

func TestRunConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/api/v1/alerts"
	ln.Close()
	s := testSpec(t, url)
	s.Total = 5
	o := run(context.Background(), s)
	if o.Errors["connection refused"] != 5 || o.Acked != 0 {
		t.Errorf("errors %v, acked %d: want 5 refused", o.Errors, o.Acked)
	}
}

func TestBaselineAcknowledges(t *testing.T) {
	b, err := startBaseline()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := run(context.Background(), testSpec(t, b.URL))
	if o.Acked != 40 {
		t.Errorf("acked %d of 40; statuses %v errors %v", o.Acked, o.Status, o.ErrorSample)
	}
}

func TestPercentile(t *testing.T) {
	ms := time.Millisecond
	lat := []time.Duration{1 * ms, 2 * ms, 3 * ms, 4 * ms, 5 * ms, 6 * ms, 7 * ms, 8 * ms, 9 * ms, 10 * ms}
	tests := []struct {
		p    float64
		lat  []time.Duration
		want time.Duration
	}{
		{50, lat, 5 * ms},
		{90, lat, 9 * ms},
		{99, lat, 10 * ms},
		{100, lat, 10 * ms},
		{1, lat, 1 * ms},
		{50, nil, 0},
		{99, []time.Duration{7 * ms}, 7 * ms},
	}
	for _, tt := range tests {
		if got := (outcome{AckLatency: tt.lat}).Percentile(tt.p); got != tt.want {
			t.Errorf("p%v of %d values = %v, want %v", tt.p, len(tt.lat), got, tt.want)
		}
	}
}
