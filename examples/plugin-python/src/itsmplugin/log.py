"""Logging as the host reads it: one JSON object per line on stderr.

The host (go-plugin) parses each stderr line as hclog's JSON: "@level"
(trace, debug, info, warn, error), "@message", "@timestamp" (exactly
2006-01-02T15:04:05.000000Z07:00: six fractional digits and a numeric
offset or Z; any other layout makes the host treat the line as plain
text) and any other keys as the line's attributes. It re-logs the line at
that level under the backend's name. A line that is not JSON is logged at
debug level as it is.
"""

import datetime
import json
import logging
import os
import sys
import threading

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

# The levels ITSM_PLUGIN_LOG_LEVEL names, and the names the host reads back.
_LEVELS = {"trace": TRACE, "debug": logging.DEBUG, "info": logging.INFO,
           "warn": logging.WARNING, "error": logging.ERROR}

LOG_LEVEL_ENV = "ITSM_PLUGIN_LOG_LEVEL"


def level_name(levelno):
    """The hclog name of a Python log level."""
    if levelno <= TRACE:
        return "trace"
    if levelno < logging.INFO:
        return "debug"
    if levelno < logging.WARNING:
        return "info"
    if levelno < logging.ERROR:
        return "warn"
    return "error"


class JSONFormatter(logging.Formatter):
    """Formats a record as one hclog JSON line. Attributes passed as
    extra={"kv": {...}} become keys of the line."""

    def format(self, record):
        line = {
            "@level": level_name(record.levelno),
            "@message": record.getMessage(),
            "@timestamp": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .isoformat(timespec="microseconds"),
        }
        for k, v in getattr(record, "kv", {}).items():
            line[k] = v
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class Logger:
    """A logger with key-value attributes: log.info("created", id="HELLO-1")."""

    def __init__(self, name):
        self._log = logging.getLogger(name)

    def _emit(self, level, msg, kv):
        self._log.log(level, msg, extra={"kv": kv})

    def trace(self, msg, **kv):
        self._emit(TRACE, msg, kv)

    def debug(self, msg, **kv):
        self._emit(logging.DEBUG, msg, kv)

    def info(self, msg, **kv):
        self._emit(logging.INFO, msg, kv)

    def warn(self, msg, **kv):
        self._emit(logging.WARNING, msg, kv)

    def error(self, msg, **kv):
        self._emit(logging.ERROR, msg, kv)


_lock = threading.Lock()
_configured = False


def setup(stream=None):
    """Points Python's root logger at stderr as hclog JSON lines, at the
    level the host names in ITSM_PLUGIN_LOG_LEVEL (info when unset), and
    logs uncaught exceptions as one error line."""
    global _configured
    with _lock:
        if _configured:
            return
        _configured = True
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(os.environ.get(LOG_LEVEL_ENV, "").lower(), logging.INFO))

    def excepthook(kind, value, tb):
        logging.getLogger().error("uncaught exception", exc_info=(kind, value, tb))

    sys.excepthook = excepthook
    threading.excepthook = lambda args: excepthook(args.exc_type, args.exc_value, args.exc_traceback)
