package app

import (
	"bytes"
	"os"
	"testing"
)

func TestQuickstartEmbeddedMatchesExample(t *testing.T) {
	want, err := os.ReadFile("../../examples/quickstart/connector.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(QuickstartConfig, want) {
		t.Fatal("host/app/quickstart.hcl differs from examples/quickstart/connector.hcl: copy the example over it")
	}
}
