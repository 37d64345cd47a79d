package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/itsm-connector/itsm-connector/host/store"
)

// MaxBulk is how many letters one bulk operation handles at most; its
// answer says when more match (More), for the caller to run it again.
const MaxBulk = MaxLimit

// BulkAction is the answer to a replay or drop of every letter that
// matches a filter.
type BulkAction struct {
	// Result is replayed or dropped when nothing failed; otherwise the
	// worst failure's code (failed over unroutable), also in Error.
	Result Result `json:"result"`
	// Error and Message are set when a letter was not replayed or
	// dropped, so that the body reads as an [Error] too.
	Error   Result `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
	// Done counts the letters replayed or dropped.
	Done int `json:"done"`
	// Gone counts the letters replayed or dropped by someone else between
	// the listing and the operation: nothing left to do for them.
	Gone int `json:"gone"`
	// Failed are the letters that were not replayed or dropped, each with
	// its result.
	Failed []Action `json:"failed,omitempty"`
	// Backends got work from the replays.
	Backends []string `json:"backends,omitempty"`
	// More is set when more letters match than one operation handles.
	More bool `json:"more"`
}

// Status is the HTTP status the API answers b with.
func (b BulkAction) Status() int { return b.Result.Status() }

// ParseBulkFilter reads a bulk operation's filter: as [ParseFilter], with
// limit 1 to [MaxBulk] and [MaxBulk] by default.
func ParseBulkFilter(q url.Values) (store.DeadLetterFilter, error) {
	return parseDeadLetterFilter(q, MaxBulk)
}

// ReplayMatching replays every letter matching f (at most f.Limit, newest
// first), as [DeadLetters.ReplayLetter] replays one. The result says how
// it went also when err is set; err is set when a letter failed.
func (d *DeadLetters) ReplayMatching(ctx context.Context, f store.DeadLetterFilter) (BulkAction, error) {
	return d.matching(ctx, "replay", Replayed, f, d.replay)
}

// DropMatching drops every letter matching f (at most f.Limit).
func (d *DeadLetters) DropMatching(ctx context.Context, f store.DeadLetterFilter) (BulkAction, error) {
	return d.matching(ctx, "drop", Dropped, f, d.drop)
}

func (d *DeadLetters) matching(ctx context.Context, op string, ok Result, f store.DeadLetterFilter,
	one func(context.Context, int64) (Action, error)) (BulkAction, error) {
	n := f.Limit
	if n <= 0 || n > MaxBulk {
		n = MaxBulk
	}
	f.Limit = n + 1 // one more tells whether more match
	res := BulkAction{Result: ok}
	dls, err := d.Store.ListDeadLetters(ctx, f)
	if err != nil {
		res.Result, res.Error, res.Message = Failed, Failed, err.Error()
		d.logBulk(op, f, res, err)
		return res, err
	}
	if len(dls) > n {
		dls, res.More = dls[:n], true
	}
	var errs []error
	for _, dl := range dls {
		a, err := one(ctx, dl.ID)
		switch {
		case err == nil:
			res.Done++
			for _, b := range a.Backends {
				if !slices.Contains(res.Backends, b) {
					res.Backends = append(res.Backends, b)
				}
			}
		case a.Result == NotFound:
			res.Gone++
		default:
			res.Failed = append(res.Failed, a)
			errs = append(errs, err)
			if a.Result == Failed || res.Result == ok {
				res.Result = a.Result
			}
		}
	}
	slices.Sort(res.Backends)
	err = errors.Join(errs...)
	if err != nil {
		res.Error = res.Result
		res.Message = fmt.Sprintf("%d of %d dead letters were not %s: %v", len(res.Failed), len(dls), ok, errs[0])
	}
	d.logBulk(op, f, res, err)
	return res, err
}

func (d *DeadLetters) logBulk(op string, f store.DeadLetterFilter, res BulkAction, err error) {
	if d.Logger == nil {
		return
	}
	args := []any{"backend", f.Backend, "unmatched", f.Unmatched, "before_id", f.BeforeID,
		"done", res.Done, "gone", res.Gone, "failed", len(res.Failed), "more", res.More}
	if err != nil {
		d.Logger.Warn("dead letter bulk "+op+" failed", append(args, "result", res.Result, "error", err)...)
		return
	}
	d.Logger.Info("dead letter bulk "+op, args...)
}

func (d *DeadLetters) bulk(op func(context.Context, store.DeadLetterFilter) (BulkAction, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := ParseBulkFilter(r.URL.Query())
		if err != nil {
			WriteError(w, BadRequest, err.Error())
			return
		}
		res, _ := op(r.Context(), f) // the result carries the failure
		writeJSON(w, res.Status(), res)
	}
}
