package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/adminapi"
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
		Store: st,
		Replay: (&adminapi.DeadLetters{Store: st, Replay: func(_ context.Context, id int64) ([]string, error) {
			replayed = append(replayed, id)
			return nil, replayErr
		}}).ReplayLetter,
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
		replayErr  error
		wantStatus int
		wantLoc    string
		wantCalls  int
	}{
		{name: "replayed", path: "/deadletters/1/replay", wantStatus: 303, wantLoc: "/?id=1&result=replayed", wantCalls: 1},
		{name: "still unmatched", path: "/deadletters/2/replay", replayErr: fmt.Errorf("dead letter 2: no route: %w", delivery.ErrUnroutable),
			wantStatus: 303, wantLoc: "/?id=2&result=unroutable", wantCalls: 1},
		{name: "unknown", path: "/deadletters/9/replay", replayErr: fmt.Errorf("dead letter 9: %w", store.ErrNotFound), wantStatus: 303, wantLoc: "/?id=9&result=not_found", wantCalls: 1},
		{name: "store fails", path: "/deadletters/1/replay", replayErr: errors.New("disk I/O error"), wantStatus: 303, wantLoc: "/?id=1&result=failed", wantCalls: 1},
		{name: "bad id", path: "/deadletters/x/replay", wantStatus: 400},
		{name: "zero id", path: "/deadletters/0/replay", wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := newServer(t, tt.replayErr)
			resp, err := noRedirect.Post(srv.URL+tt.path, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if loc := resp.Header.Get("Location"); loc != tt.wantLoc {
				t.Errorf("Location %q, want %q", loc, tt.wantLoc)
			}
			if len(*calls) != tt.wantCalls {
				t.Errorf("replay called %d times, want %d", len(*calls), tt.wantCalls)
			}
		})
	}
}

// TestReplayFailureNotShownAsSuccess: a failed replay ends on the page in
// the error banner; it used to be shown in the green one.
func TestReplayFailureNotShownAsSuccess(t *testing.T) {
	srv, _ := newServer(t, fmt.Errorf("dead letter 2: alert \"alert-2\" still matches no route: %w", delivery.ErrUnroutable))
	resp, err := http.Post(srv.URL+"/deadletters/2/replay", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), `class="msg"`) || !strings.Contains(string(body), `<p class="err">Dead letter 2 was not replayed: its alert still matches no route.`) {
		t.Errorf("a failed replay is not shown as an error:\n%s", body)
	}
}

// TestBannerDoesNotReflectQuery: the banner shows fixed texts only; it used
// to show whatever ?msg= said, on the operator's own admin page.
func TestBannerDoesNotReflectQuery(t *testing.T) {
	srv, _ := newServer(t, nil)
	resp, err := http.Get(srv.URL + "/?msg=Dead+letter+9+replayed+call+555-0100&result=%3Cb%3Eowned%3C%2Fb%3E&id=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "555-0100") || strings.Contains(string(body), "owned") || strings.Contains(string(body), `class="msg"`) {
		t.Errorf("the page shows text taken from its URL:\n%s", body)
	}
}

func TestNoticeFor(t *testing.T) {
	tests := []struct {
		query  string
		want   string
		wantOK bool
	}{
		{"result=replayed&id=12", "Dead letter 12 replayed: its work is queued again.", true},
		{"result=unroutable&id=3", "Dead letter 3 was not replayed: its alert still matches no route. Fix the routes, reload (SIGHUP) and replay it again; the letter is kept.", false},
		{"result=not_found&id=3", "Dead letter 3 was not replayed: there is no such dead letter (it was replayed or dropped already).", false},
		{"result=failed&id=3", "Dead letter 3 was not replayed: the store failed. The connector's log has the error.", false},
		{"result=replayed", "", false},
		{"result=replayed&id=-1", "", false},
		{"result=replayed&id=1x", "", false},
		{"result=dead+letter+1+replayed&id=1", "", false},
		{"msg=dead+letter+1+replayed", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		n := NoticeFor(q)
		switch {
		case tt.want == "" && n != nil:
			t.Errorf("NoticeFor(%q) = %+v, want none", tt.query, *n)
		case tt.want != "" && (n == nil || n.Text != tt.want || n.OK != tt.wantOK):
			t.Errorf("NoticeFor(%q) = %+v, want %q ok=%v", tt.query, n, tt.want, tt.wantOK)
		}
	}
}
