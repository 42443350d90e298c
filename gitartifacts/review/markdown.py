"""Reviewing artifact changes as text: a Markdown report for pull requests, `git diff` text.

Pure renderers: diffs come from `gitartifacts.ops.inspect.diff`, remote-cache changes from
`gitartifacts.ops.review`. Everything a pull request author controls (paths, metadata,
labels) is escaped before it reaches Markdown, HTML or Mermaid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from gitartifacts.core import diff as adiff
from gitartifacts.core import foldertree, textsafe
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.errors import CacheError, GitArtifactsError
from gitartifacts.review.checks import RemoteChange
from gitartifacts.settings import CONFIG_FILE

MARKER = "<!-- gitartifacts-review -->"  # lets a bot find and update its earlier comment
DEFAULT_MAX_FILES = 20
_HEX40_RE = re.compile(r"^[0-9a-f]{40,64}$")


# ---------------------------------------------------------------- Markdown


def to_markdown(
    diffs: Sequence[adiff.ArtifactDiff],
    max_files: int = DEFAULT_MAX_FILES,
    title: str = "Artifact changes",
    remotes: Sequence[RemoteChange] = (),
) -> str:
    """A pull-request comment: a warning when the remote caches change, a summary table, a
    `<details>` block per artifact with at most `max_files` file rows, and a Mermaid graph of
    the version changes."""
    out = [MARKER, f"## {_text(title)}", ""]
    if remotes:
        out += _remotes_warning(remotes)
    if not diffs:
        out.append("No artifact changes.")
        return "\n".join(out) + "\n"
    out += [
        "| artifact | version | files | size | changes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for d in diffs:
        out.append(
            f"| {_code(d.name)} | {_version_change(d)} | {_count_change(d)} "
            f"| {_size_change(d)} | {_text(_counts(d))} |"
        )
    out.append("")
    for d in diffs:
        out += _details(d, max_files)
    out += ["```mermaid", *lineage_mermaid(diffs), "```", ""]
    return "\n".join(out)


def _remotes_warning(remotes: Sequence[RemoteChange]) -> list[str]:
    out = [
        "> [!WARNING]",
        f"> **This change moves where artifact content goes** ({_code(CONFIG_FILE)}). Once "
        "it is merged, `git artifacts push` and the pre-push hook of everyone who pulls it "
        "upload there. Check that every location below is yours:",
        ">",
    ]
    for c in remotes:
        if c.what == "file":
            line = f"{_code(CONFIG_FILE)} {_text(c.new or '')}"
        elif c.remote is None:
            line = f"default remote: {_code(c.old or '(none)')} → {_code(c.new or '(none)')}"
        elif c.what == "added":
            line = f"remote {_code(c.remote)} added: {_code(c.new or '')}"
        elif c.what == "removed":
            line = f"remote {_code(c.remote)} removed (was {_code(c.old or '')})"
        else:
            line = (
                f"remote {_code(c.remote)}: {_text(c.what)} {_code(c.old or '(none)')} → "
                f"{_code(c.new or '(none)')}"
            )
        out.append(f"> - {line}")
    return [*out, ""]


def lineage_mermaid(diffs: Sequence[adiff.ArtifactDiff]) -> list[str]:
    """`graph LR` lines: old version -> new version for each changed artifact."""
    lines = ["graph LR"]
    for i, d in enumerate(diffs):
        old, new = f"a{i}_old", f"a{i}_new"
        if d.old_label is not None:
            lines.append(f'  {old}["{textsafe.mermaid_label(f"{d.name} {_label(d.old_label)}")}"]')
        if d.new_label is not None:
            lines.append(f'  {new}["{textsafe.mermaid_label(f"{d.name} {_label(d.new_label)}")}"]')
        if d.old_label is not None and d.new_label is not None:
            lines.append(f"  {old} --> {new}")
        elif d.old_label is not None:
            lines.append(f'  {old} --> {new}(["removed"])')
        else:
            lines.append(f"  {new}:::added")
    if any(d.old_label is None for d in diffs):
        lines.append("  classDef added stroke-dasharray: 4 2")
    return lines


def _details(d: adiff.ArtifactDiff, max_files: int) -> list[str]:
    head = f"<b>{textsafe.md_text(d.name)}</b>: {textsafe.md_text(_version_text(d))}"
    counts = _counts(d)
    out = [
        "<details>",
        f"<summary>{head}{' · ' + textsafe.md_text(counts) if counts else ''}</summary>",
        "",
    ]
    out.append(
        f"Digest {_code(_short(d.old_digest))} → {_code(_short(d.new_digest))}; "
        f"{_count_change(d)} files; {_size_change(d)}."
    )
    out.append("")
    rows = _file_rows(d)
    if rows:
        out += ["| change | path | size |", "| --- | --- | --- |"]
        out += [f"| {kind} | {path} | {size} |" for kind, path, size in rows[:max_files]]
        rest = rows[max_files:]
        if rest:
            by_kind: dict[str, int] = {}
            for kind, _, _ in rest:
                by_kind[kind] = by_kind.get(kind, 0) + 1
            more = ", ".join(f"{n} {k}" for k, n in by_kind.items())
            out += ["", f"… and {len(rest)} more files ({more})."]
        out.append("")
    refs = [c for c in [*d.added, *d.removed, *d.modified, *d.renamed] if c.is_reference]
    if refs:
        out += ["References:", ""]
        out += [f"- {_code(c.path)}: {_reference_change(c)}" for c in refs[:max_files]]
        if len(refs) > max_files:
            out.append(f"- … and {len(refs) - max_files} more references")
        out.append("")
    if d.fields:
        out += ["| field | old | new |", "| --- | --- | --- |"]
        out += [f"| {_code(k)} | {_value(o)} | {_value(n)} |" for k, (o, n) in d.fields.items()]
        out.append("")
    out += ["</details>", ""]
    return out


def _file_rows(d: adiff.ArtifactDiff) -> list[tuple[str, str, str]]:
    rows = [("added", _code(c.path), adiff.human_size(c.new_size)) for c in d.added]
    rows += [("removed", _code(c.path), adiff.human_size(c.old_size)) for c in d.removed]
    rows += [
        (
            "modified",
            _code(c.path),
            f"{adiff.human_size(c.old_size)} → {adiff.human_size(c.new_size)}",
        )
        for c in d.modified
    ]
    rows += [
        (
            "renamed",
            f"{_code(c.old_path or '')} → {_code(c.path)}",
            adiff.human_size(c.new_size),
        )
        for c in d.renamed
    ]
    return rows


def _counts(d: adiff.ArtifactDiff) -> str:
    parts = [
        f"{len(changes)} {kind}"
        for kind, changes in (
            ("added", d.added),
            ("removed", d.removed),
            ("modified", d.modified),
            ("renamed", d.renamed),
        )
        if changes
    ]
    if d.fields:
        parts.append(f"{len(d.fields)} field{'s' if len(d.fields) != 1 else ''} changed")
    return ", ".join(parts)


def _version_text(d: adiff.ArtifactDiff) -> str:
    if d.old_label is None:
        return f"new ({_label(d.new_label)})"
    if d.new_label is None:
        return f"removed (was {_label(d.old_label)})"
    return f"{_label(d.old_label)} → {_label(d.new_label)}"


def _version_change(d: adiff.ArtifactDiff) -> str:
    return _text(_version_text(d))


def _count_change(d: adiff.ArtifactDiff) -> str:
    return f"{d.old_files} → {d.new_files} ({d.new_files - d.old_files:+d})"


def _size_change(d: adiff.ArtifactDiff) -> str:
    delta = d.new_size - d.old_size
    sign = "+" if delta >= 0 else "−"
    return (
        f"{adiff.human_size(d.old_size)} → {adiff.human_size(d.new_size)} "
        f"({sign}{adiff.human_size(abs(delta))})"
    )


def _reference_change(c: adiff.Change) -> str:
    old = f"{_code(c.old_ref or '(stored file)')} {_code(_short(c.old_digest))}"
    new = f"{_code(c.new_ref or '(stored file)')} {_code(_short(c.new_digest))}"
    if c.old_digest is None:
        return f"added: {new}"
    return f"removed: {old}" if c.new_digest is None else f"{old} → {new}"


def _label(label: str | None) -> str:
    """Version labels stay; a full commit id is shortened."""
    if label is None:
        return "-"
    return label[:12] if _HEX40_RE.match(label) else label


def _short(digest: str | None) -> str:
    """`sha256:` and 12 hex digits; other digests (etags, URIs) up to 32 characters."""
    if digest is None:
        return "-"
    if digest.startswith(("sha256:", "md5:")):
        algo, _, hex_ = digest.partition(":")
        return f"{algo}:{hex_[:12]}"
    return digest if len(digest) <= 32 else digest[:31] + "…"


def _text(s: str) -> str:
    """Plain text in a Markdown table cell: HTML escaped, Markdown marks and @ neutral."""
    return textsafe.md_text(s)


def _code(s: str) -> str:
    """Inline code that no path can break out of (a backtick, a pipe, a newline or HTML)."""
    return textsafe.md_code(s)


def _value(v: Any) -> str:
    if v is None:
        return "-"
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, ensure_ascii=False)
    return _code(text if len(text) <= 80 else text[:79] + "…")


# ---------------------------------------------------------------- textconv for git diff


def textconv(text: str, read_listing_object: Callable[[str], bytes] | None = None) -> str:
    """A stable, readable form of a manifest for `git diff`: its fields, then one line per
    entry `path  size  digest` (listings expanded by `read_listing_object`, from the local
    cache, never the network). Text that is not a valid manifest comes back unchanged, so
    the diff still shows it."""
    try:
        m = mparse.loads(text)
    except GitArtifactsError:
        return text
    out = [f"name: {m.name}", f"type: {m.type}"]
    if m.description is not None:
        out.append(f"description: {json.dumps(m.description, ensure_ascii=False)}")
    if m.metadata:
        for key in sorted(m.metadata):
            value = json.dumps(m.metadata[key], sort_keys=True, ensure_ascii=False)
            out.append(f"metadata.{key}: {value}")
    if m.path is not None:
        out.append(f"path: {m.path}")
    out += [
        f"digest: {m.digest}",
        f"size: {m.size} ({adiff.human_size(m.size)})",
        f"files: {m.files}",
    ]
    if m.ttl is not None:
        out.append(f"ttl: {m.ttl}")
    entries = m.entries
    if m.listing is not None:
        out.append(f"listing: {m.listing}")
        if read_listing_object is not None:
            try:
                entries = foldertree.read_entries(m.listing, read_listing_object, m.files)
            except (CacheError, GitArtifactsError, ValueError):
                entries = None
        if entries is None:
            out.append(f"  ({m.files} entries not shown: the listing is not in the local cache;")
            out.append("   git artifacts fetch brings it)")
    for p, e in (entries or {}).items():
        out.append(f"{p}  {e.size}  {_short(e.digest)}" + (f"  {e.ref}" if e.ref else ""))
    return "\n".join(out) + "\n"
