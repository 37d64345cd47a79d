package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/itsm-connector/itsm-connector/sdk"
)

func benchPlugin(b *testing.B) *filePlugin {
	p := newPlugin(hclog.NewNullLogger())
	if err := p.Configure(context.Background(), sdk.Config(fmt.Sprintf(`{"directory": %q}`, b.TempDir()))); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkCreate measures one durable Create: encode, write, fsync, link,
// fsync the directory.
func BenchmarkCreate(b *testing.B) {
	p := benchPlugin(b)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if _, err := p.Create(ctx, request(fmt.Sprint("key-", i), sdk.ConditionFired, nil)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookup measures Lookup in a directory of n work items: it lists
// the directory and reads the key's candidates only (files already indexed
// are not read again).
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprint("items=", n), func(b *testing.B) {
			p := benchPlugin(b)
			ctx := context.Background()
			for i := range n {
				if _, err := p.Create(ctx, request(fmt.Sprint("key-", i), sdk.ConditionFired, nil)); err != nil {
					b.Fatal(err)
				}
			}
			req := request("key-0", sdk.ConditionFired, nil)
			for b.Loop() {
				if w, err := p.Lookup(ctx, req); err != nil || w == nil {
					b.Fatal(w, err)
				}
			}
		})
	}
}
