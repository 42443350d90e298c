"""Files saved with a run (W&B's `save`): matched by a glob, stored as content objects in
the cache and listed in the run record, so `push` carries them with the run."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel.project import Project

POLICIES = ("live", "now", "end")


class Pattern(NamedTuple):
    """One `save` call: files matching `glob` (absolute), named relative to `base`."""

    glob: str
    base: str
    policy: str


def pattern(glob_str: Any, base_path: Any, policy: str) -> Pattern | None:
    """W&B's rules: a relative glob is taken from the current folder; an absolute one
    without `base_path` keeps one folder level (`/a/run123/*.txt` saves `run123/...`). None
    for a cloud URL (nothing to save)."""
    if isinstance(glob_str, bytes):
        glob_str = glob_str.decode("utf-8")
    if not isinstance(glob_str, (str, os.PathLike)):
        raise UsageError("save needs a glob string", "e.g. save('*.txt')")
    glob_str = os.fspath(glob_str)
    if policy not in POLICIES:
        raise UsageError(
            'Only "live", "end" and "now" policies are currently supported.', f"got {policy!r}"
        )
    if glob_str.startswith(("gs://", "s3://")):
        print(f"{glob_str} is a cloud storage url, can't save file with the run.", file=sys.stderr)
        return None
    path = Path(glob_str)
    if base_path is not None:
        base = Path(os.path.abspath(base_path))
    elif path.is_absolute():
        base = path.parent.parent
    else:
        base = Path(os.path.abspath("."))
    full = Path(os.path.abspath(path))  # relative: from the current folder, as in W&B
    if ".." in path.parts or not full.is_relative_to(base):
        raise UsageError(
            f"glob {glob_str!r} is not inside the base path {str(base)!r}",
            "give a glob below base_path, without '..'",
        )
    return Pattern(str(full), str(base), policy)


def listing(
    project: Project, patterns: list[Pattern], policies: tuple[str, ...]
) -> list[dict[str, Any]]:
    """`{path, digest, size}` of each file the patterns of these policies match now, stored
    in the cache; a path saved twice keeps its last content."""
    out: dict[str, dict[str, Any]] = {}
    for p in patterns:
        if p.policy not in policies:
            continue
        for rel in matched(p):
            digest, size = project.cache.add_file(os.path.join(p.base, rel))
            out[rel] = {"path": rel, "digest": digest, "size": size}
    return [out[k] for k in sorted(out)]


def matched(p: Pattern) -> list[str]:
    """The names (relative to the base) of the regular files the pattern matches now."""
    found = []
    for name in sorted(glob.glob(p.glob, recursive=True)):
        if not os.path.isfile(name) or os.path.islink(name):
            continue
        rel = Path(name).relative_to(p.base).as_posix()
        found.append(mf.validate_entry_path(rel, "saved file"))
    return found
