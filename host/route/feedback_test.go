package route

import (
	"strings"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func compileSrc(t *testing.T, src string) (*Router, string) {
	t.Helper()
	cfg, diags := config.Load([]byte(src), "inline.hcl")
	if diags.HasErrors() {
		t.Fatalf("load: %s", config.DiagnosticsText(diags))
	}
	r, diags := Compile(cfg.Routes, map[string]bool{"file.a": true})
	if diags.HasErrors() {
		return nil, config.DiagnosticsText(diags)
	}
	return r, ""
}

const feedbackHead = `
auth "none" {}
backend "file" "a" {}
azure {
  credential "managed_identity" {}
}
`

func TestFeedbackTemplates(t *testing.T) {
	r, errs := compileSrc(t, feedbackHead+`
route "r" {
  send_to = [backend.file.a]
  azure_feedback {
    comment       = "${work_item.key} ${work_item.url} (${alert.rule})"
    close_comment = "closed: ${work_item.key} resolved by ${work_item.resolved_by}: ${work_item.resolution}"
  }
}
route "plain" {
  send_to = [backend.file.a]
  azure_feedback {
    on_created        = "none"
    on_human_resolved = "leave"
  }
}
route "none" {
  send_to = [backend.file.a]
}
`)
	if errs != "" {
		t.Fatal(errs)
	}
	a := &sdk.Alert{ID: "x", Rule: "cpu high"}
	wi := WorkItemView{Key: "INC0012345", URL: "https://snow/incident.do?sys_id=1", ResolvedBy: "alice", Resolution: "Solved", ResolvedAt: time.Unix(0, 0)}
	fb := r.Feedback("r")
	if !fb.Acknowledge || !fb.CloseOnHumanResolved {
		t.Errorf("defaults: %+v", fb)
	}
	if got, err := fb.Comment(a, wi); err != nil || got != "INC0012345 https://snow/incident.do?sys_id=1 (cpu high)" {
		t.Errorf("comment %q, %v", got, err)
	}
	if got, err := fb.CloseComment(a, wi); err != nil || got != "closed: INC0012345 resolved by alice: Solved" {
		t.Errorf("close comment %q, %v", got, err)
	}
	plain := r.Feedback("plain")
	if plain.Acknowledge || plain.CloseOnHumanResolved {
		t.Errorf("plain: %+v", plain)
	}
	if got, _ := plain.Comment(a, wi); got != "INC0012345 https://snow/incident.do?sys_id=1" {
		t.Errorf("default comment %q", got)
	}
	if got, _ := plain.CloseComment(a, wi); !strings.Contains(got, "INC0012345") || !strings.Contains(got, "by alice") {
		t.Errorf("default close comment %q", got)
	}
	if r.Feedback("none") != nil || r.Feedback("gone") != nil {
		t.Error("a route without azure_feedback has feedback")
	}
}

func TestFeedbackTemplatesCheckedAtLoad(t *testing.T) {
	for _, tc := range []struct{ tmpl, want string }{
		{`"${work_item.kee}"`, `Did you mean "key"`},
		{`"${alert.sevrity}"`, `Did you mean "severity"`},
		{`{ a = 1 }`, "a comment must be a string"},
		{`"${env("X")}"`, "env"},
	} {
		_, errs := compileSrc(t, feedbackHead+"route \"r\" {\n  send_to = [backend.file.a]\n  azure_feedback {\n    comment = "+tc.tmpl+"\n  }\n}\n")
		if !strings.Contains(errs, tc.want) {
			t.Errorf("comment = %s: want an error containing %q, got %q", tc.tmpl, tc.want, errs)
		}
	}
}
