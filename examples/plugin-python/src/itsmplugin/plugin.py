"""The ITSM plugin contract in Python: the itsm.v1 PluginService served from
a plain Python object, as the Go SDK serves an sdk.Plugin.

A plugin is an object with info(), configure(config) and create(request),
and any of lookup, update, resolve and reopen: what it defines becomes its
capabilities. Lifecycle calls take a Request and return a WorkItem (lookup
returns None when nothing carries the key). Errors are PluginError
(retryable(), permanent(), not_found()) or Diagnostics; any other exception
reaches the host as an unclassified error, which it retries.
"""

import collections
import dataclasses
import json
import traceback

import grpc
from google.protobuf import any_pb2, duration_pb2

from goplugin import status_pb2
from itsm.v1 import itsm_pb2, itsm_pb2_grpc

from . import log

API_VERSION = 1
LIFECYCLE = ("lookup", "update", "resolve", "reopen")

# Bounds on an error's text, as the Go SDK keeps them: the status message is
# a summary for gRPC tools, the Error detail carries the full text.
MAX_STATUS_MESSAGE = 1 << 10
MAX_ERROR_MESSAGE = 32 << 10

_log = log.Logger("plugin")


# --- errors ---------------------------------------------------------------

RETRYABLE = itsm_pb2.ERROR_KIND_RETRYABLE
PERMANENT = itsm_pb2.ERROR_KIND_PERMANENT
NOT_FOUND = itsm_pb2.ERROR_KIND_NOT_FOUND

_CODES = {RETRYABLE: grpc.StatusCode.UNAVAILABLE, PERMANENT: grpc.StatusCode.FAILED_PRECONDITION,
          NOT_FOUND: grpc.StatusCode.NOT_FOUND}


class PluginError(Exception):
    """A classified error: the host retries, dead-letters, or (not found)
    forgets the work item and creates a new one."""

    def __init__(self, kind, message, retry_after=None):
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after  # seconds the backend asked to wait


def retryable(message, retry_after=None):
    return PluginError(RETRYABLE, message, retry_after)


def permanent(message):
    return PluginError(PERMANENT, message)


def not_found(message):
    return PluginError(NOT_FOUND, message)


@dataclasses.dataclass
class Diagnostic:
    summary: str
    detail: str = ""
    path: tuple = ()  # the attribute at fault: ("auth", "client_id")
    warning: bool = False


class Diagnostics(Exception):
    """Configure's answer to a configuration it rejects (or accepts with
    warnings only): each diagnostic names the attribute at fault, so the
    host points at the operator's line."""

    def __init__(self, *diagnostics):
        self.diagnostics = list(diagnostics)
        super().__init__("; ".join(f"{d.summary}: {d.detail}" if d.detail else d.summary for d in diagnostics))


def _truncate(text, limit):
    data = text.encode()
    if len(data) <= limit:
        return text
    mark = " … (truncated)"
    return data[:limit - len(mark.encode())].decode(errors="ignore") + mark


class _Status(collections.namedtuple("_Status", ("code", "details", "trailing_metadata")), grpc.Status):
    pass


def _abort(context, err):
    """Ends the call with the status the host decodes: the error's text,
    kind, retry-after and diagnostics in one itsm.v1.Error, the status's
    only detail (trailer grpc-status-details-bin)."""
    wire = itsm_pb2.Error(message=_truncate(str(err), MAX_ERROR_MESSAGE))
    code = grpc.StatusCode.UNKNOWN
    if isinstance(err, PluginError):
        wire.kind = err.kind
        code = _CODES[err.kind]
        if err.retry_after:
            wire.retry_after.CopyFrom(duration_pb2.Duration(seconds=int(err.retry_after),
                                                            nanos=int(err.retry_after % 1 * 1e9)))
    if isinstance(err, Diagnostics):
        code = grpc.StatusCode.INVALID_ARGUMENT
        for d in err.diagnostics:
            wire.diagnostics.add(
                severity=itsm_pb2.SEVERITY_WARNING if d.warning else itsm_pb2.SEVERITY_ERROR,
                summary=d.summary, detail=d.detail, path=list(d.path))
    detail = any_pb2.Any()
    detail.Pack(wire)
    message = _truncate(str(err), MAX_STATUS_MESSAGE)
    status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
    context.abort_with_status(_Status(code, message, (("grpc-status-details-bin", status.SerializeToString()),)))


# --- requests and work items ----------------------------------------------

OPEN = "open"
RESOLVED = "resolved"
_STATES = {OPEN: itsm_pb2.WORK_ITEM_STATE_OPEN, RESOLVED: itsm_pb2.WORK_ITEM_STATE_RESOLVED}


