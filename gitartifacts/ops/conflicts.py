"""Manifests a merge left unmerged: each side read and checked, and the conflicts between
them worked out again, for `status` to explain and the merge driver to share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.core import merge3
from gitartifacts.core.names import is_artifact_name
from gitartifacts.errors import CacheError, GitArtifactsError, ManifestError
from gitartifacts.gitmodel.project import Project


class ManifestConflict(NamedTuple):
    """A manifest git left unmerged, and what conflicts in it."""

    name: str
    type: str  # ours' type, "?" when unknown
    path: str
    conflicts: list[str]  # one line per conflicting entry or field
    problem: str | None  # why the conflicts are not known (a side deleted it, unreadable)


def unmerged(project: Project) -> list[ManifestConflict]:
    """Manifests git left unmerged, each with its conflicts worked out again from the three
    versions git keeps in the index (so an edit of the file in between does not matter)."""
    out = project.repo.run("ls-files", "-u", "-z", "--", f"{mf.MANIFEST_DIR}/")
    stages: dict[str, dict[str, str]] = {}
    for record in filter(None, out.split("\0")):
        info, _, path = record.partition("\t")
        _, blob, stage = info.split()
        stages.setdefault(path, {})[{"1": "base", "2": "ours", "3": "theirs"}[stage]] = blob
    blobs = project.repo.cat_blobs(b for s in stages.values() for b in s.values())
    found = []
    for path, sides in sorted(stages.items()):
        name = path[len(mf.MANIFEST_DIR) + 1 :].removesuffix(".yaml")
        if not is_artifact_name(name):
            continue
        texts = {k: blobs.get(v) for k, v in sides.items()}
        found.append(_explain(project, name, path, texts))
    return found


def settle_hint(path: str) -> str:
    """How to settle the conflict of the manifest at `path`, in one line."""
    return (
        f"settle it: keep one side of the block in {path} (or git checkout --ours/--theirs "
        f"{path}, then git artifacts add the data), then git add {path}"
    )


def read_side(project: Project, data: bytes | None, source: str) -> mf.Manifest | None:
    """A manifest of a merge, checked, with its entries loaded; None for no text (no base)."""
    if not data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestError(f"{source}: not UTF-8 text", "restore it with git checkout") from None
    m = mparse.loads(text, source=source)  # conflict markers too: a nested merge's base
    try:
        project.load_entries(m)
    except CacheError as exc:
        raise CacheError(
            f"{source}: the listing {m.listing and m.listing[:19]} is not in the local cache",
            exc.fix,
        ) from None
    return m


# ---------------------------------------------------------------- helpers


def _explain(
    project: Project, name: str, path: str, texts: Mapping[str, bytes | None]
) -> ManifestConflict:
    if texts.get("ours") is None or texts.get("theirs") is None:
        gone = "ours" if texts.get("ours") is None else "theirs"
        return ManifestConflict(name, "?", path, [], f"the manifest was deleted on {gone}")
    try:
        sides = {k: read_side(project, v, f"{path} ({k})") for k, v in texts.items()}
        ours, theirs = sides["ours"], sides["theirs"]
        assert ours is not None and theirs is not None
        result = merge3.merge(sides.get("base"), ours, theirs)
        return ManifestConflict(name, ours.type, path, merge3.describe(result), None)
    except GitArtifactsError as exc:
        return ManifestConflict(name, "?", path, [], str(exc))
