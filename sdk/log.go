package sdk

import (
	"io"
	"log/slog"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// jsonTimeFormat is the timestamp layout go-plugin's host side parses in a
// plugin's JSON log lines (hclog's JSON format).
const jsonTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// levelTrace is slog's stand-in for hclog's trace level.
const levelTrace = slog.LevelDebug - 4

// setupLogging points hclog's and slog's defaults (and so the standard log
// package) at w, as JSON lines in the shape go-plugin's host side parses:
// "@level", "@message", "@timestamp" and the attributes. Both share one lock
// so that lines never interleave.
func setupLogging(w io.Writer, level string) hclog.Logger {
	out := &lockedWriter{w: w}
	hl := hclog.LevelFromString(level)
	if hl == hclog.NoLevel {
		hl = hclog.Info
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Level:      hl,
		Output:     out,
		JSONFormat: true,
	})
	hclog.SetDefault(logger)
	slog.SetDefault(slog.New(newJSONLogHandler(out, slogLevel(hl))))
	return logger
}

// slogLevel maps an hclog level to slog's.
func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error, hclog.Off:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// newJSONLogHandler is slog's JSON handler with hclog's key names and
// timestamp layout, so that the host re-logs each line at its level.
func newJSONLogHandler(w io.Writer, level slog.Level) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format(jsonTimeFormat))
			case slog.LevelKey:
				return slog.String("@level", levelName(a.Value.Any()))
			case slog.MessageKey:
				a.Key = "@message"
			}
			return a
		},
	})
}

// levelName renders a slog level as hclog names it.
func levelName(v any) string {
	l, ok := v.(slog.Level)
	if !ok {
		return "info"
	}
	switch {
	case l <= levelTrace:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	default:
		return "error"
	}
}

// lockedWriter serializes writes from the two loggers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
