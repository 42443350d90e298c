"""Three-way merge of two versions of one manifest against their common base (pure).

Entries and metadata keys merge one by one: a change made on one side only is taken, the
same change on both sides is taken once, different changes on both sides are a conflict.
Description, path and ttl merge the same way as whole values; a differing name or type is
always a conflict. A conflict leaves two complete candidates, each the clean merge plus one
side's values for what conflicts, so a person settles it by keeping one of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core import textsafe
from gitartifacts.core.diff import human_size

MARKER_SIZE = 7
_MARKER_RE = re.compile(r"^(?:<{7,}|={7,}|>{7,})(?: |$)", re.MULTILINE)
# The conflict block names at most this many conflicts; `git artifacts status` names all.
SHOWN_CONFLICTS = 50
_ABSENT: Any = object()  # a metadata key, entry or field one side does not have


class EntryConflict(NamedTuple):
    """One entry changed differently on both sides (None: absent on that side)."""

    path: str
    base: mf.Entry | None
    ours: mf.Entry | None
    theirs: mf.Entry | None


class FieldConflict(NamedTuple):
    """A field (`type`, `description`, `metadata.<key>`, ...) changed differently on both
    sides; `None` stands for a field or key a side does not have."""

    key: str
    ours: Any
    theirs: Any


class MergeResult(NamedTuple):
    """The merged manifest (`ours` and `theirs` are equal when clean), and the conflicts."""

    ours: mf.Manifest
    theirs: mf.Manifest
    entries: list[EntryConflict]
    fields: list[FieldConflict]

    @property
    def clean(self) -> bool:
        return not self.entries and not self.fields


def merge(base: mf.Manifest | None, ours: mf.Manifest, theirs: mf.Manifest) -> MergeResult:
    """Merge `ours` and `theirs` (entries loaded) against `base` (None: both sides added it)."""
    empty: dict[str, mf.Entry] = {}
    b_entries = base.entries if base is not None and base.entries is not None else empty
    o_entries, t_entries = _loaded(ours), _loaded(theirs)
    merged_o: dict[str, mf.Entry] = {}
    merged_t: dict[str, mf.Entry] = {}
    entry_conflicts = []
    for path in sorted(set(o_entries) | set(t_entries) | set(b_entries), key=str.encode):
        b, o, t = (m.get(path, _ABSENT) for m in (b_entries, o_entries, t_entries))
        o_pick, t_pick = _pick(b, o, t)
        if o_pick is not _ABSENT:
            merged_o[path] = o_pick
        if t_pick is not _ABSENT:
            merged_t[path] = t_pick
        if o_pick != t_pick:
            entry_conflicts.append(EntryConflict(path, *(_none(x) for x in (b, o, t))))
    fields_o, fields_t, field_conflicts = _merge_fields(base, ours, theirs)
    return MergeResult(
        _candidate(fields_o, merged_o),
        _candidate(fields_t, merged_t),
        entry_conflicts,
        field_conflicts,
    )


def conflict_block(
    result: MergeResult,
    ours_text: str,
    theirs_text: str,
    ours_label: str,
    theirs_label: str,
    where: str,
    marker_size: int = MARKER_SIZE,
) -> str:
    """The text of an unsettled merge: comment lines naming every conflict (up to a limit),
    then git-style markers around the two complete candidates."""
    where = textsafe.line(where)  # git's path for it: a newline would end a comment line
    lines = describe(result)
    shown = lines[:SHOWN_CONFLICTS]
    if len(lines) > len(shown):
        shown.append(f"... and {len(lines) - len(shown)} more (see git artifacts status)")
    head = [
        f"# gitartifacts: merge conflict in {where}: {_count(result)} changed differently on "
        "both sides.",
        "# Each side below is the whole merged manifest with that side's values for them.",
        f"# Keep one side, delete the other and the marker lines, then: git add {where}",
        # Paths and values came through git: a line separator in one would end the comment.
        *(f"#   {textsafe.line(line)}" for line in shown),
    ]
    return "".join(
        [
            "\n".join(head) + "\n",
            f"{'<' * marker_size} {ours_label}\n",
            ours_text,
            f"{'=' * marker_size}\n",
            theirs_text,
            f"{'>' * marker_size} {theirs_label}\n",
        ]
    )


def describe(result: MergeResult) -> list[str]:
    """One line per conflict: the entry with both digests (short) and sizes, or the field."""
    out = [
        f"{c.path}: ours {_entry(c.ours)}, theirs {_entry(c.theirs)}, base {_entry(c.base)}"
        for c in result.entries
    ]
    out += [f"{c.key}: ours {_value(c.ours)}, theirs {_value(c.theirs)}" for c in result.fields]
    return out


def conflict_marker_line(text: str) -> int | None:
    """The 1-based line of the first git conflict marker in `text`, or None."""
    found = _MARKER_RE.search(text)
    return text.count("\n", 0, found.start()) + 1 if found else None


# ---------------------------------------------------------------- helpers


def _loaded(m: mf.Manifest) -> dict[str, mf.Entry]:
    if m.entries is None:
        raise ValueError(f"the entries of {m.name} are not loaded")
    return m.entries


def _pick(b: Any, o: Any, t: Any) -> tuple[Any, Any]:
    """What each candidate takes for one value: the change of the side that changed it;
    both sides' own values when both changed it differently."""
    if o == t or t == b:
        return o, o
    if o == b:
        return t, t
    return o, t


