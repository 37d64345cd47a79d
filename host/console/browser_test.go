package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/itsm-connector/itsm-connector/host/admin"
	"github.com/itsm-connector/itsm-connector/host/adminapi"
)

// The browser tests drive the console in headless Chromium, installed from
// Debian's chromium package (.ci/run installs it). They skip when it is
// absent. ITSM_TEST_CHROMIUM names another binary;
// ITSM_TEST_SCREENSHOT_DIR keeps the screenshot they take.

const browserToken = "0123456789abcdef-console"

// chromium finds the browser binary, or "".
func chromium() string {
	if p := os.Getenv("ITSM_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts one headless Chromium for the test and its subtests; the
// returned context's cancel (run by t.Cleanup) ends it and removes its
// profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium()
	if path == "" {
		t.Skip("Chromium not found (install Debian's chromium package, as .ci/run does, or set ITSM_TEST_CHROMIUM): the console's browser tests are skipped")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// The new headless mode is the browser operators run, not the
		// separate headless shell.
		chromedp.Flag("headless", "new"),
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start as root with its sandbox (CI and
		// containers run the tests as root). The pages it loads are the
		// test's own, from loopback.
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel(); cancel() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return bctx
}

// tab opens a tab in the browser that sends the admin token as HTTP Basic,
// as a browser does once its operator typed it into the prompt, and
// collects what the page logs. Each step has its own deadline.
type tab struct {
	t   *testing.T
	ctx context.Context
	// base is ctx without its deadline, to read the page after a step
	// timed out.
	base context.Context
	mu   sync.Mutex
	log  []chromedp.ConsoleMessage
}

func newTab(t *testing.T, bctx context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx)
	base := ctx
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	tb := &tab{t: t, ctx: ctx, base: base}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("operator:"+browserToken))
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": basic}}); err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.log = append(tb.log, m)
			tb.mu.Unlock()
		}
	}()
	return tb
}

func (tb *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s: %v%s", what, err, tb.page())
	}
}

// page is the tab's address and text, for a failure's message.
func (tb *tab) page() string {
	ctx, cancel := context.WithTimeout(tb.base, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return fmt.Sprintf("\nat %s:\n%s", loc, text)
}

func run[T any](tb *tab, what string, a chromedp.Action[T]) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, a)
	if err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// noViolations fails on a Content-Security-Policy report or an uncaught
// exception the page logged, but those that contain one of expected.
func (tb *tab) noViolations(expected ...string) {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
next:
	for _, m := range tb.log {
		for _, e := range expected {
			if strings.Contains(m.Text, e) {
				continue next
			}
		}
		if m.IsException() || m.Source == "security" || strings.Contains(m.Text, "Content Security Policy") {
			tb.t.Errorf("the page logged %s: %s", m.Type, m.Text)
		}
	}
}

