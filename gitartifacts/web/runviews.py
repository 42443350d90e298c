"""The run pages (a sortable table; one run with its history charts) and the registry."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any
from urllib.parse import quote

from gitartifacts.core.manifest import NAME_RE, SHA256_RE
from gitartifacts.errors import GitArtifactsError, NotFoundError, UsageError
from gitartifacts.gitmodel import refs, registry
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import runs as run_ops
from gitartifacts.tracking import lineage
from gitartifacts.web.html import (
    esc,
    json_block,
    link,
    page,
    pairs,
    run_url,
    table,
    value,
    version_url,
)

COLUMNS = 8  # config and summary columns each in the runs table; the run page shows all
POINTS = 5000  # history rows plotted per run, evenly spread


def runs(project: Project) -> str:
    """Every run as a table, sortable by any column (app.js)."""
    recs = [r.record for r in lineage.select_runs(project)]
    if not recs:
        return page("Runs", "<p>No runs recorded yet (start one with gitartifacts.init).</p>")
    config = _keys(recs, "config")
    summary = _keys(recs, "summary")
    headers = ["run", "job type", "state", "group", "started"]
    headers += [f"config.{k}" for k in config] + [f"summary.{k}" for k in summary]
    rows = []
    for rec in recs:
        cells = [
            link(run_url(str(rec["id"])), rec.get("name") or rec["id"], " class=run"),
            esc(rec.get("job_type") or ""),
            esc(rec.get("state") or ""),
            esc(rec.get("group") or ""),
            esc(_when(rec.get("start"))),
        ]
        cells += [_cell(_get(rec, "config", k)) for k in config]
        cells += [_media_or_value(str(rec["id"]), _get(rec, "summary", k)) for k in summary]
        rows.append(cells)
    body = table(headers, rows, " class=sortable id=runs")
    return page("Runs", body, scripts=("app.js",))


def run(project: Project, run_id: str) -> str:
    """One run: its fields, config, summary (media as links), artifacts, files and charts."""
    rec = _record(project, run_id)
    fields = {
        k: rec.get(k)
        for k in ("id", "name", "job_type", "state", "group", "user", "host", "commit")
    }
    fields.update(started=_when(rec.get("start")), ended=_when(rec.get("end")))
    body = [pairs({k: v for k, v in fields.items() if v not in (None, "")})]
    body.append("<h2>Charts</h2>")
    try:
        metrics = _metrics(project, rec)
    except GitArtifactsError as exc:  # a fresh clone, a bad record: the rest still shows
        metrics = {}
        body.append(f"<p class=muted>{esc(exc)}</p>")
    if metrics:
        body.append(json_block("history", metrics) + "<div id=charts></div>")
    elif not rec.get("history"):
        body.append("<p class=muted>No history logged.</p>")
    body.append("<h2>Config</h2>" + pairs(rec.get("config")))
    summary = rec.get("summary")
    items = summary.items() if isinstance(summary, dict) else []
    rows = ((esc(k), _media_or_value(run_id, v)) for k, v in items)
    body.append("<h2>Summary</h2>" + table(("key", "value"), rows, " class=kv"))
    body.append("<h2>Inputs</h2>" + _artifacts(rec.get("inputs")))
    body.append("<h2>Outputs</h2>" + _artifacts(rec.get("outputs")))
    body.append("<h2>Files</h2>" + _files(run_id, rec.get("files")))
    title = f"Run {rec.get('name') or run_id}"
    return page(
        title,
        "".join(body),
        scripts=("vendor/uPlot.iife.min.js", "charts.js"),
        styles=("vendor/uPlot.min.css",),
    )


def run_file(project: Project, run_id: str, path: str) -> tuple[bytes, str]:
    """The bytes of a file the run kept (its record lists it) and their content type."""
    rec = _record(project, run_id)
    files = rec.get("files")
    for f in files if isinstance(files, list) else []:
        if isinstance(f, dict) and f.get("path") == path and isinstance(f.get("digest"), str):
            data = _local_object(project, f["digest"], f"file {path!r} of run {run_id}")
            return data, "image/png" if path.endswith(".png") else "application/octet-stream"
    raise NotFoundError(f"run {run_id!r} has no file {path[:200]!r}", "see the run's files")


def registry_page(project: Project) -> str:
    """Every registry collection with its links and their aliases."""
    found = project.repo.refs(refs.REGISTRY_PREFIX.rstrip("/"))
    names = sorted({ref[len(refs.REGISTRY_PREFIX) :].rpartition("/")[0] for ref in found})
    parts = []
    for coll in names:
        if not NAME_RE.match(coll):
            continue  # a ref fetched from elsewhere that names no collection
        links = registry.collection(project, coll)
        by_blob: dict[str, list[str]] = {}
        for alias, sha in registry.aliases(project, coll).items():
            by_blob.setdefault(sha, []).append(alias)
        rows = []
        for n, lk in sorted(links.items()):
            blob = found.get(refs.registry_ref(coll, f"v{n}"), "")
            source = f"{lk.source}:{lk.source_version or lk.digest[7:15]}"
            rows.append(
                (
                    esc(f"v{n}"),
                    link(version_url(lk.source, lk.source_version), source)
                    if lk.source_version and NAME_RE.match(lk.source)
                    else esc(source),
                    esc(lk.type),
                    esc(", ".join(sorted(by_blob.get(blob, [])))),
                )
            )
        parts.append(f"<h2>{esc(coll)}</h2>" + table(("link", "source", "type", "aliases"), rows))
    body = "".join(parts) or "<p>No registry links yet (git artifacts link NAME:vN COLL).</p>"
    return page("Registry", body)


# ---------------------------------------------------------------- helpers


def _record(project: Project, run_id: str) -> dict[str, Any]:
    if not NAME_RE.match(run_id):
        raise NotFoundError(f"run {run_id[:80]!r} does not exist", "see the runs page")
    return lineage.run_record(project, run_id).record


def _keys(recs: list[dict[str, Any]], section: str) -> list[str]:
    seen: dict[str, None] = {}
    for rec in recs:
        data = rec.get(section)
        if isinstance(data, dict):
            seen.update((str(k), None) for k in data if not str(k).startswith("_"))
    return list(seen)[:COLUMNS]


def _get(rec: dict[str, Any], section: str, key: str) -> Any:
    data = rec.get(section)
    return data.get(key) if isinstance(data, dict) else None


def _cell(v: Any) -> str:
    """A table cell; a number carries its value for sorting."""
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f'<span data-sort="{esc(v)}">{value(v)}</span>'
    return value(v)


def _media_or_value(run_id: str, v: Any) -> str:
    """An image a run logged as a thumbnail, a table or other file as a link, else the
    value; a list of media as each of them."""
    if isinstance(v, list) and v and all(_is_media(x) for x in v):
        return " ".join(_media_or_value(run_id, x) for x in v)
    if not _is_media(v):
        return _cell(v)
    href = _file_url(run_id, v["path"])
    if v.get("_type") == "image-file":
        caption = v.get("caption") or v["path"]
        img = f'<img class=thumb src="{esc(href)}" alt="{esc(caption)}">'
        return f'<a class=media href="{esc(href)}">{img}</a>'
    return link(href, f"{v.get('_type')}: {v['path']}", " class=media")


def _file_url(run_id: str, path: str) -> str:
    return f"{run_url(run_id)}/files/{quote(path, safe='/')}"


def _is_media(v: Any) -> bool:
    return isinstance(v, dict) and isinstance(v.get("_type"), str) and _safe_path(v.get("path"))


def _safe_path(path: Any) -> bool:
    """A run file's path as a record names it: relative, no `..`, so its address is too."""
    return isinstance(path, str) and all(p not in ("", ".", "..") for p in path.split("/"))


