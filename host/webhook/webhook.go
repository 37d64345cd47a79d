// Package webhook is the HTTP face of the connector: it takes Azure Monitor's
// Secure Webhook POSTs, authenticates them, decodes the Common Alert Schema,
// routes the alert and hands the decision to the durable ingest step, then
// answers 202. It never answers 500: Azure does not retry 500, so anything
// transient is a 503 that Azure will retry.
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/host/auth"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/sdk"
)

// AlertsPath is where Azure Monitor's action group posts alerts.
const AlertsPath = "/api/v1/alerts"

// DefaultMaxBodyBytes caps a request body when the config sets no limit.
// Azure caps common-schema payloads at 256 KB.
const DefaultMaxBodyBytes = 1 << 20

// Decoder turns a request body into a normalized alert. Its errors are the
// sender's fault and become 400s.
type Decoder func(body []byte) (*sdk.Alert, error)

// Router decides where an alert goes.
type Router interface {
	Route(a *sdk.Alert) (route.Decision, error)
}

// Ingester commits an alert's desired state durably. Once it returns nil the
// alert must never be lost; any error becomes a 503 so Azure retries.
type Ingester interface {
	Ingest(ctx context.Context, a *sdk.Alert, d route.Decision) error
}

// Handler serves AlertsPath.
type Handler struct {
	Auth         auth.Authenticator
	Decode       Decoder
	Router       Router
	Ingest       Ingester
	MaxBodyBytes int64
	Logger       hclog.Logger
	Metrics      *metrics.Metrics
}

// Accepted is the 202 response body.
type Accepted struct {
	// ID identifies this receipt in the connector's logs.
	ID string `json:"id"`
	// AlertID is the alert's essentials alertId.
	AlertID string `json:"alert_id"`
	// Deliveries is how many work items the alert drives.
	Deliveries int `json:"deliveries"`
	// Unmatched is set when no route took the alert; it was kept as a dead letter.
	Unmatched string `json:"unmatched,omitempty"`
}

// ErrorBody is the JSON body of every non-2xx response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail names what failed.
type ErrorDetail struct {
	// Code is stable and machine-readable, e.g. "invalid_token", "bad_payload".
	Code string `json:"code"`
	// Check is the specific check that failed, when there is one.
	Check   string `json:"check,omitempty"`
	Message string `json:"message"`
}

var _ http.Handler = (*Handler)(nil)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, http.StatusMethodNotAllowed, "method_not_allowed", "", "use POST")
		return
	}
	principal, err := h.Auth.Authenticate(r.Context(), r)
	if err != nil {
		h.rejectAuth(w, err)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			h.reject(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "",
				fmt.Sprintf("Content-Type %q is not JSON; send application/json", ct))
			return
		}
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.reject(w, http.StatusRequestEntityTooLarge, "too_large", "",
				fmt.Sprintf("body exceeds %d bytes", limit))
			return
		}
		h.reject(w, http.StatusBadRequest, "bad_body", "", "reading body: "+err.Error())
		return
	}
	alert, err := h.Decode(body)
	if err != nil {
		h.reject(w, http.StatusBadRequest, "bad_payload", "", err.Error())
		return
	}
	decision, err := h.Router.Route(alert)
	if err != nil {
		// A routing failure must not lose the alert: keep it as a dead letter.
		decision = route.Decision{Unmatched: "routing failed: " + err.Error()}
	}
	if err := h.Ingest.Ingest(r.Context(), alert, decision); err != nil {
		h.Logger.Error("alert not committed; asking the sender to retry", "alert_id", alert.ID, "error", err)
		w.Header().Set("Retry-After", retryAfterSeconds(defaultRetryAfter))
		h.reject(w, http.StatusServiceUnavailable, "unavailable", "", "the alert could not be stored; retry later")
		return
	}
	receipt := Accepted{ID: newID(), AlertID: alert.ID, Deliveries: len(decision.Deliveries), Unmatched: decision.Unmatched}
	if h.Metrics != nil {
		h.Metrics.AlertsReceived.WithLabelValues("accepted").Inc()
		h.Metrics.IngestDuration.Observe(time.Since(start).Seconds())
		for _, d := range decision.Deliveries {
			h.Metrics.RouteMatches.WithLabelValues(d.Route, d.Backend).Inc()
		}
		if decision.Unmatched != "" {
			h.Metrics.RouteMatches.WithLabelValues("", "").Inc()
		}
	}
	h.Logger.Debug("alert accepted", "receipt", receipt.ID, "alert_id", alert.ID,
		"condition", alert.Condition, "deliveries", receipt.Deliveries, "caller", principal.AppID)
	writeJSON(w, http.StatusAccepted, receipt)
}

// defaultRetryAfter is the Retry-After of a 503 that names no delay.
const defaultRetryAfter = 5 * time.Second

func (h *Handler) rejectAuth(w http.ResponseWriter, err error) {
	var ae *auth.Error
	if !errors.As(err, &ae) {
		// The token cannot be checked now (signing keys not loaded yet,
		// its key being looked up, ...): a 503, which Azure retries.
		retry, msg := defaultRetryAfter, "token verification is not ready; retry later"
		var u *auth.Unavailable
		if errors.As(err, &u) {
			h.Logger.Info("token check deferred", "reason", u.Reason, "retry_after", u.RetryAfter)
			if u.RetryAfter > 0 {
				retry = u.RetryAfter
			}
			msg = u.Description
		} else {
			h.Logger.Warn("authentication unavailable", "error", err)
		}
		w.Header().Set("Retry-After", retryAfterSeconds(retry))
		h.reject(w, http.StatusServiceUnavailable, "auth_unavailable", "", msg)
		return
	}
	if h.Metrics != nil {
		h.Metrics.AuthFailures.WithLabelValues(ae.Reason).Inc()
	}
	h.Logger.Info("token rejected", "reason", ae.Reason, "status", ae.Status)
	code := "forbidden"
	if ae.Status == http.StatusUnauthorized {
		code = "invalid_token"
		w.Header().Set("WWW-Authenticate", BearerChallenge(ae))
	}
	h.reject(w, ae.Status, code, ae.Reason, ae.Description)
}

// retryAfterSeconds is d as a Retry-After value: whole seconds, rounded
// up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// BearerChallenge is the RFC 6750 WWW-Authenticate value for a 401.
func BearerChallenge(ae *auth.Error) string {
	if ae.Reason == "missing_token" {
		return `Bearer realm="itsm-connector"`
	}
	return `Bearer realm="itsm-connector", error="invalid_token", error_description=` + strconv.Quote(ae.Description)
}

func (h *Handler) reject(w http.ResponseWriter, status int, code, check, msg string) {
	if h.Metrics != nil {
		h.Metrics.AlertsReceived.WithLabelValues("rejected").Inc()
		reason := code
		if check != "" {
			reason = check
		}
		h.Metrics.AlertsRejected.WithLabelValues(reason).Inc()
	}
	if status != http.StatusUnauthorized && status != http.StatusForbidden {
		h.Logger.Info("request rejected", "status", status, "code", code, "message", msg)
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Check: check, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
