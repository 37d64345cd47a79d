package rest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/itsm-connector/itsm-connector/plugins/rest/restfake"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// BenchmarkCreate measures one create against the fake ticket API on
// loopback: values decoded, request built, sent, response read.
func BenchmarkCreate(b *testing.B) {
	fake := restfake.NewTickets(restfake.Options{})
	defer fake.Close()
	p := New(Options{Logger: slog.New(slog.DiscardHandler)})
	if err := sdktest.Rejected(p.Configure(context.Background(), sdktest.ConfigOf(b, ticketConfig(fake.URL)))); err != nil {
		b.Fatal(err)
	}
	e := &env{}
	req := e.request("bench-key", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Create(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
