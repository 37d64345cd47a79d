package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

func TestTermText(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"plain", "cpu high on vm1", "cpu high on vm1"},
		{"empty", "", ""},
		{"accents, CJK, emoji and spaces", "Café 東京\u00a0\u3000🔥", "Café 東京\u00a0\u3000🔥"},
		{"backslash kept", `C:\temp \x1b`, `C:\temp \x1b`},
		{"replacement character kept", "a\uFFFDb", "a\uFFFDb"},
		{"escape sequence", "\x1b[2J\x1b[1;1Hok", `\x1b[2J\x1b[1;1Hok`},
		{"window title (OSC)", "\x1b]0;pwned\x07", `\x1b]0;pwned\a`},
		{"carriage return", "real\rfake", `real\rfake`},
		{"newline", "row\n4  file.cli  fake row", `row\n4  file.cli  fake row`},
		{"backspace", "abc\b\b\bxyz", `abc\b\b\bxyz`},
		{"tab would split a cell", "a\tb", `a\tb`},
		{"NUL, vertical tab, form feed", "\x00\v\f", `\x00\v\f`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"C1 CSI as UTF-8", "\u009b2J", `\u009b2J`},
		{"C1 NEL", "a\u0085b", `a\u0085b`},
		{"raw 8-bit CSI byte (invalid UTF-8)", "a\x9b2Jb", `a\x9b2Jb`},
		{"truncated UTF-8", "a\xe2\x82", `a\xe2\x82`},
		{"right-to-left override", "invoice_\u202egnp.exe", `invoice_\u202egnp.exe`},
		{"bidi isolates and marks", "\u2066\u2067\u2068\u2069\u200e\u200f\u061c", `\u2066\u2067\u2068\u2069\u200e\u200f\u061c`},
		{"zero-width and BOM", "a\u200bb\u200dc\ufeff", `a\u200bb\u200dc\ufeff`},
		{"line and paragraph separators", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"soft hyphen", "a\u00adb", `a\u00adb`},
		{"tag characters", "a\U000e0041\U000e007f", `a\U000e0041\U000e007f`},
		{"private use", "\ue000", `\ue000`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := termText(tt.in); got != tt.want {
				t.Errorf("termText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTermJSON(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"plain", "Café", `"Café"`},
		{"C0 escaped by the encoder", "\x1b[2J\r\n\t\b", `"\u001b[2J\r\n\t\b"`},
		{"DEL", "a\x7f", `"a\u007f"`},
		{"C1 CSI", "\u009b2J", `"\u009b2J"`},
		{"invalid UTF-8 replaced by the encoder", "a\x9bb", `"a\ufffdb"`},
		{"right-to-left override", "x\u202ey", `"x\u202ey"`},
		{"zero width", "a\u200bb", `"a\u200bb"`},
		{"tag character (surrogate pair)", "a\U000e0041", `"a\udb40\udc41"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := termJSON(enc)
			if string(got) != tt.want {
				t.Errorf("termJSON(%s) = %s, want %s", enc, got, tt.want)
			}
			var back, orig string
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(enc, &orig)
			if back != orig {
				t.Errorf("decodes to %q, want %q", back, orig)
			}
			if !utf8.Valid(got) {
				t.Errorf("not valid UTF-8: %q", got)
			}
		})
	}
}

// TestWriteDiagnosticsEscapes: a plugin's diagnostic is its own text; it is
// shown escaped, while the host's own details keep their line breaks.
func TestWriteDiagnosticsEscapes(t *testing.T) {
	var out bytes.Buffer
	writeDiagnostics(&out, nil, hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "bad\x1b[2K\rtoken", Detail: "the tool said\x1b]0;x\a\u202e: no\nsee its log"},
	})
	want := "Error: bad\\x1b[2K\\rtoken\n\nthe tool said\\x1b]0;x\\a\\u202e: no\nsee its log\n\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
