"""`git artifacts`: the verb group, which loads a verb's module only when that verb runs."""

from __future__ import annotations

import importlib
import os
import signal
import sys

import click
from click.shell_completion import CompletionItem

from gitartifacts import __version__

# Each verb and the module that holds it: a verb's module (and what it imports) loads only
# when that verb runs, or for the full list of --help.
VERBS = {
    "init": "artifacts",
    "add": "artifacts",
    "alias": "artifacts",
    "edit": "edit",
    "delete": "delete",
    "status": "show",
    "ls": "show",
    "log": "show",
    "show": "show",
    "diff": "show",
    "checkout": "checkout",
    "get": "checkout",
    "verify": "checkout",
    "pull": "checkout",
    "remote": "remotes",
    "push": "remotes",
    "fetch": "remotes",
    "runs": "runs",
    "lineage": "runs",
    "run": "runs",
    "link": "runs",
    "validate": "review",
    "install-hooks": "review",
    "uninstall-hooks": "review",
    "hook": "review",
    "review": "review",
    "textconv": "review",
    "merge-driver": "merge",
    "gc": "gc",
    "du": "du",
    "project": "projects",
    "import": "projects",
    "update": "projects",
    "ui": "ui",
    "help": "help",
    "completion": "completion",
}


class _Main(click.Group):
    """The verb group, loading each verb from its module on first use."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = VERBS.get(cmd_name)
        if module is None:
            return None
        from gitartifacts.cli.completion import with_artifact_completion
        from gitartifacts.cli.help import with_summaries

        commands: dict[str, click.Command] = importlib.import_module(
            f"gitartifacts.cli.{module}"
        ).COMMANDS
        return with_summaries(with_artifact_completion(cmd_name, commands[cmd_name]))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(VERBS)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        from gitartifacts.cli.completion import verb_items  # TAB loads no verb's module

        return verb_items(self.list_commands(ctx), incomplete) + click.Command.shell_complete(
            self, ctx, incomplete
        )

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from gitartifacts.cli import help as help_  # the groups; -h loads every verb's module

        help_.format_commands(self, ctx, formatter)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.NoSuchOption as exc:
            # W&B names may start with '-': say how to pass one rather than only refuse it.
            if exc.option_name.startswith("--"):
                raise
            hint = f"No such option {exc.option_name!r} (a name starting with '-' goes after '--'"
            raise click.NoSuchOption(
                exc.option_name, f"{hint}, e.g. git artifacts log -- -x)", ctx=exc.ctx
            ) from None


def _exit_codes() -> str:
    from gitartifacts.errors import EXIT_CODES

    # \b: click keeps the lines of this paragraph as they are.
    return "\b\nExit codes:\n" + "\n".join(f"  {code:<4} {what}" for code, what in EXIT_CODES)


@click.group(
    cls=_Main, context_settings={"help_option_names": ["-h", "--help"]}, epilog=_exit_codes()
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors; no progress bars.")
@click.option("-v", "--verbose", count=True, help="Print more on stderr (time, remote, digests).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR, git's color.ui).")
@click.option("--no-pager", is_flag=True, help="Do not page log, diff and show.")
@click.option("-C", "directory", type=click.Path(file_okay=False), help="Run as if started in DIR.")
@click.version_option(__version__)
@click.pass_context
def main(
    ctx: click.Context,
    quiet: bool,
    verbose: int,
    debug: bool,
    no_color: bool,
    no_pager: bool,
    directory: str | None,
) -> None:
    """Versioned data and models in Git: artifacts, versions, aliases and lineage."""
    _two_malloc_arenas()
    if directory:
        try:
            os.chdir(directory)
        except OSError as exc:
            click.echo(
                f"error: cannot enter {directory}: {exc.strerror} (check the -C path)", err=True
            )
            sys.exit(2)
    from gitartifacts.cli.context import Ctx, print_traceback  # here: --version needs neither
    from gitartifacts.core import forked
    from gitartifacts.remote import watchdog

    ctx.obj = Ctx(quiet, debug, verbose, no_color, no_pager)
    # Past a file size limit (`ulimit -f`) the kernel kills the writer with SIGXFSZ, which
    # says nothing; ignored, the write fails with EFBIG instead and is reported as an error.
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    watchdog.EXIT_ON_STALL = True  # a thread stuck in a socket must not hold the exit
    forked.ALLOWED = True  # the command line owns its process: a checkout's writes may fork
    # An unexpected failure's traceback is masked like every other message.
    sys.excepthook = lambda _t, exc, _tb: print_traceback(exc)


def _two_malloc_arenas() -> None:
    """Cap glibc's malloc at two arenas for this process (before any worker thread starts).
    Each thread that contends for malloc otherwise gets an arena of its own, up to eight a
    core, and the blocks it frees stay there: a pull of a million small files, whose bytes
    pass through a pool of threads, ended with 40 MB more resident (peak 186 MiB, 149 MiB
    with two). Not glibc (musl, macOS): nothing to do."""
    if not sys.platform.startswith("linux"):
        return
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(-8, 2)  # M_ARENA_MAX
