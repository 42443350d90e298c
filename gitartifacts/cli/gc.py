"""`gc`: remove cache objects that nothing keeps alive, locally or on a remote cache."""

from __future__ import annotations

import click

from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.errors import UsageError
from gitartifacts.ops import gc as ops_gc


@click.command()
@click.option("--dry-run", is_flag=True, help="Count what would go; remove nothing.")
@click.option("--all-commits", is_flag=True, help="Keep what any commit names (local cache).")
@click.option("--grace", metavar="DURATION", help="Keep objects younger than this (1h; 7d remote).")
@click.option("--remote", "remote_name", metavar="NAME", help="Collect this remote cache instead.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@command
def gc(
    ctx: Ctx,
    dry_run: bool,
    all_commits: bool,
    grace: str | None,
    remote_name: str | None,
    as_json: bool,
) -> None:
    """Remove objects that no version, alias, registry link, pin, staged part, branch or
    tag tip, work tree or index manifest names, and old temporary files. With --remote,
    remove the remote cache's objects that no ref published on the git remote names."""
    if remote_name is not None and all_commits:
        raise UsageError("--all-commits applies to the local cache", "leave out --remote")
    default = ops_gc.REMOTE_GRACE if remote_name is not None else ops_gc.LOCAL_GRACE
    seconds = ops_gc.parse_grace(grace) if grace is not None else default
    project = ctx.project()
    if remote_name is not None:
        from gitartifacts.ops import gc_remote

        done = gc_remote.collect_remote(project, remote_name, dry_run=dry_run, grace=seconds)
    else:
        done = ops_gc.collect_local(
            project, dry_run=dry_run, all_commits=all_commits, grace=seconds
        )
    if as_json:
        print_json(done._asdict())
        return
    verb = "would remove" if dry_run else "removed"
    line = f"{verb} {done.removed} objects, {done.bytes / (1 << 20):.1f} MiB; kept {done.kept}"
    if done.temporaries:
        line += f"; {verb} {done.temporaries} temporary files"
    ctx.say(line)


COMMANDS: dict[str, click.Command] = {"gc": gc}