@dataclasses.dataclass
class WorkItem:
    id: str
    key: str = ""
    url: str = ""
    state: str = ""
    correlation_key: str = ""
    attributes: dict = dataclasses.field(default_factory=dict)
    note: str = ""

    def to_wire(self):
        return itsm_pb2.WorkItem(id=self.id, key=self.key, url=self.url, state=_STATES.get(self.state, 0),
                                 correlation_key=self.correlation_key, attributes=self.attributes, note=self.note)

    @classmethod
    def from_wire(cls, w):
        state = {v: k for k, v in _STATES.items()}.get(w.state, "")
        return cls(id=w.id, key=w.key, url=w.url, state=state, correlation_key=w.correlation_key,
                   attributes=dict(w.attributes), note=w.note)


@dataclasses.dataclass
class Request:
    correlation_key: str
    alert: dict  # the alert's JSON (docs/plugin-protocol.md)
    fields: dict  # the route's rendered fields
    values: dict  # the plugin's per-alert attributes, rendered
    configuration_items: list  # [{"name": ..., "resource_id": ...}]
    ref: WorkItem = None  # the recorded work item; None for lookup and create

    @classmethod
    def from_wire(cls, call):
        return cls(
            correlation_key=call.correlation_key,
            alert=json.loads(call.alert_json or b"{}"),
            fields=json.loads(call.fields_json or b"{}"),
            values=json.loads(call.values_json or b"{}"),
            configuration_items=[{"name": c.name, "resource_id": c.resource_id} for c in call.configuration_items],
            ref=WorkItem.from_wire(call.ref) if call.HasField("ref") else None,
        )


# --- the service ----------------------------------------------------------

def _schema_to_wire(schema):
    """A schema as plain data: {"attributes": [{"name", "type", "required",
    "sensitive", "per_alert", "default", "doc"}], "blocks": [{"name",
    "nesting", "required", "doc", "schema"}]}."""
    out = itsm_pb2.Schema()
    for a in schema.get("attributes", []):
        out.attributes.add(
            name=a["name"], type=a["type"], required=a.get("required", False),
            sensitive=a.get("sensitive", False), per_alert=a.get("per_alert", False),
            default_json=json.dumps(a["default"]).encode() if "default" in a else b"", doc=a.get("doc", ""))
    for b in schema.get("blocks", []):
        out.blocks.add(name=b["name"], nesting=b.get("nesting", "single"), required=b.get("required", False),
                       doc=b.get("doc", ""), schema=_schema_to_wire(b.get("schema", {})))
    return out


class Service(itsm_pb2_grpc.PluginServiceServicer):
    """itsm.v1.PluginService over a plugin object."""

    def __init__(self, plugin):
        self._plugin = plugin

    def _run(self, method, context, fn, *args):
        try:
            return fn(*args)
        except (PluginError, Diagnostics) as err:
            _abort(context, err)
        except Exception as err:  # noqa: BLE001 - every failure must reach the host
            _log.error("plugin call failed", call=method, error=repr(err), stack=traceback.format_exc())
            _abort(context, err)

    def Info(self, request, context):
        info = self._run("Info", context, self._plugin.info)
        caps = {name: callable(getattr(self._plugin, name, None)) for name in LIFECYCLE}
        delay = info.get("read_after_write_delay")
        return itsm_pb2.InfoResponse(
            name=info["name"], version=info["version"], api_versions=[API_VERSION],
            capabilities=itsm_pb2.Capabilities(**caps), schema=_schema_to_wire(info.get("schema", {})),
            read_after_write_delay=duration_pb2.Duration(seconds=int(delay)) if delay else None)

    def Configure(self, request, context):
        config = json.loads(request.config_json or b"{}")
        self._run("Configure", context, self._plugin.configure, config)
        return itsm_pb2.ConfigureResponse()

    def _call(self, method, request, context):
        fn = getattr(self._plugin, method.lower(), None)
        if not callable(fn):
            _abort(context, permanent(f"plugin does not implement {method}"))
        try:
            req = Request.from_wire(request.call)
        except ValueError as err:
            _abort(context, permanent(f"{method}: malformed request from host: {err}"))
        wi = self._run(method, context, fn, req)
        if wi is None and method != "Lookup":
            _abort(context, permanent(f"plugin bug: {method} returned neither a work item nor an error"))
        return wi.to_wire() if wi is not None else None

    def Lookup(self, request, context):
        return itsm_pb2.LookupResponse(work_item=self._call("Lookup", request, context))

    def Create(self, request, context):
        return itsm_pb2.CreateResponse(work_item=self._call("Create", request, context))

    def Update(self, request, context):
        return itsm_pb2.UpdateResponse(work_item=self._call("Update", request, context))

    def Resolve(self, request, context):
        return itsm_pb2.ResolveResponse(work_item=self._call("Resolve", request, context))

    def Reopen(self, request, context):
        return itsm_pb2.ReopenResponse(work_item=self._call("Reopen", request, context))
