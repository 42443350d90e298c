"""`delete`: remove versions (an event in the notes; the number is never used again)."""

from __future__ import annotations

import click

from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.ops import delete as ops_delete


@click.command()
@click.argument("specs", nargs=-1, metavar="NAME:vN...")
@click.option("--delete-aliases", is_flag=True, help="Also remove the versions' aliases.")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@command
def delete(
    ctx: Ctx, specs: tuple[str, ...], delete_aliases: bool, dry_run: bool, as_json: bool
) -> None:
    """Delete versions NAME:vN (or NAME:ALIAS). A version with aliases is refused unless
    --delete-aliases. The deletion is pushed with `git artifacts push`, and every clone
    honours it after `git artifacts fetch`; its content goes at the next gc."""
    done = ops_delete.delete(ctx.project(), specs, delete_aliases, dry_run)
    if as_json:
        print_json([{**d._asdict(), "version": f"v{d.version}", "dry_run": dry_run} for d in done])
        return
    verb = "would delete" if dry_run else "deleted"
    for d in done:
        gone = f" (aliases removed: {', '.join(d.aliases)})" if d.aliases else ""
        ctx.say(f"{verb} {d.name}:v{d.version}{gone}")


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {"delete": delete}
