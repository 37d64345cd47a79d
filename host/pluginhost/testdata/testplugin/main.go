// Command testplugin is the plugin the pluginhost tests start as a real
// subprocess. Its Create reports what the process sees (pid, environment,
// configuration, rendered per-alert values) in the work item's attributes.
// Once configured, its Info declares a read-after-write delay of `retries`
// seconds, so tests see the host read Info again after Configure; with
// `retries = 0` it reports no Lookup (sdk.CapabilityReporter), so tests see
// capabilities follow the configuration too.
//
// With `echo = true` in its config it echoes its sensitive values (token,
// auth.client_secret) every way a plugin or an ITSM tool might: in
// Configure's diagnostics, in log lines, and, when a request's field
// "echo" says "error" or "item", in a permanent error or in every field of
// the work item it returns. The host must redact them all.
//
// Its ReadStatus (reported like Lookup, in batches of statusBatch) answers
// by the prefix of each item's ID: "gone-" is not found, "open-" open,
// "echo-" resolved with the secrets in every string, "big-" resolved by a
// name of 100 KB, "stray-" answered under another ID; any other item is
// resolved by "ops@example.test".
//
// Built with -ldflags "-X main.apiVersion=99" it offers only API version 99,
// for the version-mismatch test.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"google.golang.org/grpc"
)

// apiVersion, when set by the linker, is the only API version the plugin
// offers instead of the SDK's.
var apiVersion string

type config struct {
	URL     string  `json:"url"`
	Token   string  `json:"token"`
	Retries float64 `json:"retries"`
	Echo    bool    `json:"echo"`
	Auth    *struct {
		ClientSecret string `json:"client_secret"`
	} `json:"auth"`
}

type testPlugin struct {
	mu    sync.Mutex
	raw   sdk.Config
	items map[string]*sdk.WorkItem
}

func (p *testPlugin) Info(context.Context) (sdk.Info, error) {
	var delay time.Duration
	p.mu.Lock()
	if p.raw != nil {
		var c config
		if p.raw.Decode(&c) == nil {
			delay = time.Duration(c.Retries) * time.Second
		}
	}
	p.mu.Unlock()
	if delay == 99*time.Second { // retries = 99: Info fails once configured
		return sdk.Info{}, errors.New("info is broken with retries = 99")
	}
	return sdk.Info{
		Name:                "test",
		Version:             "0.1.0",
		ReadAfterWriteDelay: delay,
		MaxStatusBatch:      statusBatch,
		Schema: sdk.Schema{
			Attributes: []sdk.Attribute{
				{Name: "url", Type: "string", Required: true, Doc: "Where the backend lives; must be https."},
				{Name: "token", Type: "string", Sensitive: true},
				{Name: "retries", Type: "number", Default: json.RawMessage(`3`)},
				{Name: "subject", Type: "string", PerAlert: true},
				{Name: "echo", Type: "bool", Doc: "Echo the sensitive values everywhere (for the redaction tests)."},
			},
			Blocks: []sdk.Block{
				{Name: "auth", Nesting: sdk.NestingSingle, Schema: sdk.Schema{Attributes: []sdk.Attribute{
					{Name: "client_secret", Type: "string", Sensitive: true},
				}}},
			},
		},
	}, nil
}

// Capabilities reports Lookup and ReadStatus unless configured with
// retries = 0.
func (p *testPlugin) Capabilities() sdk.Capabilities {
	p.mu.Lock()
	defer p.mu.Unlock()
	var c config
	if p.raw != nil && p.raw.Decode(&c) == nil && c.Retries == 0 {
		return sdk.Capabilities{}
	}
	return sdk.Capabilities{Lookup: true, ReadStatus: true}
}

// statusBatch is the plugin's Info.MaxStatusBatch.
const statusBatch = 4

// ReadStatus answers by the prefix of each item's ID (see the package doc).
func (p *testPlugin) ReadStatus(_ context.Context, req *sdk.StatusRequest) ([]sdk.WorkItemStatus, error) {
	p.mu.Lock()
	var c config
	_ = p.raw.Decode(&c)
	p.mu.Unlock()
	resolvedAt := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	var out []sdk.WorkItemStatus
	for _, wi := range req.Items {
		st := sdk.WorkItemStatus{ID: wi.ID, Found: true, State: sdk.StateResolved, ResolvedBy: "ops@example.test",
			ResolvedAt: resolvedAt, Resolution: "Solved (Permanently)"}
		switch {
		case strings.HasPrefix(wi.ID, "gone-"):
			st = sdk.WorkItemStatus{ID: wi.ID}
		case strings.HasPrefix(wi.ID, "open-"):
			st = sdk.WorkItemStatus{ID: wi.ID, Found: true, State: sdk.StateOpen}
		case strings.HasPrefix(wi.ID, "echo-"):
			text := ""
			for _, s := range c.secrets() {
				text += echoes(s) + " ; "
			}
			st.ResolvedBy, st.Resolution = "user "+text, "closed with "+text
			st.Fields = map[string]string{"note": text, "secret:" + c.secrets()[0]: "key holds it"}
		case strings.HasPrefix(wi.ID, "big-"):
			st.ResolvedBy = strings.Repeat("b", 100<<10)
		case strings.HasPrefix(wi.ID, "stray-"):
			st.ID = "other-" + wi.ID
		}
		out = append(out, st)
	}
	return out, nil
}

