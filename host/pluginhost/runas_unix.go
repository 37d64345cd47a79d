//go:build unix

package pluginhost

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"

	"github.com/itsm-connector/itsm-connector/host/config"
)

// runAsAttr returns the process attributes that start a plugin as the
// account a plugin block's run_as names ("user" or "user:group"; the
// user's primary group without one), nil for "". Only a connector running
// as root (hostUID 0) can start a process as another user. The plugin gets
// no supplementary groups.
func runAsAttr(spec string, hostUID int) (*syscall.SysProcAttr, error) {
	if spec == "" {
		return nil, nil
	}
	name, group, err := config.RunAsAccount(spec)
	if err != nil {
		return nil, err
	}
	if hostUID != 0 {
		return nil, fmt.Errorf("run_as = %q needs the connector to run as root, but it runs as uid %d; remove run_as, or start the connector as root", spec, hostUID)
	}
	u, err := user.Lookup(name)
	if _, numeric := strconv.ParseUint(name, 10, 32); err != nil && numeric == nil {
		u, err = user.LookupId(name)
	}
	if err != nil {
		return nil, fmt.Errorf("run_as user %q does not exist on this system (%v); create it, e.g. useradd --system --no-create-home --shell /usr/sbin/nologin %s", name, err, name)
	}
	gid := u.Gid
	if group != "" {
		g, err := user.LookupGroup(group)
		if _, numeric := strconv.ParseUint(group, 10, 32); err != nil && numeric == nil {
			g, err = user.LookupGroupId(group)
		}
		if err != nil {
			return nil, fmt.Errorf("run_as group %q does not exist on this system (%v)", group, err)
		}
		gid = g.Gid
	}
	uidN, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("run_as user %q has uid %q, not a number", name, u.Uid)
	}
	gidN, err := strconv.ParseUint(gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("run_as group of %q has gid %q, not a number", spec, gid)
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uidN), Gid: uint32(gidN), Groups: []uint32{}}}, nil
}
