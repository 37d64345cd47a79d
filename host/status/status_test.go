package status

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/delivery"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func newServer(t *testing.T, replayErr error) (*httptest.Server, *[]int64) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, err = st.Ingest(context.Background(), []store.Notification{{
		Alert:      &sdk.Alert{ID: "alert-1", Condition: sdk.ConditionFired, FiredAt: time.Now()},
		Deliveries: []route.Delivery{{Route: "r", Backend: "file.local", CorrelationKey: "key-<1>"}},
		ReceivedAt: time.Now(),
	}, {
		Alert:      &sdk.Alert{ID: "alert-2", Condition: sdk.ConditionFired, FiredAt: time.Now()},
		Unmatched:  "no route matched",
		ReceivedAt: time.Now(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var replayed []int64
	srv := httptest.NewServer(Handler(Sources{
		Backends: func() []Backend { return []Backend{{Ref: "file.local", Plugin: "file", Version: "1.0"}} },
		Stats: func(ctx context.Context) (delivery.Stats, error) {
			return delivery.Stats{Backends: map[string]delivery.BackendStats{"file.local": {BackendStats: store.BackendStats{Queued: 7}}}, Unmatched: 1}, nil
		},
		Store:  st,
		Replay: func(_ context.Context, id int64) error { replayed = append(replayed, id); return replayErr },
	}))
	t.Cleanup(srv.Close)
	return srv, &replayed
}

func TestPageShowsBackendsItemsAndDeadLetters(t *testing.T) {
	srv, _ := newServer(t, nil)
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"file.local", "file 1.0", `<td class="num">7</td>`, "key-&lt;1&gt;", "no route matched", `action="/deadletters/1/replay"`, "Alerts no route took: 1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestReplay(t *testing.T) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name       string
		path       string
		origin     string
		replayErr  error
		wantStatus int
		wantMsg    string
		wantCalls  int
	}{
		{name: "same origin", path: "/deadletters/1/replay", origin: "self", wantStatus: 303, wantMsg: "dead+letter+1+replayed", wantCalls: 1},
		{name: "no origin (curl)", path: "/deadletters/1/replay", wantStatus: 303, wantCalls: 1},
		{name: "replay fails", path: "/deadletters/1/replay", replayErr: errors.New("boom"), wantStatus: 303, wantMsg: "failed", wantCalls: 1},
		{name: "cross origin", path: "/deadletters/1/replay", origin: "https://evil.example", wantStatus: 403},
		{name: "bad id", path: "/deadletters/x/replay", wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := newServer(t, tt.replayErr)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tt.path, nil)
			if tt.origin == "self" {
				req.Header.Set("Origin", srv.URL)
			} else if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantMsg != "" && !strings.Contains(resp.Header.Get("Location"), tt.wantMsg) {
				t.Errorf("Location %q lacks %q", resp.Header.Get("Location"), tt.wantMsg)
			}
			if len(*calls) != tt.wantCalls {
				t.Errorf("replay called %d times, want %d", len(*calls), tt.wantCalls)
			}
		})
	}
}
