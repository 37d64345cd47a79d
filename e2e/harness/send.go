//go:build linux

package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itsm-connector/itsm-connector/host/devissuer"
)

// devKeyFile is where `serve -dev` keeps its signing key under the data
// directory (host/app.DevKeyFile).
const devKeyFile = "dev-signing-key.pem"

// RequestTimeout bounds one POST, like Azure Monitor's webhook timeout.
const RequestTimeout = 10 * time.Second

// Sender posts alerts to a connector as Azure Monitor's Secure Webhook
// action does: a bearer token (minted once from dev mode's signing key and
// reused, as Azure reuses its token for about an hour) and, with Deliver,
// retries on the answers Azure retries. Safe for concurrent use.
type Sender struct {
	url    func() string // where the next POST goes
	client *http.Client
	token  string
}

// Sender mints a dev token with the connector's signing key.
func (c *Connector) Sender(t testing.TB) *Sender {
	t.Helper()
	return newSender(t, c.dataDir, c.URL)
}

// Balance returns a Sender in front of replicas, as a load balancer in
// front of a replicated deployment: each POST goes to the next replica in
// turn that is running, so Deliver's retry after a replica died goes to
// another one. The replicas must share a data directory (StartReplicas),
// so that the one token is good for all of them.
func Balance(t testing.TB, replicas ...*Connector) *Sender {
	t.Helper()
	if len(replicas) == 0 {
		t.Fatal("harness: Balance needs at least one connector")
	}
	for _, c := range replicas[1:] {
		if c.dataDir != replicas[0].dataDir {
			t.Fatalf("harness: Balance: replicas %s and %s have different data directories, so no token is good for both", replicas[0].dir, c.dir)
		}
	}
	var next atomic.Uint64
	pick := func() string {
		n := uint64(len(replicas))
		first := next.Add(1)
		for i := range n {
			c := replicas[(first+i)%n]
			if c.PID() == 0 {
				continue
			}
			if u := c.URL(); u != "" {
				return u
			}
		}
		return replicas[first%n].URL() // none is up: the POST fails and is retried
	}
	return newSender(t, replicas[0].dataDir, pick)
}

func newSender(t testing.TB, dataDir string, url func() string) *Sender {
	t.Helper()
	m, err := devissuer.NewMinter(devissuer.Options{KeyFile: filepath.Join(dataDir, devKeyFile)})
	if err != nil {
		t.Fatalf("loading the dev signing key: %v", err)
	}
	tok, err := m.Mint(devissuer.MintOptions{})
	if err != nil {
		t.Fatalf("minting a dev token: %v", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	t.Cleanup(tr.CloseIdleConnections)
	return &Sender{url: url, client: &http.Client{Transport: tr, Timeout: RequestTimeout}, token: tok}
}

// Post sends payload once to the current run's webhook (for a Sender from
// Balance, to the next running replica's).
func (s *Sender) Post(ctx context.Context, payload []byte) (status int, body []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url(), bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, err
}

// Send posts payload once and fails the test unless it is acknowledged
// (202); it returns the response body.
func (s *Sender) Send(t testing.TB, payload []byte) string {
	t.Helper()
	status, body, err := s.Post(context.Background(), payload)
	if err != nil {
		t.Fatalf("posting an alert: %v", err)
	}
	if status != http.StatusAccepted {
		t.Fatalf("posting an alert: HTTP %d %s, want 202", status, body)
	}
	return string(body)
}

// Delivery is the outcome of Deliver.
type Delivery struct {
	// Status is the last HTTP status; 0 when no answer came.
	Status int
	// Body is the last answer's body.
	Body []byte
	// Attempts counts the POSTs made.
	Attempts int
	// Err is the last transport error, or the context's.
	Err error
}

// Acknowledged reports a 202: the connector took responsibility.
func (d Delivery) Acknowledged() bool { return d.Status == http.StatusAccepted }

// Retry delays of Deliver: short, because the harness restarts a crashed
// host in about a second, where Azure waits longer.
const (
	retryBase = 20 * time.Millisecond
	retryMax  = 500 * time.Millisecond
)

// Deliver posts payload until it is acknowledged, answered with a status
// Azure Monitor does not retry (anything but 408, 429, 503, 504), or ctx
// ends. Connection errors and timeouts are retried, as Azure does: the host
// may be down or crashing.
func (s *Sender) Deliver(ctx context.Context, payload []byte) Delivery {
	var d Delivery
	delay := retryBase
	for {
		d.Attempts++
		d.Status, d.Body, d.Err = s.Post(ctx, payload)
		if d.Err == nil && !retried(d.Status) {
			return d
		}
		if d.Err != nil {
			d.Status, d.Body = 0, nil
		}
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			if d.Err == nil {
				d.Err = ctx.Err()
			} else {
				d.Err = fmt.Errorf("%w (last error: %w)", ctx.Err(), d.Err)
			}
			return d
		case <-t.C:
		}
		delay = min(2*delay, retryMax)
	}
}

// retried reports the statuses Azure Monitor retries.
func retried(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// SendFile posts an alert file with the `itsm-connector send` command, as
// the quickstart tells an operator to, and fails the test unless it was
// acknowledged. It returns the command's output.
func (c *Connector) SendFile(t testing.TB, file string) string {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(c.bins.Host, "send", "-url", c.URL(), "-data-dir", c.dataDir, abs)
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "202 Accepted") {
		t.Fatalf("send %s: %v\n%s", file, err, out)
	}
	return string(out)
}
