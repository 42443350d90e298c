"""The verbs that write files from the cache: checkout, get, verify, pull."""

from __future__ import annotations

import sys

import click

from gitartifacts.cli import options
from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.core import manifest as mf
from gitartifacts.core.textsafe import count, echo
from gitartifacts.gitmodel.project import Project
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

    NAME:SPEC also writes that version's manifest into .artifacts/ and stages it; to look at
    a version without changing the branch, use git artifacts get NAME:SPEC -o DIR.
    """
    project = ctx.project()
    before = _pinned_before(project, specs)
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
    _say_rows(ctx, project, rows, before)


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
    before = _pinned_before(project, specs)
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
    _say_rows(ctx, project, rows, before)


def _pinned_before(project: Project, specs: tuple[str, ...]) -> dict[str, str | None]:
    """What the manifests of the artifacts named NAME:SPEC pin before they are rewritten."""
    return ops_status.pinned(project, [s.partition(":")[0] for s in specs if ":" in s])


def _say_rows(
    ctx: Ctx,
    project: Project,
    rows: list[ops_checkout.CheckoutResult],
    before: dict[str, str | None],
) -> None:
    """One line per artifact checked out; for one whose manifest now pins another version
    than HEAD's, what that means and how to undo it."""
    changed = ops_status.uncommitted(project, list(before)) if before else set()
    for r in rows:
        v = f"v{r.version}" if r.version is not None else "uncommitted"
        ctx.say(f"{r.name} ({v}) at {r.path}: {r.written} written, {r.deleted} removed")
        if r.name in changed and r.version is not None and before[r.name] != v:
            for line in _pinned_lines(r.name, v, before[r.name]):
                ctx.say(f"  {line}")


def _pinned_lines(name: str, version: str, previous: str | None) -> list[str]:
    """Say that the branch's manifest changed, how to undo it, and how to look without it."""
    manifest = mf.manifest_path(name)
    back = (
        f"to go back to {previous}: git artifacts checkout {name}:{previous}"
        if previous is not None
        else f"to go back: git checkout HEAD -- {manifest}, then git artifacts checkout {name}"
    )
    return [
        f"{manifest} now pins {version} (staged: commit it to keep {version} on this branch)",
        back,
        f"to look at a version without changing the branch: git artifacts get {name}:{version}"
        " -o DIR",
    ]


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {
    "checkout": checkout,
    "get": get,
    "verify": verify,
    "pull": pull,
}
