"""The lineage graph around one artifact version, and its text/mermaid/dot/json renderings."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from gitartifacts.core import textsafe
from gitartifacts.core.manifest import NAME_RE, VERSION_RE
from gitartifacts.errors import GitArtifactsError
from gitartifacts.gitmodel import projects
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.resolve import resolve
from gitartifacts.tracking.lineage import Index, index


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
    b = _Builder(project)
    name = (r.origin or "") + r.manifest.name
    start = b.art_node(name, r.manifest.digest, r.manifest.type, f"v{r.version}")
    if up:
        b.walk(start, depth, upstream=True)
    if down:
        b.walk(start, depth, upstream=False)
    return b.g, start


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
                "nodes": [{**v, "id": k} for k, v in g.nodes.items()],  # the id edges name
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


class _Builder:
    """A graph being built from the run index: nodes named once, each edge added once. A
    version of another project is a node of its own (with its project), and the walk goes on
    through the runs that project recorded, read from its mirror (no network)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.idx = index(project)
        self.hist = ver.histories(project)
        self.g = Graph()
        self.seen_edges: set[tuple[str, str]] = set()
        self.foreign: dict[str, Index | None] = {}  # origin -> the project's run index

    def art_node(self, name: str, digest: str, type_: str | None, version: Any = None) -> str:
        origin = projects.origin_of(name)
        if origin is not None:
            shown = version if isinstance(version, str) and VERSION_RE.match(version) else None
            label = f"{name}:{shown}" if shown else f"{name}@{digest[7:15]}"
            project = origin[:-1]
            nid = "a:" + origin + digest
        else:
            h = self.hist.get(name)
            n = ver.digest_versions(self.project, h).get(digest) if h else None
            label = f"{name}:v{n}" if n is not None else f"{name}@{digest[7:15]}"
            project = None
            nid = "a:" + digest
        attrs: dict[str, Any] = {"kind": "artifact", "label": label, "name": name}
        attrs.update(digest=digest, type=type_ or "?")
        if origin is not None:
            attrs.update(project=project, origin=origin)
        self.g.nodes.setdefault(nid, attrs)
        return nid

    def run_node(self, rec: dict[str, Any], origin: str | None) -> str:
        nid = "r:" + (origin or "") + str(rec["id"])
        name = rec.get("name") or rec["id"]
        self.g.nodes.setdefault(
            nid,
            {
                "kind": "run",
                "label": f"{origin}{name}" if origin else name,
                "run_id": rec["id"],
                "job_type": rec.get("job_type") or "run",
                "state": rec.get("state"),
                **({"project": origin[:-1]} if origin else {}),
            },
        )
        return nid

    def edge(self, a: str, b: str) -> None:
        if (a, b) not in self.seen_edges:
            self.seen_edges.add((a, b))
            self.g.edges.append((a, b))

    def walk(self, start: str, depth: int, upstream: bool) -> None:
        """Breadth-first, `depth` run steps: artifact -> its runs -> their artifacts -> ..."""
        arts_key = "inputs" if upstream else "outputs"
        frontier = [start]
        for _ in range(depth):
            nxt = []
            for nid in frontier:
                for idx, origin in self.indexes(self.g.nodes[nid].get("origin")):
                    runs_of = idx.logged if upstream else idx.used
                    for rid in dict.fromkeys(runs_of.get(self.g.nodes[nid]["digest"], [])):
                        rec = idx.runs[rid].record
                        rn = self.run_node(rec, origin)
                        self.edge(*((rn, nid) if upstream else (nid, rn)))
                        for art in rec.get(arts_key, []):
                            name = _qualified(origin, art["name"])
                            version = art.get("version")
                            an = self.art_node(name, art["digest"], art.get("type"), version)
                            pair = (an, rn) if upstream else (rn, an)
                            if pair not in self.seen_edges:
                                nxt.append(an)
                            self.edge(*pair)
            frontier = nxt
            if not frontier:
                break

    def indexes(self, origin: str | None) -> list[tuple[Index, str | None]]:
        """Where the runs around a node are recorded, each with the origin its names are
        relative to: this repository's runs, and for a project's version that project's
        runs too, when its mirror is here."""
        if origin is None:
            return [(self.idx, None)]
        if origin not in self.foreign:
            self.foreign[origin] = _mirror_index(self.project, origin)
        theirs = self.foreign[origin]
        return [(self.idx, None), *([(theirs, origin)] if theirs is not None else [])]


def _mirror_index(project: Project, origin: str) -> Index | None:
    try:
        source = projects.source_of(project.root, origin)
        if not (projects.mirror_dir(project, source) / "HEAD").is_file():
            return None
        mirror = projects.open_mirror(project, source)
        try:
            return index(mirror)
        finally:
            mirror.close()
    except GitArtifactsError:
        return None


def _qualified(origin: str | None, name: Any) -> str:
    """An artifact name of a project's run record, named as this repository names it."""
    text = str(name)
    return origin + text if origin and NAME_RE.match(text) else text


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
