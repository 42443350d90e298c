"""Starting git (the one place a git process is spawned) and waiting for locks.

A git command that fails on a lock file of this repository is run again until the lock comes
free or GITARTIFACTS_LOCK_TIMEOUT seconds pass; our own work-tree lock is an flock, which dies
with its holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import overload

from gitartifacts.errors import GitError
from gitartifacts.settings import lock_timeout

# Seconds to wait for a git lock file (held by a live git, or left by a killed one).
# How git names a lock file it could not take (index.lock, <ref>.lock, packed-refs.lock, ...).
_LOCK_FAILED_RE = re.compile(r"Unable to create '([^'\n]+\.lock)': File exists")
# Variables that point git at a repository: unset for a git that must see a plain folder.
_GIT_LOCATION_VARS = frozenset(
    (
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_COMMON_DIR",
        "GIT_OBJECT_DIRECTORY",
        "GIT_PREFIX",
        "GIT_NAMESPACE",
    )
)


class LockedError(GitError):
    """A lock file that git or another gitartifacts process holds did not come free in time."""


@overload
def git(
    args: Sequence[str],
    cwd: str | os.PathLike[str],
    *,
    input: str | None = ...,
    env: dict[str, str] | None = ...,
) -> subprocess.CompletedProcess[str]: ...
@overload
def git(
    args: Sequence[str],
    cwd: str | os.PathLike[str],
    *,
    input: bytes,
    env: dict[str, str] | None = ...,
) -> subprocess.CompletedProcess[bytes]: ...
def git(
    args: Sequence[str],
    cwd: str | os.PathLike[str],
    *,
    input: str | bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str] | subprocess.CompletedProcess[bytes]:
    """Run `git ARGS` in `cwd`, output captured: text unless `input` is bytes. `env` replaces
    the environment. Raises GitError when git is not installed."""
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            text=not isinstance(input, bytes),
            check=False,
            env=env,
        )
    except FileNotFoundError:
        raise GitError("git is not installed", "install git 2.30 or newer") from None


def git_network(
    args: Sequence[str], cwd: Path, timeout: float, git_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a git step that talks to another repository, stopped after `timeout` seconds, in
    `git_dir` (named explicitly: a GIT_DIR from a hook must not send a fetch elsewhere); git
    asks no password on the terminal (a credential helper answers, or the step fails) and
    never runs the `ext::` transport (a URL from a committed file must not run a command)."""
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    env["GIT_TERMINAL_PROMPT"] = "0"
    where = ["--git-dir", str(git_dir)] if git_dir is not None else []
    try:
        return subprocess.run(
            ["git", *where, "-c", "protocol.ext.allow=never", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise GitError(
            f"git {args[0]} had no answer in {timeout:g} s",
            "check the network and the URL, or raise git config artifacts.networkTimeout",
        ) from None
    except FileNotFoundError:
        raise GitError("git is not installed", "install git 2.30 or newer") from None


def run_waiting(
    args: Sequence[str],
    cwd: Path,
    lock_dirs: Sequence[Path],
    after: Callable[[], None],
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run git; while it fails on a lock file under one of `lock_dirs` (index.lock, a ref's
    .lock), wait and run it again, up to GITARTIFACTS_LOCK_TIMEOUT seconds in all. A command
    that could not take its lock changed nothing, so running it again is safe. `after` runs
    after every attempt."""
    # `git status` refreshes the index under index.lock when it can: a reader must not
    # make a concurrent writer fail.
    argv = ["--no-optional-locks", *args] if args[:1] == ("status",) else list(args)
    deadline: float | None = None
    delay = 0.01
    while True:
        try:
            proc = git(argv, cwd, input=input, env={**os.environ, **env} if env else None)
        finally:
            after()
        lock = _own_lock(proc, lock_dirs) if proc.returncode != 0 else None
        if lock is None:
            return proc
        now = time.monotonic()
        if deadline is None:
            deadline = now + lock_timeout(os.environ)
        if now >= deadline:
            raise _held_lock_error(lock)
        time.sleep(min(delay * random.uniform(1.0, 1.5), deadline - now))
        delay = min(delay * 2, 0.25)


def apply_in_folder(cwd: str, patch: bytes, args: Sequence[str]) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) of `git apply ARGS -` in `cwd` as a plain folder: no
    repository above it, none from the environment (a hook sets GIT_DIR), so every path is
    relative to `cwd`."""
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    env["GIT_CEILING_DIRECTORIES"] = os.path.dirname(os.path.abspath(cwd))
    proc = git(["apply", *args, "-"], cwd, input=patch, env=env)
    return proc.returncode, proc.stdout, proc.stderr


@contextlib.contextmanager
def flock(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive flock on `path` (made if missing), waited for up to `timeout` seconds;
    reentrant within a thread. The kernel drops it when the process dies: never stale."""
    key = str(path)
    with _held_guard:
        rlock, slot = _held.setdefault(key, (threading.RLock(), [-1, 0]))
    if not rlock.acquire(timeout=timeout):
        raise LockedError(
            f"{path} is held by another thread of this process", "wait for it to finish"
        )
    try:
        if slot[1] == 0:
            slot[0] = _take_flock(path, timeout)
        slot[1] += 1
        try:
            yield
        finally:
            slot[1] -= 1
            if slot[1] == 0:
                os.close(slot[0])  # closing the file releases the flock
                slot[0] = -1
    finally:
        rlock.release()


def _held_lock_error(lock_file: str) -> LockedError:
    return LockedError(
        f"{lock_file} is held by another process or left by a killed one",
        "remove it if no git process is running",
    )


def _own_lock(proc: subprocess.CompletedProcess[str], lock_dirs: Sequence[Path]) -> str | None:
    """The lock file under `lock_dirs` that made `proc` fail, if that is why it failed
    (a remote's lock, named by a push to a local path, is not ours to wait for)."""
    found = _LOCK_FAILED_RE.search(proc.stderr or "")
    if found is None:
        return None
    path = os.path.realpath(found.group(1))
    for d in set(lock_dirs):
        if path.startswith(os.path.realpath(d) + os.sep):
            return found.group(1)
    return None


# Per lock file, for this process: a thread lock (flock does not exclude threads sharing an
# open file), the open file holding the flock and how deep the owning thread has entered.
_held: dict[str, tuple[threading.RLock, list[int]]] = {}
_held_guard = threading.Lock()


def _take_flock(path: Path, timeout: float) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockedError(
                    f"{path} is held by another gitartifacts process",
                    "wait for it to finish, or stop it",
                ) from None
            time.sleep(delay * random.uniform(1.0, 1.5))
            delay = min(delay * 2, 0.1)
        except BaseException:
            os.close(fd)
            raise
