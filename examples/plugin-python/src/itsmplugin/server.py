"""go-plugin's side of the handshake, for a plugin process not written in Go.

serve() does what the Go SDK's sdk.Serve does through go-plugin: it checks
the magic cookie, negotiates the API version, listens on a Unix socket (TCP
on loopback on Windows), serves gRPC with automatic mutual TLS, the health
service and go-plugin's controller, prints the handshake line on stdout and
runs until the host asks it to stop or dies. docs/plugin-protocol.md in the
itsm-connector repository describes each step.
"""

import base64
import datetime
import os
import shutil
import signal
import sys
import tempfile
import threading
from concurrent import futures

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from goplugin import controller_pb2, controller_pb2_grpc, health_pb2, health_pb2_grpc

from . import log

# The handshake the host and every itsm-connector plugin share.
MAGIC_COOKIE_KEY = "ITSM_CONNECTOR_PLUGIN"
MAGIC_COOKIE_VALUE = "a7c4d0e2-itsm-connector"
# go-plugin's own protocol version, the first field of the handshake line.
CORE_PROTOCOL_VERSION = 1
# The health service name go-plugin's host checks.
HEALTH_SERVICE = "plugin"
# The largest message either side sends or accepts (the Go SDK's
# sdk.MaxMessageSize).
MAX_MESSAGE_SIZE = 16 << 20
# How often the plugin checks that its host is still alive.
PARENT_POLL_SECONDS = 0.5

_log = log.Logger("plugin")


def negotiate(ours, offered):
    """The API version to serve: the newest of ours the host offers in
    PLUGIN_PROTOCOL_VERSIONS ("1,2"), else our oldest, whose mismatch the
    host then reports."""
    theirs = set()
    for v in (offered or "").split(","):
        try:
            theirs.add(int(v))
        except ValueError:
            pass
    common = sorted(set(ours) & theirs)
    return common[-1] if common else min(ours)


def handshake_line(api_version, network, address, cert_der):
    """The line the host reads on the plugin's stdout: core protocol version,
    API version, network, address, protocol, and the server's certificate as
    base64 of its DER bytes without padding."""
    cert = base64.b64encode(cert_der).decode("ascii").rstrip("=")
    return f"{CORE_PROTOCOL_VERSION}|{api_version}|{network}|{address}|grpc|{cert}"


def self_signed_certificate():
    """A fresh key and self-signed certificate for "localhost", valid for
    server and client authentication, as PEM key, PEM certificate and DER
    certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=30))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_encipherment=True, key_agreement=True, key_cert_sign=True,
            content_commitment=False, data_encipherment=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM), cert.public_bytes(serialization.Encoding.DER)


class _Health(health_pb2_grpc.HealthServicer):
    def Check(self, request, context):
        if request.service not in ("", HEALTH_SERVICE):
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


class _Controller(controller_pb2_grpc.GRPCControllerServicer, controller_pb2_grpc.GRPCStdioServicer):
    """go-plugin's controller: Shutdown stops the plugin. StreamStdio stays
    open and sends nothing: logs go straight to stderr, and stdout carries
    only the handshake."""

    def __init__(self, stopping):
        self._stopping = stopping

    def Shutdown(self, request, context):
        _log.debug("host asked the plugin to shut down")
        self._stopping.set()
        return controller_pb2.Empty()

    def StreamStdio(self, request, context):
        done = threading.Event()
        context.add_callback(done.set)
        while not self._stopping.is_set() and not done.is_set():
            self._stopping.wait(PARENT_POLL_SECONDS)
        return
        yield  # a generator: a server stream without messages


def _listen(server, credentials):
    """Binds server: a Unix socket in a private directory, or a loopback TCP
    port from PLUGIN_MIN_PORT..PLUGIN_MAX_PORT on Windows. Returns the
    network, the address for the handshake and the directory to remove."""
    if os.name != "nt":
        directory = tempfile.mkdtemp(prefix="plugin", dir=os.environ.get("PLUGIN_UNIX_SOCKET_DIR") or None)
        path = os.path.join(directory, "plugin.sock")
        server.add_secure_port("unix:" + path, credentials)
        return "unix", path, directory
    low = int(os.environ.get("PLUGIN_MIN_PORT") or 0)
    high = int(os.environ.get("PLUGIN_MAX_PORT") or 0)
    for port in range(low, high + 1):
        try:
            bound = server.add_secure_port(f"127.0.0.1:{port}", credentials)
        except RuntimeError:
            continue
        if bound:
            return "tcp", f"127.0.0.1:{bound}", None
    raise RuntimeError(f"no free port in {low}..{high} (PLUGIN_MIN_PORT..PLUGIN_MAX_PORT)")


def _watch_parent(stopping):
    """Stops the plugin when its host dies (the process is re-parented)."""
    ppid = os.getppid()
    if ppid <= 1 or os.name == "nt":
        return

    def watch():
        while not stopping.wait(PARENT_POLL_SECONDS):
            if os.getppid() != ppid:
                _log.error("host process exited; plugin shutting down")
                stopping.set()
                return

    threading.Thread(target=watch, daemon=True).start()


def serve(register, api_versions=(1,)):
    """Serves a plugin until the host stops it. register(server, api_version)
    adds the plugin's services to the gRPC server for the negotiated API
    version."""
    log.setup()
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write("This binary is an itsm-connector plugin. It is not meant to be run directly:\n"
                         "put it in the connector's plugin_dir, and the connector starts it.\n")
        sys.exit(1)
    # The host stops the plugin through the controller; a Ctrl-C in a
    # terminal reaches the whole process group and is the host's to handle.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    version = negotiate(api_versions, os.environ.get("PLUGIN_PROTOCOL_VERSIONS"))
    client_cert = os.environ.get("PLUGIN_CLIENT_CERT", "").encode()
    if not client_cert:
        _log.error("no PLUGIN_CLIENT_CERT: this plugin only runs with automatic mutual TLS")
        sys.exit(1)
    key_pem, cert_pem, cert_der = self_signed_certificate()
    credentials = grpc.ssl_server_credentials(
        [(key_pem, cert_pem)], root_certificates=client_cert, require_client_auth=True)

    stopping = threading.Event()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=16),
        options=[("grpc.max_receive_message_length", MAX_MESSAGE_SIZE),
                 ("grpc.max_send_message_length", MAX_MESSAGE_SIZE)])
    register(server, version)
    health_pb2_grpc.add_HealthServicer_to_server(_Health(), server)
    ctl = _Controller(stopping)
    controller_pb2_grpc.add_GRPCControllerServicer_to_server(ctl, server)
    controller_pb2_grpc.add_GRPCStdioServicer_to_server(ctl, server)
    network, address, directory = _listen(server, credentials)
    server.start()
    _log.debug("plugin address", network=network, address=address, api_version=version)

    sys.stdout.write(handshake_line(version, network, address, cert_der) + "\n")
    sys.stdout.flush()
    # Stdout carried the handshake; anything printed later goes to stderr,
    # where the host logs it, rather than into a pipe nobody reads.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    _watch_parent(stopping)
    try:
        stopping.wait()
    finally:
        server.stop(grace=1).wait()
        if directory:
            shutil.rmtree(directory, ignore_errors=True)
