package route

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// TestFlapPolicyReachesDeliveries: a route's flap block is on each of its
// deliveries, its quiet period defaulting to the window; a route without
// one has none.
func TestFlapPolicyReachesDeliveries(t *testing.T) {
	c, diags := config.Load([]byte(`
auth "none" {}
backend "file" "a" {}
backend "file" "b" {}
route "flappy" {
  send_to  = [backend.file.a, backend.file.b]
  continue = true
  flap {
    window          = "30m"
    max_transitions = 4
  }
}
route "steady" {
  send_to         = [backend.file.a]
  correlation_key = "steady|${alert.id}"
}
`), "inline.hcl")
	if diags.HasErrors() {
		t.Fatal(config.DiagnosticsText(diags))
	}
	r, diags := Compile(c.Routes, map[string]bool{"file.a": true, "file.b": true})
	if diags.HasErrors() {
		t.Fatal(config.DiagnosticsText(diags))
	}
	d, err := r.Route(&sdk.Alert{ID: "a1", Condition: sdk.ConditionFired})
	if err != nil {
		t.Fatal(err)
	}
	want := &FlapPolicy{Window: 30 * time.Minute, MaxTransitions: 4, QuietPeriod: 30 * time.Minute}
	var got []*FlapPolicy
	for _, del := range d.Deliveries {
		got = append(got, del.Flap)
	}
	if !reflect.DeepEqual(got, []*FlapPolicy{want, want, nil}) {
		t.Errorf("flap policies of the deliveries = %v, want %v, %v and none", got, want, want)
	}
}

// TestStormPolicyReachesDeliveries: a route's storm block is on each of
// its deliveries with group_by rendered for the alert; without group_by
// every alert of the route is one group; a route without one has none.
func TestStormPolicyReachesDeliveries(t *testing.T) {
	c, diags := config.Load([]byte(`
auth "none" {}
backend "file" "a" {}
route "stormy" {
  send_to  = [backend.file.a]
  continue = true
  storm {
    window   = "5m"
    max_new  = 20
    group_by = "${alert.rule}/${alert.signal_type}"
  }
}
route "whole" {
  send_to         = [backend.file.a]
  correlation_key = "whole|${alert.id}"
  continue        = true
  storm {
    window  = "10m"
    max_new = 3
  }
}
route "calm" {
  send_to         = [backend.file.a]
  correlation_key = "calm|${alert.id}"
}
`), "inline.hcl")
	if diags.HasErrors() {
		t.Fatal(config.DiagnosticsText(diags))
	}
	r, diags := Compile(c.Routes, map[string]bool{"file.a": true})
	if diags.HasErrors() {
		t.Fatal(config.DiagnosticsText(diags))
	}
	d, err := r.Route(&sdk.Alert{ID: "a1", Rule: "cpu high", SignalType: "Metric", Condition: sdk.ConditionFired,
		Targets:  []string{"/subscriptions/s/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm1"},
		Resource: sdk.Resource{ResourceGroup: "rg-web", Name: "vm1"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []*StormPolicy
	for _, del := range d.Deliveries {
		got = append(got, del.Storm)
	}
	want := []*StormPolicy{{Window: 5 * time.Minute, MaxNew: 20, Group: "cpu high/Metric"}, {Window: 10 * time.Minute, MaxNew: 3}, nil}
	if !reflect.DeepEqual(got, want) {
		for i := range got {
			t.Errorf("delivery %d: storm %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestStormGroupByChecked: group_by is checked at load like the route's
// other templates: a misspelt alert field and a value that is no string
// are errors naming storm.group_by's route.
func TestStormGroupByChecked(t *testing.T) {
	for name, tc := range map[string]struct{ groupBy, want string }{
		"misspelt field": {`"${alert.rulle}"`, "rulle"},
		"not a string":   {`alert.custom_properties`, "storm.group_by"},
	} {
		t.Run(name, func(t *testing.T) {
			c, diags := config.Load([]byte(`
auth "none" {}
backend "file" "a" {}
route "stormy" {
  send_to = [backend.file.a]
  storm {
    window   = "5m"
    max_new  = 20
    group_by = `+tc.groupBy+`
  }
}
`), "inline.hcl")
			if diags.HasErrors() {
				t.Fatal(config.DiagnosticsText(diags))
			}
			_, diags = Compile(c.Routes, map[string]bool{"file.a": true})
			if text := config.DiagnosticsText(diags); !diags.HasErrors() || !strings.Contains(text, tc.want) {
				t.Errorf("diagnostics = %s; want an error naming %q", text, tc.want)
			}
		})
	}
}
