"""Pure checks of committed text: what a change of `.gitartifacts.yaml` does to where
artifact content goes."""

from __future__ import annotations

from typing import NamedTuple

import yaml

from gitartifacts.settings import CONFIG_FILE


class RemoteChange(NamedTuple):
    """One change of the remote caches in `.gitartifacts.yaml` (`remote` None: the default)."""

    remote: str | None
    what: str  # "added", "removed", "url", an option key, "default", "file"
    old: str | None
    new: str | None

    def __str__(self) -> str:
        if self.what == "file":
            return f"{CONFIG_FILE} {self.new}"
        if self.remote is None:
            return f"default remote changed: {self.old or '(none)'} -> {self.new or '(none)'}"
        if self.what == "added":
            return f"remote {self.remote!r} added: {self.new}"
        if self.what == "removed":
            return f"remote {self.remote!r} removed (was {self.old})"
        return (
            f"remote {self.remote!r} {self.what} changed: "
            f"{self.old or '(none)'} -> {self.new or '(none)'}"
        )


def remote_changes(old: bytes | None, new: bytes | None) -> list[RemoteChange]:
    """What changes, between two versions of `.gitartifacts.yaml`, about where content goes:
    remotes added, removed, moved (url or options) and the default remote."""
    before, after = _remotes_of(old), _remotes_of(new)
    if before is None or after is None:
        return [RemoteChange(None, "file", None, "is not a valid settings file")]
    (old_remotes, old_default), (new_remotes, new_default) = before, after
    out = []
    for name in sorted(set(old_remotes) | set(new_remotes)):
        a, b = old_remotes.get(name), new_remotes.get(name)
        if a is None and b is not None:
            out.append(RemoteChange(name, "added", None, b.get("url")))
        elif b is None and a is not None:
            out.append(RemoteChange(name, "removed", a.get("url"), None))
        elif a is not None and b is not None:
            for key in sorted(set(a) | set(b), key=lambda k: (k != "url", k)):
                if a.get(key) != b.get(key):
                    out.append(RemoteChange(name, key, a.get(key), b.get(key)))
    if old_default != new_default:
        out.append(RemoteChange(None, "default", old_default, new_default))
    return out


def _remotes_of(text: bytes | None) -> tuple[dict[str, dict[str, str]], str | None] | None:
    """(remote name -> its settings as text, default remote) of a settings file; None when
    it cannot be read (a changed file that no one can read is itself a warning)."""
    if text is None:
        return {}, None
    try:
        doc = yaml.safe_load(text.decode("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    remotes = doc.get("remotes") or {}
    if not isinstance(remotes, dict):
        return None
    out = {
        str(name): {str(k): str(v) for k, v in spec.items()}
        if isinstance(spec, dict)
        else {"url": str(spec)}
        for name, spec in remotes.items()
    }
    default = doc.get("default_remote")
    return out, None if default is None else str(default)
