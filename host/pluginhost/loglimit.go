package pluginhost

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// logLimiter is one backend's budget of relayed plugin log lines, shared
// by its successive processes so that a restart does not refill it.
type logLimiter struct {
	now func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
	// pending counts lines dropped since the last one relayed.
	pending int64

	dropped atomic.Int64
}

func newLogLimiter(now func() time.Time) *logLimiter {
	if now == nil {
		now = time.Now
	}
	return &logLimiter{now: now, tokens: logLineBurst, last: now()}
}

// refill is a token bucket's content after elapsed: tokens plus rate per
// second, at most burst.
func refill(tokens float64, elapsed time.Duration, rate, burst float64) float64 {
	if elapsed <= 0 {
		return tokens
	}
	return min(burst, tokens+elapsed.Seconds()*rate)
}

// take spends a token for one line. ok is false when the line must be
// dropped; otherwise dropped is how many lines were dropped since the
// last relayed one.
func (l *logLimiter) take() (ok bool, dropped int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.tokens, l.last = refill(l.tokens, now.Sub(l.last), logLinesPerSecond, logLineBurst), now
	if l.tokens < 1 {
		l.pending++
		l.dropped.Add(1)
		return false, 0
	}
	l.tokens--
	dropped, l.pending = l.pending, 0
	return true, dropped
}

// Dropped counts the lines dropped so far.
func (l *logLimiter) Dropped() int64 { return l.dropped.Load() }

// pluginLogger is the logger go-plugin writes its own messages about a
// plugin process to. The sub-loggers it derives for the plugin's stderr
// and stdio are relayLoggers: they keep the backend's name
// ("backend.servicenow.prod") rather than the binary's, drop the
// "timestamp" go-plugin appends to every relayed line (the host's own
// timestamp is the same instant to within a millisecond), and are limited
// by lim.
// Log should be a redactLogger; a relayed line is also redacted with
// secrets before it is cut, so that no cut leaves part of a secret behind.
// go-plugin's own messages name the binary it ran, the private copy
// (exe); they show the plugin's path instead.
type pluginLogger struct {
	hclog.Logger
	lim       *logLimiter
	secrets   *secretSet
	exe, path string
}

// Named implements hclog.Logger: the relay of the plugin's output.
func (l pluginLogger) Named(string) hclog.Logger { return relayLogger(l) }

// Trace implements hclog.Logger.
func (l pluginLogger) Trace(msg string, args ...any) { l.Logger.Trace(msg, l.realPath(args)...) }

// Debug implements hclog.Logger.
func (l pluginLogger) Debug(msg string, args ...any) { l.Logger.Debug(msg, l.realPath(args)...) }

// Info implements hclog.Logger.
func (l pluginLogger) Info(msg string, args ...any) { l.Logger.Info(msg, l.realPath(args)...) }

// Warn implements hclog.Logger.
func (l pluginLogger) Warn(msg string, args ...any) { l.Logger.Warn(msg, l.realPath(args)...) }

// Error implements hclog.Logger.
func (l pluginLogger) Error(msg string, args ...any) { l.Logger.Error(msg, l.realPath(args)...) }

// realPath replaces the private copy's name among args with the plugin's
// path.
func (l pluginLogger) realPath(args []any) []any {
	out := slices.Clone(args)
	for i, a := range out {
		if s, ok := a.(string); ok && s == l.exe {
			out[i] = l.path
		}
	}
	return out
}

// relayLogger relays a plugin's log lines: at most logLinesPerSecond
// (bursts of logLineBurst) per backend, each cut to MaxLogLineBytes. The
// first line relayed after a drop is preceded by a warning with the count.
type relayLogger pluginLogger

// Named implements hclog.Logger.
func (l relayLogger) Named(string) hclog.Logger { return l }

// Log implements hclog.Logger.
func (l relayLogger) Log(level hclog.Level, msg string, args ...any) {
	ok, dropped := l.lim.take()
	if !ok {
		return
	}
	if dropped > 0 {
		l.Logger.Warn("plugin log lines dropped: the plugin logs more than the host relays",
			"dropped", dropped, "limit_per_second", logLinesPerSecond, "burst", logLineBurst)
	}
	msg, args = cutLogLine(l.secrets.replace(msg), l.secrets.args(withoutRelayTime(args)), MaxLogLineBytes)
	out := l.Logger
	if r, ok := out.(redactLogger); ok {
		out = r.Logger // redacted above, before the cut: not scanned twice
	}
	out.Log(level, msg, args...)
}

// Trace implements hclog.Logger.
func (l relayLogger) Trace(msg string, args ...any) { l.Log(hclog.Trace, msg, args...) }

// Debug implements hclog.Logger.
func (l relayLogger) Debug(msg string, args ...any) { l.Log(hclog.Debug, msg, args...) }

// Info implements hclog.Logger.
func (l relayLogger) Info(msg string, args ...any) { l.Log(hclog.Info, msg, args...) }

// Warn implements hclog.Logger.
func (l relayLogger) Warn(msg string, args ...any) { l.Log(hclog.Warn, msg, args...) }

// Error implements hclog.Logger.
func (l relayLogger) Error(msg string, args ...any) { l.Log(hclog.Error, msg, args...) }

// withoutRelayTime drops the trailing "timestamp" pair go-plugin appends
// to a relayed line; a plugin's own attributes always come before it.
func withoutRelayTime(args []any) []any {
	if n := len(args); n >= 2 && n%2 == 0 && args[n-2] == "timestamp" {
		return args[:n-2]
	}
	return args
}
