package fakehttp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/sdk/sdktest/fakehttp"
)

func TestHooks(t *testing.T) {
	rcv := fakehttp.Receiver(t, http.StatusAccepted)
	var h fakehttp.Hooks
	h.Send(nil, rcv.URL+"/hook", http.Header{"X-Signature": {"sig"}}, []byte(`{"n":1}`))
	// Send returns once the receiver answered: its log has the request.
	if got := rcv.Requests(); len(got) != 1 || got[0].Path != "/hook" || got[0].Method != http.MethodPost ||
		string(got[0].Body) != `{"n":1}` || got[0].Header.Get("X-Signature") != "sig" || got[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("received %+v", got)
	}
	h.SendLater(nil, rcv.URL, http.Header{"Content-Type": {"application/json; charset=UTF-8"}}, []byte(`{"n":2}`))
	h.Wait()
	closed := fakehttp.Receiver(t, http.StatusOK)
	closed.Close()
	h.Send(nil, closed.URL, nil, []byte(`{"n":3}`))

	sent := h.Sent()
	if len(sent) != 3 {
		t.Fatalf("%d hooks recorded, want 3", len(sent))
	}
	if s := sent[0]; s.Status != http.StatusAccepted || s.Err != nil || s.URL != rcv.URL+"/hook" || s.Header.Get("X-Signature") != "sig" {
		t.Errorf("first hook %+v", s)
	}
	if s := sent[1]; s.Status != http.StatusAccepted || s.Header.Get("Content-Type") != "application/json; charset=UTF-8" || string(s.Body) != `{"n":2}` {
		t.Errorf("hook sent later %+v", s)
	}
	if s := sent[2]; s.Status != 0 || s.Err == nil {
		t.Errorf("hook to a stopped receiver %+v; want no status and the error", s)
	}
}

func TestSignSHA256(t *testing.T) {
	// GitHub's example of a webhook signature (docs: "Validating webhook
	// deliveries").
	got := fakehttp.SignSHA256("It's a Secret to Everybody", []byte("Hello, World!"))
	if want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Errorf("SignSHA256 = %s, want %s", got, want)
	}
}

func TestCall(t *testing.T) {
	var b fakehttp.Base
	b.Start(b.Logged(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/list" {
			_, _ = w.Write([]byte(`[1,2]`))
			return
		}
		w.Header().Set("X-Echo", r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"7"}`))
	})), fakehttp.ServeOptions{})
	t.Cleanup(b.Close)

	resp, out := fakehttp.Call(t, http.MethodPost, b.URL+"/things", `{"name":"x"}`)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Echo") != "application/json" || out["id"] != "7" {
		t.Errorf("Call = %d %v %v", resp.StatusCode, resp.Header, out)
	}
	if r := b.Requests(); len(r) != 1 || string(r[0].Body) != `{"name":"x"}` {
		t.Errorf("the fake got %+v", r)
	}
	if resp, out := fakehttp.Call(t, http.MethodGet, b.URL+"/list", ""); resp.StatusCode != http.StatusOK || out != nil {
		t.Errorf("Call of a list = %d %v; want no object", resp.StatusCode, out)
	}
}

func TestLogBufferLogger(t *testing.T) {
	var logs fakehttp.LogBuffer
	logs.Logger().Debug("token refreshed", "expires_in", 3600)
	if got := logs.String(); !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, `msg="token refreshed" expires_in=3600`) {
		t.Errorf("logged %q", got)
	}
}
