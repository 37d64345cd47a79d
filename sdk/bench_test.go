package sdk_test

import (
	"io"
	"strconv"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk"
	"github.com/itsm-connector/itsm-connector/sdk/hostside"
	"github.com/itsm-connector/itsm-connector/sdk/internal/memplugin"
	"github.com/itsm-connector/itsm-connector/sdk/sdktest"
)

// benchCreate measures one Create through c: request encoding, a gRPC round
// trip, the plugin's work, and decoding of the work item.
func benchCreate(b *testing.B, c hostside.Client) {
	ctx := b.Context()
	if err := c.Configure(ctx, sdk.Config(`{"prefix": "INC", "token": "tok-3f9a7c21"}`)); err != nil {
		b.Fatal(err)
	}
	alert := sdktest.SampleAlert()
	fields := map[string]any{"short_description": "[Sev1] High CPU on web tier on vm-web-01", "urgency": 2}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		req := &sdk.Request{
			CorrelationKey:     "bench|" + strconv.Itoa(i),
			Alert:              alert,
			Fields:             fields,
			ConfigurationItems: alert.ConfigurationItems,
		}
		if _, err := c.Create(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreate: one plugin call over real gRPC, in-process.
func BenchmarkCreate(b *testing.B) {
	benchCreate(b, sdktest.Connect(b, memplugin.New(memplugin.NewBackend())))
}

// BenchmarkCreateProcess: one plugin call to a plugin process over
// go-plugin's AutoMTLS gRPC connection, as the host makes it.
func BenchmarkCreateProcess(b *testing.B) {
	_, c := launch(b, buildPlugin(b), io.Discard)
	benchCreate(b, c)
}
