package jirafake

import "testing"

// TestQuotedString: quoted JQL strings are read as Jira's grammar reads
// them, and what it refuses is refused.
func TestQuotedString(t *testing.T) {
	tests := []struct {
		in, want string
		n        int
	}{
		{`"abc" AND`, "abc", 5},
		{`'a"b'`, `a"b`, 5},
		{`"a\"b\\c"`, `a"b\c`, 9},
		{`"\t\n\r\ \'"`, "\t\n\r '", 12},
		{`"\u0041\u00e9\u0009"`, "Aé\t", 20},
		{"\"line\nbreak\"", "line\nbreak", 12},
	}
	for _, tc := range tests {
		got, n, err := quotedString([]rune(tc.in))
		if err != nil || got != tc.want || n != tc.n {
			t.Errorf("quotedString(%q) = %q, %d, %v; want %q, %d", tc.in, got, n, err, tc.want, tc.n)
		}
	}
	for _, bad := range []string{`"abc`, `"a\"`, `"\x"`, `"\u00g1"`, `"\u12"`, "\"tab\there\"", "\"nul\x00\"", "\"del\x7f\"", "\"c1\u0085\"", "\"\ufdd0\"", "\"\uffff\""} {
		if got, _, err := quotedString([]rune(bad)); err == nil {
			t.Errorf("quotedString(%q) = %q; want a syntax error", bad, got)
		}
	}
}
