"""Starting git (the one place a git process is spawned) and waiting for locks.

A git command that fails on a lock file of this repository is run again until the lock comes
free or GITARTIFACTS_LOCK_TIMEOUT seconds pass; our own work-tree lock is an flock, which dies
with its holder. A git that talks to a remote (fetch, push, ls-remote, clone) is watched: it
fails once it has been silent for the network stall limit, and it never waits on a credential
prompt nobody can answer.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, overload

from gitartifacts.core.redaction import redact
from gitartifacts.errors import GitError
from gitartifacts.settings import NETWORK_TIMEOUT_ENV, lock_timeout, network_timeout

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
# git verbs that talk to a remote: watched for stalls (see `_run_watched`).
_NETWORK_VERBS = frozenset({"fetch", "push", "ls-remote", "clone"})
# Verbs that report progress when asked: their silence then means a stall, not a big job.
_PROGRESS_VERBS = frozenset({"fetch", "push", "clone"})
# A progress line of git or of the remote's git ("Writing objects:  42% (5/12)", "Total 14
# (delta 1), ...", "Delta compression using up to 2 threads"), dropped from the stderr callers
# read for messages; git's own messages (error:, fatal:, hint:, ...) never match.
_PROGRESS_RE = re.compile(
    r"^(?:remote: )?(?!(?:error|fatal|warning|hint): )"
    r"(?:[A-Za-z][A-Za-z ]*: +\d+|Delta compression using |Total \d+ \(delta )"
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
    the environment. Raises GitError when git is not installed, or when a network verb stalls."""
    if args and args[0] in _NETWORK_VERBS and not isinstance(input, bytes):
        return _run_watched(args, cwd, input, env)
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
    """Run a git step that talks to another repository (a project's), in `git_dir` (named
    explicitly: a GIT_DIR from a hook must not send a fetch elsewhere), watched as every
    network git is with `timeout` as its stall limit; it never runs the `ext::` transport (a
    URL from a committed file must not run a command) and never asks for a password."""
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    env["GIT_TERMINAL_PROMPT"] = "0"
    where = ["--git-dir", str(git_dir)] if git_dir is not None else []
    return _run_watched(
        args, cwd, None, env, limit=timeout, options=[*where, "-c", "protocol.ext.allow=never"]
    )


def _run_watched(
    args: Sequence[str],
    cwd: str | os.PathLike[str],
    input: str | None,
    env: dict[str, str] | None,
    *,
    limit: float | None = None,
    options: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run a git that talks to a remote, killed (with its ssh or http helper: its own process
    group) once it has been silent for the stall limit. With `--progress` a working transfer
    is never silent for long, so a big push is not cut short; a server that accepts the
    connection and never answers is. Without a terminal, a credential prompt fails at once
    instead of waiting for input that never comes."""
    base = dict(os.environ if env is None else env)
    limit = network_timeout({}, base) if limit is None else limit
    if not sys.stdin.isatty():
        base.setdefault("GIT_TERMINAL_PROMPT", "0")
    argv = list(args)
    if argv[0] in _PROGRESS_VERBS:
        argv.insert(1, "--progress")
    try:
        proc = subprocess.Popen(
            ["git", *options, *argv],
            cwd=cwd,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=base,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise GitError("git is not installed", "install git 2.30 or newer") from None
    out, err, stalled = _collect(proc, input, limit)
    if stalled:
        what = redact(" ".join(["git", *args][:4]))
        raise GitError(
            f"{what} made no progress for {limit:g} s",
            f"check the remote and the network, or raise {NETWORK_TIMEOUT_ENV} "
            "(git config artifacts.networkTimeout)",
        )
    text_err = _without_progress(err.decode("utf-8", "replace"))
    return subprocess.CompletedProcess(
        ["git", *argv], proc.wait(), out.decode("utf-8", "replace"), text_err
    )


def _collect(
    proc: subprocess.Popen[bytes], input: str | None, limit: float
) -> tuple[bytes, bytes, bool]:
    """(stdout, stderr, stalled) of `proc`: both streams read by threads that note the time of
    the last byte; after `limit` seconds of silence the process group is killed."""
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}
    last = [time.monotonic()]

    def pump(stream: IO[bytes], key: str) -> None:
        while block := os.read(stream.fileno(), 65536):
            chunks[key].append(block)
            last[0] = time.monotonic()

    readers = [
        threading.Thread(target=pump, args=(proc.stdout, "out"), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, "err"), daemon=True),
    ]
    for t in readers:
        t.start()
    if proc.stdin is not None:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write((input or "").encode())
            proc.stdin.close()
    stalled = False
    while proc.poll() is None:
        if time.monotonic() - last[0] > limit:
            stalled = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            break
        time.sleep(0.05)
    for t in readers:
        t.join(timeout=5)
    return b"".join(chunks["out"]), b"".join(chunks["err"]), stalled


def _without_progress(stderr: str) -> str:
    """git's stderr with the progress lines taken out (they are separated by CR or LF)."""
    kept = [line for line in re.split(r"[\r\n]", stderr) if line and not _PROGRESS_RE.match(line)]
    return "\n".join(kept) + ("\n" if kept else "")


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
