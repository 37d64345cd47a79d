package sdkhttp_test

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/sdkhttp"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

func TestStatusBatchRead(t *testing.T) {
	items := func(ids ...string) *sdk.StatusRequest {
		req := &sdk.StatusRequest{}
		for _, id := range ids {
			req.Items = append(req.Items, sdk.WorkItem{ID: id})
		}
		return req
	}
	var logs fakehttp.LogBuffer
	batch := sdkhttp.StatusBatch{Op: "acme: read status", Max: 4, Valid: regexp.MustCompile(`^[0-9]+$`).MatchString, Log: logs.Logger()}

	var asked []string
	got, err := batch.Read(context.Background(), items("3", "1", `1") OR 1=1`, "2"),
		func(_ context.Context, items []sdk.WorkItem) (map[string]sdk.WorkItemStatus, error) {
			for _, wi := range items {
				asked = append(asked, wi.ID)
			}
			return map[string]sdk.WorkItemStatus{
				"1": {Found: true, State: sdk.StateResolved, ResolvedBy: "Beth"},
				"3": {ID: "3", Found: true, State: sdk.StateOpen},
				"9": {ID: "9", Found: true, State: sdk.StateOpen}, // not asked for
			}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{"3", "1", "2"}) {
		t.Errorf("read asked for %q; want the valid ids in order", asked)
	}
	want := []sdk.WorkItemStatus{
		{ID: "3", Found: true, State: sdk.StateOpen},
		{ID: "1", Found: true, State: sdk.StateResolved, ResolvedBy: "Beth"},
		{ID: `1") OR 1=1`},
		{ID: "2"},
	}
	if len(got) != len(want) {
		t.Fatalf("answer %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Found != want[i].Found || got[i].State != want[i].State || got[i].ResolvedBy != want[i].ResolvedBy {
			t.Errorf("status %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if !strings.Contains(logs.String(), "answering it as not found") || !strings.Contains(logs.String(), `id="1\") OR 1=1"`) {
		t.Errorf("logged %q; want the odd id", logs.String())
	}

	called := false
	read := func(context.Context, []sdk.WorkItem) (map[string]sdk.WorkItemStatus, error) {
		called = true
		return nil, sdk.Retryable(errors.New("acme: HTTP 503"))
	}
	if got, err := batch.Read(context.Background(), items("x", "y"), read); err != nil || called || len(got) != 2 || got[0].Found || got[1].ID != "y" {
		t.Errorf("a batch of odd ids = %+v, %v (read called: %v); want both not found without a read", got, err, called)
	}
	if _, err := batch.Read(context.Background(), items("1"), read); sdk.KindOf(err) != sdk.KindRetryable {
		t.Errorf("a failed read = %v; want its error", err)
	}
	_, err = batch.Read(context.Background(), items("1", "2", "3", "4", "5"), read)
	if sdk.KindOf(err) != sdk.KindPermanent || err.Error() != "acme: read status: 5 work items asked for; at most 4 per call" {
		t.Errorf("too large a batch = %v (%s)", err, sdk.KindOf(err))
	}

	all := sdkhttp.StatusBatch{Op: "acme: read status", Log: slog.New(slog.DiscardHandler)}
	many := make([]string, sdk.DefaultMaxStatusBatch+1)
	if _, err := all.Read(context.Background(), items(many...), read); sdk.KindOf(err) != sdk.KindPermanent {
		t.Errorf("more than the default batch = %v; want permanent", err)
	}
}