func (p *testPlugin) Configure(_ context.Context, raw sdk.Config) error {
	var c config
	if err := raw.Decode(&c); err != nil {
		return sdk.Permanent(err)
	}
	var diags sdk.Diagnostics
	if !strings.HasPrefix(c.URL, "https://") {
		diags = append(diags, sdk.AttributeError("Insecure URL", "The url must start with https://.", "url"))
	}
	if c.Auth != nil && strings.HasPrefix(c.Auth.ClientSecret, "wrong") {
		diags = append(diags, sdk.AttributeError("Rejected secret", "The backend rejected the client secret.", "auth", "client_secret"))
	}
	if c.Echo {
		for _, secret := range c.secrets() {
			text := echoes(secret)
			slog.Info("configure echoes "+text, "secret", secret, "echoes", text, "nested", map[string]any{"secret": secret})
			diags = append(diags, sdk.AttributeWarning("Echoed "+secret, text, "token"))
			if c.URL == "https://reject.example.test" {
				diags = append(diags, sdk.AttributeError("Rejected "+secret, text, "auth", "client_secret"))
			}
		}
	}
	if diags.HasErrors() {
		return diags
	}
	p.mu.Lock()
	p.raw = raw
	p.mu.Unlock()
	slog.Info("test plugin configured", "url", c.URL)
	if len(diags) > 0 {
		return diags
	}
	return nil
}

// secrets are c's sensitive values.
func (c config) secrets() []string {
	out := []string{c.Token}
	if c.Auth != nil {
		out = append(out, c.Auth.ClientSecret)
	}
	return out
}

// echoForms are the ways secret comes back from a careless plugin or ITSM
// tool, by name.
func echoForms(secret string) map[string]string {
	j, _ := json.Marshal(secret)
	var u strings.Builder
	for _, r := range secret {
		fmt.Fprintf(&u, `\u%04X`, r)
	}
	b := []byte(secret)
	return map[string]string{
		"raw":              secret,
		"upper":            strings.ToUpper(secret),
		"query":            url.QueryEscape(secret),
		"path":             url.PathEscape(secret),
		"json":             string(j[1 : len(j)-1]),
		"json_u":           u.String(),
		"hex":              hex.EncodeToString(b),
		"HEX":              strings.ToUpper(hex.EncodeToString(b)),
		"base64":           base64.StdEncoding.EncodeToString(b),
		"base64_raw_url":   base64.RawURLEncoding.EncodeToString(b),
		"basic":            "Basic " + base64.StdEncoding.EncodeToString([]byte("svc-user:"+secret)),
		"cut":              secret[:len(secret)/2+2] + "…",
		"in_a_sentence":    "the token '" + secret + "' was rejected",
		"base64_in_longer": base64.StdEncoding.EncodeToString([]byte("{\"password\":\"" + secret + "\"}")),
	}
}

// echoes is every echo form of secret in one text.
func echoes(secret string) string {
	var parts []string
	for name, f := range echoForms(secret) {
		parts = append(parts, name+"="+f)
	}
	return strings.Join(parts, " | ")
}

// echoItem is a work item with the secrets in every field.
func echoItem(key string, secrets []string) *sdk.WorkItem {
	text := ""
	for _, s := range secrets {
		text += echoes(s) + " ; "
	}
	s := secrets[0]
	wi := &sdk.WorkItem{
		ID:             "wi-" + key,
		Key:            "KEY-" + s,
		URL:            "https://itsm.example.test/item?token=" + url.QueryEscape(s),
		State:          sdk.StateOpen,
		CorrelationKey: key,
		Note:           "healed with " + text,
		Attributes:     map[string]string{"echo": text, "secret:" + s: "key holds it"},
		Bindings: []sdk.CIBinding{{
			ConfigurationItem: sdk.ConfigurationItem{Name: "vm-1"},
			Reason:            "lookup with " + text + " failed",
		}},
	}
	for _, sec := range secrets {
		for name, f := range echoForms(sec) {
			wi.Attributes[name+"/"+sec[:4]] = f
		}
	}
	return wi
}

