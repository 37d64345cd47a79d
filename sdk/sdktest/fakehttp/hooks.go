package fakehttp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// HookTimeout bounds one webhook a [Hooks] sends when its Client is nil.
const HookTimeout = 10 * time.Second

// Hook is one webhook a fake sent.
type Hook struct {
	URL  string
	Body []byte
	// Header is the request's headers as sent.
	Header http.Header
	// Status is the receiver's answer, 0 when the request failed (Err).
	Status int
	Err    error
}

// Hooks sends a fake's outbound notifications (webhooks, a business
// rule's REST message) the way the tool does, as a POST of a JSON body,
// and records each with the receiver's answer. The zero value is ready to
// use; it is safe for concurrent use.
type Hooks struct {
	mu       sync.Mutex
	sent     []Hook
	inFlight sync.WaitGroup
}

// Send posts body to url with header (Content-Type application/json
// unless header sets one) through client, nil meaning a client with
// HookTimeout, and records the outcome. It returns when the receiver has
// answered: a change a person makes is pushed before the fake's method
// returns.
func (h *Hooks) Send(client *http.Client, url string, header http.Header, body []byte) {
	h.inFlight.Add(1)
	h.send(client, url, header, body)
}

// SendLater is Send in the background: a change made through the API is
// pushed after its answer, as the tool does; [Hooks.Wait] waits for it.
func (h *Hooks) SendLater(client *http.Client, url string, header http.Header, body []byte) {
	h.inFlight.Add(1)
	go h.send(client, url, header, body)
}

func (h *Hooks) send(client *http.Client, url string, header http.Header, body []byte) {
	defer h.inFlight.Done()
	res := Hook{URL: url, Body: body}
	if client == nil {
		client = &http.Client{Timeout: HookTimeout}
	}
	ctx, cancel := context.WithTimeout(context.Background(), HookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		for k, vs := range header {
			req.Header[k] = vs
		}
		res.Header = req.Header.Clone()
		var resp *http.Response
		if resp, err = client.Do(req); err == nil {
			res.Status = resp.StatusCode
			resp.Body.Close()
		}
	}
	res.Err = err
	h.mu.Lock()
	h.sent = append(h.sent, res)
	h.mu.Unlock()
}

// Sent returns the webhooks sent so far, oldest first.
func (h *Hooks) Sent() []Hook {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sent)
}

// Wait waits until every webhook started so far has been sent; call it
// before stopping the fake.
func (h *Hooks) Wait() { h.inFlight.Wait() }

// SignSHA256 is the signature many tools send with a webhook (GitHub's
// X-Hub-Signature-256, Jira's X-Hub-Signature): "sha256=" and the hex
// HMAC-SHA256 of body keyed with secret.
func SignSHA256(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Receiver starts a loopback server that logs every request (Requests)
// and answers it with status: the endpoint a fake's webhooks go to in its
// tests. It stops when the test ends.
func Receiver(tb testing.TB, status int) *Base {
	b := &Base{}
	b.Start(b.Logged(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
	})), ServeOptions{})
	tb.Cleanup(b.Close)
	return b
}
