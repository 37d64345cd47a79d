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
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/itsm-connector/itsm-connector/host/auth"
	"github.com/itsm-connector/itsm-connector/host/metrics"
	"github.com/itsm-connector/itsm-connector/host/route"
	"github.com/itsm-connector/itsm-connector/host/telemetry"
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
	// Tracer, when set, makes each request the root span of a trace
	// (telemetry.SpanWebhook) with children for verify, decode and route;
	// Ingest gets its context and adds the commit. Nil records nothing.
	Tracer trace.Tracer
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
	if h.Tracer == nil {
		h.serve(w, r, nil)
		return
	}
	// The webhook faces the internet: a trace context the sender passes is
	// not trusted as a parent, only linked.
	opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path))}
	if sc := trace.SpanContextFromContext(traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	ctx, span := h.Tracer.Start(r.Context(), telemetry.SpanWebhook, opts...)
	defer span.End()
	status := h.serve(w, r.WithContext(ctx), span)
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

var traceContext propagation.TraceContext

// step starts a child span of the request's when the request is traced
// (root is not nil).
func (h *Handler) step(root trace.Span, r *http.Request, name string) trace.Span {
	if root == nil {
		return nil
	}
	_, span := h.Tracer.Start(r.Context(), name)
	return span
}

// endStep ends a step's span, failed when err is set.
func endStep(span trace.Span, err error) {
	if span != nil {
		telemetry.Fail(span, err)
		span.End()
	}
}

// serve handles the request and returns the status it answered; root is
// the request's span, nil when untraced.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, root trace.Span) int {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return h.reject(w, root, http.StatusMethodNotAllowed, "method_not_allowed", "", "use POST")
	}
	span := h.step(root, r, telemetry.SpanVerify)
	principal, err := h.Auth.Authenticate(r.Context(), r)
	endStep(span, err)
	if err != nil {
		return h.rejectAuth(w, root, err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			return h.reject(w, root, http.StatusUnsupportedMediaType, "unsupported_media_type", "",
				fmt.Sprintf("Content-Type %q is not JSON; send application/json", ct))
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
			return h.reject(w, root, http.StatusRequestEntityTooLarge, "too_large", "",
				fmt.Sprintf("body exceeds %d bytes", limit))
		}
		return h.reject(w, root, http.StatusBadRequest, "bad_body", "", "reading body: "+err.Error())
	}
	span = h.step(root, r, telemetry.SpanDecode)
	alert, err := h.Decode(body)
	endStep(span, err)
	if err != nil {
		return h.reject(w, root, http.StatusBadRequest, "bad_payload", "", err.Error())
	}
	if root != nil {
		root.SetAttributes(telemetry.AttrAlertID.String(alert.ID), telemetry.AttrCondition.String(string(alert.Condition)))
	}
	span = h.step(root, r, telemetry.SpanRoute)
	decision, err := h.Router.Route(alert)
	endStep(span, err)
	if err != nil {
		// A routing failure must not lose the alert: keep it as a dead letter.
		decision = route.Decision{Unmatched: "routing failed: " + err.Error()}
	}
	if root != nil {
		root.SetAttributes(telemetry.AttrDeliveries.Int(len(decision.Deliveries)))
		if decision.Unmatched != "" {
			root.SetAttributes(telemetry.AttrUnmatched.String(decision.Unmatched))
		}
	}
	if err := h.Ingest.Ingest(r.Context(), alert, decision); err != nil {
		h.Logger.Error("alert not committed; asking the sender to retry", "alert_id", alert.ID, "error", err)
		w.Header().Set("Retry-After", retryAfterSeconds(defaultRetryAfter))
		return h.reject(w, root, http.StatusServiceUnavailable, "unavailable", "", "the alert could not be stored; retry later")
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
	return http.StatusAccepted
}

// defaultRetryAfter is the Retry-After of a 503 that names no delay.
const defaultRetryAfter = 5 * time.Second

func (h *Handler) rejectAuth(w http.ResponseWriter, root trace.Span, err error) int {
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
		return h.reject(w, root, http.StatusServiceUnavailable, "auth_unavailable", "", msg)
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
	return h.reject(w, root, ae.Status, code, ae.Reason, ae.Description)
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

func (h *Handler) reject(w http.ResponseWriter, root trace.Span, status int, code, check, msg string) int {
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
	if root != nil {
		reason := code
		if check != "" {
			reason = check
		}
		root.SetAttributes(telemetry.AttrErrorCode.String(reason))
	}
	writeJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Check: check, Message: msg}})
	return status
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
