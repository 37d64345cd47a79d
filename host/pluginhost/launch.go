package pluginhost

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
)

// pingTimeout bounds the health check that decides whether a process that
// failed a call is still alive.
const pingTimeout = 5 * time.Second

// process is a running plugin process: an instance.
type process struct {
	pc  *plugin.Client
	rpc plugin.ClientProtocol
	c   hostside.Client
}

var _ instance = (*process)(nil)

func (p *process) client() hostside.Client { return p.c }
func (p *process) exited() bool            { return p.pc.Exited() }
func (p *process) kill()                   { p.pc.Kill() }

func (p *process) alive() bool {
	if p.pc.Exited() {
		return false
	}
	done := make(chan error, 1)
	go func() { done <- p.rpc.Ping() }()
	select {
	case err := <-done:
		return err == nil && !p.pc.Exited()
	case <-time.After(pingTimeout):
		return false
	}
}

// hostVersions lists the API versions this host speaks, ascending.
func hostVersions() []int {
	var vs []int
	for v := range hostside.ClientPluginSets() {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// executable is a private copy of a plugin binary: path names exactly the
// bytes whose SHA-256 is sum, in the child started with files as its
// ExtraFiles, and close releases it.
type executable struct {
	path  string
	files []*os.File
	sum   []byte
	close func()
}

// verifiedCopy makes the private copy of bin that a launch executes and
// checks its bytes against bin's checksum (none in dev mode without a
// sha256). Hashing the copy, not the path, means a binary replaced
// between the check and the exec is never run.
func verifiedCopy(bin *binary) (*executable, error) {
	exe, err := privateCopy(bin.path)
	if err != nil {
		return nil, fmt.Errorf("plugin %q at %s: %w", bin.name, bin.path, err)
	}
	if bin.sum != nil && !bytes.Equal(exe.sum, bin.sum) {
		exe.close()
		return nil, fmt.Errorf("plugin %q at %s: the binary changed: its sha256 is now %x, not %x; refusing to run it", bin.name, bin.path, exe.sum, bin.sum)
	}
	return exe, nil
}

// start launches a verified copy of bin (see verifiedCopy), connects over
// gRPC with automatic mutual TLS and fetches its Info, checking that both
// sides share an API version. The process gets an empty environment apart
// from Options.PassEnv, and its stderr logs appear in log, limited by lim.
// backend names the backend it serves in its spans ("" for none).
func (h *Host) start(ctx context.Context, bin *binary, backend string, log hclog.Logger, lim *logLimiter) (*process, sdk.Info, error) {
	exe, err := verifiedCopy(bin)
	if err != nil {
		return nil, sdk.Info{}, err
	}
	defer exe.close()
	if h.beforeExec != nil {
		h.beforeExec()
	}
	cmd := exec.Command(exe.path)
	cmd.Args[0] = bin.path // what ps shows
	cmd.Env = h.pluginEnv(bin.name)
	cmd.SysProcAttr = bin.attr
	cmd.ExtraFiles = exe.files
	cfg := hostside.ClientConfig(cmd)
	cfg.Logger = pluginLogger{Logger: log, lim: lim, secrets: &h.secrets, exe: exe.path, path: bin.path}
	cfg.StartTimeout = h.opts.StartTimeout
	spans := &spanSink{t: h.opts.Tracing, name: bin.name, backend: backend, secrets: &h.secrets, log: log}
	cfg.GRPCDialOptions = append(dialOptions(), h.traceOptions(spans)...)
	pc := plugin.NewClient(cfg)
	rpc, err := pc.Client()
	if err != nil {
		pc.Kill()
		return nil, sdk.Info{}, explainStartError(bin, err)
	}
	c, err := hostside.Dispense(rpc)
	if err != nil {
		pc.Kill()
		return nil, sdk.Info{}, fmt.Errorf("plugin %q at %s: %w", bin.name, bin.path, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		pc.Kill()
		return nil, sdk.Info{}, fmt.Errorf("plugin %q at %s: Info: %w", bin.name, bin.path, err)
	}
	if err := checkVersions(bin, info.APIVersions, pc.NegotiatedVersion()); err != nil {
		pc.Kill()
		return nil, sdk.Info{}, err
	}
	spans.version.Store(&info.Version)
	return &process{pc: pc, rpc: rpc, c: c}, info, nil
}

// pluginEnv is plugin name's environment: its log level (the host
// logger's) and the variables named in Options.PassEnv and in its plugin
// block's pass_env that are set on the host.
func (h *Host) pluginEnv(name string) []string {
	env := []string{}
	if lvl := h.log.GetLevel(); lvl != hclog.NoLevel && lvl != hclog.Off {
		env = append(env, hostside.LogLevelEnv+"="+lvl.String())
	}
	pass := h.opts.PassEnv
	if p := h.pluginBlock(name); p != nil {
		pass = append(slices.Clip(pass), p.PassEnv...)
	}
	for _, name := range pass {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

var pluginVersionRE = regexp.MustCompile(`Plugin version: (\d+)`)

// explainStartError turns go-plugin's start errors into messages an
// operator can act on.
func explainStartError(bin *binary, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "incompatible API version"):
		theirs := "unknown"
		if m := pluginVersionRE.FindStringSubmatch(msg); m != nil {
			theirs = "[" + m[1] + "]"
		}
		return fmt.Errorf("plugin %q at %s speaks API versions %s, but this host speaks API versions %s: no version in common; install a plugin release built for this host's API, or a host release that supports the plugin",
			bin.name, bin.path, theirs, formatVersions(hostVersions()))
	}
	return fmt.Errorf("start plugin %q at %s: %w", bin.name, bin.path, err)
}

// checkVersions verifies what the plugin reports in Info against the
// version the handshake negotiated.
func checkVersions(bin *binary, theirs []int, negotiated int) error {
	ours := hostVersions()
	if !slices.Contains(ours, negotiated) {
		return fmt.Errorf("plugin %q at %s negotiated API version %d, but this host speaks API versions %s", bin.name, bin.path, negotiated, formatVersions(ours))
	}
	if len(theirs) > 0 && !slices.Contains(theirs, negotiated) {
		return fmt.Errorf("plugin %q at %s speaks API versions %s, but this host speaks API versions %s and negotiated %d: the plugin's handshake and Info disagree",
			bin.name, bin.path, formatVersions(theirs), formatVersions(ours), negotiated)
	}
	return nil
}

func formatVersions(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return "[" + strings.Join(s, ", ") + "]"
}
