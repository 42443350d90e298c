"""The merge driver verb git runs for manifests (hidden: installed by init, not typed)."""

from __future__ import annotations

import sys

import click

from gitartifacts.cli.context import Ctx, command
from gitartifacts.core import merge3, textsafe
from gitartifacts.core.textsafe import echo
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import merge as ops_merge


@click.command(name="merge-driver", hidden=True)
@click.argument("base")
@click.argument("ours")
@click.argument("theirs")
@click.argument("where")
@click.argument("marker_size", type=click.IntRange(3, 64), default=merge3.MARKER_SIZE)
@command
def merge_driver(ctx: Ctx, base: str, ours: str, theirs: str, where: str, marker_size: int) -> None:
    """Run by git as `merge-driver %O %A %B %P %L`: merge BASE, OURS and THEIRS into OURS.
    Exit 0 when clean, 1 with a conflict block written, 2 (OURS untouched) on bad input."""
    project = Project.open()
    try:
        result = ops_merge.run_driver(project, base, ours, theirs, where, marker_size)
    finally:
        project.close()
    if result.clean:
        return
    first = result.conflicts[0]
    more = f" and {len(result.conflicts) - 1} more" if len(result.conflicts) > 1 else ""
    echo(textsafe.line(f"gitartifacts: conflict in {where}: {first}{more}"), err=True)
    echo("gitartifacts: git artifacts status explains how to settle it", err=True)
    sys.exit(1)


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {"merge-driver": merge_driver}
