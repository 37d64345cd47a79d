package config

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diags as an operator reads them: severity and
// summary, the file and line, the source snippet with the offending part
// marked, and the detail. files maps filenames to parsed sources (a
// Config's Files); a diagnostic whose file is unknown prints without a
// snippet. color adds terminal colors.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool) error {
	if err := hcl.NewDiagnosticTextWriter(w, files, 0, color).WriteDiagnostics(diags); err != nil {
		return fmt.Errorf("writing configuration diagnostics: %w", err)
	}
	return nil
}

// DiagnosticsText condenses diags into one message for errors and logs:
// each error (each diagnostic when there is no error) as
// "file:line,column: summary: detail", joined by "; ". A diagnostic
// without a source range, such as a plugin's or one about a missing
// block, is written without one; hcl's own Error writes "<nil>" for it.
func DiagnosticsText(diags hcl.Diagnostics) string {
	errs := diags.HasErrors()
	var parts []string
	for _, d := range diags {
		if errs && d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + strings.TrimSuffix(d.Detail, ".")
		}
		if d.Subject != nil {
			msg = fmt.Sprintf("%s:%d,%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, msg)
		}
		parts = append(parts, msg)
	}
	return strings.Join(parts, "; ")
}
