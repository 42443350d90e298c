"""git steps that talk to a remote have a deadline: a silent server, a credential prompt with no
terminal and git's progress chatter never hold or garble a command."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import GitRepo, lines, stderr_error_line

from gitartifacts.gitmodel.runner import git


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server on loopback that accepts connections and never says a word."""
    srv = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1], accepted
    srv.close()
    for conn in accepted:
        conn.close()


def _ga(repo: GitRepo, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "artifacts", *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )


def test_a_push_to_a_silent_git_server_fails_after_the_stall_limit(
    bikes: GitRepo, silent_server: tuple[int, list[socket.socket]], tmp_path: Path
) -> None:
    port, accepted = silent_server
    bikes.ga("remote", "add", "storage", str(tmp_path / "store"), "--default")
    bikes.git("remote", "add", "origin", f"http://127.0.0.1:{port}/team/data.git")
    started = time.monotonic()
    proc = _ga(bikes, "push", env={"GITARTIFACTS_NETWORK_TIMEOUT": "2"})
    took = time.monotonic() - started
    assert proc.returncode != 0
    line = stderr_error_line(proc)
    assert "made no progress for 2 s" in line and "GITARTIFACTS_NETWORK_TIMEOUT" in line, line
    assert took < 30
    assert accepted, "git never reached the server"
    # The git helper that held the connection is gone: the server reads the request git sent,
    # then the end of the stream (a live helper would leave recv waiting into the timeout).
    assert _read_to_end(accepted[0], 5.0), "the connection stayed open"


def _read_to_end(conn: socket.socket, seconds: float) -> bool:
    conn.settimeout(seconds)
    try:
        while conn.recv(1 << 20):
            pass
    except TimeoutError:
        return False
    return True


class _AskForPassword(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="team"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_credential_prompt_without_a_terminal_fails_at_once(
    bikes: GitRepo, tmp_path: Path
) -> None:
    bikes.ga("remote", "add", "storage", str(tmp_path / "store"), "--default")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AskForPassword)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        bikes.git("remote", "add", "origin", f"http://127.0.0.1:{port}/team/data.git")
        started = time.monotonic()
        proc = _ga(bikes, "push", env={"GITARTIFACTS_NETWORK_TIMEOUT": "30"})
        took = time.monotonic() - started
    finally:
        server.shutdown()
    assert proc.returncode != 0
    assert took < 20  # not the stall limit: git gave up instead of asking
    assert len(lines(proc.stderr)) == 1, proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr


def test_progress_lines_are_kept_out_of_git_output(bikes: GitRepo, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    bikes.write({"big.bin": os.urandom(1 << 20)})
    bikes.commit("big", "big.bin")
    proc = git(["push", str(origin), "HEAD:refs/heads/main"], bikes.root)
    assert proc.returncode == 0, proc.stderr
    assert "objects:" not in proc.stderr and "%" not in proc.stderr, proc.stderr
    proc = git(["push", str(origin), "refs/heads/nothing-here"], bikes.root)
    assert proc.returncode != 0
    assert "nothing-here" in proc.stderr  # real messages stay
