"""The lineage graph: runs and artifact versions, built from the run records in git notes.

All records are read in one `git cat-file --batch` and folded into an index that is cached
on disk, keyed by the notes ref's commit: it is rebuilt only when a record was added.
"""

from __future__ import annotations

import marshal
import os
import socket
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitartifacts.core import textsafe
from gitartifacts.errors import NotFoundError, UsageError
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.resolve import resolve

_INDEX_VERSION = 1


@dataclass
class RunRecord:
    record: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.record["id"])


@dataclass
class Index:
    tip: str | None
    runs: dict[str, RunRecord] = field(default_factory=dict)
    logged: dict[str, list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )  # digest -> run ids
    used: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def index(project: Project) -> Index:
    """The folded run records, from the on-disk cache when the notes ref has not moved."""
    tip = run_notes.tip(project.repo)
    path = (
        project.repo.common_dir
        / "artifacts"
        / f"lineage-py{sys.version_info[0]}{sys.version_info[1]}.bin"
    )
    try:
        cached = marshal.loads(path.read_bytes())  # loads() of bytes is 3x faster than load(file)
        if cached[0] == _INDEX_VERSION and cached[1] == tip:
            return _from_records(tip, cached[2])
    except (FileNotFoundError, EOFError, ValueError, TypeError, IndexError):
        pass
    records = fold(rec for _, rec in run_notes.read_all(project.repo)) if tip else {}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as f:
        marshal.dump((_INDEX_VERSION, tip, records), f)
    os.replace(tmp, path)
    return _from_records(tip, records)


