"""HTML building blocks of the web view: the page frame, escaping, safe JSON and links.

Everything shown comes through git (names, descriptions, metadata, run records) and is
untrusted: text goes through `esc`, data for scripts through `json_block`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from gitartifacts.core.sizes import human_bytes

NAV = (("/", "Artifacts"), ("/runs", "Runs"), ("/registry", "Registry"))
_JSON_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def esc(value: Any) -> str:
    """Any value as HTML text (quotes too, so it is safe in an attribute)."""
    return html.escape(str(value), quote=True)


def safe_json(data: Any) -> str:
    """JSON that cannot end the <script> element it sits in, nor break a JS string."""
    return json.dumps(data, default=str, sort_keys=True).translate(_JSON_ESCAPES)


def json_block(element_id: str, data: Any) -> str:
    """Data for a page's script: a JSON element scripts read, never run."""
    return f'<script type="application/json" id="{esc(element_id)}">{safe_json(data)}</script>'


def page(title: str, body: str, scripts: Sequence[str] = (), styles: Sequence[str] = ()) -> str:
    """The frame every page shares: navigation, the title, BODY; SCRIPTS and STYLES are
    names of allowed static files."""
    links = "".join(f'<a href="{href}">{text}</a>' for href, text in NAV)
    css = "".join(f'<link rel="stylesheet" href="/static/{esc(s)}">' for s in styles)
    js = "".join(f'<script src="/static/{esc(s)}"></script>' for s in scripts)
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · git artifacts</title>"
        '<link rel="icon" href="/favicon.ico" type="image/svg+xml">'
        f'<link rel="stylesheet" href="/static/style.css">{css}</head>\n'
        f'<body><header><a class=brand href="/">git artifacts</a><nav>{links}</nav></header>\n'
        f"<main><h1>{esc(title)}</h1>\n{body}</main>{js}</body></html>\n"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], attrs: str = "") -> str:
    """A table of already escaped cells."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def link(href: str, text: Any, attrs: str = "") -> str:
    return f'<a href="{esc(href)}"{attrs}>{esc(text)}</a>'


def artifact_url(name: str) -> str:
    return "/artifacts/" + quote(name, safe="")


def version_url(name: str, version: str) -> str:
    return f"{artifact_url(name)}/{quote(version, safe='')}"


def lineage_url(name: str, version: str) -> str:
    return f"/lineage/{quote(name, safe='')}/{quote(version, safe='')}"


def run_url(run_id: str) -> str:
    return "/runs/" + quote(run_id, safe="")


def size(n: Any) -> str:
    return esc(human_bytes(n)) if isinstance(n, int) else ""


def value(v: Any) -> str:
    """A metadata, config or summary value as text: a scalar as it is, the rest as JSON."""
    if isinstance(v, str):
        return esc(v)
    return esc(json.dumps(v, default=str, sort_keys=True))


def pairs(data: Any) -> str:
    """A dictionary as a two-column table (keys escaped too: they are data)."""
    if not isinstance(data, dict) or not data:
        return "<p class=muted>none</p>"
    return table(("key", "value"), ((esc(k), value(v)) for k, v in data.items()), " class=kv")
