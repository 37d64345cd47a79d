package sdkhttp

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/itsm-connector/itsm-connector/sdk"
)

// Options are an HTTP plugin's process-level settings, as opposed to the
// per-backend configuration the host sends to Configure. A plugin's main
// sets Version; tests set the rest.
type Options struct {
	// Version is reported in Info and the User-Agent; default "dev".
	Version string
	// Logger receives the plugin's logs. Nil means slog's default logger at
	// the time of each log call, which sdk.Serve points at the host.
	Logger *slog.Logger
	// Now is the plugin's clock (token expiry, Retry-After dates, caches);
	// default time.Now.
	Now func() time.Time
	// Transport overrides the base HTTP transport (tests); its TLS settings
	// are replaced by the configured ones when it is an *http.Transport.
	Transport http.RoundTripper
}

// WithDefaults returns o with Version and Now filled in.
func (o Options) WithDefaults() Options {
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Log is the logger to use now: Logger, or slog's current default.
func (o Options) Log() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

// LogWarnings logs the warnings Configure accepted a configuration with,
// each naming its attribute, so they reach the host's log.
func LogWarnings(l *slog.Logger, diags sdk.Diagnostics) {
	for _, d := range diags {
		args := []any{"detail", d.Detail}
		if len(d.Path) > 0 {
			args = append(args, "attribute", strings.Join(d.Path, "."))
		}
		l.Warn(d.Summary, args...)
	}
}
