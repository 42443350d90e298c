"""`alias` and `delete_alias`: point names at versions."""

from __future__ import annotations

from gitartifacts.core import manifest as mf
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel import events
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.refs import LATEST
from gitartifacts.gitmodel.resolve import resolve


def alias(project: Project, spec: str, alias_name: str) -> str:
    """Point `alias_name` at the version `spec` resolves to. Returns a message."""
    mf.validate_alias(alias_name)
    r = resolve(project, spec, entries=False)
    name = r.manifest.name
    if r.version is None:
        if r.commit is not None:
            raise UsageError(
                f"{spec} is not a version of {name}",
                "aliases point at versions; see git artifacts log",
            )
        if alias_name != LATEST:  # the staged version gets `latest` when committed
            project.state.add_pending_alias(name, r.manifest.digest, alias_name)
        return f"{name}:{alias_name} will point at {name}'s staged version once it is committed"
    if alias_name == LATEST:
        _check_latest(project, name, r.version, spec)
    events.set_alias(project, name, r.version, alias_name)
    return f"{name}:{alias_name} -> v{r.version}"


def _check_latest(project: Project, name: str, n: int, spec: str) -> None:
    """`latest` is the tool's (as in W&B): it names the version logged last and moves by
    itself; naming it is fine where it already points, and refused elsewhere."""
    h = ver.histories(project).get(name, ver.History(name))
    at = h.aliases.get(LATEST)
    if at is not None and at == h.versions.get(n):
        return
    now = h.version_of_commit(at) if at is not None else None
    raise UsageError(
        "'latest' is kept by the tool: it points at the version logged last"
        + (f" (v{now})" if now is not None else ""),
        f"name v{n} with an alias of your own, e.g. git artifacts alias {spec} production",
    )


def delete_alias(project: Project, name: str, alias_name: str) -> str:
    if alias_name == LATEST:
        raise UsageError(
            "'latest' is kept by the tool", "point another alias instead, or delete a custom one"
        )
    events.delete_alias(project, name, alias_name)
    project.state.clear_pending_alias(name, alias_name)
    return f"deleted alias {name}:{alias_name}"


# ---------------------------------------------------------------- checkout and get