def _artifacts(refs_: Any) -> str:
    items = []
    for a in refs_ if isinstance(refs_, list) else []:
        if not isinstance(a, dict):
            continue
        name, ver = str(a.get("name")), a.get("version")
        if isinstance(ver, str) and NAME_RE.match(name):
            items.append(f"<li>{link(version_url(name, ver), f'{name}:{ver}')}</li>")
        else:
            items.append(f"<li>{esc(name)}@{esc(str(a.get('digest'))[7:15])}</li>")
    return f"<ul>{''.join(items)}</ul>" if items else "<p class=muted>none</p>"


def _files(run_id: str, files: Any) -> str:
    items = [
        f"<li>{link(_file_url(run_id, f['path']), f['path'])}</li>"
        for f in (files if isinstance(files, list) else [])
        if isinstance(f, dict) and _safe_path(f.get("path"))
    ]
    return f"<ul>{''.join(items)}</ul>" if items else "<p class=muted>none</p>"


def _metrics(project: Project, rec: dict[str, Any]) -> dict[str, list[list[float]]]:
    """Each numeric metric of the run's history as [steps, values]."""
    digest = rec.get("history")
    if not isinstance(digest, str):
        return {}
    data = _local_object(project, digest, f"history of run {rec.get('id')}")
    text = data.decode("utf-8", errors="replace")
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a cut-off last line of a killed run
        if isinstance(row, dict):
            rows.append(row)
    if len(rows) > POINTS:
        rows = [rows[round(i * (len(rows) - 1) / (POINTS - 1))] for i in range(POINTS)]
    out: dict[str, list[list[float]]] = {}
    for i, row in enumerate(rows):
        step = row.get("_step", i)
        for k, v in row.items():
            if k.startswith("_") or not _finite(v) or not _finite(step):
                continue
            xs, ys = out.setdefault(str(k), [[], []])
            xs.append(step)
            ys.append(v)
    return out


def _local_object(project: Project, digest: str, what: str) -> bytes:
    """A content object a run record names, from this machine only: the view works
    offline and never waits for a remote."""
    if not SHA256_RE.match(digest):
        raise UsageError(f"the run record names a bad object for the {what}", "report this run")
    if not project.cache.has(digest):
        raise NotFoundError(f"the {what} is not in the local cache", "git artifacts pull")
    return run_ops.read_object(project, digest)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _when(t: Any) -> str:
    if not _finite(t):
        return ""
    try:
        return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):  # a record from elsewhere: any number
        return str(t)