def _none(value: Any) -> Any:
    return None if value is _ABSENT else value


def _merge_fields(
    base: mf.Manifest | None, ours: mf.Manifest, theirs: mf.Manifest
) -> tuple[dict[str, Any], dict[str, Any], list[FieldConflict]]:
    """Description, path, ttl and metadata key by key, three-way; name and type two-way."""
    out_o: dict[str, Any] = {"metadata": {}}
    out_t: dict[str, Any] = {"metadata": {}}
    conflicts = []
    for key in ("name", "type"):
        out_o[key], out_t[key] = getattr(ours, key), getattr(theirs, key)
        if out_o[key] != out_t[key]:
            conflicts.append(FieldConflict(key, out_o[key], out_t[key]))
    for key in ("description", "path", "ttl"):
        b = getattr(base, key) if base is not None else None
        out_o[key], out_t[key] = _pick(b, getattr(ours, key), getattr(theirs, key))
        if out_o[key] != out_t[key]:
            conflicts.append(FieldConflict(key, out_o[key], out_t[key]))
    b_meta: Mapping[str, Any] = base.metadata if base is not None else {}
    for key in sorted(set(b_meta) | set(ours.metadata) | set(theirs.metadata)):
        o, t = _pick(*(m.get(key, _ABSENT) for m in (b_meta, ours.metadata, theirs.metadata)))
        if o is not _ABSENT:
            out_o["metadata"][key] = o
        if t is not _ABSENT:
            out_t["metadata"][key] = t
        if o != t:
            conflicts.append(FieldConflict(f"metadata.{key}", _none(o), _none(t)))
    return out_o, out_t, conflicts


def _candidate(fields: dict[str, Any], entries: Mapping[str, mf.Entry]) -> mf.Manifest:
    """A complete manifest: digest, size and file count computed for these entries."""
    return mf.build(
        fields["name"],
        fields["type"],
        entries,
        description=fields["description"],
        metadata=fields["metadata"],
        path=fields["path"],
        ttl=fields["ttl"],
    )


def _count(result: MergeResult) -> str:
    parts: Sequence[tuple[int, str]] = (
        (len(result.entries), "entr" + ("y" if len(result.entries) == 1 else "ies")),
        (len(result.fields), "field" + ("" if len(result.fields) == 1 else "s")),
    )
    return " and ".join(f"{n} {what}" for n, what in parts if n)


def _entry(e: mf.Entry | None) -> str:
    if e is None:
        return "absent"
    digest = e.digest if len(e.digest) <= 19 else e.digest[:19]
    return f"{digest} ({human_size(e.size)})"


def _value(v: Any) -> str:
    return "absent" if v is None else json.dumps(v, sort_keys=True, ensure_ascii=False)[:200]
