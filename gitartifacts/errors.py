"""One error hierarchy: every failure a user can cause or fix is a GitArtifactsError.

The CLI prints ``error: <message> (<fix>)`` on one line and exits with the class's
``exit_code``: 2 for usage, 3 and up for failures (README "Exit codes"; 1 means a check
found differences, 130 an interrupt, 9 a bug).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, TypeVar

# The exit codes of the command line, in the order the README and `-h` list them.
EXIT_CODES = (
    (0, "success"),
    (1, "differences found: status --check, diff --exit-code, verify, validate"),
    (2, "usage: an unknown option, a bad argument or name"),
    (3, "not found: an artifact, version, alias, entry or run"),
    (4, "refused: it would lose data or contradict recorded history"),
    (5, "content missing or corrupt in a cache, or a manifest that cannot be read"),
    (6, "a git command failed"),
    (7, "the machine refused: no space, permissions, a read-only place, local state"),
    (8, "any other failure"),
    (9, "a bug: the traceback is printed; please report it"),
    (130, "interrupted (Ctrl-C)"),
)
INTERNAL_ERROR = 9


class GitArtifactsError(Exception):
    """Base of every error the tool reports to a user."""

    exit_code = 8

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message


class UsageError(GitArtifactsError, ValueError):
    """Bad input: a name, a path, an option."""

    exit_code = 2


class ManifestError(GitArtifactsError, ValueError):
    """A manifest file that does not follow schema 1."""

    exit_code = 5


class NotFoundError(GitArtifactsError, KeyError):
    """An artifact, version, alias or entry that does not exist."""

    exit_code = 3

    def __str__(self) -> str:  # KeyError would repr() the message
        return GitArtifactsError.__str__(self)


class GitError(GitArtifactsError):
    """A git command failed."""

    exit_code = 6


class CacheError(GitArtifactsError):
    """Content missing from, or corrupt in, a cache."""

    exit_code = 5


class ConflictError(GitArtifactsError):
    """An operation would lose data or contradict recorded history."""

    exit_code = 4


class ResourceError(GitArtifactsError, OSError):
    """The machine refused: no space, a file size limit, a read-only or unreadable place.

    Also an OSError, so that code catching OSError around the Python API keeps working.
    """

    exit_code = 7

    def __init__(self, message: str, fix: str | None = None, errno_: int | None = None) -> None:
        GitArtifactsError.__init__(self, message, fix)
        self.errno = errno_

    def __str__(self) -> str:  # OSError would print "[Errno n] ..."
        return GitArtifactsError.__str__(self)


class StateError(GitArtifactsError):
    """The machine-local state (`state.db`, a cache of this clone) cannot be used."""

    exit_code = 7


# errno name -> (what happened, the fix); "{path}" is the file or folder concerned.
_FIXES = {
    "ENOSPC": ("no space left on the device holding {path}", "free some space there, {move}"),
    "EDQUOT": ("disk quota exceeded writing {path}", "free some space or ask for more, {move}"),
    "EFBIG": (
        "file too large for the limit of this shell or file system: {path}",
        "raise the limit with ulimit -f unlimited, or put the data elsewhere",
    ),
    "EROFS": ("read-only file system: {path}", "make it writable, {move}"),
    "EACCES": (
        "permission denied: {path}",
        "check the permissions and owner of {path} with ls -ld",
    ),
    "EPERM": ("operation not permitted: {path}", "check the permissions and flags of {path}"),
    "EIO": ("input/output error on {path}", "the disk may be failing: check it (dmesg)"),
}
_MOVE = "or move the cache elsewhere with git config artifacts.cache DIR"


def from_os_error(exc: OSError, where: str | None = None) -> GitArtifactsError:
    """One line for an OSError: what the machine refused, on which path, and the fix.

    `where` names the place when the error does not (a write to an open file has no name).
    """
    import errno

    if isinstance(exc, GitArtifactsError):
        return exc
    path = exc.filename if exc.filename is not None else where or _path_in_traceback(exc)
    if isinstance(path, bytes):
        path = path.decode("utf-8", "replace")
    shown = str(path) if path is not None else "a file it was writing"
    name = errno.errorcode.get(exc.errno or 0, "")
    if name in _FIXES:
        what, fix = _FIXES[name]
        return ResourceError(what.format(path=shown), fix.format(path=shown, move=_MOVE), exc.errno)
    reason = exc.strerror or str(exc) or type(exc).__name__
    return ResourceError(
        f"{reason}: {shown}", "check that path, or rerun with --debug for details", exc.errno
    )


# Names our functions give the file they write or read, most specific first.
_PATH_NAMES = ("tmp", "dst", "final", "dest", "target", "full", "src", "path")


def _path_in_traceback(exc: BaseException) -> str | None:
    """The file a failed write on a descriptor was for (an OSError raised by os.write has no
    name): the innermost of our own frames that holds one under a usual name."""
    import os

    tb = exc.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        if not frame.f_globals.get("__name__", "").startswith("gitartifacts."):
            continue
        for name in _PATH_NAMES:
            value = frame.f_locals.get(name)
            if isinstance(value, (str, os.PathLike)) and os.path.isabs(value):
                return os.fspath(value)
    return None


def user_error(exc: BaseException) -> GitArtifactsError | None:
    """The one-line error for a failure the machine caused (an OSError; the local state
    raises its own StateError), or None for anything else (a bug: its traceback is wanted)."""
    if isinstance(exc, GitArtifactsError):
        return exc
    if isinstance(exc, OSError):
        return from_os_error(exc)
    return None


# What the machine refuses (and a damaged state.db), not what a caller asked wrongly: a
# missing file stays a FileNotFoundError for code that catches it.
_RESOURCE_ERRNOS = frozenset(_FIXES)

_C = TypeVar("_C", bound=type)


def own_errors(cls: _C) -> _C:
    """Make the public methods of a Python API class raise our errors for what the machine
    refuses: no space, a file size limit, a read-only or unreadable place, a bad state.db."""
    import errno
    import functools

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except OSError as exc:
                if errno.errorcode.get(exc.errno or 0) not in _RESOURCE_ERRNOS:
                    raise
                raise from_os_error(exc) from exc
            except Exception as exc:
                err = user_error(exc)
                if err is None or err is exc:
                    raise
                raise err from exc

        return wrapper

    for name, value in list(vars(cls).items()):
        if not name.startswith("_") and isinstance(value, types.FunctionType):
            setattr(cls, name, wrap(value))
    return cls
