package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func init() {
	register("send", "post alert payload files to a connector with a dev token", runSend)
}

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("send", stderr)
	url := fs.String("url", "http://127.0.0.1:8080/api/v1/alerts", "the connector's alerts `URL`")
	token := fs.String("token", "", "bearer token to send (default: mint a dev token)")
	var tf devTokenFlags
	tf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("no alert file given: itsm-connector send -url URL ALERT.json…")
	}
	tok := *token
	if tok == "" {
		var err error
		if tok, err = tf.mint(); err != nil {
			return fmt.Errorf("minting a dev token (is -data-dir the one serve -dev uses?): %w", err)
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	failed := 0
	for _, f := range fs.Args() {
		body, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		fmt.Fprintf(stdout, "%s: %s %s\n", termText(f), termText(resp.Status), termText(strings.TrimSpace(string(reply))))
		if resp.StatusCode/100 != 2 {
			failed++
		}
	}
	if failed > 0 {
		return exitError{code: 1}
	}
	return nil
}
