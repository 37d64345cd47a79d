package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// APIVersion is the Alerts Management API version of changestate calls.
// Alerts - Change State is
//
//	POST {arm_endpoint}/subscriptions/{subscriptionId}/providers/Microsoft.AlertsManagement/alerts/{alertId}/changestate?api-version=…&newState=New|Acknowledged|Closed
//
// which is the Common Alert Schema's essentials.alertId with /changestate
// appended. 2019-05-05-preview is the version of that subscription-scoped
// path whose operation takes a body (the Comments model: {"comments":
// "…"}), recorded in the alert's history with the state change; 2019-03-01
// and 2018-05-05 take none.
const APIVersion = "2019-05-05-preview"

// State is an Azure Monitor alert's user-set state (AlertState).
type State string

// Alert states. ARM lets a caller move an alert between any of them; the
// connector only ever asks for Acknowledged and Closed.
const (
	StateNew          State = "New"
	StateAcknowledged State = "Acknowledged"
	StateClosed       State = "Closed"
)

// RoleAdvice names what to grant when ARM answers 403.
const RoleAdvice = "grant the connector's identity a role with the action Microsoft.AlertsManagement/alerts/changestate/action " +
	"on the alerts' subscriptions: a custom role with Microsoft.AlertsManagement/alerts/changestate/action and " +
	"Microsoft.AlertsManagement/alerts/read (least privilege), or the built-in Monitoring Contributor role"

// maxComment caps a comment sent with a change; the portal shows a few
// lines of it, and a template rendering a whole alert must not make the
// request fail.
const maxComment = 2048

// ARM changes the state of Azure Monitor alerts through Azure Resource
// Manager. It is safe for concurrent use.
type ARM struct {
	endpoint string
	scope    string
	cred     azcore.TokenCredential
	http     *http.Client
	now      func() time.Time
}

// NewARM returns a client of the ARM endpoint of c, authenticating with
// cred; client carries the requests (nil: a client with a 60 s timeout).
func NewARM(c Config, cred azcore.TokenCredential, client *http.Client) *ARM {
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	return &ARM{endpoint: strings.TrimRight(c.ARMEndpoint, "/"), scope: c.Scope(), cred: cred, http: client, now: time.Now}
}

// alertIDPattern is the form of the Common Alert Schema's alertId:
// /subscriptions/{guid}/providers/Microsoft.AlertsManagement/alerts/{guid}.
var alertIDPattern = regexp.MustCompile(`(?i)^/subscriptions/[0-9a-f-]{36}/providers/Microsoft\.AlertsManagement/alerts/[0-9a-f-]{36}$`)

// ChangeStateURL is the changestate request URL of alertID at endpoint
// (no trailing slash). An alertID that is not an Alerts Management alert
// id is refused: it came from a payload, and it becomes a path.
func ChangeStateURL(endpoint, alertID string, state State) (string, error) {
	if !alertIDPattern.MatchString(alertID) {
		return "", fmt.Errorf("alert id %q is not an Azure Monitor alert id (/subscriptions/{id}/providers/Microsoft.AlertsManagement/alerts/{id}), so its state cannot be changed", alertID)
	}
	q := url.Values{"api-version": {APIVersion}, "newState": {string(state)}}
	return endpoint + alertID + "/changestate?" + q.Encode(), nil
}

// Comments is the changestate request body.
type Comments struct {
	Comments string `json:"comments,omitempty"`
}

// ChangeState moves alertID to state with comment (cut to 2 KiB). Its
// errors are classified as the delivery engine expects: retryable
// (optionally after a delay) or permanent, see [Classify].
func (a *ARM) ChangeState(ctx context.Context, alertID string, state State, comment string) error {
	u, err := ChangeStateURL(a.endpoint, alertID, state)
	if err != nil {
		return sdk.Permanent(tagged(ReasonInvalidAlertID, err))
	}
	tok, err := a.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{a.scope}})
	if err != nil {
		return classifyToken(err)
	}
	body, _ := json.Marshal(Comments{Comments: cut(comment, maxComment)})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return sdk.Permanent(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return sdk.Retryable(tagged(ReasonNetwork, fmt.Errorf("changestate %s of alert %s: %w", state, alertID, err)))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return Classify(resp.StatusCode, resp.Header, raw, a.now())
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && (s[n]&0xC0) == 0x80 {
		n-- // do not split a UTF-8 sequence
	}
	return s[:n]
}

