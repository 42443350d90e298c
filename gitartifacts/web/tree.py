"""A version's files as a folder tree with a filter box (app.js hides what does not match)."""

from __future__ import annotations

from typing import Any

from gitartifacts.web.html import esc, size

SHOWN = 5000  # files drawn in one page; past that the page says how many it left out


def render(entries: dict[str, dict[str, Any]]) -> str:
    """The tree of ENTRIES (path -> {digest, size, ref}), folders first, then files."""
    paths = sorted(entries)
    root: dict[str, Any] = {}
    for path in paths[:SHOWN]:
        node = root
        *folders, leaf = path.split("/")
        for part in folders:
            node = node.setdefault(part + "/", {})
        node[leaf] = entries[path]
    more = len(paths) - SHOWN
    note = f"<p class=muted>{more} more files not shown.</p>" if more > 0 else ""
    return (
        '<input id=filter type=search placeholder="filter files" autocomplete=off>'
        f" <span id=shown>{min(len(paths), SHOWN)}</span> files shown"
        f"<ul class=tree id=files>{_items(root, '')}</ul>{note}"
    )


def _items(node: dict[str, Any], prefix: str) -> str:
    folders = sorted(k for k in node if k.endswith("/"))
    files = sorted(k for k in node if not k.endswith("/"))
    out = []
    for name in folders:
        inner = _items(node[name], prefix + name)
        out.append(
            f"<li class=folder><details open><summary>{esc(name)}</summary><ul>{inner}</ul>"
            "</details></li>"
        )
    for name in files:
        e = node[name]
        ref = e.get("ref")
        extra = f" <span class=ref>{esc(ref)}</span>" if ref else ""
        out.append(
            f'<li class=file data-path="{esc(prefix + name)}">{esc(name)}'
            f" <span class=size>{size(e.get('size'))}</span>{extra}</li>"
        )
    return "".join(out)
