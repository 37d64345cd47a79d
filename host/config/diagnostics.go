package config

import (
	"fmt"
	"io"

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
