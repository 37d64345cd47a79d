package admin

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/itsm-connector/itsm-connector/host/adminapi"
)

// HostNames are the names, besides IP addresses and localhost, that a
// request's Host may give on the admin listener by default: the machine's
// hostname, and listen's host when it is a name. extra (admin.allowed_hosts)
// adds names operators use, such as a DNS alias or a reverse proxy's.
func HostNames(listen, hostname string, extra []string) []string {
	var names []string
	if hostname != "" {
		names = append(names, hostname)
	}
	if h, _, err := net.SplitHostPort(listen); err == nil && h != "" && net.ParseIP(h) == nil {
		names = append(names, h)
	}
	return append(names, extra...)
}

// hostAllowed reports whether host, a request's Host header with or
// without a port, may reach the admin listener's pages: an IP address,
// localhost, or one of names (case and a trailing dot do not matter).
//
// DNS rebinding makes a browser send the attacker's own name as Host, so
// names are checked. An IP address cannot be rebound: a page the browser
// loaded from that address is the listener's own.
func hostAllowed(host string, names []string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") {
		return true
	}
	for _, n := range names {
		if strings.EqualFold(host, strings.TrimSuffix(n, ".")) {
			return true
		}
	}
	return false
}

// probe reports whether path is a probe, which answers whatever the Host:
// orchestrators and load balancers send the address or a name of their
// own, and a probe shows no alert data.
func probe(path string) bool { return path == "/healthz" || path == "/readyz" }

// guard sets the headers every admin answer carries (no framing by another
// site's page) and refuses requests whose Host the listener does not
// answer to, except probes.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
		if !probe(r.URL.Path) && !hostAllowed(r.Host, s.AllowedHosts) {
			deny(w, r, adminapi.MisdirectedRequest, fmt.Sprintf(
				"421 misdirected request: this admin listener does not answer to the name %q (a page on another name could be a DNS rebinding attack). "+
					"Reach it by IP address, localhost or the machine's hostname, or add the name to admin.allowed_hosts.", r.Host))
			return
		}
		h.ServeHTTP(w, r)
	})
}
