package azure

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

func TestClassify(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	retry := http.Header{"Retry-After": {"7"}}
	body := func(code, msg string) []byte {
		return []byte(`{"error":{"code":"` + code + `","message":"` + msg + `"}}`)
	}
	cases := []struct {
		name   string
		status int
		header http.Header
		body   []byte
		kind   sdk.ErrorKind // "" for success
		after  time.Duration
		says   []string
	}{
		{"ok", 200, nil, nil, "", 0, nil},
		{"throttled", 429, retry, body("SubscriptionRequestsThrottled", "Number of write requests exceeded"), sdk.KindRetryable, 7 * time.Second, []string{"429", "SubscriptionRequestsThrottled"}},
		{"unavailable", 503, nil, nil, sdk.KindRetryable, 0, []string{"503"}},
		{"gateway", 502, nil, []byte("<html>bad gateway</html>"), sdk.KindRetryable, 0, []string{"bad gateway"}},
		{"internal", 500, nil, body("InternalServerError", "oops"), sdk.KindRetryable, 0, nil},
		{"forbidden", 403, nil, body("AuthorizationFailed", "does not have authorization"), sdk.KindPermanent, 0,
			[]string{"AuthorizationFailed", "Microsoft.AlertsManagement/alerts/changestate/action", "Monitoring Contributor"}},
		{"not found", 404, nil, body("ResourceNotFound", "gone"), sdk.KindPermanent, 0, []string{"alert not found"}},
		{"bad request", 400, nil, body("InvalidParameter", "newState is bad"), sdk.KindPermanent, 0, []string{"InvalidParameter: newState is bad"}},
		{"token refused", 401, nil, body("InvalidAuthenticationTokenAudience", "wrong audience"), sdk.KindPermanent, 0, []string{"401", "arm_endpoint"}},
		{"conflict", 409, nil, nil, sdk.KindPermanent, 0, []string{"409", "Conflict"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Classify(tc.status, tc.header, tc.body, now)
			if tc.kind == "" {
				if err != nil {
					t.Fatalf("Classify = %v, want nil", err)
				}
				return
			}
			if k := sdk.KindOf(err); k != tc.kind {
				t.Fatalf("kind %s, want %s (%v)", k, tc.kind, err)
			}
			if ReasonOf(err) == "" || ReasonOf(err) == ReasonOther && tc.status != 409 {
				t.Errorf("reason %q", ReasonOf(err))
			}
			if got := sdk.RetryAfterOf(err); got != tc.after {
				t.Errorf("retry after %v, want %v", got, tc.after)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not say %q", err, s)
				}
			}
		})
	}
}

func TestChangeStateURL(t *testing.T) {
	id := "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/22222222-2222-2222-2222-222222222222"
	u, err := ChangeStateURL("https://management.azure.com", id, StateAcknowledged)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://management.azure.com" + id + "/changestate?api-version=2019-05-05-preview&newState=Acknowledged"; u != want {
		t.Errorf("URL %s, want %s", u, want)
	}
	for _, bad := range []string{"", "abc", id + "/../x", id + "?x=1", "/subscriptions/x/providers/Microsoft.AlertsManagement/alerts/y", "https://evil" + id} {
		if _, err := ChangeStateURL("https://management.azure.com", bad, StateClosed); err == nil {
			t.Errorf("ChangeStateURL accepted alert id %q", bad)
		}
	}
}

func TestNextChange(t *testing.T) {
	const a, b = "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/a", "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/b"
	cases := []struct {
		name string
		last Record
		id   string
		want State
		call bool
	}{
		{"first acknowledgement", Record{}, a, StateAcknowledged, true},
		{"first close", Record{}, a, StateClosed, true},
		{"close an acknowledged alert", Record{a, StateAcknowledged}, a, StateClosed, true},
		{"never re-acknowledge a closed alert", Record{a, StateClosed}, a, StateAcknowledged, false},
		{"never re-acknowledge, whatever the case", Record{strings.ToUpper(a), StateClosed}, a, StateAcknowledged, false},
		{"already acknowledged", Record{a, StateAcknowledged}, a, StateAcknowledged, false},
		{"already closed", Record{a, StateClosed}, a, StateClosed, false},
		{"a new alert instance after a close", Record{a, StateClosed}, b, StateAcknowledged, true},
		{"a new alert instance", Record{a, StateAcknowledged}, b, StateAcknowledged, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			call, why := NextChange(tc.last, tc.id, tc.want)
			if call != tc.call {
				t.Fatalf("call = %v, want %v", call, tc.call)
			}
			if !call && why == "" {
				t.Error("a skipped change must say why")
			}
		})
	}
}
