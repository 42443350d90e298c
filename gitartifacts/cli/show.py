"""The read-only verbs: status, ls, log, show, diff."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.core import diff as adiff
from gitartifacts.core import manifest as mf
from gitartifacts.core import textsafe
from gitartifacts.core.textsafe import echo
from gitartifacts.ops import conflicts as ops_conflicts
from gitartifacts.ops import inspect as ops_inspect
from gitartifacts.ops import status as ops_status

_SHOWN_FILES = 20


@click.command()
@click.argument("names", nargs=-1)
@click.option("--check", is_flag=True, help="Exit 1 when anything differs.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-a", "--all-files", is_flag=True, help="List every changed file.")
@command
def status(ctx: Ctx, names: tuple[str, ...], check: bool, as_json: bool, all_files: bool) -> None:
    """Workspace and manifests against the committed versions."""
    rows = ops_status.status(ctx.project(), names, ctx.progress())
    if as_json:
        print_json([{**r._asdict(), "clean": r.clean} for r in rows])
    else:
        if not rows:
            ctx.say(
                "no artifacts yet (add one with git artifacts add PATH --name NAME --type TYPE)"
            )
        for r in rows:
            _print_status(ctx, r, all_files)
            if r.source_moved and not r.error:
                echo(f"  {r.source_moved}")
    if any(r.error for r in rows):
        sys.exit(2)
    if check and any(not r.clean for r in rows):
        sys.exit(1)


def _print_status(ctx: Ctx, r: ops_status.ArtifactStatus, all_files: bool) -> None:
    head = f"{r.name} ({r.type}, {ops_status.label(r)})"
    if r.error:
        echo(f"error: {head}: {textsafe.line(r.error)}", err=True)
        return
    if r.clean:
        ctx.say(f"{head}: up to date")
        return
    if r.conflict is not None:
        _print_conflict(r)
        return
    echo(f"{head}:")
    if r.manifest != "committed":
        hints = {
            "new": "manifest not committed (git commit it)",
            "staged": "manifest staged, not committed (git commit it)",
            "modified": "manifest modified, not committed (git add and commit it)",
            "deleted": "manifest deleted",
        }
        echo(f"  {hints[r.manifest]}")
    for label_, files in (("modified", r.modified), ("added", r.added), ("deleted", r.deleted)):
        shown = files if all_files else files[:_SHOWN_FILES]
        for f in shown:
            echo(f"  {label_}: {_in(r.path, f)}")
        if len(files) > len(shown):
            echo(f"  ... and {len(files) - len(shown)} more {label_} (see --all-files)")
    for hint in ops_status.hints(r):
        echo(f"  {hint}")


def _print_conflict(r: ops_status.ArtifactStatus) -> None:
    rel = mf.manifest_path(r.name)
    echo(f"{r.name} ({r.type}): unmerged: the merge changed it differently on both sides")
    for line in r.conflict or []:
        echo(f"  conflict: {textsafe.line(line)}")
    echo(f"  ({ops_conflicts.settle_hint(rel)})")


# ---------------------------------------------------------------- ls, log, show


@click.command(name="ls")
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--expiring", metavar="DURATION", help="Versions whose TTL runs out within DURATION (7d)."
)
@command
def ls_(ctx: Ctx, as_json: bool, expiring: str | None) -> None:
    """List the artifacts of this repository, or with --expiring the versions that expire soon."""
    if expiring is not None:
        _print_expiring(ctx, expiring, as_json)
        return
    rows = ops_inspect.ls(ctx.project())
    if as_json:
        print_json([r._asdict() for r in rows])
        return
    if not rows:
        ctx.say("no artifacts yet")
    for r in rows:
        v = r.version or ("uncommitted" if r.path else "-")
        latest = f"latest {r.latest}" if r.latest is not None else "no versions"
        echo(
            f"{r.name:24} {r.type:12} {v:12} {latest:14} {r.files:>8} files"
            f" {adiff.human_size(r.size):>10}  {r.path or ''}"
        )


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "all_versions", is_flag=True, help="Deleted and expired versions too.")
@command
def log(ctx: Ctx, name: str, as_json: bool, all_versions: bool) -> None:
    """Versions of artifact NAME, newest first (not the deleted or expired ones, unless --all)."""
    rows = ops_inspect.log(ctx.project(), name, all_versions)
    if as_json:
        print_json([r._asdict() for r in rows])
        return
    if not rows:
        ctx.say(f"{name} has no committed version yet (commit its manifest)")
    for r in rows:
        aliases = f" ({', '.join(r.aliases)})" if r.aliases else ""
        aliases += f" [{r.gone}]" if r.gone else ""
        tags = f"\n    tags {', '.join(r.tags)}" if r.tags else ""
        echo(
            f"{r.version}{aliases}\n    digest {r.digest}\n    commit {r.commit[:12]}  {r.date}"
            f"\n    {r.files} files, {adiff.human_size(r.size)}{tags}"
        )


@click.command()
@click.argument("spec")
@click.option("--json", "as_json", is_flag=True)
@click.option("-a", "--all-files", is_flag=True, help="List every entry.")
@click.option("--history", is_flag=True, help="The version's edits and alias moves, in order.")
@command
def show(ctx: Ctx, spec: str, as_json: bool, all_files: bool, history: bool) -> None:
    """Details of one version: NAME, NAME:vN, NAME:ALIAS, NAME:DIGEST or REV:NAME."""
    if history:
        _print_history(ctx, spec, as_json)
        return
    d = ops_inspect.show(ctx.project(), spec)
    if as_json:
        print_json(d)
        return
    entries = d.pop("entries")
    for key in (
        "name",
        "type",
        "version",
        "aliases",
        "tags",
        "commit",
        "digest",
        "description",
        "path",
        "ttl",
    ):
        value = d.get(key)
        if value not in (None, [], ""):
            text = ", ".join(value) if isinstance(value, list) else str(value)
            # One line per field: a newline in a description must not forge the next field.
            echo(f"{key + ':':13}{textsafe.line(text)}")
    if d["metadata"]:
        echo(f"{'metadata:':13}{json.dumps(d['metadata'], sort_keys=True)}")
    echo(f"{'size:':13}{adiff.human_size(d['size'])} in {d['files']} files")
    items = list(entries.items())
    shown = items if all_files else items[:_SHOWN_FILES]
    for p, e in shown:
        echo(f"  {p}  {e['size']}  {textsafe.line(e['ref'] or e['digest'][:19])}")
    if len(items) > len(shown):
        echo(f"  ... and {len(items) - len(shown)} more (see --all-files)")


# ---------------------------------------------------------------- diff


@click.command()
@click.argument("a", required=False)
@click.argument("b", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@command
def diff(ctx: Ctx, a: str | None, b: str | None, fmt: str, as_json: bool) -> None:
    """Changes per artifact from A to B (revisions, ranges like main...HEAD, or NAME:SPEC).

    Default: HEAD against the manifests in the work tree.
    """
    rows = ops_inspect.diff(ctx.project(), a, b)
    if fmt == "markdown":
        from gitartifacts.review import markdown as review

        echo(review.to_markdown(rows), nl=False)
        return
    if as_json or fmt == "json":
        print_json([adiff.to_json(d) for d in rows])
        return
    if not rows:
        ctx.say("no artifact changes")
    for d in rows:
        echo(adiff.to_text(d))


# ---------------------------------------------------------------- helpers


def _print_expiring(ctx: Ctx, within: str, as_json: bool) -> None:
    rows = ops_inspect.expiring(ctx.project(), within)
    if as_json:
        print_json([r._asdict() for r in rows])
        return
    if not rows:
        ctx.say(f"no version expires within {within}")
    for r in rows:
        echo(f"{r.name}:{r.version:8} expires {r.expires}  (ttl {r.ttl})")


def _print_history(ctx: Ctx, spec: str, as_json: bool) -> None:
    from gitartifacts.ops import edit as ops_edit

    events = ops_edit.history(ctx.project(), spec)
    if as_json:
        print_json([{"time": _when(e.t), **e.record} for e in events])
        return
    if not events:
        ctx.say(f"{spec}: no edits or alias moves recorded")
    for e in events:
        echo(f"{_when(e.t)}  {textsafe.line(e.who or '?')}  {textsafe.line(_what(e.record))}")


def _when(t: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t / 1e9, dt.timezone.utc).isoformat(timespec="seconds")


def _what(rec: dict[str, Any]) -> str:
    """One event as a line: what it changed, not how it is stored."""
    if rec["ev"] == "alias":
        was = f" (was {rec['from']})" if rec.get("from") else ""
        to = rec.get("to")
        return f"alias {rec['alias']} " + (f"-> {to}{was}" if to else f"removed{was}")
    parts = []
    if "description" in rec:
        parts.append(f"description {json.dumps(rec['description'], ensure_ascii=False)}")
    if "metadata" in rec:
        sets = [f"{k}={json.dumps(v, sort_keys=True)}" for k, v in rec["metadata"]["set"].items()]
        unsets = [f"unset {k}" for k in rec["metadata"]["unset"]]
        parts.append("metadata " + " ".join(sets + unsets))
    if "tags" in rec:
        parts.append("tags [" + ", ".join(rec["tags"]) + "]")
    if "ttl" in rec:
        parts.append(f"ttl {rec['ttl'] or 'none'}")
    return f"edit {rec['version']}: " + "; ".join(parts)


def _in(path: str | None, rel: str) -> str:
    return rel if path in (None, ".", "") else f"{path}/{rel}"


# The verbs of this module, for the group in cli/main.py.
COMMANDS: dict[str, click.Command] = {
    "status": status,
    "ls": ls_,
    "log": log,
    "show": show,
    "diff": diff,
}
