package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	"github.com/itsm-connector/itsm-connector/host/adminapi"
)

// Realm names the admin listener in the Basic challenge a browser shows.
const Realm = "itsm-connector admin"

// protect requires s.Token on h, when it is set, and refuses state-changing
// requests that a browser says come from another site's page. A request
// authenticated with HTTP Basic comes from a browser, which sends those
// credentials with any site's form post too; a mutating request of that
// kind must also prove it comes from a page of this listener (see
// sameOrigin). A bearer token is never added by a browser on its own, so
// it needs no such proof, and neither does a request without a token when
// none is set (curl, the command line); either is still refused when its
// own Origin or Sec-Fetch-Site header says it comes from another site.
// Answers under the JSON API's prefix are JSON.
func (s *Server) protect(h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.Token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		basic := false
		if s.Token != "" {
			var ok bool
			if basic, ok = authenticate(r, want); !ok {
				w.Header().Add("WWW-Authenticate", `Basic realm="`+Realm+`"`)
				w.Header().Add("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
				deny(w, r, adminapi.Unauthorized, "401 unauthorized: this path needs the admin token, as \"Authorization: Bearer <token>\" or as the password of HTTP Basic")
				return
			}
			// Pages behind the token carry alert data: keep them out of caches.
			w.Header().Set("Cache-Control", "no-store")
		}
		if !safeMethod(r.Method) && (basic && !sameOrigin(r) || !basic && crossSite(r)) {
			deny(w, r, adminapi.Forbidden, "cross-origin request refused: a state-changing request from a browser must come from this listener's own page")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// deny answers an authentication or origin failure: JSON under the API's
// prefix, text elsewhere.
func deny(w http.ResponseWriter, r *http.Request, code adminapi.Result, msg string) {
	if strings.HasPrefix(r.URL.Path, adminapi.Prefix) {
		adminapi.WriteError(w, code, msg)
		return
	}
	http.Error(w, msg, code.Status())
}

// authenticate reports whether r carries the token whose SHA-256 is want,
// and whether it came as HTTP Basic. Digests of equal length are compared
// in constant time, so neither the token nor its length leaks through
// timing.
func authenticate(r *http.Request, want [sha256.Size]byte) (basic, ok bool) {
	var got string
	scheme, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		got = strings.TrimSpace(rest)
	case strings.EqualFold(scheme, "Basic"):
		_, pw, found := r.BasicAuth()
		if !found {
			return false, false
		}
		got, basic = pw, true
	default:
		return false, false
	}
	g := sha256.Sum256([]byte(got))
	return basic, subtle.ConstantTimeCompare(g[:], want[:]) == 1
}

// safeMethod reports whether m only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether a browser says r comes from a page of this
// listener: its Origin names the request's Host, or, from browsers that
// leave Origin out, Sec-Fetch-Site says same-origin or the Referer names
// the Host. A request without any of them is refused: it cannot show
// where it comes from. Behind a reverse proxy, the proxy must pass the
// Host header the browser used.
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return sameHost(o, r.Host)
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return sameHost(ref, r.Host)
	}
	return false
}

// crossSite reports whether a browser says r comes from another site's
// page: its Origin names another host, or its Sec-Fetch-Site says it is
// not same-origin. A request without either header (curl, the command line)
// is not cross-site.
func crossSite(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return !sameHost(o, r.Host)
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site != "" && site != "same-origin" && site != "none"
}

// sameHost reports whether the http(s) URL u names host (host:port).
func sameHost(u, host string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" && strings.EqualFold(p.Host, host)
}
