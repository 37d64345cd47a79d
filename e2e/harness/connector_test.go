//go:build linux

package harness

import "testing"

func TestStartedLine(t *testing.T) {
	const (
		delivery = `{"@level":"info","@message":"delivery started","@module":"itsm-connector.delivery","@timestamp":"2025-01-01T00:00:00.000000Z","backends":1,"instance":"replica-a"}`
		started  = `{"@level":"info","@message":"connector started","@module":"itsm-connector","@timestamp":"2025-01-01T00:00:00.000000Z","admin":"http://127.0.0.1:4001","backends":1,"routes":1,"webhook":"http://127.0.0.1:4000/api/alerts"}`
		webhook  = "http://127.0.0.1:4000/api/alerts"
		admin    = "http://127.0.0.1:4001"
	)
	tests := []struct {
		name, logs               string
		webhook, admin, instance string
		ok                       bool
	}{
		{"both", delivery + "\n" + started + "\n", webhook, admin, "replica-a", true},
		{"not yet started", "plain text first\n" + delivery + "\n", "", "", "", false},
		{"no delivery line", started + "\n", webhook, admin, "", true},
		{"a line quoting the message", `{"@message":"plugin call","note":"connector started"}` + "\n" + delivery + "\n" + started, webhook, admin, "replica-a", true},
		{"empty", "", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			webhook, admin, instance, ok := startedLine([]byte(tt.logs))
			if webhook != tt.webhook || admin != tt.admin || instance != tt.instance || ok != tt.ok {
				t.Errorf("startedLine = %q, %q, %q, %v; want %q, %q, %q, %v",
					webhook, admin, instance, ok, tt.webhook, tt.admin, tt.instance, tt.ok)
			}
		})
	}
}
