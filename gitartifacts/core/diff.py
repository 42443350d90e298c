"""What changed between two versions of an artifact, file by file (pure functions)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, NamedTuple

from gitartifacts.core import manifest as mf


class Change(NamedTuple):
    path: str
    old_path: str | None  # renames only
    old_size: int | None
    new_size: int | None
    old_digest: str | None
    new_digest: str | None
    old_ref: str | None = None  # the URI of a reference entry
    new_ref: str | None = None

    @property
    def is_reference(self) -> bool:
        return self.old_ref is not None or self.new_ref is not None


class ArtifactDiff(NamedTuple):
    name: str
    old_label: str | None  # "v3", a commit, "work tree"; None when the artifact is new
    new_label: str | None  # None when the artifact was removed
    old_digest: str | None
    new_digest: str | None
    added: list[Change]
    removed: list[Change]
    modified: list[Change]
    renamed: list[Change]
    fields: dict[str, tuple[Any, Any]]  # description, metadata.<key>, type, ttl, path
    old_files: int
    new_files: int
    old_size: int
    new_size: int

    @property
    def changed(self) -> bool:
        return self.old_digest != self.new_digest or bool(self.fields)


def diff_manifests(
    old: mf.Manifest | None,
    new: mf.Manifest | None,
    old_label: str | None = None,
    new_label: str | None = None,
) -> ArtifactDiff:
    base = old or new
    assert base is not None
    a = (old.entries or {}) if old else {}
    b = (new.entries or {}) if new else {}
    added = [p for p in b if p not in a]
    removed = [p for p in a if p not in b]
    modified = [
        Change(p, None, a[p].size, b[p].size, a[p].digest, b[p].digest, a[p].ref, b[p].ref)
        for p in b
        if p in a and (a[p].digest != b[p].digest or a[p].ref != b[p].ref)
    ]
    renamed, added, removed = _pair_renames(a, b, added, removed)
    return ArtifactDiff(
        name=base.name,
        old_label=old_label if old else None,
        new_label=new_label if new else None,
        old_digest=old.digest if old else None,
        new_digest=new.digest if new else None,
        added=[Change(p, None, None, b[p].size, None, b[p].digest, None, b[p].ref) for p in added],
        removed=[
            Change(p, None, a[p].size, None, a[p].digest, None, a[p].ref, None) for p in removed
        ],
        modified=modified,
        renamed=renamed,
        fields=_field_changes(old, new),
        old_files=len(a),
        new_files=len(b),
        old_size=old.size if old else 0,
        new_size=new.size if new else 0,
    )


def _pair_renames(
    a: dict[str, mf.Entry], b: dict[str, mf.Entry], added: list[str], removed: list[str]
) -> tuple[list[Change], list[str], list[str]]:
    """A removed path and an added path with the same digest are one rename."""
    by_digest: dict[str, list[str]] = defaultdict(list)
    for p in removed:
        by_digest[a[p].digest].append(p)
    renamed = []
    still_added = []
    paired: set[str] = set()
    for p in added:
        olds = by_digest.get(b[p].digest)
        if olds:
            old = olds.pop(0)
            paired.add(old)
            renamed.append(
                Change(
                    p, old, a[old].size, b[p].size, a[old].digest, b[p].digest, a[old].ref, b[p].ref
                )
            )
        else:
            still_added.append(p)
    return renamed, still_added, [p for p in removed if p not in paired]


def _field_changes(old: mf.Manifest | None, new: mf.Manifest | None) -> dict[str, tuple[Any, Any]]:
    if old is None or new is None:
        return {}
    out: dict[str, tuple[Any, Any]] = {}
    for key in ("type", "description", "path", "ttl"):
        if getattr(old, key) != getattr(new, key):
            out[key] = (getattr(old, key), getattr(new, key))
    for key in sorted(set(old.metadata) | set(new.metadata)):
        if old.metadata.get(key) != new.metadata.get(key):
            out[f"metadata.{key}"] = (old.metadata.get(key), new.metadata.get(key))
    return out


def to_json(d: ArtifactDiff) -> dict[str, Any]:
    return {
        "name": d.name,
        "old": {
            "label": d.old_label,
            "digest": d.old_digest,
            "files": d.old_files,
            "size": d.old_size,
        },
        "new": {
            "label": d.new_label,
            "digest": d.new_digest,
            "files": d.new_files,
            "size": d.new_size,
        },
        "added": [{"path": c.path, "size": c.new_size, "digest": c.new_digest} for c in d.added],
        "removed": [
            {"path": c.path, "size": c.old_size, "digest": c.old_digest} for c in d.removed
        ],
        "modified": [
            {
                "path": c.path,
                "old_size": c.old_size,
                "new_size": c.new_size,
                "old_digest": c.old_digest,
                "new_digest": c.new_digest,
            }
            for c in d.modified
        ],
        "renamed": [{"from": c.old_path, "to": c.path, "size": c.new_size} for c in d.renamed],
        "fields": {k: {"old": o, "new": n} for k, (o, n) in d.fields.items()},
    }


def to_text(d: ArtifactDiff, limit: int | None = 50) -> str:
    head = f"{d.name}: {d.old_label or '(new)'} -> {d.new_label or '(removed)'}"
    delta = d.new_size - d.old_size
    lines = [
        f"{head}  ({d.old_files} -> {d.new_files} files, "
        f"{d.old_size} -> {d.new_size} bytes, {delta:+d})"
    ]
    rows = (
        [f"  + {c.path} ({c.new_size} B)" for c in d.added]
        + [f"  - {c.path} ({c.old_size} B)" for c in d.removed]
        + [f"  ~ {c.path} ({c.old_size} B -> {c.new_size} B)" for c in d.modified]
        + [f"  > {c.old_path} -> {c.path}" for c in d.renamed]
    )
    shown = rows if limit is None else rows[:limit]
    lines += shown
    if len(rows) > len(shown):
        lines.append(f"  ... and {len(rows) - len(shown)} more changes")
    lines += [f"  {k}: {o!r} -> {n!r}" for k, (o, n) in d.fields.items()]
    if not d.changed:
        lines.append("  no changes")
    return "\n".join(lines)


def human_size(n: int | None) -> str:
    """Bytes in decimal units as people read them: `930 B`, `1.5 kB`, `2.0 GB`; `-` for None."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"
