package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/store"
	"github.com/itsm-connector/itsm-connector/host/store/sqlite"
	"github.com/itsm-connector/itsm-connector/host/store/storetest"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// hostile is alert, plugin and ITSM tool text that tries to rewrite the
// terminal: clear the line, move up, fake a row, erase with backspaces,
// an 8-bit CSI, a right-to-left override, DEL, a zero-width space, a tab
// that would split a table cell and a byte that is not UTF-8.
const hostile = "evil\x1b[2K\r\x1b[1A\n9  file.cli  r  fired  open  FAKE-1  in sync  k\b\b\u009b2J\u202eexe.txt\x7f\u200b\tX\xff"

// rawControl names the first rune in out that a terminal would act on or
// that hides or reorders text, or returns "".
func rawControl(out string) string {
	for i, r := range out {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(out[i:], "\uFFFD"):
			return fmt.Sprintf("byte %#x at %d", out[i], i)
		case r == '\n':
		case r < 0x20, r >= 0x7f && r <= 0x9f, unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co):
			return fmt.Sprintf("%U at %d", r, i)
		}
	}
	return ""
}

// seedHostile writes, in the store at path, a work item whose correlation
// key, alert id, remote reference, last error and audit message are
// hostile, a delivery's dead letter and an unmatched alert's, both with
// hostile reasons. It returns the first item's id.
func seedHostile(t *testing.T, path string) int64 {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	a := storetest.Alert("id-"+hostile, sdk.ConditionFired, now)
	a.Rule = hostile
	res, err := st.Ingest(ctx, []store.Notification{
		{Alert: a, Deliveries: []route.Delivery{storetest.Delivery("file.cli", "k-"+hostile), storetest.Delivery("file.dead", "d-"+hostile)}, ReceivedAt: now},
		{Alert: storetest.Alert("lost", sdk.ConditionFired, now), Unmatched: "no route matched: " + hostile, ReceivedAt: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"file.cli", "file.dead"} {
		if c, err := st.Claim(ctx, b, "A", now, time.Minute, 1); err != nil || len(c) != 1 {
			t.Fatalf("Claim %s = %d, %v", b, len(c), err)
		}
	}
	item := res[0].Deliveries[0].ItemID
	if err := st.Record(ctx, store.Progress{ItemID: item, Owner: "A", Now: now, Attempts: 1,
		Remote: store.RemoteOpen, Ref: &sdk.WorkItem{ID: "x", Key: "INC-" + hostile, URL: "https://itsm.example/" + hostile},
		LastError: "plugin said: " + hostile, Retry: true, RetryAt: now.Add(time.Hour),
		Events: []store.Event{{At: now, Kind: store.EventCall, Op: "create", Outcome: "retryable", Message: "tool said: " + hostile}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Record(ctx, store.Progress{ItemID: res[0].Deliveries[1].ItemID, Owner: "A", Now: now, Attempts: 1, DeadLetter: "permanent: " + hostile}); err != nil {
		t.Fatal(err)
	}
	return item
}

// TestOutputEscapesControlCharacters: what alerts, plugins and ITSM tools
// wrote is shown escaped, one line per row, in every human-readable output;
// JSON outputs keep it exactly, with nothing a terminal acts on.
func TestOutputEscapesControlCharacters(t *testing.T) {
	cfg, db := storeConfig(t, "127.0.0.1:1", "")
	item := seedHostile(t, db)
	id := fmt.Sprint(item)

	for _, tt := range []struct {
		args  []string
		lines int // 0: JSON
	}{
		{[]string{"workitems", "list"}, 3},         // header + 2 items
		{[]string{"deadletter", "list"}, 3},        // header + 2 letters
		{[]string{"workitems", "show", id}, 7 + 2}, // 7 lines about the item + 2 events (notification, call)
		{[]string{"workitems", "list", "-json"}, 0},
		{[]string{"workitems", "show", "-json", id}, 0},
		{[]string{"deadletter", "list", "-json"}, 0},
		{[]string{"deadletter", "show", "1"}, 0},
	} {
		args := append(tt.args[:2:2], append([]string{"-config", cfg}, tt.args[2:]...)...)
		code, out, errOut := runCLI(t, args...)
		name := strings.Join(tt.args, " ")
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", name, code, errOut)
		}
		if bad := rawControl(out); bad != "" {
			t.Errorf("%s: output holds a raw control character (%s):\n%q", name, bad, out)
		}
		if tt.lines > 0 {
			if n := strings.Count(out, "\n"); n != tt.lines {
				t.Errorf("%s: %d lines, want %d:\n%s", name, n, tt.lines, out)
			}
			if !strings.Contains(out, termText(hostile)) {
				t.Errorf("%s: the hostile text is not shown escaped (%s):\n%s", name, termText(hostile), out)
			}
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("%s: not JSON: %v", name, err)
		}
		// encoding/json replaces the byte that is not UTF-8; the rest is exact.
		if want := strings.ToValidUTF8(hostile, "\uFFFD"); !strings.Contains(fmt.Sprint(v), want) {
			t.Errorf("%s: JSON does not hold the text exactly:\n%s", name, out)
		}
	}
}

// TestRouteAndErrorsEscapeControlCharacters: the route dry run shows an
// alert's text escaped; an error quoting what a server answered (here a
// proxy in front of the admin listener) and send's report of an answer are
// printed on one line.
func TestRouteAndErrorsEscapeControlCharacters(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "connector.hcl")
	alertPath := filepath.Join(dir, "alert.json")
	if err := os.WriteFile(cfgPath, []byte(`auth "none" {}
backend "file" "x" {}
route "all" {
  send_to = [backend.file.x]
  per_ci  = true
  fields = {
    summary = alert.description
  }
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	h, _ := json.Marshal(strings.ToValidUTF8(hostile, ""))
	alert := fmt.Sprintf(`{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertId":%s,"alertRule":%s,"monitorCondition":"Fired",
"description":%s,"configurationItems":[%s]}}}`, h, h, h, h)
	if err := os.WriteFile(alertPath, []byte(alert), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "route", "-config", cfgPath, alertPath)
	if code != 0 {
		t.Fatalf("route: exit %d, stderr %q", code, errOut)
	}
	if bad := rawControl(out); bad != "" {
		t.Errorf("route: output holds a raw control character (%s):\n%q", bad, out)
	}
	// file and rule, the route, the delivery, its key, one CI, one field.
	if n := strings.Count(out, "\n"); n != 6 {
		t.Errorf("route: %d lines, want 6:\n%s", n, out)
	}

	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, hostile)
	}))
	defer proxy.Close()
	cfg, db := storeConfig(t, "127.0.0.1:1", "")
	seedHostile(t, db)
	code, out, errOut = runCLI(t, "deadletter", "replay", "-config", cfg, "-admin", proxy.URL, "1")
	if code != 1 || !strings.Contains(errOut, "HTTP 502") {
		t.Fatalf("replay through a failing proxy: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if bad := rawControl(errOut); bad != "" || strings.Count(errOut, "\n") != 1 {
		t.Errorf("the error is not one escaped line (%s):\n%q", bad, errOut)
	}

	// send prints what the server answered.
	code, out, _ = runCLI(t, "send", "-url", proxy.URL, "-token", "t", alertPath)
	if code != 1 || !strings.Contains(out, "502") {
		t.Fatalf("send: exit %d, stdout %q", code, out)
	}
	if bad := rawControl(out); bad != "" || strings.Count(out, "\n") != 1 {
		t.Errorf("send: the answer is not one escaped line (%s):\n%q", bad, out)
	}
}

// TestPluginInfoEscapesControlCharacters: `plugins` prints what a plugin
// says about itself escaped, one line per attribute.
func TestPluginInfoEscapesControlCharacters(t *testing.T) {
	var out bytes.Buffer
	def, _ := json.Marshal(hostile)
	printInfo(&out, sdk.Info{Version: hostile, Schema: sdk.Schema{
		Attributes: []sdk.Attribute{{Name: "a" + hostile, Type: "string", Doc: hostile, Default: def}},
		Blocks:     []sdk.Block{{Name: "b" + hostile, Nesting: sdk.NestingSingle, Doc: hostile}},
	}})
	if bad := rawControl(out.String()); bad != "" {
		t.Errorf("output holds a raw control character (%s):\n%q", bad, out.String())
	}
	// version, "config {", the attribute, the block's two lines, "}".
	if n := strings.Count(out.String(), "\n"); n != 6 {
		t.Errorf("%d lines, want 6:\n%s", n, out.String())
	}
}
