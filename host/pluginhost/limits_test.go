package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

func TestCheckWorkItem(t *testing.T) {
	big := strings.Repeat("x", MaxWorkItemFieldBytes+1)
	tests := []struct {
		name string
		wi   *sdk.WorkItem
		want string // substring of the error; "" accepts
	}{
		{name: "nil (lookup found nothing)"},
		{name: "ordinary", wi: &sdk.WorkItem{ID: "abc", Key: "INC001", URL: "https://x/y", Attributes: map[string]string{"project": "OPS"}}},
		{name: "field at the limit", wi: &sdk.WorkItem{ID: big[1:]}},
		{name: "id", wi: &sdk.WorkItem{ID: big}, want: fmt.Sprintf("its id has %d bytes; a work item field may have at most 65536 (64 KiB)", len(big))},
		{name: "url", wi: &sdk.WorkItem{ID: "a", URL: big}, want: "its url has"},
		{name: "attribute", wi: &sdk.WorkItem{ID: "a", Attributes: map[string]string{"blob": big}}, want: `its attributes["blob"] has`},
		{name: "binding", wi: &sdk.WorkItem{ID: "a", Bindings: []sdk.CIBinding{{}, {Reason: big}}}, want: "its bindings[1].reason has"},
		{name: "in all", wi: &sdk.WorkItem{ID: "a", Attributes: map[string]string{"a": big[5:], "b": big[5:], "c": big[5:], "d": big[5:]}},
			want: "as stored; a work item may have at most 262144 (256 KiB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkWorkItem(tt.wi)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCheckAnswerCutsErrorsKeepingTheirClass(t *testing.T) {
	long := errors.New(strings.Repeat("é", MaxErrorBytes))
	_, err := checkAnswer("test.prod", "test", "create", nil, sdk.RetryableAfter(long, time.Minute))
	if len(err.Error()) > MaxErrorBytes || !strings.HasSuffix(err.Error(), "bytes cut]") {
		t.Errorf("error text of %d bytes not cut: …%s", len(err.Error()), err.Error()[len(err.Error())-40:])
	}
	if sdk.KindOf(err) != sdk.KindRetryable || sdk.RetryAfterOf(err) != time.Minute {
		t.Errorf("class lost: %s, %v", sdk.KindOf(err), sdk.RetryAfterOf(err))
	}
	short := sdk.Permanent(errors.New("HTTP 400"))
	if _, err := checkAnswer("test.prod", "test", "create", nil, short); err != short {
		t.Errorf("a short error changed: %v", err)
	}
}

func TestRefill(t *testing.T) {
	tests := []struct {
		tokens  float64
		elapsed time.Duration
		want    float64
	}{
		{0, 0, 0},
		{0, 10 * time.Millisecond, 1},
		{5, time.Second, 105},
		{150, time.Second, 200},
		{200, time.Hour, 200},
		{3, -time.Second, 3}, // a clock stepping back refills nothing
	}
	for _, tt := range tests {
		if got := refill(tt.tokens, tt.elapsed, logLinesPerSecond, logLineBurst); got != tt.want {
			t.Errorf("refill(%v, %v) = %v, want %v", tt.tokens, tt.elapsed, got, tt.want)
		}
	}
}

func TestCutLogLine(t *testing.T) {
	tests := []struct {
		name     string
		msg      string
		args     []any
		wantMsg  string
		wantArgs []any
	}{
		{name: "short line unchanged", msg: "hello", args: []any{"n", 3}, wantMsg: "hello", wantArgs: []any{"n", 3}},
		{name: "long message", msg: strings.Repeat("m", 60), args: []any{"k", "v"},
			wantMsg: strings.Repeat("m", 23) + "…[37 bytes cut]", wantArgs: []any{"truncated_bytes", 2}},
		{name: "long value", msg: "m", args: []any{"k", strings.Repeat("v", 40), "next", "x"}, wantMsg: "m",
			wantArgs: []any{"k", strings.Repeat("v", 21) + "…[19 bytes cut]", "truncated_bytes", 5}},
		{name: "a key without a value is counted", msg: strings.Repeat("m", 60), args: []any{"k", "v", "lone"},
			wantMsg: strings.Repeat("m", 23) + "…[37 bytes cut]", wantArgs: []any{"truncated_bytes", 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, args := cutLogLine(tt.msg, tt.args, 40)
			if msg != tt.wantMsg || fmt.Sprint(args) != fmt.Sprint(tt.wantArgs) {
				t.Errorf("got %q %v, want %q %v", msg, args, tt.wantMsg, tt.wantArgs)
			}
			size := len(msg)
			for i := 0; i+1 < len(args); i += 2 {
				if args[i] != "truncated_bytes" {
					size += len(fmt.Sprint(args[i])) + len(fmt.Sprint(args[i+1]))
				}
			}
			if size > 40 {
				t.Errorf("the line kept %d bytes, over the bound of 40", size)
			}
		})
	}
}

// A hostile plugin's answers are bounded: an answer over MaxAnswerBytes,
// a work item field over MaxWorkItemFieldBytes and a long error come back
// as clear errors the host stores in a few kilobytes, and the plugin keeps
// running.
func TestHostileAnswers(t *testing.T) {
	dir, _ := testPluginDirs(t)
	t.Setenv("PLUGINHOST_TEST_TOKEN", "tok")
	h, diags, _ := startHost(t, dir, goodConfig, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	call := func(fields map[string]any) error {
		req := testRequest("k")
		req.Fields = fields
		_, err := b.Create(context.Background(), req)
		return err
	}
	tests := []struct {
		name   string
		fields map[string]any
		kind   sdk.ErrorKind
		want   []string
	}{
		{name: "15 MB answer", fields: map[string]any{"answer_bytes": 15 << 20}, kind: sdk.KindPermanent,
			want: []string{`backend test.prod: plugin "test": the create call exceeded the size limit (the host accepts answers of at most 1 MiB)`}},
		{name: "100 KB attribute", fields: map[string]any{"answer_bytes": 100 << 10}, kind: sdk.KindPermanent,
			want: []string{`backend test.prod: plugin "test" answered create with a work item the host does not store: its attributes["blob"] has 102404 bytes`}},
		{name: "100 KB error", fields: map[string]any{"error_bytes": 100 << 10}, kind: sdk.KindRetryable,
			want: []string{"eeee…[", "bytes cut]"}},
		{name: "15 MB error", fields: map[string]any{"error_bytes": 15 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := call(tt.fields)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); len(msg) > 300 {
				t.Logf("%s: %.150s … %s", sdk.KindOf(err), msg, msg[len(msg)-150:])
			} else {
				t.Logf("%s: %s", sdk.KindOf(err), msg)
			}
			if len(err.Error()) > MaxErrorBytes {
				t.Errorf("the error's text has %d bytes", len(err.Error()))
			}
			if tt.kind != "" && sdk.KindOf(err) != tt.kind {
				t.Errorf("kind = %s, want %s", sdk.KindOf(err), tt.kind)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q", w)
				}
			}
		})
	}
	if err := call(nil); err != nil {
		t.Errorf("an ordinary call after the hostile ones: %v", err)
	}
	if b.Restarts() != 0 {
		t.Errorf("restarts = %d: oversized answers should not look like a crash", b.Restarts())
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// A plugin that floods its log gets at most the burst of lines through
// while the clock stands still, each cut to MaxLogLineBytes; the rest are
// counted, and reported once lines flow again.
func TestPluginLogFlood(t *testing.T) {
	dir, _ := testPluginDirs(t)
	t.Setenv("PLUGINHOST_TEST_TOKEN", "tok")
	logs := &fakehttp.LogBuffer{}
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := New(Options{PluginDir: dir, Plugins: []*config.Plugin{checksumBlock(t, dir)},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "itsm-connector", Output: logs, Level: hclog.Info})})
	h.now = clock.Now
	t.Cleanup(h.Close)
	p := parseBackends(t, "connector.hcl", goodConfig)
	if diags := h.Load(context.Background(), p.backends, loadContext(t.TempDir())); diags.HasErrors() {
		t.Fatal(diags)
	}
	b := mustBackend(t, h, "test.prod")
	const lines = 2000
	req := testRequest("k")
	req.Fields = map[string]any{"log_lines": lines, "log_bytes": 10 << 10}
	if _, err := b.Create(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	floodLines := func() []string {
		var out []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "flood lll") {
				out = append(out, l)
			}
		}
		return out
	}
	// Every line is either relayed or dropped; wait for all of them.
	waitFor(t, func() bool { return int64(len(floodLines()))+b.LogLinesDropped() == lines })
	relayed := floodLines()
	if len(relayed) > logLineBurst || b.LogLinesDropped() < lines-logLineBurst {
		t.Errorf("relayed %d lines and dropped %d; want at most %d relayed", len(relayed), b.LogLinesDropped(), logLineBurst)
	}
	for _, l := range relayed {
		if len(l) > MaxLogLineBytes+256 {
			t.Fatalf("a relayed line has %d bytes: %.200s…", len(l), l)
		}
	}
	if strings.Contains(logs.String(), "plugin log lines dropped") {
		t.Error("drops reported before any line got through again")
	}

	clock.Add(time.Second)
	req.Fields = map[string]any{"log_lines": 1, "log_bytes": 1}
	if _, err := b.Create(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("plugin log lines dropped: the plugin logs more than the host relays: dropped=%d", b.LogLinesDropped())
	waitFor(t, func() bool { return strings.Contains(logs.String(), want) })

	// go-plugin's own messages are not limited, and name the plugin's
	// path, not the private copy that ran.
	h.Close()
	waitFor(t, func() bool { return strings.Contains(logs.String(), "plugin process exited") })
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "plugin process exited") && (!strings.Contains(l, dir) || strings.Contains(l, "/proc/self/fd")) {
			t.Errorf("exit message does not name the plugin's path: %s", l)
		}
	}
}
