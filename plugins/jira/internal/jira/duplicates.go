package jira

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
)

// Closing duplicates: the resolution and link type Jira ships with.
const (
	duplicateResolution = "Duplicate"
	duplicateLinkType   = "Duplicate"
)

// closeDuplicates closes each of dups as a duplicate of keep and returns
// the note for the host's audit trail. A duplicate that cannot be closed
// stays open and is tried again by the next Lookup; the note says why.
func (p *Plugin) closeDuplicates(ctx context.Context, b *backend, req *sdk.Request, keep *issueRecord, dups []*issueRecord) string {
	var notes []string
	for _, dup := range dups {
		linkErr, err := p.closeDuplicate(ctx, b, req, keep, dup)
		switch {
		case err != nil:
			p.opts.Log().Warn("could not close a duplicate issue", "issue", dup.Key, "kept", keep.Key, "correlation_key", req.CorrelationKey, "error", err)
			notes = append(notes, fmt.Sprintf("found duplicate %s of %s but could not close it: %v", dup.Key, keep.Key, err))
		case linkErr != nil:
			p.opts.Log().Warn("closed a duplicate issue but could not link it", "issue", dup.Key, "kept", keep.Key, "error", linkErr)
			notes = append(notes, fmt.Sprintf("closed %s as a duplicate of %s (same correlation key); linking them failed: %v", dup.Key, keep.Key, linkErr))
		default:
			p.opts.Log().Info("closed a duplicate issue", "issue", dup.Key, "kept", keep.Key, "correlation_key", req.CorrelationKey)
			notes = append(notes, fmt.Sprintf("closed %s as a duplicate of %s (same correlation key)", dup.Key, keep.Key))
		}
	}
	return "jira: " + strings.Join(notes, "; ")
}

// closeDuplicate takes dup to a done status (resolve.transition, or the
// first to the Done category) with the resolution Duplicate when the
// screen offers it (else resolve.resolution) and a comment, then links it
// to keep with the "Duplicate" link type (dup duplicates keep). err is set
// when dup stays open; linkErr when only the link failed.
func (p *Plugin) closeDuplicate(ctx context.Context, b *backend, req *sdk.Request, keep, dup *issueRecord) (linkErr, err error) {
	const op = "close duplicate issue"
	ts, err := b.transitions(ctx, op, dup.ID)
	if err != nil {
		return nil, err
	}
	t, ok := chooseTransition(ts, b.s.resolveName, CategoryDone)
	if !ok {
		return nil, fmt.Errorf("no transition to a done status from %q; available: %s", dup.Fields.Status.Name, describeTransitions(ts))
	}
	body := map[string]any{
		"transition": map[string]any{"id": t.ID},
		"update": map[string]any{"comment": []any{map[string]any{"add": map[string]any{
			"body": duplicateComment(keep.Key, req.CorrelationKey).render(b.s.flavor),
		}}}},
	}
	if f, onScreen := t.Fields["resolution"]; onScreen {
		value, ok := resolutionValue(f, duplicateResolution, b.s.resolution)
		if !ok {
			return nil, fmt.Errorf("transition %s offers neither %q nor %q (resolve.resolution): %s", t, duplicateResolution, b.s.resolution, f.offered())
		}
		body["fields"] = map[string]any{"resolution": value}
	}
	if err := b.client.doIssue(ctx, sdkhttp.Call{
		Op: op, Method: http.MethodPost, Path: b.s.api + "/issue/" + url.PathEscape(dup.ID) + "/transitions", JSON: body,
	}, nil); err != nil {
		return nil, err
	}
	// The outward issue is the one that "duplicates" the inward one.
	link := map[string]any{
		"type":         map[string]any{"name": duplicateLinkType},
		"outwardIssue": map[string]any{"key": dup.Key},
		"inwardIssue":  map[string]any{"key": keep.Key},
	}
	return b.client.do(ctx, sdkhttp.Call{Op: "link duplicate issue", Method: http.MethodPost, Path: b.s.api + "/issueLink", JSON: link}, nil), nil
}

// duplicateComment explains on the closed issue why it was closed.
func duplicateComment(keep, correlationKey string) document {
	return document{paragraph(text(fmt.Sprintf(
		"Closed automatically by itsm-connector as a duplicate of %s: both issues were created for the same alert (correlation key %q). Work continues in %s.",
		keep, correlationKey, keep)))}
}
