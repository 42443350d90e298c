"""`gc`: remove cache objects that nothing keeps alive, locally or on a remote cache."""

from __future__ import annotations

import click

from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.core.textsafe import count
from gitartifacts.errors import UsageError
from gitartifacts.ops import gc as ops_gc


@click.command()
@click.option("--dry-run", is_flag=True, help="Count what would go; remove nothing.")
@click.option("--all-commits", is_flag=True, help="Keep what any commit names (local cache).")
@click.option("--grace", metavar="DURATION", help="Keep objects younger than this (1h; 7d remote).")
@click.option(
    "--remote",
    "remote_name",
    metavar="NAME",
    help="Collect this remote cache instead (--cache-only: the remote that must hold it).",
)
@click.option(
    "--cache-only",
    is_flag=True,
    help="Evict least recently used objects the remote holds, down to --to or the cap.",
)
@click.option("--to", "to", metavar="SIZE", help="With --cache-only: the size (50G, 500M).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@command
def gc(
    ctx: Ctx,
    dry_run: bool,
    all_commits: bool,
    grace: str | None,
    remote_name: str | None,
    cache_only: bool,
    to: str | None,
    as_json: bool,
) -> None:
    """Remove objects that no version, alias, registry link, pin, staged part, branch or
    tag tip, work tree or index manifest names, and old temporary files. With --remote,
    remove the remote cache's objects that no ref published on the git remote names.

    With --cache-only, evict from the local cache the least recently used objects that the
    remote (the default, or --remote) holds, until it is under --to SIZE or
    `git config artifacts.cacheSize` (units K, M, G, T are powers of 1024)."""
    if cache_only or to is not None:
        _cap(ctx, cache_only, to, remote_name, dry_run, all_commits or grace is not None, as_json)
        return
    if remote_name is not None and all_commits:
        raise UsageError("--all-commits applies to the local cache", "leave out --remote")
    default = ops_gc.REMOTE_GRACE if remote_name is not None else ops_gc.LOCAL_GRACE
    seconds = ops_gc.parse_grace(grace) if grace is not None else default
    project = ctx.project()
    ctx.detail(f"gc: keeping objects younger than {seconds:g} s")
    if remote_name is not None:
        ctx.detail_remote(remote_name)
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
    line = f"{verb} {count(done.removed, 'object')}, {done.bytes / (1 << 20):.1f} MiB"
    line += f"; kept {done.kept}"
    if done.temporaries:
        line += f"; {verb} {count(done.temporaries, 'temporary file')}"
    ctx.say(line)


def _cap(
    ctx: Ctx,
    cache_only: bool,
    to: str | None,
    remote_name: str | None,
    dry_run: bool,
    gc_options: bool,
    as_json: bool,
) -> None:
    from gitartifacts.core.sizes import parse_size
    from gitartifacts.ops import cachecap
    from gitartifacts.settings import CACHE_SIZE_KEY

    if not cache_only:
        raise UsageError("--to applies to the cache cap", "add --cache-only")
    if gc_options:
        raise UsageError("--all-commits and --grace apply to gc, not to --cache-only", "drop them")
    project = ctx.project()
    limit = parse_size(to, "--to") if to is not None else cachecap.configured_limit(project)
    if limit is None:
        raise UsageError(
            "gc --cache-only needs a size", f"pass --to 50G or set git config {CACHE_SIZE_KEY} 50G"
        )
    done = cachecap.evict_to(project, limit, remote_name=remote_name, dry_run=dry_run)
    if as_json:
        print_json(done._asdict())
    else:
        ctx.say(cachecap.describe(done, "--to" if to is not None else CACHE_SIZE_KEY))


COMMANDS: dict[str, click.Command] = {"gc": gc}
