"""itsm-connector-plugin-pyhello: the smallest complete itsm-connector plugin
in Python. It keeps work items in memory and logs every call; replace the
dictionary with calls to your ITSM tool's API."""

import threading

import itsmplugin
from itsmplugin import Diagnostic, Diagnostics, WorkItem

# Set when the plugin is packaged (see the Makefile); "dev" otherwise.
VERSION = "dev"

log = itsmplugin.Logger("pyhello")


class Hello:
    """Info, configure and create are required; lookup, update, resolve and
    reopen are optional, and what the class defines becomes its
    capabilities."""

    def __init__(self):
        self._lock = threading.Lock()
        self._greeting = None
        self._items = {}  # by id
        self._next = 0

    def info(self):
        # The schema of the backend's `config {}` block: the host checks the
        # operator's block against it before the plugin sees anything.
        return {
            "name": "pyhello",
            "version": VERSION,
            "schema": {"attributes": [
                {"name": "greeting", "type": "string", "default": "hello",
                 "doc": "Word logged in front of every call."},
                # Per-alert: a template the host renders for every call and
                # sends in the request's values.
                {"name": "note", "type": "string", "per_alert": True,
                 "doc": 'Text logged with each call, a template rendered per alert, '
                        'e.g. "${alert.rule} is ${alert.condition}".'},
            ]},
        }

    def configure(self, config):
        # Problems are diagnostics naming the attribute, so the host can
        # point at the operator's line.
        greeting = config.get("greeting")
        if greeting is None:
            greeting = "hello"
        if greeting == "":
            raise Diagnostics(Diagnostic("Empty greeting", "Set greeting to a word, or leave it out.",
                                         path=("greeting",)))
        with self._lock:
            self._greeting = greeting

    def create(self, req):
        if not req.correlation_key:
            raise itsmplugin.permanent("create: no correlation key")
        with self._lock:
            if self._greeting is None:
                raise itsmplugin.permanent("create: not configured")
            self._next += 1
            wid = f"PYHELLO-{self._next}"
            self._items[wid] = WorkItem(id=wid, key=wid, state=itsmplugin.OPEN,
                                        correlation_key=req.correlation_key)
            self._log_call("create", req, wid)
            return self._copy(wid)

    def lookup(self, req):
        with self._lock:
            mine = [int(i.id.split("-")[1]) for i in self._items.values() if i.correlation_key == req.correlation_key]
            if not mine:
                self._log_call("lookup", req, "")
                return None  # nothing stamped with this key: not an error
            wid = f"PYHELLO-{max(mine)}"
            self._log_call("lookup", req, wid)
            return self._copy(wid)

    def update(self, req):
        return self._change("update", req, None)

    def resolve(self, req):
        return self._change("resolve", req, itsmplugin.RESOLVED)

    def reopen(self, req):
        return self._change("reopen", req, itsmplugin.OPEN)

    def _change(self, op, req, state):
        if req.ref is None:
            raise itsmplugin.permanent(f"{op}: no work item reference")
        with self._lock:
            item = self._items.get(req.ref.id)
            if item is None:
                # Gone from the backend: the host forgets it and creates a new one.
                raise itsmplugin.not_found(f"{op}: work item {req.ref.id} does not exist")
            if state:
                item.state = state
            self._log_call(op, req, item.id)
            return self._copy(item.id)

    def _log_call(self, op, req, wid):
        log.info(f"{self._greeting} {op}", id=wid, correlation_key=req.correlation_key,
                 alert=req.alert.get("id", ""), note=req.values.get("note") or "")

    def _copy(self, wid):
        item = self._items[wid]
        return WorkItem(id=item.id, key=item.key, state=item.state, correlation_key=item.correlation_key)


def main():
    itsmplugin.serve(Hello())
