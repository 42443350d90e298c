"""`ui`: the local web view of this repository, read-only, on 127.0.0.1."""

from __future__ import annotations

import sys

import click

from gitartifacts.cli.context import Ctx, command
from gitartifacts.core.textsafe import echo
from gitartifacts.errors import UsageError


@click.command()
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port to listen on; 0: a free one."
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback shows the repository to the network.",
)
@click.option("--open", "open_", is_flag=True, help="Open the view in the web browser.")
@command
def ui(ctx: Ctx, port: int, host: str, open_: bool) -> None:
    """Browse artifacts, versions, files, diffs, lineage, runs and the registry in a web
    browser. Read-only; works offline; Ctrl-C stops it."""
    from gitartifacts.web.server import Server

    try:
        server = Server(None, host, port)  # opens the repository on a thread of its own
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}", "pick another --port"
        ) from None
    url = server.url
    echo(url)
    sys.stdout.flush()
    if open_:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


COMMANDS: dict[str, click.Command] = {"ui": ui}
