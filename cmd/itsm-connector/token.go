package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/itsm-connector/itsm-connector/host/app"
	"github.com/itsm-connector/itsm-connector/host/devissuer"
	"github.com/itsm-connector/itsm-connector/host/entra"
)

func init() {
	register("token", "mint a dev-mode token (accepted by serve -dev)", runToken)
}

// devTokenFlags are the flags shared by token and send.
type devTokenFlags struct {
	dataDir  string
	version  string
	appID    string
	lifetime time.Duration
}

func (f *devTokenFlags) register(fs interface {
	StringVar(*string, string, string, string)
	DurationVar(*time.Duration, string, time.Duration, string)
}) {
	fs.StringVar(&f.dataDir, "data-dir", app.DevDataDir, "dev mode's data `dir` (holds the dev signing key)")
	fs.StringVar(&f.version, "token-version", "1.0", "token version, 1.0 or 2.0")
	fs.StringVar(&f.appID, "app-id", "", "calling app id (default: Azure Monitor's)")
	fs.DurationVar(&f.lifetime, "lifetime", time.Hour, "token lifetime")
}

func (f *devTokenFlags) mint() (string, error) {
	if f.lifetime <= 0 || f.lifetime > entra.DefaultMaxTokenLifetime {
		return "", fmt.Errorf("-lifetime %v: serve -dev accepts tokens that live more than 0s and at most %v (auth max_token_lifetime)",
			f.lifetime, entra.DefaultMaxTokenLifetime)
	}
	m, err := devissuer.NewMinter(devissuer.Options{KeyFile: filepath.Join(f.dataDir, app.DevKeyFile)})
	if err != nil {
		return "", err
	}
	return m.Mint(devissuer.MintOptions{Version: f.version, AppID: f.appID, Lifetime: f.lifetime})
}

func runToken(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("token", stderr)
	var tf devTokenFlags
	tf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	tok, err := tf.mint()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
