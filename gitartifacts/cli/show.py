"""The read-only verbs: status, ls, log, show, diff."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.cli.terminal import Paint
from gitartifacts.core import diff as adiff
from gitartifacts.core import manifest as mf
from gitartifacts.core import textsafe
from gitartifacts.core.textsafe import count, echo
from gitartifacts.errors import ManifestError
from gitartifacts.ops import conflicts as ops_conflicts
from gitartifacts.ops import inspect as ops_inspect
from gitartifacts.ops import status as ops_status

_SHOWN_FILES = 20


@click.command()
@click.argument("names", nargs=-1)
@click.option("--check", "--exit-code", "check", is_flag=True, help="Exit 1 when anything differs.")
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
        sys.exit(ManifestError.exit_code)  # a manifest that cannot be read
    if check and any(not r.clean for r in rows):
        sys.exit(1)


def _print_status(ctx: Ctx, r: ops_status.ArtifactStatus, all_files: bool) -> None:
    head = f"{r.name} ({r.type}, {ops_status.label(r)})"
    if r.error:
        echo(f"error: {head}: {textsafe.line(r.error)}", err=True)
        return
    if r.clean:
        if not ctx.quiet:
            ctx.echo(Paint(head, "green"), ": up to date")
        return
    if r.conflict is not None:
        _print_conflict(ctx, r)
        return
    ctx.echo(Paint(head, "yellow", bold=True), ":")
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
            ctx.echo("  ", Paint(f"{label_}: {_in(r.path, f)}", _STATE_COLOURS[label_]))
        if len(files) > len(shown):
            echo(f"  ... and {len(files) - len(shown)} more {label_} (see --all-files)")
    for hint in ops_status.hints(r):
        echo(f"  {hint}")


_STATE_COLOURS = {"modified": "yellow", "added": "green", "deleted": "red"}


def _print_conflict(ctx: Ctx, r: ops_status.ArtifactStatus) -> None:
    rel = mf.manifest_path(r.name)
    ctx.echo(
        Paint(f"{r.name} ({r.type}): unmerged", "red", bold=True),
        ": the merge changed it differently on both sides",
    )
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
        return
    table = [_LS_HEADER] + [
        (
            r.name,
            r.type,
            r.version or ("uncommitted" if r.path else "-"),
            r.latest or "-",
            str(r.files),
            adiff.human_size(r.size),
            r.path or "",
        )
        for r in rows
    ]
    for line in _columns(table, right=(4, 5)):
        echo(line)


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "all_versions", is_flag=True, help="Deleted and expired versions too.")
@click.option(
    "-n", "--max-count", type=click.IntRange(0), metavar="N", help="Only the N newest versions."
)
@click.option("--oneline", is_flag=True, help="One line per version.")
@command
def log(
    ctx: Ctx, name: str, as_json: bool, all_versions: bool, max_count: int | None, oneline: bool
) -> None:
    """Versions of artifact NAME, newest first (not the deleted or expired ones, unless --all)."""
    rows = ops_inspect.log(ctx.project(), name, all_versions)[:max_count]
    if as_json:
        print_json([r._asdict() for r in rows])
        return
    if not rows and max_count != 0:
        ctx.say(f"{name} has no committed version yet (commit its manifest)")
    with ctx.pager():
        for r in rows:
            _print_version(ctx, r, oneline)


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
    with ctx.pager():
        _print_show(d, all_files)


def _print_show(d: dict[str, Any], all_files: bool) -> None:
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
    echo(f"{'size:':13}{adiff.human_size(d['size'])} in {count(d['files'], 'file')}")
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
@click.option("--exit-code", is_flag=True, help="Exit 1 when an artifact changed.")
@command
def diff(ctx: Ctx, a: str | None, b: str | None, fmt: str, as_json: bool, exit_code: bool) -> None:
    """Changes per artifact from A to B (revisions, ranges like main...HEAD, or NAME:SPEC).

    Default: HEAD against the manifests in the work tree.
    """
    rows = ops_inspect.diff(ctx.project(), a, b)
    if fmt == "markdown":
        from gitartifacts.review import markdown as review

        echo(review.to_markdown(rows), nl=False)
    elif as_json or fmt == "json":
        print_json([adiff.to_json(d) for d in rows])
    elif not rows:
        ctx.say("no artifact changes")
    else:
        with ctx.pager():
            for d in rows:
                for line in adiff.to_text(d).split("\n"):
                    ctx.echo(*_diff_line(line))
    if exit_code and any(d.changed for d in rows):
        sys.exit(1)


# ---------------------------------------------------------------- helpers

_LS_HEADER = ("NAME", "TYPE", "VERSION", "LATEST", "FILES", "SIZE", "PATH")
_DIFF_COLOURS = {"+": "green", "-": "red", "~": "yellow", ">": "cyan"}


def _columns(table: Sequence[Sequence[str]], right: tuple[int, ...] = ()) -> list[str]:
    """Rows as aligned columns two spaces apart (cells escaped first: their width is what
    the terminal shows); the columns in `right` aligned to the right, as numbers are."""
    cells = [[textsafe.line(c) for c in row] for row in table]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    out = []
    for row in cells:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(parts).rstrip())
    return out


def _print_version(ctx: Ctx, r: ops_inspect.VersionInfo, oneline: bool) -> None:
    names = ", ".join(r.aliases)
    marks: tuple[str | Paint, ...] = (" (", Paint(names, "green", bold=True), ")")
    aliases = marks if r.aliases else ()
    gone = (" ", Paint(f"[{r.gone}]", "red")) if r.gone else ()
    size = f"{count(r.files, 'file')}, {adiff.human_size(r.size)}"
    if oneline:
        ctx.echo(
            Paint(r.version, "yellow"), *aliases, *gone, f" {r.digest[:19]} {r.date[:10]} {size}"
        )
        return
    ctx.echo(Paint(r.version, "yellow"), *aliases, *gone)
    ctx.echo(f"    digest {r.digest}")
    ctx.echo(f"    commit {r.commit[:12]}  {r.date}")
    ctx.echo(f"    {size}")
    if r.tags:
        ctx.echo(f"    tags {', '.join(r.tags)}")


def _diff_line(line: str) -> tuple[str | Paint, ...]:
    mark = line[2:3] if line.startswith("  ") else ""
    if mark in _DIFF_COLOURS and line[3:4] == " ":
        return (Paint(line, _DIFF_COLOURS[mark]),)
    if not line.startswith(" "):
        return (Paint(line, "white", bold=True),)
    return (line,)


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
