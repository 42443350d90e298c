"""The verbs that write files from the cache: checkout, get, verify, pull."""

from __future__ import annotations

import sys

import click

from gitartifacts.cli import options
from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.core.textsafe import count, echo
from gitartifacts.ops import cachecap
from gitartifacts.ops import checkout as ops_checkout
from gitartifacts.ops import status as ops_status


@click.command()
@click.argument("specs", nargs=-1)
@options.LINK
@click.option("-f", "--force", is_flag=True, help="Overwrite local changes not saved anywhere.")
@options.ALLOW_CHANGED
@command
def checkout(
    ctx: Ctx, specs: tuple[str, ...], link: str | None, force: bool, allow_changed_references: bool
) -> None:
    """Make the workspace hold versions: all artifacts, NAME, or NAME:SPEC.

    NAME:SPEC also writes that version's manifest into .artifacts/ (and stages it).
    """
    project = ctx.project()
    with cachecap.capped(project) as said:
        rows = ops_checkout.checkout(
            project,
            specs,
            link=link,
            force=force,
            allow_changed_references=allow_changed_references,
            progress=ctx.progress(),
        )
    ctx.warn(said)
    for r in rows:
        v = f"v{r.version}" if r.version is not None else "uncommitted"
        ctx.say(f"{r.name} ({v}) at {r.path}: {r.written} written, {r.deleted} removed")


@click.command()
@click.argument("spec")
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(file_okay=False),
    help="Folder (default artifacts/NAME-vN).",
)
@click.option(
    "--link", type=click.Choice(["copy", "reflink", "hardlink", "symlink"]), default="copy"
)
@click.option(
    "-f", "--force", is_flag=True, help="Replace files there whose bytes are saved nowhere."
)
@click.option("--json", "as_json", is_flag=True)
@options.ALLOW_CHANGED
@command
def get(
    ctx: Ctx,
    spec: str,
    out: str | None,
    link: str,
    force: bool,
    as_json: bool,
    allow_changed_references: bool,
) -> None:
    """Download a version into a folder (never deletes files there)."""
    project = ctx.project()
    with cachecap.capped(project) as said:
        target, written = ops_checkout.get(
            project,
            spec,
            out,
            link=link,
            force=force,
            allow_changed_references=allow_changed_references,
            progress=ctx.progress(),
        )
    ctx.warn(said)
    if as_json:
        print_json({"path": target, "written": written})
    else:
        ctx.say(f"{spec} -> {target} ({count(written, 'file')} written)")


@click.command()
@click.argument("spec")
@click.option(
    "--root",
    type=click.Path(file_okay=False),
    help="Check this folder instead of the workspace path.",
)
@click.option("--json", "as_json", is_flag=True)
@command
def verify(ctx: Ctx, spec: str, root: str | None, as_json: bool) -> None:
    """Re-hash a version's cached objects and its files on disk; exit 1 on any problem."""
    r, problems = ops_status.verify(ctx.project(), spec, root)
    if as_json:
        print_json({"spec": spec, "ok": not problems, "problems": [p._asdict() for p in problems]})
    else:
        for p in problems:
            echo(f"{p.problem}: {p.path}")
        if not problems:
            ctx.say(f"{spec}: OK ({count(r.manifest.files, 'file')}, {r.manifest.digest[:19]})")
    if problems:
        sys.exit(1)


@click.command()
@click.argument("specs", nargs=-1)
@options.REMOTE
@options.JOBS
@options.LINK
@click.option("-f", "--force", is_flag=True, help="Overwrite local changes not saved anywhere.")
@options.ALLOW_CHANGED
@command
def pull(
    ctx: Ctx,
    specs: tuple[str, ...],
    remote_name: str | None,
    jobs: int,
    link: str | None,
    force: bool,
    allow_changed_references: bool,
) -> None:
    """fetch, then checkout."""
    project = ctx.project()
    with cachecap.capped(project) as said:
        fetched, rows = ops_checkout.pull(
            project,
            specs,
            remote_name=remote_name,
            jobs=jobs,
            link=link,
            force=force,
            allow_changed_references=allow_changed_references,
            progress=ctx.progress(),
        )
    ctx.warn(said)
    for m in fetched.messages:
        echo(m, err=True)
    ctx.detail_remote(fetched.remote)
    ctx.say(f"fetched {count(fetched.downloaded, 'object')} from {fetched.remote}")
    for r in rows:
        v = f"v{r.version}" if r.version is not None else "uncommitted"
        ctx.say(f"{r.name} ({v}) at {r.path}: {r.written} written, {r.deleted} removed")


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {
    "checkout": checkout,
    "get": get,
    "verify": verify,
    "pull": pull,
}
