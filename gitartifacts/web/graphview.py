"""The lineage graph page, and the same graph as one self-contained HTML file.

Both carry the folded graph (W&B's grouping, as `lineage` prints it) and the exploded one;
graph.js draws one of them with cytoscape and dagre, and the Explode button swaps them.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from gitartifacts.core.manifest import NAME_RE, VERSION_RE
from gitartifacts.gitmodel.project import Project
from gitartifacts.tracking import graph as lineage_graph
from gitartifacts.web import views
from gitartifacts.web.html import esc, json_block, link, page, run_url, version_url

SCRIPTS = ("vendor/cytoscape.min.js", "vendor/cytoscape-dagre.min.js", "graph.js")


def lineage(project: Project, name: str, version: str, depth: int = 10) -> str:
    """The page of the lineage graph around NAME:VERSION."""
    data = graph_data(project, views.version_spec(name, version), depth=depth, links=True)
    body = (
        f"<p>{link(version_url(name, version), f'{name}:{version}')}</p>"
        + _controls()
        + json_block("graph", data)
    )
    return page(f"Lineage of {name}:{version}", body, scripts=SCRIPTS)


def graph_data(project: Project, spec: str, *, depth: int, links: bool) -> dict[str, Any]:
    """The folded and the exploded graph around SPEC as cytoscape elements; with `links`,
    each version and run node carries the address of its page."""
    g, start = lineage_graph.graph(project, spec, depth=depth)
    folded = lineage_graph.group_by_type(g, start)
    return {
        "start": start,
        "folded": _elements(folded, links),
        "exploded": _elements(g, links),
    }


def standalone(data: dict[str, Any], title: str) -> str:
    """One HTML file: the graph, the vendored scripts and the styles inlined, no network."""
    static = resources.files("gitartifacts.web") / "static"
    scripts = "".join(
        "<script>" + (static / s).read_text("utf-8").replace("</script", "<\\/script") + "</script>"
        for s in SCRIPTS
    )
    css = (static / "style.css").read_text("utf-8").replace("</style", "<\\/style")
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{esc(title)}</title><style>{css}</style></head>\n"
        f"<body><main><h1>{esc(title)}</h1>{_controls()}{json_block('graph', data)}</main>"
        f"{scripts}</body></html>\n"
    )


# ---------------------------------------------------------------- helpers


def _controls() -> str:
    return (
        "<p><button type=button id=explode aria-pressed=false>Explode</button> "
        "<span id=count></span></p><div id=cy></div>"
    )


def _elements(g: lineage_graph.Graph, links: bool) -> dict[str, list[dict[str, Any]]]:
    nodes = []
    for nid, n in g.nodes.items():
        data: dict[str, Any] = {
            "id": nid,
            "label": str(n.get("label")),
            "kind": n.get("kind"),
            "sub": str(n.get("type") if n.get("kind") == "artifact" else n.get("job_type")),
            "group": "group" in n,
        }
        href = _href(n) if links else None
        if href:
            data["href"] = href
        nodes.append({"data": data})
    edges = [
        {"data": {"id": f"e{i}", "source": a, "target": b}} for i, (a, b) in enumerate(g.edges)
    ]
    return {"nodes": nodes, "edges": edges}


def _href(n: dict[str, Any]) -> str | None:
    """The page of a node of this repository: a version's or a run's; none for a group or
    another project's node."""
    if "group" in n or n.get("project"):
        return None
    if n.get("kind") == "run":
        rid = str(n.get("run_id"))
        return run_url(rid) if NAME_RE.match(rid) else None
    name, _, version = str(n.get("label")).rpartition(":")
    if name == n.get("name") and VERSION_RE.match(version):
        return version_url(name, version)
    return None
