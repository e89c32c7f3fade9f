"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 (a free port) in a thread.

Every request is kept; `verified(secret)` checks each one's signature twice, with the `standardwebhooks`
verifier and with the HMAC written out from the specification (Standard Webhooks 1.0), so neither the
sender's library nor its use can hide a mistake.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


def spec_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"> keyed with the base64 part of whsec_..."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class Receiver:
    def __init__(self, delay: float = 0.0) -> None:
        """`delay`: seconds each answer takes (a slow receiver)."""
        self.requests: list[Received] = []
        self._answers: dict[str, deque[int]] = defaultdict(deque)  # path -> statuses to answer, then 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if delay:
                    time.sleep(delay)
                with receiver._lock:
                    receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body))
                    queue = receiver._answers[self.path]
                    status = queue.popleft() if queue else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/redirected")
                body = b"" if status == 204 else b"ok"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default 5 drops concurrent connections (retried by TCP after 1 s)
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *statuses: int) -> None:
        """Answer the next requests to `path` with these statuses (then 200 again)."""
        with self._lock:
            self._answers[path].extend(statuses)

    def reset(self, path: str) -> None:
        """Forget the statuses still queued for `path`: answer 200 from now on."""
        with self._lock:
            self._answers[path].clear()

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def verified(self, path: str, secret: str) -> list[dict]:
        """The bodies sent to `path`, each signature checked by both verifiers (AssertionError otherwise)."""
        out = []
        for r in self.at(path):
            assert r.headers["content-type"] == "application/json"
            payload = Webhook(secret).verify(r.body, r.headers)  # raises WebhookVerificationError
            expected = spec_signature(secret, r.headers["webhook-id"], r.headers["webhook-timestamp"], r.body)
            assert expected in r.headers["webhook-signature"].split(" "), "signature differs from the specification"
            out.append(payload)
        return out


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused at once)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(directory, hostname: str) -> tuple[str, str]:
    """A certificate and key for `hostname` that no trust store knows (PEM files in `directory`)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)
