"""What every verb shares: the context object, the one error handler, JSON output."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import click

from gitartifacts.core import textsafe
from gitartifacts.core.progress import Progress
from gitartifacts.core.redaction import redact
from gitartifacts.core.textsafe import echo
from gitartifacts.errors import GitArtifactsError, user_error
from gitartifacts.gitmodel import publish
from gitartifacts.gitmodel.project import Project

F = TypeVar("F", bound=Callable[..., Any])
# A second SIGINT this soon after the first is the same Ctrl-C, passed on by git.
_REPEAT_S = 1.0
_first_interrupt: list[float] = []


class Ctx:
    def __init__(self, quiet: bool, debug: bool) -> None:
        self.quiet = quiet
        self.debug = debug
        self._project: Project | None = None
        self._spans = contextlib.ExitStack()

    def project(self, *, ref_snapshot: bool = False) -> Project:
        """The repository, its versions brought up to date. `ref_snapshot`: for a verb that
        runs no user code (push, fetch), the version sync and the verb read the refs once."""
        if self._project is None:
            self._project = Project.open()
            if ref_snapshot:
                self._spans.enter_context(self._project.repo.ref_snapshot())
            publish.sync(self._project)
        return self._project

    def progress(self) -> Progress:
        return Progress(enabled=False) if self.quiet else Progress()

    def say(self, msg: str) -> None:
        if not self.quiet:
            echo(msg)

    def warn(self, lines: Iterable[str]) -> None:
        """Lines for stderr that report no error (what the cache cap evicted); none with -q."""
        if not self.quiet:
            for line in lines:
                echo(line, err=True)


def command(fn: F) -> F:
    """Run a verb with the shared context; turn our errors into one line and an exit code."""

    @click.pass_obj
    @functools.wraps(fn)
    def wrapper(ctx: Ctx, *args: Any, **kwargs: Any) -> Any:
        _first_interrupt.clear()
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _on_interrupt)  # not where SIGINT is ignored (a `&` job)
        try:
            return fn(ctx, *args, **kwargs)
        except GitArtifactsError as exc:
            if ctx.debug:
                print_traceback(exc)
            echo(redact(f"error: {textsafe.line(str(exc))}"), err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            # Every write is atomic (a temp file renamed, a ref moved once), so a rerun
            # picks up where this one stopped.
            if sys.stderr.isatty():  # a bar cut short as it was drawn: start a clean line
                sys.stderr.write("\r\x1b[K")
            echo(interrupted_line(sys.argv[1:]), err=True)
            sys.exit(130)
        except Exception as exc:  # no space, a file size limit, permissions, a bad state.db
            err = user_error(exc)
            if err is None or ctx.debug:
                raise
            echo(redact(f"error: {textsafe.line(str(err))}"), err=True)
            sys.exit(err.exit_code)
        finally:
            ctx._spans.close()
            if ctx._project is not None:
                ctx._project.close()

    return wrapper  # type: ignore[return-value]


def interrupted_line(args: Sequence[str]) -> str:
    """What Ctrl-C prints: the command to rerun, as typed, with any secret in it masked."""
    import shlex

    again = textsafe.line(redact(shlex.join(["git", "artifacts", *args])))
    return f"interrupted: nothing is lost; rerun `{again}` to finish"


def _on_interrupt(signum: int, frame: object) -> None:
    """Ctrl-C: a KeyboardInterrupt the first time. git passes the same Ctrl-C on to us a
    moment later, which is ignored; another one after that leaves at once (every write is
    atomic, so nothing is torn)."""
    now = time.monotonic()
    if _first_interrupt:
        if now - _first_interrupt[0] < _REPEAT_S:
            return
        os._exit(130)
    _first_interrupt.append(now)
    raise KeyboardInterrupt


def print_traceback(exc: BaseException) -> None:
    """--debug: the traceback, with every secret-looking string masked like any message."""
    import traceback

    click.echo(redact("".join(traceback.format_exception(exc))).rstrip("\n"), err=True)


def print_json(data: Any) -> None:
    # Indented for a person at a terminal; compact (and C-fast) when piped to a program.
    indent = 2 if sys.stdout.isatty() else None
    # ensure_ascii: JSON escapes every control character itself, so JSON is never re-escaped.
    click.echo(json.dumps(data, indent=indent, default=str, ensure_ascii=True))
