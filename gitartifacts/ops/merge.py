"""The merge driver for manifests: its installation (by `init` and `install-hooks`) and the
driver git runs (`git artifacts merge-driver %O %A %B %P %L`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core import merge3, textsafe
from gitartifacts.core.fsio import write_atomic
from gitartifacts.errors import CacheError, ManifestError
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops.conflicts import read_side
from gitartifacts.ops.hooks import ATTRIBUTES, add_attributes_line, executable_for_shell

DRIVER = "artifacts"
ATTRIBUTES_LINE = f"{mf.MANIFEST_DIR}/*.yaml merge={DRIVER}"
_LABEL_LIMIT = 100


class DriverResult(NamedTuple):
    clean: bool
    conflicts: list[str]  # one line per conflicting entry or field


def install_driver(project: Project) -> list[str]:
    """`.gitattributes` routes manifests to our driver (written, left for the user to commit);
    this clone's git config names the driver. Idempotent. Returns what was done."""
    done = []
    if add_attributes_line(project, ATTRIBUTES_LINE):
        done.append(
            f"{ATTRIBUTES}: manifests merge entry by entry (commit it: "
            f"git add {ATTRIBUTES} && git commit)"
        )
    wanted = {
        f"merge.{DRIVER}.name": "gitartifacts: three-way merge of artifact manifests",
        f"merge.{DRIVER}.driver": f"{executable_for_shell()} merge-driver %O %A %B %P %L",
    }
    changed = False
    for key, value in wanted.items():
        if project.repo.config_get(key) != value:
            project.repo.config_set(key, value)
            changed = True
    if changed:
        done.append("git merge now merges manifests entry by entry (merge driver installed)")
    return done


def run_driver(
    project: Project,
    base: str,
    ours: str,
    theirs: str,
    where: str,
    marker_size: int = merge3.MARKER_SIZE,
) -> DriverResult:
    """Merge the three files git gives into `ours`: the merged manifest, or one conflict
    block. Every side is read and checked before `ours` is written, so a bad side leaves it
    exactly as it was."""
    labels = _labels(project)
    sides = {
        "base": _read_side(project, base, "base", where, labels),
        "ours": _read_side(project, ours, "ours", where, labels),
        "theirs": _read_side(project, theirs, "theirs", where, labels),
    }
    o, t = sides["ours"], sides["theirs"]
    if o is None or t is None:
        raise ManifestError(
            f"{where}: the {'ours' if o is None else 'theirs'} side is empty",
            "restore the manifest on that branch, or settle the merge by hand",
        )
    result = merge3.merge(sides["base"], o, t)
    if result.clean:
        text = project.manifest_bytes(result.ours).decode()
    else:
        text = merge3.conflict_block(
            result,
            project.manifest_bytes(result.ours).decode(),
            project.manifest_bytes(result.theirs).decode(),
            f"ours ({labels['ours']})",
            f"theirs ({labels['theirs']})" if labels["theirs"] else "theirs",
            where,
            marker_size,
        )
    write_atomic(Path(ours), text.encode())
    return DriverResult(result.clean, merge3.describe(result))


# ---------------------------------------------------------------- helpers


def _read_side(
    project: Project, file: str, which: str, where: str, labels: Mapping[str, str]
) -> mf.Manifest | None:
    """One side's manifest with its entries loaded; None for an empty file (no base)."""
    try:
        data = Path(file).read_bytes()
    except FileNotFoundError:
        return None
    try:
        m = read_side(project, data, f"{where} ({which})")
    except CacheError as exc:
        rev = labels.get(which) if which != "base" else None
        spec = f"{rev}:{_stem(where)}" if rev else _stem(where)
        raise CacheError(
            exc.message, f"run git artifacts fetch {spec} first, then merge again"
        ) from None
    return m


def _labels(project: Project) -> dict[str, str]:
    """Branch names for the two sides: ours is the checked-out branch; theirs comes from the
    `GITHEAD_<commit>` variables git sets for the commits being merged."""
    head = project.repo.rev_parse("HEAD")
    branch = project.repo.run("symbolic-ref", "--short", "-q", "HEAD", check=False).strip()
    theirs = [
        v for k, v in sorted(os.environ.items()) if k.startswith("GITHEAD_") and k[8:] != head
    ]
    return {"ours": _label(branch or "HEAD"), "theirs": _label(", ".join(theirs))}


def _label(text: str) -> str:
    return textsafe.line(text)[:_LABEL_LIMIT]


def _stem(where: str) -> str:
    return os.path.basename(where).removesuffix(".yaml")
