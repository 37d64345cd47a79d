package sdk

import (
	"errors"
	"strings"
)

// Severity of a diagnostic.
type Severity string

// Diagnostic severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Diagnostic is one problem found in a plugin's configuration. Path names the
// attribute at fault, e.g. ["auth", "client_secret"], so the host can point at
// the line in the operator's file.
type Diagnostic struct {
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail,omitempty"`
	Path     []string `json:"path,omitempty"`
}

// Diagnostics is an error made of diagnostics. Configure returns it so the
// host can render each one against the operator's source.
type Diagnostics []Diagnostic

// AttributeError is a diagnostic of error severity for the attribute at path.
func AttributeError(summary, detail string, path ...string) Diagnostic {
	return Diagnostic{Severity: SeverityError, Summary: summary, Detail: detail, Path: path}
}

// AttributeWarning is a diagnostic of warning severity for the attribute at path.
func AttributeWarning(summary, detail string, path ...string) Diagnostic {
	return Diagnostic{Severity: SeverityWarning, Summary: summary, Detail: detail, Path: path}
}

// HasErrors reports whether any diagnostic is an error.
func (d Diagnostics) HasErrors() bool {
	for _, x := range d {
		if x.Severity != SeverityWarning {
			return true
		}
	}
	return false
}

// Err returns d as an error when it holds at least one error, else nil.
// Warnings alone do not fail Configure.
func (d Diagnostics) Err() error {
	if !d.HasErrors() {
		return nil
	}
	return d
}

// Error joins the diagnostics into one line each.
func (d Diagnostics) Error() string {
	var b strings.Builder
	for i, x := range d {
		if i > 0 {
			b.WriteString("; ")
		}
		if len(x.Path) > 0 {
			b.WriteString(strings.Join(x.Path, "."))
			b.WriteString(": ")
		}
		b.WriteString(x.Summary)
		if x.Detail != "" {
			b.WriteString(": ")
			b.WriteString(x.Detail)
		}
	}
	return b.String()
}

// AsDiagnostics extracts diagnostics from err. A plain error becomes one
// diagnostic without a path.
func AsDiagnostics(err error) Diagnostics {
	if err == nil {
		return nil
	}
	var d Diagnostics
	if errors.As(err, &d) {
		return d
	}
	return Diagnostics{{Severity: SeverityError, Summary: err.Error()}}
}
