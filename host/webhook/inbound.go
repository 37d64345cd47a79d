package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/config"
	"github.com/itsm-connector/itsm-connector/host/metrics"
)

// InboundPrefix is where ITSM tools push change notifications:
// POST /api/v1/itsm/<backend type>.<backend name>/events.
const InboundPrefix = "/api/v1/itsm/"

// Inbound headers.
const (
	// HeaderHubSignature is Jira's webhook signature: "sha256=<hex>" of
	// the HMAC-SHA256 of the body with the webhook's secret.
	HeaderHubSignature = "X-Hub-Signature"
	// HeaderWebhookID is Jira's unique id of one delivery.
	HeaderWebhookID = "X-Atlassian-Webhook-Identifier"
	// HeaderSignature signs a ServiceNow business rule's outbound REST
	// message: "sha256=<hex>" of the HMAC-SHA256 of the body.
	HeaderSignature = "X-ITSM-Signature"
	// HeaderSecret carries the shared secret of scheme shared_secret.
	HeaderSecret = "X-ITSM-Secret"
)

// DefaultInboundMaxBody caps a pushed notification's body.
const DefaultInboundMaxBody = 256 << 10

// inboundSkew is how long a signature or delivery id is remembered
// against replays.
const inboundSkew = 5 * time.Minute

// InboundBackend is one backend's `inbound {}` block.
type InboundBackend struct {
	Scheme string
	Secret string
}

// StatusChecker reads the state of a backend's work items through its
// plugin (delivery.Engine.CheckStatus).
type StatusChecker func(ctx context.Context, backend string, refIDs []string) (resolved int, err error)

// Inbound serves InboundPrefix. A pushed notification is only a hint: once
// authenticated, the work items it names are read through the plugin at
// once, and only what the plugin answers is recorded. An unauthenticated
// request gets 401 and changes nothing.
type Inbound struct {
	Backends     map[string]InboundBackend
	Check        StatusChecker
	MaxBodyBytes int64
	Logger       hclog.Logger
	Metrics      *metrics.Metrics
	Now          func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // signatures and delivery ids, against replays
}

// InboundResult is the 202 body.
type InboundResult struct {
	// Items are the ids the notification named.
	Items []string `json:"items"`
	// Resolved counts the work items the read found resolved.
	Resolved int `json:"resolved"`
}

func (h *Inbound) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	backend, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, InboundPrefix), "/events")
	cfg, known := h.Backends[backend]
	if !ok || !known || strings.Contains(backend, "/") {
		h.answer(w, backend, "unknown_backend", http.StatusNotFound, "no backend with an inbound block is served at "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.answer(w, backend, "bad_request", http.StatusMethodNotAllowed, "use POST")
		return
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultInboundMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.answer(w, backend, "too_large", http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds %d bytes", limit))
			return
		}
		h.answer(w, backend, "bad_request", http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	replayKey, why := Authenticate(cfg, r.Header, body)
	if why != "" {
		h.Logger.Info("inbound notification refused", "backend", backend, "reason", why)
		w.Header().Set("WWW-Authenticate", `HMAC realm="itsm-connector"`)
		h.answer(w, backend, "unauthorized", http.StatusUnauthorized, why)
		return
	}
	if replayKey != "" && h.replayed(replayKey, now) {
		h.answer(w, backend, "replayed", http.StatusConflict, "this notification was already received")
		return
	}
	ids := RefsOf(body)
	if len(ids) == 0 {
		h.answer(w, backend, "bad_request", http.StatusBadRequest, "the body names no work item: send JSON with sys_id, id, key or number, or Jira's issue.id and issue.key")
		return
	}
	n, err := h.Check(r.Context(), backend, ids)
	if err != nil {
		h.Logger.Warn("reading the status of pushed work items failed; the poll reads them later", "backend", backend, "error", err)
		w.Header().Set("Retry-After", retryAfterSeconds(defaultRetryAfter))
		h.answer(w, backend, "unavailable", http.StatusServiceUnavailable, "the work items' status could not be read; retry later")
		return
	}
	if h.Metrics != nil {
		h.Metrics.InboundEvents.WithLabelValues(backend, "accepted").Inc()
	}
	writeJSON(w, http.StatusAccepted, InboundResult{Items: ids, Resolved: n})
}

func (h *Inbound) answer(w http.ResponseWriter, backend, outcome string, status int, msg string) {
	if h.Metrics != nil {
		if _, ok := h.Backends[backend]; !ok {
			backend = ""
		}
		h.Metrics.InboundEvents.WithLabelValues(backend, outcome).Inc()
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: outcome, Message: msg}})
}

