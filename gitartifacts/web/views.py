"""The artifact pages: artifacts by type, an artifact's versions, a version's files, a diff."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gitartifacts.core.diff import ArtifactDiff, Change
from gitartifacts.core.manifest import NAME_RE, VERSION_RE
from gitartifacts.core.names import validate_artifact_name
from gitartifacts.core.sizes import human_bytes
from gitartifacts.errors import NotFoundError
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.resolve import resolve
from gitartifacts.ops import inspect
from gitartifacts.tracking import lineage
from gitartifacts.web import tree
from gitartifacts.web.html import (
    artifact_url,
    esc,
    lineage_url,
    link,
    page,
    pairs,
    run_url,
    size,
    table,
    version_url,
)

APP_JS = "app.js"
SHOWN_VERSIONS = 100  # newest first; each row reads its manifest and its runs


def artifacts(project: Project) -> str:
    """Every artifact, grouped by type."""
    by_type: dict[str, list[inspect.ListRow]] = defaultdict(list)
    for row in inspect.ls(project):
        by_type[row.type].append(row)
    if not by_type:
        return page("Artifacts", "<p>No artifacts yet (git artifacts add NAME PATH).</p>")
    parts = []
    for type_, rows in sorted(by_type.items()):
        cells = (
            (
                link(artifact_url(r.name), r.name, " class=artifact"),
                esc(r.latest or "-"),
                esc(r.files),
                size(r.size),
                esc(r.description or ""),
            )
            for r in rows
        )
        headers = ("name", "latest", "files", "size", "description")
        parts.append(f"<section><h2>{esc(type_)}</h2>{table(headers, cells)}</section>")
    return page("Artifacts", "".join(parts))


def versions(project: Project, name: str) -> str:
    """An artifact's versions: aliases, metadata, size, TTL and the run that logged each."""
    validate_artifact_name(name)
    infos = inspect.log(project, name)
    rows = []
    for v in infos[:SHOWN_VERSIONS]:
        r = resolve(project, f"{name}:{v.version}", entries=False)
        rows.append(
            (
                link(version_url(name, v.version), v.version, " class=version"),
                esc(", ".join(v.aliases)),
                esc(v.date),
                esc(v.files),
                size(v.size),
                esc(r.manifest.ttl or ""),
                _producers(project, v.digest),
                pairs(r.manifest.metadata),
            )
        )
    headers = ("version", "aliases", "logged", "files", "size", "ttl", "logged by", "metadata")
    body = table(headers, rows) if rows else "<p>No committed version yet.</p>"
    if len(infos) > SHOWN_VERSIONS:
        more = len(infos) - SHOWN_VERSIONS
        body += f"<p class=muted>{more} older versions not shown (git artifacts log).</p>"
    return page(f"Artifact {name}", body + _diff_form(name, [v.version for v in infos]))


def version(project: Project, name: str, selector: str) -> str:
    """One version: its fields, the runs around it and its files as a searchable tree."""
    info = inspect.show(project, version_spec(name, selector))
    label = info["version"] or selector
    fields = {
        "type": info["type"],
        "version": label,
        "aliases": ", ".join(info["aliases"]),
        "tags": ", ".join(info["tags"]),
        "digest": info["digest"],
        "commit": info["commit"] or "",
        "files": info["files"],
        "size": human_bytes(info["size"]),
        "ttl": info["ttl"] or "",
        "description": info["description"] or "",
    }
    body = [f"<p>{link(artifact_url(name), 'all versions of ' + name)}"]
    if info["version"]:
        body.append(" · " + link(lineage_url(name, info["version"]), "lineage", " id=lineage"))
    body.append("</p>" + pairs(fields) + "<h2>Metadata</h2>" + pairs(info["metadata"]))
    body.append("<h2>Logged by</h2>" + _producers(project, info["digest"]))
    body.append("<h2>Used by</h2>" + _runs(lineage.consumers(project, info["digest"])))
    body.append("<h2>Files</h2>" + tree.render(info["entries"]))
    return page(f"{name}:{label}", "".join(body), scripts=(APP_JS,))


def diff(project: Project, name: str, a: str | None, b: str | None) -> str:
    """The changes from version A to version B of an artifact."""
    validate_artifact_name(name)
    found = [v.version for v in inspect.log(project, name)]
    if not a or not b:
        return page(f"Diff of {name}", _diff_form(name, found))
    diffs = inspect.diff(project, version_spec(name, a), version_spec(name, b))
    body = [_diff_form(name, found, a, b)]
    for d in diffs:
        body.append(_one_diff(d))
    return page(f"Diff of {name}: {a} → {b}", "".join(body))


def version_spec(name: str, selector: str) -> str:
    """name:selector from URL parts, each checked as a name (so a part never names a file
    or another repository)."""
    validate_artifact_name(name)
    if not (VERSION_RE.match(selector) or NAME_RE.match(selector)):
        raise NotFoundError(f"version {selector[:80]!r} does not exist", "use vN or an alias")
    return f"{name}:{selector}"


# ---------------------------------------------------------------- helpers


def _producers(project: Project, digest: str) -> str:
    return _runs(lineage.producers(project, digest))


def _runs(runs: list[lineage.RunRecord]) -> str:
    if not runs:
        return "<span class=muted>-</span>"
    items = []
    for r in runs:
        rec = r.record
        text = f"{rec.get('name') or rec['id']} ({rec.get('job_type') or 'run'})"
        items.append(link(run_url(str(rec["id"])), text, " class=run"))
    return ", ".join(items)


def _diff_form(name: str, found: list[str], a: str | None = None, b: str | None = None) -> str:
    """Two version pickers; a plain GET form, so it works without script."""
    if len(found) < 2:
        return ""
    a = a or found[1]
    b = b or found[0]

    def options(chosen: str) -> str:
        return "".join(
            f"<option{' selected' if v == chosen else ''}>{esc(v)}</option>" for v in found
        )

    return (
        f'<form class=diff method=get action="{esc(artifact_url(name))}/diff">'
        f"<h2>Compare</h2><select name=a>{options(a)}</select> → "
        f"<select name=b>{options(b)}</select> <button type=submit>Diff</button></form>"
    )


def _one_diff(d: ArtifactDiff) -> str:
    head = (
        f"<p>{esc(d.old_label or '-')} ({esc(d.old_files)} files, {size(d.old_size)}) → "
        f"{esc(d.new_label or '-')} ({esc(d.new_files)} files, {size(d.new_size)})</p>"
    )
    rows: list[tuple[str, ...]] = []
    for kind, changes in (
        ("added", d.added),
        ("removed", d.removed),
        ("modified", d.modified),
        ("renamed", d.renamed),
    ):
        rows.extend(_change_row(kind, c) for c in changes)
    files = table(("change", "path", "old size", "new size"), rows, " class=changes")
    fields = _fields(d.fields)
    if not rows and not d.fields:
        return head + "<p>No changes.</p>"
    return head + fields + (files if rows else "")


def _change_row(kind: str, c: Change) -> tuple[str, ...]:
    path = f"{c.old_path} → {c.path}" if c.old_path else c.path
    return (f"<span class={kind}>{kind}</span>", esc(path), size(c.old_size), size(c.new_size))


def _fields(fields: dict[str, tuple[Any, Any]]) -> str:
    if not fields:
        return ""
    rows = ((esc(k), esc(old), esc(new)) for k, (old, new) in sorted(fields.items()))
    return table(("field", "old", "new"), rows, " class=fields")
