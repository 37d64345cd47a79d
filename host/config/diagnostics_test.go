package config

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestDiagnosticsText(t *testing.T) {
	at := &hcl.Range{Filename: "c.hcl", Start: hcl.Pos{Line: 3, Column: 5}}
	errNoRange := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Plugin checksum required", Detail: "Add a plugin block."}
	errAt := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid duration", Detail: "Write 90s.", Subject: at}
	warn := &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Authentication is disabled"}
	for _, tt := range []struct {
		name  string
		diags hcl.Diagnostics
		want  string
	}{
		{"no range: no <nil>", hcl.Diagnostics{errNoRange}, "Plugin checksum required: Add a plugin block"},
		{"range", hcl.Diagnostics{errAt}, "c.hcl:3,5: Invalid duration: Write 90s"},
		{"errors only", hcl.Diagnostics{warn, errNoRange, errAt}, "Plugin checksum required: Add a plugin block; c.hcl:3,5: Invalid duration: Write 90s"},
		{"warnings when no error", hcl.Diagnostics{warn}, "Authentication is disabled"},
		{"none", nil, ""},
	} {
		if got := DiagnosticsText(tt.diags); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
