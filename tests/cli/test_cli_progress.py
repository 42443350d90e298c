"""Progress bars and Ctrl-C of the real command on a pseudo-terminal: a bar per phase with
files done/total and bytes for add, push, fetch, pull and checkout; nothing when piped or
quiet; an interrupted push says what to rerun, exits 130, and the rerun completes.

The command runs as `git-artifacts` itself (as `git artifacts` runs it): git dies of the
same SIGINT, so only the script's own exit code can be checked."""

from __future__ import annotations

import fcntl
import hashlib
import os
import pty
import random
import re
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from helpers import (
    VENV_BIN,
    GitRepo,
    Template,
    age_files,
    copy_repo,
    file_digests,
    make_repo,
    packed_objects,
    stored_objects,
    write_files,
)

from gitartifacts.cli.context import interrupted_line

FILES = 300
BAR_DONE = r"{phase}: 100%\|[^|]*\| {n}/{n} files, ([\d.]+k?B)/\1 \["


class Tty(NamedTuple):
    rc: int
    out: str
    err: str  # everything the terminal was sent, carriage returns and all


def run_tty(
    repo: GitRepo,
    *args: str,
    env: dict[str, str] | None = None,
    on_err: Callable[[subprocess.Popen[bytes], str], object] | None = None,
    timeout: float = 60,
) -> Tty:
    """`git-artifacts ARGS` with stderr on a pseudo-terminal of 120x40 (stdout piped, to
    tell the two apart); `on_err(proc, text so far)` after each read of the terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        [str(VENV_BIN / "git-artifacts"), *args],
        cwd=repo.root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ, "GITARTIFACTS_PROGRESS_DELAY": "0", **(env or {})},
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # EIO: the command has closed the terminal
                data = b""
            if not data:
                break
            seen += data
            if on_err is not None:
                on_err(proc, seen.decode("utf-8", "replace"))
        rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    proc.stdout.close()
    return Tty(rc, out, seen.decode("utf-8", "replace").replace("\r\n", "\n"))


def _build(root: Path) -> GitRepo:
    """`ds` (300 small files, committed as v0) and `data/raw` (300 more, not added)."""
    repo = make_repo(root)
    rng = random.Random(22)
    files: dict[str, bytes | str] = {}
    for i in range(FILES):
        files[f"data/ds/d{i % 5}/f{i}.bin"] = rng.randbytes(rng.randint(500, 4000))
        files[f"data/raw/r{i}.bin"] = rng.randbytes(rng.randint(500, 4000))
    write_files(root, files)
    age_files(root / "data")
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v0")
    return repo


@pytest.fixture
def alice(tmp_path: Path, template: Template) -> GitRepo:
    """The repository, with a folder remote of its own."""
    repo = copy_repo(template("progress", _build), tmp_path / "alice")
    repo.ga("remote", "add", "store", str(tmp_path / "store"))
    return repo


def _done(phase: str, n: int, err: str) -> None:
    """The phase's bar ended at 100% with n/n files and the bytes beside them."""
    assert re.search(BAR_DONE.format(phase=phase, n=n), err), err[-2000:]


def test_add_shows_hashing(alice: GitRepo) -> None:
    r = run_tty(alice, "add", "data/raw", "--name", "raw", "--type", "dataset")
    assert r.rc == 0, r
    _done("Hashing", FILES, r.err)
    assert "Hashing" not in r.out


@pytest.mark.slow
def test_push_fetch_pull_and_checkout_show_their_phases(alice: GitRepo) -> None:
    r = run_tty(alice, "push")
    assert r.rc == 0, r
    _done("Uploading", FILES, r.err)
    assert re.search(r"Uploading: +0%\|", r.err), r.err[:500]  # drawn as it started
    objects = alice.root / ".git" / "artifacts" / "objects"

    shutil.rmtree(objects)
    r = run_tty(alice, "fetch")
    assert r.rc == 0, r
    _done("Downloading", FILES, r.err)

    shutil.rmtree(alice.root / "data" / "ds")
    r = run_tty(alice, "checkout", "ds")
    assert r.rc == 0, r
    _done("Checking out", FILES, r.err)

    shutil.rmtree(objects)
    shutil.rmtree(alice.root / "data" / "ds")
    r = run_tty(alice, "pull")  # from a folder remote: fetched as the files are written
    assert r.rc == 0, r
    _done("Checking out", FILES, r.err)
    assert len(list((alice.root / "data" / "ds").rglob("*.bin"))) == FILES


