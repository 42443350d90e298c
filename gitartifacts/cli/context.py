"""What every verb shares: the context object, the options every verb takes (-q, -v,
--debug, --no-color), the one error handler, JSON output."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NoReturn, TypeVar

import click

from gitartifacts.cli import terminal
from gitartifacts.cli.terminal import Paint
from gitartifacts.core import textsafe
from gitartifacts.core.progress import Progress
from gitartifacts.core.redaction import redact
from gitartifacts.core.textsafe import echo
from gitartifacts.errors import INTERNAL_ERROR, GitArtifactsError, user_error
from gitartifacts.gitmodel import publish
from gitartifacts.gitmodel.project import Project

F = TypeVar("F", bound=Callable[..., Any])
# A second SIGINT this soon after the first is the same Ctrl-C, passed on by git.
_REPEAT_S = 1.0
_first_interrupt: list[float] = []


class Ctx:
    """What a verb runs with: the output settings of the command line and the repository."""

    def __init__(
        self,
        quiet: bool,
        debug: bool,
        verbose: int = 0,
        no_color: bool = False,
        no_pager: bool = False,
    ) -> None:
        self.quiet = quiet
        self.debug = debug
        self.verbose = verbose
        self.no_color = no_color
        self.no_pager = no_pager
        self._colour: bool | None = None
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

    def detail(self, msg: str) -> None:
        """A line only -v asks for (timings, the remote's URL, one line per item), on
        stderr so that it never mixes with what a script reads from stdout."""
        if self.verbose and not self.quiet:
            echo(redact(msg), err=True)

    def detail_remote(self, name: str) -> None:
        """-v: the remote cache a transfer used, its URL with any credentials masked."""
        if self.verbose and not self.quiet:
            from gitartifacts.remote import remotes

            self.detail(f"remote {name}: {remotes.resolve(self.project(), name).url}")

    @property
    def colour(self) -> bool:
        """Whether stdout gets colour, decided once (before a pager takes stdout)."""
        if self._colour is None:
            self._colour = terminal.colour_wanted(
                self.no_color, self._git_config, sys.stdout.isatty()
            )
        return self._colour

    def echo(self, *parts: str | Paint) -> None:
        """One line of output from parts, painted ones in colour when colour is on."""
        click.echo(terminal.render(parts, self.colour), color=self.colour)

    @contextlib.contextmanager
    def pager(self) -> Iterator[None]:
        """The block's stdout through the pager, on a terminal only and not with --no-pager."""
        cmd = None
        if not self.no_pager and sys.stdout.isatty():
            cmd = terminal.pager_command(self._git_config)
        if cmd is None:
            yield
            return
        _ = self.colour  # decided on the terminal, as git does: less -R shows it
        with terminal.paged(cmd):
            yield

    def _git_config(self, key: str) -> str | None:
        try:
            return self.project().repo.config_get(key)
        except GitArtifactsError:  # outside a repository: git's defaults
            return None


def command(fn: F) -> F:
    """Run a verb with the shared context and the options every verb takes; turn our errors
    into one line and an exit code (errors.EXIT_CODES)."""

    @click.pass_obj
    @functools.wraps(fn)
    def wrapper(ctx: Ctx, *args: Any, **kwargs: Any) -> Any:
        _take_verb_options(ctx, kwargs)
        started = time.monotonic()
        _first_interrupt.clear()
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _on_interrupt)  # not where SIGINT is ignored (a `&` job)
        try:
            result = fn(ctx, *args, **kwargs)
            _say_time(ctx, started)
            return result
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: a usage error (exit 2) or an exit it was asked for
        except (Exception, KeyboardInterrupt) as exc:
            _fail(ctx, exc)
        finally:
            ctx._spans.close()
            if ctx._project is not None:
                ctx._project.close()

    for option in reversed(_VERB_OPTIONS):
        option(wrapper)
    return wrapper  # type: ignore[return-value]


def _fail(ctx: Ctx, exc: BaseException) -> NoReturn:
    """A verb that failed: one line and its exit code (a traceback only for a bug or with
    --debug)."""
    if isinstance(exc, GitArtifactsError):
        if ctx.debug:
            print_traceback(exc)
        echo(redact(f"error: {textsafe.line(str(exc))}"), err=True)
        sys.exit(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        # Every write is atomic (a temp file renamed, a ref moved once), so a rerun
        # picks up where this one stopped.
        if sys.stderr.isatty():  # a bar cut short as it was drawn: start a clean line
            sys.stderr.write("\r\x1b[K")
        echo(interrupted_line(sys.argv[1:]), err=True)
        sys.exit(130)
    if isinstance(exc, BrokenPipeError) and _stdout_gone():
        # `status | head`: the reader has all it wanted. Quiet, as git is, with the code
        # of a process a SIGPIPE ended.
        sys.exit(141)
    err = user_error(exc)  # no space, a file size limit, permissions, a bad state.db
    if err is None or ctx.debug:
        # A bug (or --debug): the traceback, and an exit code no check uses.
        print_traceback(exc)
        sys.exit(INTERNAL_ERROR if err is None else err.exit_code)
    echo(redact(f"error: {textsafe.line(str(err))}"), err=True)
    sys.exit(err.exit_code)


def _stdout_gone() -> bool:
    """Whether our standard output's reader has gone (a pipe with no reader polls as an
    error); then stdout is pointed at /dev/null so the flush at exit cannot fail again."""
    import select

    try:
        fd = sys.stdout.fileno()
        poll = select.poll()
        poll.register(fd, select.POLLOUT)
        gone = any(event & select.POLLERR for _, event in poll.poll(0))
    except (OSError, ValueError):
        return False
    if gone:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    return gone


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


# Every verb takes these after its name too (`push -q`); they add to the same options given
# before the verb.
_VERB_OPTIONS = (
    click.option("-q", "--quiet", "verb_quiet", is_flag=True, help="Print only errors."),
    click.option(
        "-v",
        "--verbose",
        "verb_verbose",
        count=True,
        help="Print more on stderr: the time taken, the remote's URL, digests.",
    ),
    click.option("--debug", "verb_debug", is_flag=True, help="Show tracebacks."),
    click.option("--no-color", "verb_no_color", is_flag=True, help="No colour."),
)


def _take_verb_options(ctx: Ctx, kwargs: dict[str, Any]) -> None:
    ctx.quiet = kwargs.pop("verb_quiet") or ctx.quiet
    ctx.verbose += kwargs.pop("verb_verbose")
    ctx.debug = kwargs.pop("verb_debug") or ctx.debug
    ctx.no_color = kwargs.pop("verb_no_color") or ctx.no_color


def _say_time(ctx: Ctx, started: float) -> None:
    here = click.get_current_context()
    if here.invoked_subcommand is None:  # a group (runs) leaves it to its subcommand
        verb = here.command_path.removeprefix("git-artifacts ")
        ctx.detail(f"{verb}: done in {time.monotonic() - started:.2f} s")


def print_traceback(exc: BaseException) -> None:
    """--debug: the traceback, with every secret-looking string masked like any message."""
    import traceback

    click.echo(redact("".join(traceback.format_exception(exc))).rstrip("\n"), err=True)


def print_json(data: Any) -> None:
    # Indented for a person at a terminal; compact (and C-fast) when piped to a program.
    indent = 2 if sys.stdout.isatty() else None
    # ensure_ascii: JSON escapes every control character itself, so JSON is never re-escaped.
    click.echo(json.dumps(data, indent=indent, default=str, ensure_ascii=True))
