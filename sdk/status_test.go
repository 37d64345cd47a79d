package sdk_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// statusPlugin is a plugin whose ReadStatus answers from a hook and counts
// its calls.
type statusPlugin struct {
	hookPlugin
	read  func(context.Context, *sdk.StatusRequest) ([]sdk.WorkItemStatus, error)
	calls int
}

var _ sdk.StatusReader = (*statusPlugin)(nil)

func (p *statusPlugin) ReadStatus(ctx context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	p.calls++
	return p.read(ctx, req)
}

func items(ids ...string) *sdk.StatusRequest {
	req := &sdk.StatusRequest{}
	for _, id := range ids {
		req.Items = append(req.Items, sdk.WorkItem{ID: id, Key: "INC-" + id, State: sdk.StateOpen})
	}
	return req
}

func TestReadStatusCrossesTheWire(t *testing.T) {
	resolvedAt := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	want := []sdk.WorkItemStatus{
		{ID: "b", Found: true, State: sdk.StateResolved, ResolvedBy: "Beth Anglin", ResolvedAt: resolvedAt,
			Resolution: "Won't Fix", Fields: map[string]string{"priority": "2"}},
		{ID: "a", Found: true, State: sdk.StateOpen},
		{ID: "gone"},
	}
	var got *sdk.StatusRequest
	p := &statusPlugin{read: func(_ context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
		got = req
		return want, nil
	}}
	req := items("a", "b", "gone")
	req.Items[0].Attributes = map[string]string{"project": "OPS"}
	st, err := sdktest.Connect(t, p).ReadStatus(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, req) {
		t.Errorf("the plugin got %+v, want %+v", got, req)
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("ReadStatus = %+v, want %+v", st, want)
	}
}