@pytest.mark.slow
def test_pull_over_changed_files_downloads_first_with_a_bar(alice: GitRepo) -> None:
    changed = sorted((alice.root / "data" / "ds").rglob("*.bin"))[:50]
    for i, path in enumerate(changed):
        path.write_bytes(b"v1 %d\n" % i)
    age_files(alice.root / "data")
    alice.ga("add", "data/ds", "--name", "ds")
    alice.commit("ds v1")
    alice.ga("push")
    alice.ga("checkout", "ds:v0")
    # What v1 adds leaves the cache (loose files, or the pack that holds them): pull must
    # download it.
    gone = {hashlib.sha256(b"v1 %d\n" % i).hexdigest() for i in range(len(changed))}
    for path in {p for h, p in stored_objects(alice.cache).items() if h in gone}:
        path.unlink()
        path.with_suffix(".idx").unlink(missing_ok=True)
    r = run_tty(alice, "pull", "ds:v1")
    assert r.rc == 0, r
    # The version's files, the objects already in the cache counting as done (as by fetch).
    _done("Downloading", len(file_digests(alice.root / "data" / "ds")), r.err)
    assert changed[0].read_bytes() == b"v1 0\n"


@pytest.mark.slow
def test_nothing_is_drawn_when_piped_quiet_or_told_so(alice: GitRepo) -> None:
    piped = subprocess.run(
        ["git", "artifacts", "push"],
        cwd=alice.root,
        capture_output=True,
        text=True,
        env={**os.environ, "GITARTIFACTS_PROGRESS_DELAY": "0"},
        check=True,
    )
    assert piped.stderr == "" and "300 objects uploaded" in piped.stdout
    shutil.rmtree(alice.root / "data" / "ds")
    quiet = run_tty(alice, "-q", "checkout", "ds")
    assert (quiet.rc, quiet.out, quiet.err) == (0, "", "")
    shutil.rmtree(alice.root / "data" / "ds")
    told = run_tty(alice, "checkout", "ds", env={"GITARTIFACTS_QUIET": "1"})
    assert told.rc == 0 and told.err == "" and "300 written" in told.out


def _remote_objects(store: Path) -> dict[str, Path]:
    return {p.parent.name + p.name: p for p in store.glob("sha256/*/*") if ".tmp" not in p.name}


@pytest.mark.slow
def test_ctrl_c_mid_push_says_what_to_rerun_and_the_rerun_completes(
    alice: GitRepo, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    stopped: list[int] = []

    def interrupt(proc: subprocess.Popen[bytes], err: str) -> None:
        # Frozen as its bar appears, so "mid-way" is checked, not hoped for.
        if "Uploading" in err and not stopped:
            os.kill(proc.pid, signal.SIGSTOP)
            stopped.append(len(_remote_objects(store)) + len(packed_objects(store)))
            os.kill(proc.pid, signal.SIGINT)
            os.kill(proc.pid, signal.SIGCONT)

    for _ in range(3):  # a push quicker than the test's reaction is tried again
        shutil.rmtree(store, ignore_errors=True)
        stopped.clear()
        r = run_tty(alice, "push", "-j", "1", on_err=interrupt)
        if stopped and stopped[0] < FILES:
            break
    assert stopped and stopped[0] < FILES, stopped
    last = r.err.replace("\x1b[K", "").replace("\r", "\n").strip().splitlines()[-1]
    assert r.rc == 130, r
    assert last == "interrupted: nothing is lost; rerun `git artifacts push -j 1` to finish"
    assert "Traceback" not in r.err and r.out == ""
    packed_objects(store)  # nothing torn on the remote: each packed object checked, and
    for name, path in _remote_objects(store).items():  # each loose one
        assert hashlib.sha256(path.read_bytes()).hexdigest() == name

    again = alice.ga("push")
    assert "uploaded" in again.stdout
    assert len(set(_remote_objects(store)) | packed_objects(store)) >= FILES
    shutil.rmtree(alice.root / ".git" / "artifacts" / "objects")
    shutil.rmtree(alice.root / "data" / "ds")
    alice.ga("pull")
    assert len(list((alice.root / "data" / "ds").rglob("*.bin"))) == FILES


def test_the_line_to_rerun_quotes_arguments_and_masks_secrets() -> None:
    line = interrupted_line(["get", "ds:v0", "-o", "my dir", "--token=s3cr3tvalue\x1b[2J"])
    assert line.startswith("interrupted: nothing is lost; rerun `git artifacts get ds:v0 -o ")
    assert "'my dir'" in line and line.endswith("` to finish")
    assert "s3cr3tvalue" not in line and "\x1b" not in line
