"""What both loopback emulators share: a threaded HTTP server, a request log, and fault injection."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    method: str
    path: re.Pattern
    kind: str | int  # HTTP status, "reset", "timeout", "malformed", "lost_response", "echo"
    times: int = 1
    retry_after: str | None = None
    body: dict | None = None
    seconds: float = 5.0
    skip: int = 0  # let this many matching requests through first
    status: int = 400  # "echo": the status of the answer


@dataclass
class Logged:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    status: int = 0
    json: object = None
    gateway: str = ""  # the gateway prefix the request came through (removed from `path`)


class HttpError(Exception):
    def __init__(self, status: int, body: dict, headers: dict | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass
class Response:
    status: int = 200
    body: object = None  # dict/list -> JSON; bytes -> raw
    headers: dict = field(default_factory=dict)


class Emulator:
    """Subclasses implement `route(method, path, query, headers, body) -> Response` (or raise HttpError)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.log: list[Logged] = []
        self.faults: list[Fault] = []
        # a gateway in front of the service that routes on a path prefix (which may hold an account id or a
        # key, as Cloudflare's AI Gateway does): requests outside it get 404, the prefix is removed before routing
        self.gateway = ""
        self._server: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self):
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as two writes: without TCP_NODELAY the body waits for the
            # client's delayed ACK of the headers, about 40 ms on every answer
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                emulator._dispatch(self)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    # --- faults --------------------------------------------------------------------------------------
    def inject(self, method: str, path_regex: str, kind, *, times: int = 1, retry_after: str | None = None,
               body: dict | None = None, seconds: float = 5.0, skip: int = 0, status: int = 400) -> None:
        """kind "echo": answer `status` with an error body (and response headers) that repeat every
        request header, credentials included, as a misconfigured gateway or a hostile compatible
        endpoint does."""
        with self.lock:
            self.faults.append(Fault(method.upper(), re.compile(path_regex), kind, times, retry_after, body, seconds,
                                     skip, status))

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and fault.path.search(path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    return fault
        return None

    def error_body(self, status: int, message: str) -> dict:
        return {"message": message}

    # --- dispatch ------------------------------------------------------------------------------------
    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        outside = bool(self.gateway) and not split.path.startswith(self.gateway + "/")
        path = split.path if outside else split.path[len(self.gateway):]
        entry = Logged(h.command, path, parse_qs(split.query), {k.lower(): v for k, v in h.headers.items()},
                       body, gateway="" if outside else self.gateway)
        try:
            entry.json = json.loads(body) if body and "json" in (h.headers.get("Content-Type") or "") else None
        except ValueError:
            entry.json = None
        with self.lock:
            self.log.append(entry)
        if outside:
            entry.status = 404
            self._send(h, Response(404, self.error_body(404, f"no route for {split.path}")))
            return
        fault = self._take_fault(h.command, path)
        if fault is not None and fault.kind == "reset":
            entry.status = -1
            self._reset(h)
            return
        if fault is not None and fault.kind == "timeout":
            entry.status = -2
            self._stopping.wait(fault.seconds)
            self._reset(h)
            return
        if fault is not None and isinstance(fault.kind, int):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            resp = Response(fault.kind, fault.body or self.error_body(fault.kind, "injected fault"), headers)
        elif fault is not None and fault.kind == "echo":
            resp = self._echo(fault.status, entry.headers)
        elif fault is not None and fault.kind == "malformed":
            resp = Response(200, b"<html>this is not json", {"Content-Type": "application/json"})
        else:
            try:
                resp = self.route(h.command, path, entry.query, entry.headers, body)
            except HttpError as exc:
                resp = Response(exc.status, exc.body, exc.headers)
            if fault is not None and fault.kind == "lost_response":
                entry.status = resp.status
                self._reset(h)
                return
        entry.status = resp.status
        self._send(h, resp)

    def _echo(self, status: int, headers: dict) -> Response:
        secret = headers.get("authorization") or headers.get("api-key") or ""
        bare = secret.split(" ", 1)[-1]
        message = (f"Authorization: {secret} was rejected; credential {bare} is not valid here.\n"
                   + "\n".join(f"{k}: {v}" for k, v in headers.items()))
        body = self.error_body(status, message)
        body["request_headers"] = dict(headers)
        echoed = {f"X-Echo-{k}": v for k, v in headers.items() if k in ("authorization", "api-key")}
        return Response(status, body, echoed)

    @staticmethod
    def _reset(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, resp: Response) -> None:
        headers = dict(resp.headers)
        if isinstance(resp.body, bytes | bytearray):
            data = bytes(resp.body)
            headers.setdefault("Content-Type", "application/octet-stream")
        elif resp.body is None:
            data = b""
        else:
            data = json.dumps(resp.body).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        h.send_response(resp.status)
        for k, v in headers.items():
            h.send_header(k, str(v))
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    def route(self, method, path, query, headers, body) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def requests(self, method: str | None = None, path_regex: str = "") -> list[Logged]:
        with self.lock:
            return [e for e in self.log if (method is None or e.method == method) and re.search(path_regex, e.path)]


def now() -> int:
    return int(time.time())
