package fakehttp

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Call sends one request to a fake, for the fake's own tests: body (may
// be "") as application/json. It returns the answer, its body read and
// closed, and that body decoded when it is a JSON object (nil otherwise);
// a failed request or a malformed object fails the test.
func Call(tb testing.TB, method, url, body string) (*http.Response, map[string]any) {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			tb.Fatalf("%s %s: %v: %s", method, url, err, raw)
		}
	}
	return resp, out
}