def fold(events: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One record per run id from its event lines, in time order."""
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for ev in events:
        rid = ev.get("run")
        if isinstance(rid, str):
            by_run[rid].append(ev)
    out: dict[str, dict[str, Any]] = {}
    for rid, evs in by_run.items():
        evs.sort(key=lambda e: (e.get("t", 0), e.get("ev", "")))
        rec: dict[str, Any] = {
            "id": rid,
            "inputs": [],
            "outputs": [],
            "links": [],
            "state": "running",
        }
        for ev in evs:
            kind = ev.get("ev")
            if kind == "start":
                rec.update({k: v for k, v in ev.items() if k not in ("run", "ev", "t")})
            elif kind == "resume":
                rec["state"] = "running"
                rec["config"] = {**rec.get("config", {}), **(ev.get("config") or {})}
                rec["pid"], rec["host"] = ev.get("pid"), ev.get("host", rec.get("host"))
            elif kind == "use" and isinstance(ev.get("artifact"), dict):
                _add_unique(rec["inputs"], ev["artifact"])
            elif kind == "log" and isinstance(ev.get("artifact"), dict):
                _add_unique(rec["outputs"], ev["artifact"])
            elif kind == "link":
                rec["links"].append({k: ev.get(k) for k in ("artifact", "collection", "version")})
            elif kind == "finish":
                for key in ("state", "summary", "config", "end", "exit_code"):
                    if key in ev:
                        rec[key] = ev[key]
        out[rid] = rec
    return out


def _add_unique(items: list[dict[str, Any]], art: dict[str, Any]) -> None:
    key = (art.get("digest"), art.get("use_as"))
    for i, old in enumerate(items):
        if (old.get("digest"), old.get("use_as")) == key:
            items[i] = {**old, **{k: v for k, v in art.items() if v is not None}}
            return
    items.append(art)


def _from_records(tip: str | None, records: dict[str, dict[str, Any]]) -> Index:
    idx = Index(tip)
    here = socket.gethostname()
    for rid, rec in records.items():
        if rec.get("state") == "running" and rec.get("host") == here and not _alive(rec.get("pid")):
            rec = {**rec, "state": "crashed"}
        idx.runs[rid] = RunRecord(rec)
        for art in rec.get("outputs", []):
            idx.logged[art.get("digest", "")].append(rid)
        for art in rec.get("inputs", []):
            idx.used[art.get("digest", "")].append(rid)
    return idx


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------- queries


def run_record(project: Project, run_id: str) -> RunRecord:
    rec = index(project).runs.get(run_id)
    if rec is None:
        raise NotFoundError(f"run {run_id!r} does not exist", "see git artifacts runs")
    return rec


def select_runs(
    project: Project,
    *,
    job_type: str | None = None,
    group: str | None = None,
    state: str | None = None,
    filters: dict[str, Any] | None = None,
    order: str | None = None,
) -> list[RunRecord]:
    """Runs matching the criteria; `filters` maps dotted paths (`config.lr`, `summary.acc`)
    to a value or to operators {"$gt", "$gte", "$lt", "$lte", "$ne", "$in"}; `order` is a dotted
    path, `-` first for descending (runs without the value come last)."""
    out = []
    for r in index(project).runs.values():
        rec = r.record
        if job_type is not None and rec.get("job_type") != job_type:
            continue
        if group is not None and rec.get("group") != group:
            continue
        if state is not None and rec.get("state") != state:
            continue
        if filters and not all(_matches(_get(rec, k), v) for k, v in filters.items()):
            continue
        out.append(r)
    if order:
        desc = order.startswith("-")
        key = order.lstrip("+-")
        present = [r for r in out if _get(r.record, key) is not None]
        absent = [r for r in out if _get(r.record, key) is None]
        present.sort(key=lambda r: _sortable(_get(r.record, key)), reverse=desc)
        out = present + absent
    else:
        out.sort(key=lambda r: r.record.get("start") or 0)
    return out


def _get(rec: dict[str, Any], dotted: str) -> Any:
    cur: Any = rec
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _sortable(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, (int, float)) else (1, str(v))


def _matches(value: Any, cond: Any) -> bool:
    if not isinstance(cond, dict):
        return bool(value == cond)
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "$gt": lambda a, b: a is not None and a > b,
        "$gte": lambda a, b: a is not None and a >= b,
        "$lt": lambda a, b: a is not None and a < b,
        "$lte": lambda a, b: a is not None and a <= b,
        "$ne": lambda a, b: a != b,
        "$in": lambda a, b: a in b,
        "$eq": lambda a, b: a == b,
    }
    for op, arg in cond.items():
        if op not in ops:
            raise UsageError(f"unknown filter operator {op!r}", f"use one of {', '.join(ops)}")
        try:
            if not ops[op](value, arg):
                return False
        except TypeError:
            return False
    return True


def producers(project: Project, digest: str) -> list[RunRecord]:
    idx = index(project)
    return _by_start(
        [idx.runs[r] for r in dict.fromkeys(idx.logged.get(digest, [])) if r in idx.runs]
    )


def consumers(project: Project, digest: str) -> list[RunRecord]:
    idx = index(project)
    return _by_start(
        [idx.runs[r] for r in dict.fromkeys(idx.used.get(digest, [])) if r in idx.runs]
    )


def _by_start(runs: list[RunRecord]) -> list[RunRecord]:
    return sorted(runs, key=lambda r: r.record.get("start") or 0)


def artifacts_of(project: Project, refs: Sequence[dict[str, Any]]) -> list[Any]:
    """Artifact objects for recorded references (by digest, so renumbering is harmless)."""
    from gitartifacts.sdk.artifact import Api, Artifact

    api = Api(project.root)
    api._project = project
    hist = ver.histories(project)
    out: list[Artifact] = []
    for ref in refs:
        name, digest = ref.get("name"), ref.get("digest")
        if not isinstance(name, str) or not isinstance(digest, str):
            continue
        h = hist.get(name)
        n = ver.digest_versions(project, h).get(digest) if h else None
        try:
            if n is not None:
                out.append(api.artifact(f"{name}:v{n}"))
            else:
                art = api.artifact(name)
                if art.digest == digest:
                    out.append(art)
        except (NotFoundError, UsageError):
            continue
    return out


# ---------------------------------------------------------------- the graph


@dataclass
class Graph:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> attributes
    edges: list[tuple[str, str]] = field(
        default_factory=list
    )  # artifact -> run (used), run -> artifact (logged)


def graph(
    project: Project, spec: str, *, up: bool = True, down: bool = True, depth: int = 10
) -> tuple[Graph, str]:
    """The bipartite DAG around one artifact version, `depth` steps each way."""
    r = resolve(project, spec, entries=False)
    idx = index(project)
    hist = ver.histories(project)
    g = Graph()

    def art_node(name: str, digest: str, type_: str | None) -> str:
        h = hist.get(name)
        n = ver.digest_versions(project, h).get(digest) if h else None
        label = f"{name}:v{n}" if n is not None else f"{name}@{digest[7:15]}"
        nid = "a:" + digest
        g.nodes.setdefault(
            nid,
            {
                "kind": "artifact",
                "label": label,
                "name": name,
                "digest": digest,
                "type": type_ or "?",
            },
        )
        return nid

    def run_node(rec: dict[str, Any]) -> str:
        nid = "r:" + str(rec["id"])
        g.nodes.setdefault(
            nid,
            {
                "kind": "run",
                "label": rec.get("name") or rec["id"],
                "id": rec["id"],
                "job_type": rec.get("job_type") or "run",
                "state": rec.get("state"),
            },
        )
        return nid

    start = art_node(r.manifest.name, r.manifest.digest, r.manifest.type)
    seen_edges: set[tuple[str, str]] = set()

    def edge(a: str, b: str) -> None:
        if (a, b) not in seen_edges:
            seen_edges.add((a, b))
            g.edges.append((a, b))

    def walk(runs_of: dict[str, list[str]], arts_key: str, upstream: bool) -> None:
        """Breadth-first, `depth` run steps: artifact -> its runs -> their artifacts -> ..."""
        frontier = [start]
        for _ in range(depth):
            nxt = []
            for nid in frontier:
                for rid in dict.fromkeys(runs_of.get(g.nodes[nid]["digest"], [])):
                    rec = idx.runs[rid].record
                    rn = run_node(rec)
                    edge(*((rn, nid) if upstream else (nid, rn)))
                    for art in rec.get(arts_key, []):
                        an = art_node(art["name"], art["digest"], art.get("type"))
                        pair = (an, rn) if upstream else (rn, an)
                        if pair not in seen_edges:
                            nxt.append(an)
                        edge(*pair)
            frontier = nxt
            if not frontier:
                break

    if up:
        walk(idx.logged, "inputs", upstream=True)
    if down:
        walk(idx.used, "outputs", upstream=False)
    return g, start


def group_by_type(g: Graph, start: str, threshold: int = 5) -> Graph:
    """Fold sibling nodes of one kind (artifact type or job type) that share their neighbours
    into one node when there are `threshold` or more of them, as W&B draws large levels."""

    def key(nid: str) -> tuple[str, str, frozenset[str], frozenset[str]]:
        n = g.nodes[nid]
        kind = n["type"] if n["kind"] == "artifact" else n["job_type"]
        ins = frozenset(a for a, b in g.edges if b == nid)
        outs = frozenset(b for a, b in g.edges if a == nid)
        return (n["kind"], kind, ins, outs)

    groups: dict[tuple[str, str, frozenset[str], frozenset[str]], list[str]] = defaultdict(list)
    for nid in g.nodes:
        if nid != start:
            groups[key(nid)].append(nid)
    rename: dict[str, str] = {}
    out = Graph()
    for (kind, sub, _, _), members in groups.items():
        if len(members) >= threshold:
            gid = f"g:{kind}:{sub}:{len(rename)}"
            noun = "runs" if kind == "run" else "versions"
            out.nodes[gid] = {
                "kind": kind,
                "label": f"{len(members)} {sub} {noun}",
                "group": sorted(members),
                "type": sub,
                "job_type": sub,
            }
            for m in members:
                rename[m] = gid
    for nid, attrs in g.nodes.items():
        if nid not in rename:
            out.nodes[nid] = attrs
    seen: set[tuple[str, str]] = set()
    for a, b in g.edges:
        e = (rename.get(a, a), rename.get(b, b))
        if e not in seen:
            seen.add(e)
            out.edges.append(e)
    return out


def render(g: Graph, start: str, fmt: str) -> str:
    if fmt == "json":
        import json

        return json.dumps(
            {
                "start": start,
                "nodes": [{"id": k, **v} for k, v in g.nodes.items()],
                "edges": [{"from": a, "to": b} for a, b in g.edges],
            },
            indent=2,
            default=str,
        )
    if fmt == "mermaid":
        return _mermaid(g, start)
    if fmt == "dot":
        return _dot(g, start)
    return _text(g, start)


def _ids(g: Graph) -> dict[str, str]:
    return {nid: f"n{i}" for i, nid in enumerate(g.nodes)}


def _mermaid(g: Graph, start: str) -> str:
    ids = _ids(g)
    lines = ["graph LR"]
    for nid, n in g.nodes.items():
        label = textsafe.mermaid_label(
            str(n["label"])
            + (f" ({n['type']})" if n["kind"] == "artifact" else f" [{n.get('job_type')}]")
        )
        lines.append(
            f'  {ids[nid]}["{label}"]' if n["kind"] == "artifact" else f'  {ids[nid]}(["{label}"])'
        )
    for a, b in g.edges:
        lines.append(f"  {ids[a]} --> {ids[b]}")
    lines.append(f"  style {ids[start]} stroke-width:3px")
    return "\n".join(lines)


def _dot(g: Graph, start: str) -> str:
    ids = _ids(g)
    lines = ["digraph lineage {", "  rankdir=LR;"]
    for nid, n in g.nodes.items():
        shape = "box" if n["kind"] == "artifact" else "ellipse"
        bold = ", penwidth=3" if nid == start else ""
        lines.append(
            f'  {ids[nid]} [label="{textsafe.dot_string(str(n["label"]))}", shape={shape}{bold}];'
        )
    for a, b in g.edges:
        lines.append(f"  {ids[a]} -> {ids[b]};")
    lines.append("}")
    return "\n".join(lines)


def _text(g: Graph, start: str) -> str:
    parents: dict[str, list[str]] = defaultdict(list)
    children: dict[str, list[str]] = defaultdict(list)
    for a, b in g.edges:
        children[a].append(b)
        parents[b].append(a)

    def label(nid: str) -> str:
        n = g.nodes[nid]
        if n["kind"] == "artifact":
            return textsafe.line(f"{n['label']} ({n['type']})")
        state = f" {n['state']}" if n.get("state") else ""
        # Run records come through git notes: a newline in one must not forge a tree line.
        return textsafe.line(f"run {n['label']} [{n.get('job_type')}{state}]")

    out = [label(start)]

    def walk(nid: str, nbrs: dict[str, list[str]], arrow: str, prefix: str, seen: set[str]) -> None:
        items = nbrs.get(nid, [])
        for i, child in enumerate(items):
            last = i == len(items) - 1
            out.append(f"{prefix}{'└─' if last else '├─'} {arrow} {label(child)}")
            if child not in seen:
                walk(child, nbrs, arrow, prefix + ("   " if last else "│  "), seen | {child})

    if parents.get(start):
        out.append("upstream:")
        walk(start, parents, "<-", "  ", {start})
    if children.get(start):
        out.append("downstream:")
        walk(start, children, "->", "  ", {start})
    return "\n".join(out)
