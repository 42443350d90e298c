"""The HTTP server of the web view: GET and HEAD only, the pages of `routes`, the static
files of a fixed list, and the security headers every answer carries."""

from __future__ import annotations

import os
import socket
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from gitartifacts.core import textsafe
from gitartifacts.errors import GitArtifactsError, NotFoundError
from gitartifacts.gitmodel.project import Project
from gitartifacts.web import routes
from gitartifacts.web.html import esc, page
from gitartifacts.web.reader import Reader

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
STATIC = {  # the only files served from the package, and their types
    "style.css": "text/css",
    "app.js": "text/javascript",
    "graph.js": "text/javascript",
    "charts.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
    "vendor/cytoscape.min.js": "text/javascript",
    "vendor/cytoscape-dagre.min.js": "text/javascript",
    "vendor/uPlot.iife.min.js": "text/javascript",
    "vendor/uPlot.min.css": "text/css",
}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class Server(ThreadingHTTPServer):
    """The web view of one repository on HOST:PORT (0: a free port)."""

    daemon_threads = True

    def __init__(
        self, start: str | os.PathLike[str] | None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.reader = Reader(start)
        if ":" in host:
            self.address_family = socket.AF_INET6
        try:
            super().__init__((host, port), _Handler)
        except BaseException:
            self.reader.close()  # a failed bind has closed it already (server_close)
            raise

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def server_close(self) -> None:
        super().server_close()
        self.reader.close()


class _Handler(BaseHTTPRequestHandler):
    server: Server
    server_version = "gitartifacts"
    sys_version = ""

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _refuse(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, _error_page(405, "only GET and HEAD"), False)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are not logged; failures are, in `_respond`

    def _respond(self, head: bool) -> None:
        try:
            status, (body, ctype) = 200, self._answer(urlsplit(self.path))
        except NotFoundError as exc:
            status, body, ctype = 404, _error_page(404, exc.message), routes.HTML
        except GitArtifactsError as exc:
            status, body, ctype = 400, _error_page(400, str(exc)), routes.HTML
        except Exception as exc:  # a page fails alone, with one line, never a traceback
            line = textsafe.line(f"{type(exc).__name__}: {exc}")
            print(f"error: GET {textsafe.line(self.path[:200])}: {line}", file=sys.stderr)
            status, body, ctype = 500, _error_page(500, "the page failed: " + line), routes.HTML
        self._send(status, body, head, ctype)

    def _answer(self, url: SplitResult) -> routes.Answer:
        if not self._host_ok():
            raise GitArtifactsError("unexpected Host header", "open the address ui printed")
        if url.path == "/favicon.ico":
            return _static("favicon.svg"), STATIC["favicon.svg"]
        if url.path.startswith("/static/"):
            name = url.path[len("/static/") :]
            if name not in STATIC:
                raise NotFoundError(f"no static file {name[:80]!r}", "start from /")
            return _static(name), STATIC[name]
        first, *rest = [unquote(p) for p in url.path.strip("/").split("/")]
        route = routes.find(first, rest)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}

        def call(project: Project) -> routes.Answer:
            return route(project, rest, query)

        return self.server.reader.run(call)

    def _host_ok(self) -> bool:
        """On loopback, only a loopback Host: a page of another site whose DNS name points
        here (DNS rebinding) gets nothing."""
        if self.server.server_address[0] not in ("127.0.0.1", "::1"):
            return True
        host = self.headers.get("Host", "")
        name = host if host.endswith("]") else host.rsplit(":", 1)[0]
        return name in LOOPBACK_NAMES

    def _send(self, status: int, body: str | bytes, head: bool, ctype: str = "text/html") -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        try:
            self._write(status, data, head, ctype)
        except (BrokenPipeError, ConnectionResetError):
            # The browser went away mid-answer (a page left while it loaded): no one is
            # there to tell, and the terminal that runs the view is no place for it.
            self.close_connection = True

    def _write(self, status: int, data: bytes, head: bool, ctype: str) -> None:
        self.send_response(status)
        charset = "; charset=utf-8" if ctype.startswith("text/") else ""
        self.send_header("Content-Type", ctype + charset)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", "GET, HEAD")
        if ctype == "application/octet-stream":
            self.send_header("Content-Disposition", "attachment")
        self.end_headers()
        if not head:
            self.wfile.write(data)


def _static(name: str) -> bytes:
    return (resources.files("gitartifacts.web") / "static" / name).read_bytes()


def _error_page(status: int, message: str) -> str:
    title = {400: "Bad request", 404: "Not found", 405: "Not allowed"}.get(status, "Error")
    return page(title, f'<p class=error>{esc(message)}</p><p><a href="/">Artifacts</a></p>')