// Failure reasons of ReasonOf (the reason label of itsm_azure_changes_total).
const (
	ReasonThrottled      = "throttled"
	ReasonUnavailable    = "unavailable"
	ReasonForbidden      = "forbidden"
	ReasonNotFound       = "not_found"
	ReasonBadRequest     = "bad_request"
	ReasonUnauthorized   = "unauthorized"
	ReasonCredential     = "credential"
	ReasonNetwork        = "network"
	ReasonInvalidAlertID = "invalid_alert_id"
	ReasonOther          = "other"
)

// reasonError tags a failed change with its reason.
type reasonError struct {
	reason string
	err    error
}

func (e *reasonError) Error() string { return e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

func tagged(reason string, err error) error { return &reasonError{reason: reason, err: err} }

// ReasonOf is the failure reason of a ChangeState error: one of the
// Reason constants, "" for nil.
func ReasonOf(err error) string {
	if err == nil {
		return ""
	}
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	return ReasonOther
}

// reasonOfStatus names a failed status.
func reasonOfStatus(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return ReasonThrottled
	case status >= 500 || status == http.StatusRequestTimeout:
		return ReasonUnavailable
	case status == http.StatusForbidden:
		return ReasonForbidden
	case status == http.StatusNotFound:
		return ReasonNotFound
	case status == http.StatusUnauthorized:
		return ReasonUnauthorized
	case status == http.StatusBadRequest:
		return ReasonBadRequest
	}
	return ReasonOther
}

// armError is ARM's error envelope.
type armError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Classify maps ARM's answer to a changestate request to the delivery
// engine's error classes (the rule in one place, with a table test):
//   - 2xx: nil;
//   - 408, 429, 5xx: retryable, after Retry-After when ARM sends one
//     (throttling does);
//   - 403 (AuthorizationFailed): permanent, naming the role to grant;
//   - 404: permanent, the alert was not found (alerts are kept 30 days);
//   - 401: permanent, the token was refused (audience or tenant);
//   - 400 and any other status: permanent, with ARM's error code and message.
func Classify(status int, header http.Header, body []byte, now time.Time) error {
	if status >= 200 && status < 300 {
		return nil
	}
	reason := reasonOfStatus(status)
	var e armError
	_ = json.Unmarshal(body, &e)
	detail := strings.TrimSpace(e.Error.Code + ": " + e.Error.Message)
	if e.Error.Code == "" && e.Error.Message == "" {
		detail = strings.TrimSpace(cut(string(body), 512))
	}
	if detail == "" {
		detail = http.StatusText(status)
	}
	switch {
	case sdk.HTTPStatusKind(status) == sdk.KindRetryable:
		return sdk.RetryableAfter(tagged(reason, fmt.Errorf("ARM answered %d (%s)", status, detail)), sdk.ParseRetryAfter(header, now))
	case status == http.StatusForbidden:
		return sdk.Permanent(tagged(reason, fmt.Errorf("ARM refused the change with 403 (%s): %s", detail, RoleAdvice)))
	case status == http.StatusNotFound:
		return sdk.Permanent(tagged(reason, fmt.Errorf("alert not found (ARM answered 404: %s); Azure keeps alerts 30 days, or the id belongs to another cloud than arm_endpoint", detail)))
	case status == http.StatusUnauthorized:
		return sdk.Permanent(tagged(reason, fmt.Errorf("ARM refused the token with 401 (%s): check that the credential's tenant is the alerts' tenant and arm_endpoint is the cloud's Resource Manager", detail)))
	}
	return sdk.Permanent(tagged(reason, fmt.Errorf("ARM refused the change with %d (%s)", status, detail)))
}

// classifyToken classifies a failure to get a token: Entra ID answering
// 429 or 5xx, or not answering, is retryable; a refused credential (a
// wrong secret, an unknown client, a certificate not uploaded) is
// permanent, as only the operator can fix it.
func classifyToken(err error) error {
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) && af.RawResponse != nil {
		if sdk.HTTPStatusKind(af.RawResponse.StatusCode) == sdk.KindRetryable {
			return sdk.RetryableAfter(tagged(ReasonCredential, fmt.Errorf("getting a token for Azure Resource Manager: %w", err)), sdk.ParseRetryAfter(af.RawResponse.Header, time.Now()))
		}
		return sdk.Permanent(tagged(ReasonCredential, fmt.Errorf("the azure credential was refused by Entra ID: %w", err)))
	}
	return sdk.Retryable(tagged(ReasonCredential, fmt.Errorf("getting a token for Azure Resource Manager: %w", err)))
}
