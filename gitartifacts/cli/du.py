"""`du`: the bytes of artifacts and versions, unique and shared, local and on a remote."""

from __future__ import annotations

import dataclasses

import click

from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.core.sizes import human_bytes
from gitartifacts.core.textsafe import echo
from gitartifacts.ops import du as ops_du


@click.command()
@click.argument("spec", required=False, metavar="[NAME[:SPEC]]")
@click.option("--remote", "remote_name", metavar="NAME", help="Also count what this remote holds.")
@click.option("--json", "as_json", is_flag=True, help="Print raw bytes as JSON.")
@command
def du(ctx: Ctx, spec: str | None, remote_name: str | None, as_json: bool) -> None:
    """Size per artifact and version: logical bytes, unique bytes (objects no other version
    shares), shared bytes, bytes in the local cache and, with --remote, on that remote.
    Deleted and expired versions are not counted. Sizes in binary units (1 KiB = 1024 B)."""
    done = ops_du.du(ctx.project(), spec, remote_name)
    if as_json:
        print_json(
            {
                "remote": done.remote,
                "versions": [dataclasses.asdict(u) for u in done.versions],
                "artifacts": [dataclasses.asdict(u) for u in done.artifacts],
                "total": dataclasses.asdict(done.total),
            }
        )
        return
    heads = ["ARTIFACT", "VERSION", "LOGICAL", "UNIQUE", "SHARED", "LOCAL"]
    if done.remote is not None:
        heads.append(f"ON {done.remote}")
    rows = [heads]
    for art in done.artifacts:
        mine = [_row(u, done.remote) for u in done.versions if u.name == art.name]
        rows += mine + ([_row(art, done.remote)] if len(mine) > 1 else [])
    rows.append(_row(done.total, done.remote))
    widths = [max(len(r[i]) for r in rows) for i in range(len(heads))]
    for r in rows:
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        echo("  ".join(cells).rstrip())


def _row(u: ops_du.Usage, remote: str | None) -> list[str]:
    label = "total" if not u.name else u.name
    version = f"v{u.version}" if u.version is not None else ("" if not u.name else "all")
    cells = [label, version, human_bytes(u.logical)]
    figures = [u.unique, u.shared, u.local] + ([u.remote] if remote is not None else [])
    return cells + [human_bytes(n) if n is not None else "-" for n in figures]


COMMANDS: dict[str, click.Command] = {"du": du}