// adminServer serves the console and the JSON API as serve wires them:
// behind the admin listener's token and origin checks.
func (f *fixture) adminServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer((&admin.Server{
		Metrics: f.m,
		Extra:   map[string]http.Handler{"/": f.handler(), adminapi.Prefix: (&adminapi.DeadLetters{Store: f.st}).Handler()},
		Token:   browserToken,
	}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// TestBrowser loads the console in headless Chromium: the overview
// refreshes itself under the CSP, a filter and a search narrow the work
// items, a work item opens, a dead letter is replayed (and one that fails
// shows as a failure), one is dropped after its confirmation, and a
// screenshot of the overview is a PNG with content.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser; skipped with -short")
	}
	bctx := browser(t)
	f := newFixture(t)
	srv := f.adminServer(t)
	f.sampler.Sample(context.Background(), time.Now().Add(-time.Minute))
	f.m.Deliveries.WithLabelValues("jira.ops", "create", "ok").Add(12)
	f.sampler.Sample(context.Background(), time.Now())

	t.Run("overview refreshes under the CSP", func(t *testing.T) {
		tb := newTab(t, bctx)
		tb.do("load the overview", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("backends")))
		// The embedded script replaces the live part in place (every
		// 200 ms here): the CSP lets the console's own script and fetch run.
		run(tb, "wait for a refresh", chromedp.Poll[bool](`document.getElementById("live").getAttribute("data-refreshed") !== "0"`))
		if n := run(tb, "count charts", chromedp.Evaluate[int](`document.querySelectorAll("#charts svg.spark polyline").length`)); n == 0 {
			t.Error("no chart lines on the overview")
		}
		if n := run(tb, "count styled elements", chromedp.Evaluate[int](`document.querySelectorAll("[style]").length`)); n != 0 {
			t.Errorf("%d elements with a style attribute", n)
		}
		// An inline script does not run: the CSP is in force.
		ran := run(tb, "inject an inline script", chromedp.Evaluate[bool](`(() => {
			const s = document.createElement("script");
			s.textContent = "window.inlineRan = true";
			document.head.appendChild(s);
			return window.inlineRan === true;
		})()`))
		if ran {
			t.Error("an inline script ran: the CSP is not in force")
		}
		tb.noViolations("Executing inline script violates") // the refusal just provoked
	})

	t.Run("filter, search and open a work item", func(t *testing.T) {
		tb := newTab(t, bctx)
		tb.do("filter by backend",
			chromedp.Navigate(srv.URL+"/workitems"),
			chromedp.WaitVisible(chromedp.ID("filters")),
			chromedp.SetValue(chromedp.ID("f-backend"), "jira.ops"),
			chromedp.Click(chromedp.ID("f-submit")),
			// The answer's page has the backend selected.
			chromedp.WaitReady(chromedp.CSS(`#f-backend option[value="jira.ops"][selected]`)),
		)
		if n := run(tb, "count rows", chromedp.Evaluate[int](`document.querySelectorAll("tr.item").length`)); n != 2 {
			t.Errorf("%d rows for jira.ops, want 2", n)
		}
		tb.do("search",
			chromedp.SetValue(chromedp.ID("f-q"), "k-failing"),
			chromedp.Click(chromedp.ID("f-submit")),
			chromedp.WaitReady(chromedp.CSS(`#f-q[value="k-failing"]`)),
		)
		if loc := run(tb, "location", chromedp.Location()); !strings.Contains(loc, "backend=jira.ops") || !strings.Contains(loc, "q=k-failing") {
			t.Errorf("location %q lacks the filter", loc)
		}
		tb.do("open the item",
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr.item[data-id="%d"] a.open`, f.failing))),
			chromedp.WaitVisible(chromedp.ID("audit")),
		)
		if s := run(tb, "state", chromedp.Text(chromedp.ID("item-state"))); !strings.HasPrefix(s, "failing (3 attempts)") {
			t.Errorf("item state %q", s)
		}
		if s := run(tb, "audit trail", chromedp.Text(chromedp.ID("audit"))); !strings.Contains(s, "create failed: HTTP 500: <iframe src=//evil.example>") {
			t.Errorf("the audit trail does not show the error as text: %q", s)
		}
		tb.noViolations()
	})

	t.Run("replay a dead letter", func(t *testing.T) {
		tb := newTab(t, bctx)
		tb.do("replay",
			chromedp.Navigate(srv.URL+"/deadletters"),
			chromedp.WaitVisible(chromedp.ID("letters")),
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`button.replay[data-id="%d"]`, f.deadID))),
			chromedp.WaitVisible(chromedp.CSS(`div.notice.ok`)),
		)
		if s := run(tb, "banner", chromedp.Text(chromedp.CSS(`div.notice.ok`))); s != fmt.Sprintf("Dead letter %d replayed: its work is queued again.", f.deadID) {
			t.Errorf("banner %q", s)
		}
		if f.letterExists(f.deadID) {
			t.Error("the letter is still there")
		}
		// A replay that fails shows in the red banner, never the green.
		tb.do("replay a letter the routes still do not take",
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`button.replay[data-id="%d"]`, f.unmatchedID))),
			chromedp.WaitVisible(chromedp.CSS(`div.notice.bad`)),
		)
		if s := run(tb, "banner", chromedp.Text(chromedp.CSS(`div.notice.bad`))); !strings.Contains(s, "its alert still matches no route") {
			t.Errorf("failure banner %q", s)
		}
		if n := run(tb, "green banners", chromedp.Evaluate[int](`document.querySelectorAll("div.notice.ok").length`)); n != 0 {
			t.Error("a failed replay shows a green banner")
		}
		tb.noViolations()
	})

	t.Run("drop after confirmation", func(t *testing.T) {
		tb := newTab(t, bctx)
		tb.do("drop",
			chromedp.Navigate(srv.URL+"/deadletters"),
			chromedp.WaitVisible(chromedp.ID("letters")),
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr.letter[data-id="%d"] a.drop`, f.unmatchedID))),
			chromedp.WaitVisible(chromedp.ID("confirm")),
		)
		if !f.letterExists(f.unmatchedID) {
			t.Fatal("the letter was dropped before the confirmation")
		}
		tb.do("confirm", chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.CSS(`div.notice.ok`)))
		if f.letterExists(f.unmatchedID) {
			t.Error("the confirmed drop left the letter")
		}
		tb.noViolations()
	})

	t.Run("screenshot", func(t *testing.T) {
		tb := newTab(t, bctx)
		tb.do("load the overview", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#charts polyline")))
		shot := run(tb, "screenshot", chromedp.CaptureScreenshot())
		cfg, err := png.DecodeConfig(bytes.NewReader(shot))
		if err != nil || cfg.Width == 0 || cfg.Height == 0 || len(shot) < 1000 {
			t.Fatalf("the screenshot (%d bytes) is not a PNG with content: %v, %dx%d", len(shot), err, cfg.Width, cfg.Height)
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatal(err)
		}
		// Not one flat colour: the page was drawn.
		b := img.Bounds()
		first, same := img.At(b.Min.X, b.Min.Y), true
		for y := b.Min.Y; y < b.Max.Y && same; y += 7 {
			for x := b.Min.X; x < b.Max.X && same; x += 7 {
				r1, g1, b1, _ := img.At(x, y).RGBA()
				r0, g0, b0, _ := first.RGBA()
				same = r1 == r0 && g1 == g0 && b1 == b0
			}
		}
		if same {
			t.Error("the screenshot is one flat colour")
		}
		if dir := os.Getenv("ITSM_TEST_SCREENSHOT_DIR"); dir != "" {
			if err := os.WriteFile(filepath.Join(dir, "console-overview.png"), shot, 0o644); err != nil {
				t.Error(err)
			}
		}
		tb.noViolations()
	})
}
