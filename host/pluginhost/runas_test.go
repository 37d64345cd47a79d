//go:build unix

package pluginhost

import (
	"context"
	"os/user"
	"strconv"
	"strings"
	"testing"

	"github.com/itsm-connector/itsm-connector/host/config"
)

func TestRunAsAttr(t *testing.T) {
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("this system has no user nobody")
	}
	nobody, _ := user.Lookup("nobody")
	tests := []struct {
		spec    string
		hostUID int
		// wantUID and wantGID are the credential's; wantErr a substring of
		// the error instead.
		wantUID, wantGID string
		wantErr          string
	}{
		{spec: "", hostUID: 0},
		{spec: "nobody", hostUID: 0, wantUID: nobody.Uid, wantGID: nobody.Gid},
		{spec: "nobody:0", hostUID: 0, wantUID: nobody.Uid, wantGID: "0"},
		{spec: nobody.Uid, hostUID: 0, wantUID: nobody.Uid, wantGID: nobody.Gid},
		{spec: "nobody", hostUID: 1000, wantErr: `run_as = "nobody" needs the connector to run as root, but it runs as uid 1000`},
		{spec: "itsm-no-such-user", hostUID: 0, wantErr: `run_as user "itsm-no-such-user" does not exist on this system`},
		{spec: "nobody:itsm-no-such-group", hostUID: 0, wantErr: `run_as group "itsm-no-such-group" does not exist`},
	}
	for _, tt := range tests {
		attr, err := runAsAttr(tt.spec, tt.hostUID)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("runAsAttr(%q, %d) error = %v, want %q", tt.spec, tt.hostUID, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("runAsAttr(%q, %d): %v", tt.spec, tt.hostUID, err)
		case tt.wantUID == "":
			if attr != nil {
				t.Errorf("runAsAttr(%q) = %+v, want nil", tt.spec, attr)
			}
		default:
			c := attr.Credential
			if c == nil || itoa(c.Uid) != tt.wantUID || itoa(c.Gid) != tt.wantGID || c.Groups == nil || len(c.Groups) != 0 || c.NoSetGroups {
				t.Errorf("runAsAttr(%q) credential = %+v, want uid %s gid %s and no supplementary groups", tt.spec, c, tt.wantUID, tt.wantGID)
			}
		}
	}
}

// With run_as the plugin process runs as that user, from the verified
// in-memory copy, and cannot read the host's environment.
func TestPluginRunsAsRunAsUser(t *testing.T) {
	dir, _ := testPluginDirs(t)
	if hostUID() != 0 {
		t.Skip("run_as needs the tests to run as root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("this system has no user nobody")
	}
	t.Setenv("PLUGINHOST_TEST_TOKEN", "tok")
	block := checksumBlock(t, dir)
	block.RunAs = "nobody"
	h, diags, p := startHost(t, dir, goodConfig, Options{Plugins: []*config.Plugin{block}})
	if diags.HasErrors() {
		t.Fatalf("load:\n%s", p.render(t, diags))
	}
	wi, err := mustBackend(t, h, "test.prod").Create(context.Background(), testRequest("k"))
	if err != nil {
		t.Fatal(err)
	}
	if wi.Attributes["uid"] != nobody.Uid || wi.Attributes["gid"] != nobody.Gid {
		t.Errorf("plugin runs as uid %s gid %s, want nobody (%s, %s)", wi.Attributes["uid"], wi.Attributes["gid"], nobody.Uid, nobody.Gid)
	}
	if !strings.Contains(wi.Attributes["host_environ"], "permission denied") {
		t.Errorf("reading the host's environment from the plugin: %q, want permission denied", wi.Attributes["host_environ"])
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
