package app

import (
	"testing"

	"github.com/itsm-connector/itsm-connector/host/config"
)

func TestDevFor(t *testing.T) {
	for _, tt := range []struct {
		dev, notServing bool
		auth            string
		want            bool
	}{
		{false, false, config.AuthEntraID, false},
		{true, false, config.AuthEntraID, true},
		{false, false, config.AuthDev, false}, // serve and validate: auth "dev" needs -dev
		{false, true, config.AuthDev, true},   // route, plugins, store commands
		{false, true, config.AuthEntraID, false},
		{false, true, config.AuthNone, false},
	} {
		cfg := &config.Config{}
		cfg.Auth.Type = tt.auth
		if got := (Options{Dev: tt.dev, NotServing: tt.notServing}).DevFor(cfg); got != tt.want {
			t.Errorf("Dev %v, NotServing %v, auth %q: DevFor = %v, want %v", tt.dev, tt.notServing, tt.auth, got, tt.want)
		}
	}
}
