package metrics

import (
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestUnboundReason(t *testing.T) {
	vm := sdk.ConfigurationItem{Name: "vm1", ResourceID: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm1"}
	tests := []struct {
		name string
		b    sdk.CIBinding
		want string
	}{
		{"bound", sdk.CIBinding{ConfigurationItem: vm, BoundID: "ci1", BoundBy: "name"}, ""},
		{"bound with a stale reason", sdk.CIBinding{ConfigurationItem: vm, BoundID: "ci1", Reason: "not found"}, ""},
		{"no identifier", sdk.CIBinding{Reason: "the configuration item has neither a resource id nor a name to look up"}, UnboundNoIdentifier},
		{"no reason", sdk.CIBinding{ConfigurationItem: vm}, UnboundUnspecified},
		{"blank reason", sdk.CIBinding{ConfigurationItem: vm, Reason: "  "}, UnboundUnspecified},
		{"servicenow not found", sdk.CIBinding{ConfigurationItem: vm, Reason: `no cmdb_ci record with object_id = "/subscriptions/s" or name = "vm1"`}, UnboundNotFound},
		{"rest not found", sdk.CIBinding{ConfigurationItem: vm, Reason: "not found in the CMDB"}, UnboundNotFound},
		{"not found, capitalized", sdk.CIBinding{ConfigurationItem: vm, Reason: "CI Not Found"}, UnboundNotFound},
		{"servicenow lookup failed", sdk.CIBinding{ConfigurationItem: vm, Reason: "CMDB lookup failed: HTTP 403: insufficient rights"}, UnboundLookupFailed},
		{"rest error", sdk.CIBinding{ConfigurationItem: vm, Reason: "rest: find_ci: HTTP 401 Unauthorized"}, UnboundLookupFailed},
		{"a word starting with no", sdk.CIBinding{ConfigurationItem: vm, Reason: "normalization of the answer broke"}, UnboundLookupFailed},
	}
	for _, tt := range tests {
		if got := UnboundReason(tt.b); got != tt.want {
			t.Errorf("%s: UnboundReason = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestObserveBindings(t *testing.T) {
	m := New()
	m.ObserveBindings("servicenow.prod", []sdk.CIBinding{
		{ConfigurationItem: sdk.ConfigurationItem{Name: "a"}, BoundID: "x"},
		{ConfigurationItem: sdk.ConfigurationItem{Name: "b"}, Reason: "no cmdb_ci record with name = \"b\""},
		{ConfigurationItem: sdk.ConfigurationItem{Name: "c"}, Reason: "not found in the CMDB"},
		{ConfigurationItem: sdk.ConfigurationItem{Name: "d"}, Reason: "CMDB lookup failed: HTTP 403"},
	})
	if got := testutil.ToFloat64(m.UnboundCIs.WithLabelValues("servicenow.prod", UnboundNotFound)); got != 2 {
		t.Errorf("not_found = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.UnboundCIs.WithLabelValues("servicenow.prod", UnboundLookupFailed)); got != 1 {
		t.Errorf("lookup_failed = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(m.UnboundCIs); n != 2 {
		t.Errorf("%d series, want 2 (a bound item counts nowhere)", n)
	}
}

func TestReadTotals(t *testing.T) {
	m := New()
	m.Deliveries.WithLabelValues("jira.ops", "create", "ok").Add(3)
	m.Deliveries.WithLabelValues("jira.ops", "update", "retryable").Add(2)
	m.Deliveries.WithLabelValues("jira.ops", "create", "permanent").Inc()
	m.Deliveries.WithLabelValues("jira.ops", "update", "not_found").Inc()
	m.Deliveries.WithLabelValues("file.x", "create", "ok").Inc()
	m.AuthFailures.WithLabelValues("expired").Add(4)
	m.AuthFailures.WithLabelValues("wrong_audience").Inc()
	d := m.DeliveryTotals()
	if d["jira.ops"] != (DeliveryTotals{Calls: 7, Failures: 3}) || d["file.x"] != (DeliveryTotals{Calls: 1}) || len(d) != 2 {
		t.Errorf("DeliveryTotals = %+v", d)
	}
	a := m.AuthFailureTotals()
	if a["expired"] != 4 || a["wrong_audience"] != 1 || len(a) != 2 {
		t.Errorf("AuthFailureTotals = %+v", a)
	}
}
