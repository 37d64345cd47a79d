package sdkredact_test

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk/sdkredact"
)

const secret = "pa$$/w0rd<&>+Zq:é"

func b64(enc *base64.Encoding, s string) string { return enc.EncodeToString([]byte(s)) }

func TestReplace(t *testing.T) {
	r := sdkredact.New(secret, "0123456789abcdef0123456789ABCDEF", "short1", "abc")
	const m = sdkredact.Marker
	tests := []struct {
		name, in, want string
	}{
		{"as written", "login failed for " + secret + ".", "login failed for " + m + "."},
		{"upper case", "PASSWORD=" + strings.ToUpper(secret), "PASSWORD=" + m},
		{"mixed case", "x PA$$/W0RD<&>+zQ:é y", "x " + m + " y"},
		{"query-escaped", "GET /x?p=" + url.QueryEscape(secret) + "&q=1", "GET /x?p=" + m + "&q=1"},
		{"query-escaped, lower-case hex digits", "p=" + strings.ToLower(url.QueryEscape(secret)), "p=" + m},
		{"path-escaped", "/u/" + url.PathEscape(secret) + "/x", "/u/" + m + "/x"},
		{"every byte percent-encoded", "p=%70%61%24%24%2F%77%30%72%64%3C%26%3E%2B%5A%71%3A%C3%A9!", "p=" + m + "!"},
		{"JSON, Go's escaping", `{"password":"pa$$/w0rd\u003c\u0026\u003e+Zq:é"}`, `{"password":"` + m + `"}`},
		{"JSON, without HTML escapes", `{"password":"pa$$/w0rd<&>+Zq:é"}`, `{"password":"` + m + `"}`},
		{"JSON with escaped slashes", `{"password":"pa$$\/w0rd<&>+Zq:é"}`, `{"password":"` + m + `"}`},
		{"JSON, every character \\u-escaped", `"\u0070\u0061\u0024\u0024\u002f\u0077\u0030\u0072\u0064\u003c\u0026\u003e\u002b\u005a\u0071\u003a\u00e9"`, `"` + m + `"`},
		{"JSON \\u escapes in upper case", `"\u0070\u0061\u0024\u0024\u002F\u0077\u0030\u0072\u0064\u003C\u0026\u003E\u002B\u005A\u0071\u003A\u00E9"`, `"` + m + `"`},
		{"hex", "key " + hex.EncodeToString([]byte(secret)) + " end", "key " + m + " end"},
		{"hex, upper case", "key " + strings.ToUpper(hex.EncodeToString([]byte(secret))) + " end", "key " + m + " end"},
		{"base64", "b=" + b64(base64.StdEncoding, secret) + ";", "b=" + m + ";"},
		{"base64 without padding", "b=" + b64(base64.RawStdEncoding, secret) + ";", "b=" + m + ";"},
		{"base64, URL alphabet", "b=" + b64(base64.URLEncoding, secret) + ";", "b=" + m + ";"},
		{"base64, URL alphabet without padding", "b=" + b64(base64.RawURLEncoding, secret) + ";", "b=" + m + ";"},
		// In a longer string the characters shared with the neighbours
		// stay: they depend on other bytes too.
		{"basic auth, 2 bytes before", "Authorization: Basic " + b64(base64.StdEncoding, "u:"+secret), "Authorization: Basic dTp" + m},
		{"basic auth, 3 bytes before", "Basic " + b64(base64.StdEncoding, "us:"+secret), "Basic dXM6" + m},
		{"basic auth, 4 bytes before", "Basic " + b64(base64.StdEncoding, "usr:"+secret), "Basic dXNyOn" + m},
		{"basic auth, URL alphabet", "Basic " + b64(base64.RawURLEncoding, "usr:"+secret), "Basic dXNyOn" + m},
		{"base64 with text after", b64(base64.StdEncoding, secret+"!trailing bytes"), m + "IXRyYWlsaW5nIGJ5dGVz"},
		{"cut to its first half", "token pa$$/w0rd<… rejected", "token " + m + "… rejected"},
		{"cut, longer than half", "token pa$$/w0rd<&>+Z…", "token " + m + "…"},
		{"cut, query-escaped", "p=pa%24%24%2Fw0rd%3C%26 (truncated)", "p=" + m + " (truncated)"},
		{"cut shorter than half: kept", "token pa$$/w0r…", "token pa$$/w0r…"},
		{"a 32-character token cut to 16", "tok=0123456789abcdef…", "tok=" + m + "…"},
		{"a 32-character token cut to 15: kept", "tok=0123456789abcde…", "tok=0123456789abcde…"},
		{"twice", secret + " and " + secret, m + " and " + m},
		{"back to back", secret + secret, m},
		{"short value, as written", "pw short1 rejected", "pw " + m + " rejected"},
		{"short value, other case", "pw SHORT1 rejected", "pw " + m + " rejected"},
		{"short value, encoded: kept", "pw " + hex.EncodeToString([]byte("short1")), "pw " + hex.EncodeToString([]byte("short1"))},
		{"value under MinTextLen: kept", "abc is not replaced", "abc is not replaced"},
		{"nothing to replace", "HTTP 401: invalid credentials", "HTTP 401: invalid credentials"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Replace(tt.in); got != tt.want {
				t.Errorf("Replace(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestEveryFormIsReplaced puts each form of several secrets between other
// text and checks that none of the secret is left.
func TestEveryFormIsReplaced(t *testing.T) {
	secrets := []string{
		"Sup3r-S3cret!",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
		"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
		"päss wörd 🔑 \"quoted\" \\ tab\t",
		"12345678",
	}
	for _, s := range secrets {
		r := sdkredact.New(s)
		forms := map[string]string{
			"raw": s, "upper": asciiCase(s, strings.ToUpper), "lower": asciiCase(s, strings.ToLower),
			"query": url.QueryEscape(s), "path": url.PathEscape(s),
			"hex": hex.EncodeToString([]byte(s)), "HEX": strings.ToUpper(hex.EncodeToString([]byte(s))),
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			forms[fmt.Sprintf("base64 %p", enc)] = b64(enc, s)
		}
		for name, f := range forms {
			got := r.Replace("<<" + f + ">>")
			if got != "<<"+sdkredact.Marker+">>" {
				t.Errorf("secret %q, form %s %q: Replace gave %q", s, name, f, got)
			}
		}
	}
}

// asciiCase applies to to the ASCII letters of s only: case folding
// covers ASCII letters.
func asciiCase(s string, to func(string) string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteString(to(string(r)))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestCoverage(t *testing.T) {
	tests := []struct {
		v      string
		cover  sdkredact.Coverage
		prefix int
	}{
		{"", sdkredact.CoverNone, 0},
		{"abc", sdkredact.CoverNone, 0},
		{"abcd", sdkredact.CoverText, 0},
		{"abcdefg", sdkredact.CoverText, 0},
		{"abcdefgh", sdkredact.CoverAll, 8},
		{"abcdefghijkl", sdkredact.CoverAll, 8},
		{"abcdefghijklmnopq", sdkredact.CoverAll, 9},
		{strings.Repeat("x", 40), sdkredact.CoverAll, 20},
		{"abcdefgéééé", sdkredact.CoverAll, 9}, // rounded up to a character boundary
	}
	for _, tt := range tests {
		if got := sdkredact.CoverageOf(tt.v); got != tt.cover {
			t.Errorf("CoverageOf(%q) = %d, want %d", tt.v, got, tt.cover)
		}
		if got := sdkredact.PrefixLen(tt.v); got != tt.prefix {
			t.Errorf("PrefixLen(%q) = %d, want %d", tt.v, got, tt.prefix)
		}
	}
}

func TestReplaceWithoutSecretsDoesNotAllocate(t *testing.T) {
	r := sdkredact.New(secret, "another-secret-value")
	line := strings.Repeat("an ordinary log line with a url https://itsm.example.test/api?x=1 ", 20)
	if n := testing.AllocsPerRun(100, func() { _ = r.Replace(line) }); n != 0 {
		t.Errorf("Replace allocates %v times on text without secrets", n)
	}
	var nilR *sdkredact.Redactor
	if got := nilR.Replace(secret); got != secret {
		t.Errorf("nil Redactor changed the text: %q", got)
	}
}

func BenchmarkReplace(b *testing.B) {
	r := sdkredact.New(secret, "0123456789abcdef0123456789ABCDEF", "client-secret-of-the-oauth-app", "another-password")
	line := strings.Repeat("plugin call failed: HTTP 401 from https://itsm.example.test/api/now/table/incident?sysparm_limit=1 ", 50)[:4096]
	withSecret := line[:2000] + url.QueryEscape(secret) + line[2000:]
	b.Run("4KiB without secrets", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			_ = r.Replace(line)
		}
	})
	b.Run("4KiB with a secret", func(b *testing.B) {
		b.SetBytes(int64(len(withSecret)))
		for b.Loop() {
			_ = r.Replace(withSecret)
		}
	})
	b.Run("New, 4 secrets", func(b *testing.B) {
		for b.Loop() {
			_ = sdkredact.New(secret, "0123456789abcdef0123456789ABCDEF", "client-secret-of-the-oauth-app", "another-password")
		}
	})
}