// TestReadStatusAnswerIsChecked: an answer that does not fit the request is
// a permanent error saying what is wrong, whatever the plugin's language.
func TestReadStatusAnswerIsChecked(t *testing.T) {
	tests := []struct {
		name   string
		answer []sdk.WorkItemStatus
		want   string
	}{
		{"an id not asked for", []sdk.WorkItemStatus{{ID: "a", Found: true}, {ID: "z", Found: true}},
			`statuses[1] is for work item "z", which was not asked for`},
		{"an empty id", []sdk.WorkItemStatus{{Found: true}}, `statuses[0] is for work item "", which was not asked for`},
		{"more answers than items", []sdk.WorkItemStatus{{ID: "a"}, {ID: "b"}, {ID: "a"}}, "answered 3 statuses for 2 work items asked for"},
		{"an item twice", []sdk.WorkItemStatus{{ID: "b"}, {ID: "b"}}, `statuses[1]: work item "b" is answered twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &statusPlugin{read: func(context.Context, *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) { return tt.answer, nil }}
			st, err := sdktest.Connect(t, p).ReadStatus(t.Context(), items("a", "b"))
			if st != nil || sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), tt.want) ||
				!strings.Contains(err.Error(), "plugin answered ReadStatus wrongly") {
				t.Errorf("ReadStatus = (%v, %v); want a permanent error saying %q", st, err, tt.want)
			}
		})
	}
}

func TestCheckStatusAnswer(t *testing.T) {
	tests := []struct {
		name string
		req  *sdk.StatusRequest
		got  []sdk.WorkItemStatus
		want string // "" for no error
	}{
		{"every item once", items("a", "b"), []sdk.WorkItemStatus{{ID: "b"}, {ID: "a"}}, ""},
		{"some items unanswered", items("a", "b", "c"), []sdk.WorkItemStatus{{ID: "c"}}, ""},
		{"nothing answered", items("a"), nil, ""},
		{"a nil request and no answer", nil, nil, ""},
		{"a nil request and an answer", nil, []sdk.WorkItemStatus{{ID: "a"}}, "answered 1 statuses for 0 work items asked for"},
		{"not asked for", items("a"), []sdk.WorkItemStatus{{ID: "A"}}, `statuses[0] is for work item "A", which was not asked for`},
		{"twice", items("a", "b"), []sdk.WorkItemStatus{{ID: "a"}, {ID: "a"}}, `statuses[1]: work item "a" is answered twice`},
		{"too many", items("a"), []sdk.WorkItemStatus{{ID: "a"}, {ID: "a"}}, "answered 2 statuses for 1 work items asked for"},
		{"an unknown state is the host's to judge", items("a"), []sdk.WorkItemStatus{{ID: "a", Found: true, State: "pending"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sdk.CheckStatusAnswer(tt.req, tt.got)
			if (err == nil) != (tt.want == "") || err != nil && err.Error() != tt.want {
				t.Errorf("CheckStatusAnswer = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestReadStatusRequestIsChecked: a request the host should never send is
// refused before it reaches the plugin; an empty one needs no call.
func TestReadStatusRequestIsChecked(t *testing.T) {
	p := &statusPlugin{read: func(context.Context, *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
		return nil, errors.New("must not be called")
	}}
	c := sdktest.Connect(t, p)
	for _, tt := range []struct {
		name string
		req  *sdk.StatusRequest
		want string
	}{
		{"nil", nil, "ReadStatus: nil request"},
		{"an item without an id", &sdk.StatusRequest{Items: []sdk.WorkItem{{ID: "a"}, {Key: "INC1"}}}, "ReadStatus: items[1] has no id"},
		{"an id twice", items("a", "b", "a"), `ReadStatus: items[2]: work item "a" is asked for twice`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, err := c.ReadStatus(t.Context(), tt.req)
			if st != nil || sdk.KindOf(err) != sdk.KindPermanent || err.Error() != tt.want {
				t.Errorf("ReadStatus = (%v, %v); want the permanent error %q", st, err, tt.want)
			}
		})
	}
	if st, err := c.ReadStatus(t.Context(), &sdk.StatusRequest{}); st != nil || err != nil {
		t.Errorf("ReadStatus of nothing = (%v, %v), want (nil, nil)", st, err)
	}
	if p.calls != 0 {
		t.Errorf("the plugin was called %d times", p.calls)
	}
}

func TestReadStatusErrorsKeepTheirClass(t *testing.T) {
	h := http.Header{}
	h.Set("Retry-After", "30")
	for _, tt := range []struct {
		name       string
		err        error
		kind       sdk.ErrorKind
		retryAfter time.Duration
	}{
		{"429", sdk.FromHTTPStatus(http.StatusTooManyRequests, h, "rate limited"), sdk.KindRetryable, 30 * time.Second},
		{"503", sdk.FromHTTPStatus(http.StatusServiceUnavailable, nil, "down"), sdk.KindRetryable, 0},
		{"401", sdk.FromHTTPStatus(http.StatusUnauthorized, nil, "bad credentials"), sdk.KindPermanent, 0},
		{"403", sdk.FromHTTPStatus(http.StatusForbidden, nil, "no role"), sdk.KindPermanent, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &statusPlugin{read: func(context.Context, *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) { return nil, tt.err }}
			_, err := sdktest.Connect(t, p).ReadStatus(t.Context(), items("a"))
			if sdk.KindOf(err) != tt.kind || sdk.RetryAfterOf(err) != tt.retryAfter || err.Error() != tt.err.Error() {
				t.Errorf("ReadStatus error = %v (kind %q, retry after %v), want %v (kind %q, retry after %v)",
					err, sdk.KindOf(err), sdk.RetryAfterOf(err), tt.err, tt.kind, tt.retryAfter)
			}
		})
	}
}

func TestReadStatusWithoutTheInterfaceIsPermanent(t *testing.T) {
	c := sdktest.Connect(t, &hookPlugin{info: sdk.Info{Name: "minimal", Version: "1"}})
	st, err := c.ReadStatus(t.Context(), items("a"))
	if st != nil || sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "plugin does not implement ReadStatus") {
		t.Errorf("ReadStatus = (%v, %v); want a permanent error naming ReadStatus", st, err)
	}
}

func TestReadStatusPanicIsPermanent(t *testing.T) {
	p := &statusPlugin{read: func(context.Context, *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) { panic("nil map") }}
	_, err := sdktest.Connect(t, p).ReadStatus(t.Context(), items("a"))
	if sdk.KindOf(err) != sdk.KindPermanent || !strings.Contains(err.Error(), "panicked in ReadStatus") {
		t.Errorf("ReadStatus error = %v, want a permanent error about the panic", err)
	}
}

func TestStatusBatch(t *testing.T) {
	for _, tt := range []struct{ max, want int }{{0, sdk.DefaultMaxStatusBatch}, {-3, sdk.DefaultMaxStatusBatch}, {1, 1}, {200, 200}} {
		if got := (sdk.Info{MaxStatusBatch: tt.max}).StatusBatch(); got != tt.want {
			t.Errorf("StatusBatch with MaxStatusBatch %d = %d, want %d", tt.max, got, tt.want)
		}
	}
}
