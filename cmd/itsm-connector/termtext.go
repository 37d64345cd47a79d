package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/itsm-connector/itsm-connector/host/config"
)

// Alert content, plugin and ITSM tool text, dead-letter reasons and audit
// messages reach the terminal through this command line. A terminal acts
// on control characters, and bidirectional and other invisible format
// characters reorder or hide text, so such text could move the cursor,
// rewrite or hide table rows, fake lines, or set the window title. Every
// human-readable output passes that text through termText, and every JSON
// output goes through termJSON.

// shown reports whether r is printed as it is: a letter, mark, number,
// punctuation, symbol or space character (unicode.IsGraphic). Everything
// else is escaped: C0 and C1 controls and DEL (ESC, CR, LF, BS, tab, which
// would also split a table cell), bidirectional controls (U+202E…),
// zero-width and other format characters, line and paragraph separators,
// tag characters, private use and unassigned code points.
func shown(r rune) bool { return unicode.IsGraphic(r) }

// termText returns s with every rune that is not shown written as a Go
// escape (\x1b, \r, \n, \t, \u202e, \U000e0041) and every byte that is not
// valid UTF-8 as \xNN, so that s prints on one line, as the characters it
// holds. A backslash already in s is kept as it is.
func termText(s string) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || !shown(r) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s // the usual case: nothing to escape
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case shown(r):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRune(r) // '\x1b', '\n', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// termJSON rewrites JSON from encoding/json so that it shows the same way:
// the encoder escapes C0 controls and replaces invalid UTF-8, but writes
// DEL, C1 controls (U+009B is a terminal's CSI), bidirectional and other
// format characters as they are. Outside strings the encoder writes only
// ASCII and line breaks, so each such rune is inside a string and becomes
// its \u escape (a surrogate pair above U+FFFF): the JSON decodes to the
// same values.
func termJSON(b []byte) []byte {
	out := b[:0:0]
	last := 0
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == '\n' || shown(r) || (r == utf8.RuneError && n == 1) {
			i += n
			continue
		}
		out = append(out, b[last:i]...)
		if r > 0xFFFF {
			hi, lo := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, hi, lo)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += n
		last = i
	}
	if last == 0 {
		return b
	}
	return append(out, b[last:]...)
}

// writeDiagnostics writes diags as config.WriteDiagnostics does, with each
// summary and each line of each detail escaped by termText: a plugin's
// diagnostics are its own text. The snippets come from the operator's
// configuration files.
func writeDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) {
	safe := make(hcl.Diagnostics, len(diags))
	for i, d := range diags {
		c := *d
		c.Summary = termText(d.Summary)
		lines := strings.Split(d.Detail, "\n")
		for j, l := range lines {
			lines[j] = termText(l)
		}
		c.Detail = strings.Join(lines, "\n")
		safe[i] = &c
	}
	_ = config.WriteDiagnostics(w, files, safe, false)
}

// indentText escapes each line of s with termText and starts every line
// after the first with indent: a plugin's multi-line text stays readable
// under a listing's entry.
func indentText(s, indent string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = termText(l)
	}
	return strings.Join(lines, "\n"+indent)
}
