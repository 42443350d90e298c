"""Which page answers which address: the path parts are unquoted one by one and each page
checks its parts with the name and version parsers (no part ever becomes a file path)."""

from __future__ import annotations

from collections.abc import Callable

from gitartifacts.errors import NotFoundError
from gitartifacts.gitmodel.project import Project
from gitartifacts.web import graphview, runviews, views

Answer = tuple[bytes | str, str]  # the body and its content type
Route = Callable[[Project, list[str], dict[str, str]], Answer]
HTML = "text/html"


def find(first: str, rest: list[str]) -> Route:
    """The page for an address whose path is FIRST/REST..."""
    route = {
        "": _index,
        "artifacts": _artifacts,
        "lineage": _lineage,
        "runs": _runs,
        "registry": _registry,
    }.get(first)
    if route is None:
        raise _missing()
    return route


def _index(project: Project, parts: list[str], query: dict[str, str]) -> Answer:
    if parts:
        raise _missing()
    return views.artifacts(project), HTML


def _artifacts(project: Project, parts: list[str], query: dict[str, str]) -> Answer:
    if not parts:
        return views.artifacts(project), HTML
    if len(parts) == 1:
        return views.versions(project, parts[0]), HTML
    if len(parts) == 2 and parts[1] == "diff":
        return views.diff(project, parts[0], query.get("a"), query.get("b")), HTML
    if len(parts) == 2:
        return views.version(project, parts[0], parts[1]), HTML
    raise _missing()


def _lineage(project: Project, parts: list[str], query: dict[str, str]) -> Answer:
    if len(parts) != 2:
        raise _missing()
    return graphview.lineage(project, parts[0], parts[1]), HTML


def _runs(project: Project, parts: list[str], query: dict[str, str]) -> Answer:
    if not parts:
        return runviews.runs(project), HTML
    if len(parts) == 1:
        return runviews.run(project, parts[0]), HTML
    if len(parts) >= 3 and parts[1] == "files":
        return runviews.run_file(project, parts[0], "/".join(parts[2:]))
    raise _missing()


def _registry(project: Project, parts: list[str], query: dict[str, str]) -> Answer:
    if parts:
        raise _missing()
    return runviews.registry_page(project), HTML


def _missing() -> NotFoundError:
    return NotFoundError("no such page", "start from the artifacts page")