// replayed remembers key for inboundSkew and reports whether it was seen.
func (h *Inbound) replayed(key string, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string]time.Time{}
	}
	for k, at := range h.seen {
		if now.Sub(at) > 2*inboundSkew {
			delete(h.seen, k)
		}
	}
	if _, ok := h.seen[key]; ok {
		return true
	}
	h.seen[key] = now
	return false
}

// Authenticate checks a pushed notification against its backend's scheme,
// in constant time. It returns why it is refused ("" when it is not) and,
// when the scheme allows, a key that identifies the delivery against
// replays: Jira's delivery id, a ServiceNow message's signature (its body
// holds the change's sys_updated_on). A replay could only make the
// connector read a work item's state once more: the body is never data.
func Authenticate(cfg InboundBackend, h http.Header, body []byte) (replayKey, why string) {
	switch cfg.Scheme {
	case config.InboundJiraHMAC:
		sig, ok := strings.CutPrefix(h.Get(HeaderHubSignature), "sha256=")
		if !ok {
			return "", "missing " + HeaderHubSignature + ": sha256=<hex HMAC-SHA256 of the body>"
		}
		if !validMAC(cfg.Secret, body, sig) {
			return "", HeaderHubSignature + " does not match the body and the webhook's secret"
		}
		if id := h.Get(HeaderWebhookID); id != "" {
			return "jira:" + id, ""
		}
		return "", ""
	case config.InboundServiceNowHMAC:
		sig, ok := strings.CutPrefix(h.Get(HeaderSignature), "sha256=")
		if !ok {
			return "", "missing " + HeaderSignature + ": sha256=<hex HMAC-SHA256 of the body>"
		}
		if !validMAC(cfg.Secret, body, sig) {
			return "", HeaderSignature + " does not match the body and the secret"
		}
		// The message carries sys_updated_on, so the same signature again
		// is the same change sent again.
		return "snow:" + sig, ""
	case config.InboundSharedSecret:
		got := h.Get(HeaderSecret)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(cfg.Secret)) != 1 {
			return "", "missing or wrong " + HeaderSecret
		}
		return "", ""
	}
	return "", "the backend's inbound scheme is not known"
}

func validMAC(secret string, msg []byte, sigHex string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(sigHex))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(msg)
	return hmac.Equal(got, m.Sum(nil))
}

// Sign is the "sha256=<hex>" signature of body with secret, as Jira sends
// it in X-Hub-Signature and a ServiceNow business rule in
// X-ITSM-Signature.
func Sign(secret string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(msg)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// RefsOf returns the work item ids and keys a notification names: the top
// level's sys_id, id, key or number (a ServiceNow business rule's message,
// any tool's), and Jira's issue.id and issue.key. Only ids are taken from
// the body; the items' state is read through the plugin.
func RefsOf(body []byte) []string {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(m map[string]any, keys ...string) {
		for _, k := range keys {
			if s, ok := m[k].(string); ok && s != "" && len(s) <= 256 && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	add(doc, "sys_id", "id", "key", "number")
	if issue, ok := doc["issue"].(map[string]any); ok {
		add(issue, "id", "key")
	}
	return out
}
