package jira

import (
	"fmt"
	"strings"
)

// jqlString quotes s as one JQL string literal that Jira's grammar reads
// back as s, whatever s holds: a backslash and a double quote are escaped,
// tab, line feed and carriage return written \t \n \r, and every other
// character the grammar refuses inside quotes (control characters, DEL,
// the non-characters U+FDD0..U+FDEF, U+FFFE, U+FFFF) written \uXXXX.
// Reserved words and characters need nothing more inside quotes.
func jqlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r >= 0x7f && r <= 0x9f || r >= 0xfdd0 && r <= 0xfdef || r == 0xfffe || r == 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
