package route

import (
	"reflect"
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
