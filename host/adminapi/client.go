package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/itsm-connector/itsm-connector/host/store"
)

// BaseURL turns an admin address into the URL the client calls: an
// http(s) URL as given, or a listen address (host:port), where a wildcard
// host (":9464", "0.0.0.0:9464", "[::]:9464") means this machine.
func BaseURL(addr string) (string, error) {
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("admin address %q: want host:port or an http(s) URL", addr)
		}
		return strings.TrimSuffix(u.String(), "/"), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", fmt.Errorf("admin address %q: want host:port or an http(s) URL", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// Client calls the API of a running connector.
type Client struct {
	// BaseURL is the admin listener, e.g. http://127.0.0.1:9464.
	BaseURL string
	// Token is admin.token; empty sends none.
	Token string
	// HTTP defaults to http.DefaultClient.
	HTTP *http.Client
}

// ErrUnreachable wraps a failure to reach the admin listener at all: no
// connector answered, so nothing was done.
var ErrUnreachable = errors.New("cannot reach the connector's admin listener")

// APIError is an answer that is not 2xx.
type APIError struct {
	Status  int
	Code    Result
	Message string
}

func (e *APIError) Error() string { return e.Message }

// ReplayDeadLetter replays dead letter id with the connector's routes.
func (c *Client) ReplayDeadLetter(ctx context.Context, id int64) (Action, error) {
	var a Action
	err := c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/deadletters/%d/replay", id), &a)
	return a, err
}

// DropDeadLetter deletes dead letter id.
func (c *Client) DropDeadLetter(ctx context.Context, id int64) (Action, error) {
	var a Action
	err := c.do(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/deadletters/%d", id), &a)
	return a, err
}

// ListDeadLetters lists the dead letters f matches, newest first.
func (c *Client) ListDeadLetters(ctx context.Context, f store.DeadLetterFilter) (List, error) {
	var l List
	err := c.do(ctx, http.MethodGet, "/api/v1/deadletters"+bulkQuery(f), &l)
	return l, err
}

// ReplayMatching replays every dead letter that f matches (at most
// [MaxBulk]; the answer's More says when more match), with the
// connector's routes. On an [APIError] the BulkAction still says what was
// done.
func (c *Client) ReplayMatching(ctx context.Context, f store.DeadLetterFilter) (BulkAction, error) {
	var b BulkAction
	err := c.do(ctx, http.MethodPost, "/api/v1/deadletters/bulk/replay"+bulkQuery(f), &b)
	return b, err
}

// DropMatching drops every dead letter that f matches (at most [MaxBulk]).
func (c *Client) DropMatching(ctx context.Context, f store.DeadLetterFilter) (BulkAction, error) {
	var b BulkAction
	err := c.do(ctx, http.MethodPost, "/api/v1/deadletters/bulk/drop"+bulkQuery(f), &b)
	return b, err
}

// bulkQuery is f as a list's or bulk operation's query string.
func bulkQuery(f store.DeadLetterFilter) string {
	q := url.Values{}
	if f.Backend != "" {
		q.Set("backend", f.Backend)
	}
	if f.Unmatched {
		q.Set("unmatched", "true")
	}
	if f.BeforeID > 0 {
		q.Set("before_id", strconv.FormatInt(f.BeforeID, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// do calls the API and decodes its answer into out, also when it is not
// 2xx (a bulk answer says what was done); then it returns an [APIError].
func (c *Client) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w at %s: %v", ErrUnreachable, c.BaseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		_ = json.Unmarshal(body, out)
		var e Error
		if json.Unmarshal(body, &e) != nil || e.Code == "" {
			// Not this API's answer (an older connector, a proxy).
			e.Message = fmt.Sprintf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return &APIError{Status: resp.StatusCode, Code: e.Code, Message: e.Message}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decoding the answer of %s %s: %w", method, path, err)
	}
	return nil
}
