"""A small Python SDK for itsm-connector plugins: go-plugin's handshake with
automatic mutual TLS (server.py), the itsm.v1 service over a plain object
(plugin.py) and the host's log format (log.py). Copy the package with the
generated stubs (itsm/, goplugin/) to start a plugin of your own."""

from . import log
from .log import Logger
from .plugin import (API_VERSION, OPEN, RESOLVED, Diagnostic, Diagnostics, PluginError, Request, Service,
                     WorkItem, not_found, permanent, retryable)
from .server import serve as _serve

from itsm.v1 import itsm_pb2_grpc


def serve(plugin):
    """Serves plugin as an itsm-connector plugin process until the host
    stops it. Never print to stdout: it carries the handshake."""
    _serve(lambda server, version: itsm_pb2_grpc.add_PluginServiceServicer_to_server(Service(plugin), server),
           api_versions=(API_VERSION,))


__all__ = ["API_VERSION", "OPEN", "RESOLVED", "Diagnostic", "Diagnostics", "Logger", "PluginError", "Request",
           "Service", "WorkItem", "log", "not_found", "permanent", "retryable", "serve"]