// Create reports the process's view. Fields steer it: "hang_once_file"
// makes the first call (the one that creates that file) block until the
// process is killed; "fail" returns a permanent error. A hostile plugin:
// "log_lines" lines of "log_bytes" bytes are logged first;
// "error_bytes" returns a retryable error that long; "answer_bytes" adds
// an attribute "blob" that long.
func (p *testPlugin) Create(ctx context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	if msg, ok := req.Fields["fail"].(string); ok {
		return nil, sdk.Permanent(errors.New(msg))
	}
	if u, ok := req.Fields["http_get"].(string); ok {
		return httpGet(ctx, req.CorrelationKey, u)
	}
	if echo, ok := req.Fields["echo"].(string); ok {
		p.mu.Lock()
		var c config
		_ = p.raw.Decode(&c)
		p.mu.Unlock()
		secrets := c.secrets()
		for _, s := range secrets {
			slog.Warn("create echoes "+echoes(s), "error", errors.New(echoes(s)))
		}
		if echo == "error" {
			text := ""
			for _, s := range secrets {
				text += echoes(s) + " ; "
			}
			return nil, sdk.Permanent(fmt.Errorf("HTTP 401 from the ITSM tool: %s", text))
		}
		return echoItem(req.CorrelationKey, secrets), nil
	}
	if n, ok := req.Fields["log_lines"].(float64); ok {
		size, _ := req.Fields["log_bytes"].(float64)
		line := strings.Repeat("l", int(size))
		for i := range int(n) {
			slog.Info("flood "+line, "i", i)
		}
	}
	if n, ok := req.Fields["error_bytes"].(float64); ok {
		return nil, sdk.Retryable(errors.New(strings.Repeat("e", int(n))))
	}
	if path, ok := req.Fields["hang_once_file"].(string); ok {
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			f.Close()
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Minute):
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	wi := &sdk.WorkItem{
		ID:             "wi-" + req.CorrelationKey,
		State:          sdk.StateOpen,
		CorrelationKey: req.CorrelationKey,
		Attributes: map[string]string{
			"pid": strconv.Itoa(os.Getpid()),
			"uid": strconv.Itoa(os.Getuid()),
			"gid": strconv.Itoa(os.Getgid()),
			// What reading the host's environment gives the plugin.
			"host_environ": readHostEnviron(),
			"env":          strings.Join(os.Environ(), "\n"),
			"config":       string(p.raw),
			// The config's sensitive token is redacted by the host; its
			// hash shows which token the plugin has.
			"token_sha256": tokenSHA256(p.raw),
			"values":       string(req.Values),
		},
	}
	if p.items == nil {
		p.items = map[string]*sdk.WorkItem{}
	}
	if n, ok := req.Fields["answer_bytes"].(float64); ok {
		wi.Attributes["blob"] = strings.Repeat("b", int(n))
	}
	p.items[req.CorrelationKey] = wi
	return wi, nil
}

func tokenSHA256(raw sdk.Config) string {
	var c config
	_ = raw.Decode(&c)
	sum := sha256.Sum256([]byte(c.Token))
	return hex.EncodeToString(sum[:])
}

// readHostEnviron reads the host process's environment through /proc, as
// a hostile plugin would: "readable" or the error.
func readHostEnviron() string {
	if _, err := os.ReadFile("/proc/" + strconv.Itoa(os.Getppid()) + "/environ"); err != nil {
		return err.Error()
	}
	return "readable"
}

// Lookup finds what this process created for the key. Without one, the
// field "resolved_item" names an older item it finds instead, resolved (an
// item of the key resolved before its reopen window passed).
func (p *testPlugin) Lookup(_ context.Context, req *sdk.Request) (*sdk.WorkItem, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if wi, ok := p.items[req.CorrelationKey]; ok {
		return wi, nil
	}
	if id, ok := req.Fields["resolved_item"].(string); ok {
		return &sdk.WorkItem{ID: id, State: sdk.StateResolved, CorrelationKey: req.CorrelationKey}, nil
	}
	return nil, nil
}

// otherVersion is a plugin set entry for an API version the host does not
// speak; the handshake fails before it is ever used.
type otherVersion struct{ plugin.NetRPCUnsupportedPlugin }

func (otherVersion) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }
func (otherVersion) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("not served")
}

func main() {
	if v, err := strconv.Atoi(apiVersion); err == nil && v != sdk.APIVersion {
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  hostside.Handshake(),
			VersionedPlugins: map[int]plugin.PluginSet{v: {hostside.PluginName: otherVersion{}}},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
		return
	}
	sdk.Serve(&testPlugin{})
}

// httpGet is a Create that asks the ITSM tool at u, through the SDK's HTTP
// client, and reports the answer's status: when the host traces the call,
// the request is a span the plugin sends back.
func httpGet(ctx context.Context, key, u string) (*sdk.WorkItem, error) {
	c := sdkhttp.NewClient(sdkhttp.ClientOptions{})
	var status int
	err := sdkhttp.Do(ctx, sdkhttp.Call{Client: c, Op: "test: get", Method: "GET", URL: u, Path: "/"},
		func(resp *http.Response, _ []byte) error {
			status = resp.StatusCode
			return nil
		})
	if err != nil {
		return nil, err
	}
	return &sdk.WorkItem{ID: "http-" + key, State: sdk.StateOpen, CorrelationKey: key,
		Attributes: map[string]string{"status": strconv.Itoa(status)}}, nil
}
