package admin

import (
	"slices"
	"testing"
)

func TestHostAllowed(t *testing.T) {
	names := []string{"itsm-1", "itsm-admin.example.com."}
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1:9464", true},
		{"127.0.0.1", true},
		{"10.0.5.7:9464", true},
		{"[::1]:9464", true},
		{"[fe80::1]", true},
		{"localhost:9464", true},
		{"LocalHost.", true},
		{"itsm-1:9464", true},
		{"ITSM-1", true},
		{"itsm-admin.example.com:9464", true},
		{"itsm-admin.example.com", true},
		{"itsm-admin.example.com.:9464", true},
		{"", false},
		{":9464", false},
		{"rebind.attacker.example:9464", false},
		{"itsm-1.attacker.example", false},
		{"localhost.attacker.example", false},
		{"127.0.0.1.attacker.example", false},
		{"example.com", false},
	}
	for _, tt := range tests {
		if got := hostAllowed(tt.host, names); got != tt.want {
			t.Errorf("hostAllowed(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestHostNames(t *testing.T) {
	tests := []struct {
		name, listen, hostname string
		extra, want            []string
	}{
		{"loopback address", "127.0.0.1:9464", "itsm-1", nil, []string{"itsm-1"}},
		{"all interfaces", ":9464", "itsm-1", nil, []string{"itsm-1"}},
		{"a name", "itsm-admin.internal:9464", "itsm-1", nil, []string{"itsm-1", "itsm-admin.internal"}},
		{"IPv6", "[::]:9464", "itsm-1", []string{"itsm.example.com"}, []string{"itsm-1", "itsm.example.com"}},
		{"no hostname", "10.0.5.7:9464", "", []string{"a", "b"}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		if got := HostNames(tt.listen, tt.hostname, tt.extra); !slices.Equal(got, tt.want) {
			t.Errorf("%s: HostNames = %q, want %q", tt.name, got, tt.want)
		}
	}
}
