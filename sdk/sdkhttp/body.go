package sdkhttp

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// DefaultBodyLimit is how much of a response [ReadBody] reads when given
// no limit: far more than any ticketing API answers, far less than would
// hurt the plugin.
const DefaultBodyLimit = 8 << 20

// ReadBody reads at most limit bytes of resp's body (DefaultBodyLimit when
// limit <= 0) and closes it. A longer body is cut at the limit, which makes
// JSON decoding fail rather than the plugin run out of memory.
func ReadBody(resp *http.Response, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return b, fmt.Errorf("read response: %w", err)
	}
	return b, nil
}

// LooksLikeHTML reports a response that is an HTML page where JSON was
// expected: a sleeping instance's wake-up page, a single sign-on login, a
// proxy's error page. It trusts a text/html Content-Type, and otherwise
// looks for a body starting with "<".
func LooksLikeHTML(h http.Header, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && mt == "text/html" {
		return true
	}
	trimmed := bytes.TrimSpace(body)
	return len(trimmed) > 0 && trimmed[0] == '<'
}

// Snippet returns the start of a body for an error message: trimmed, at
// most max bytes (4 KiB when max <= 0), cut on a character boundary and
// marked with the full length when cut, with invalid UTF-8 replaced. A
// caller whose backend may echo secrets redacts the result.
func Snippet(b []byte, max int) string {
	if max <= 0 {
		max = 4 << 10
	}
	b = bytes.TrimSpace(b)
	if len(b) <= max {
		return strings.ToValidUTF8(string(b), "?")
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return strings.ToValidUTF8(string(b[:cut]), "?") + fmt.Sprintf("… (%d bytes in all)", len(b))
}
