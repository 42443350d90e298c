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
        events.check_latest(ver.histories(project).get(name, ver.History(name)), r.version)
    events.set_alias(project, name, r.version, alias_name)
    return f"{name}:{alias_name} -> v{r.version}"


def delete_alias(project: Project, name: str, alias_name: str) -> str:
    """Remove an alias; `latest` too, until the next version takes it (meanwhile `name:latest`
    still names the newest version, as in W&B)."""
    events.delete_alias(project, name, alias_name)
    project.state.clear_pending_alias(name, alias_name)
    return f"deleted alias {name}:{alias_name}"
