"""What a logged `Artifact` lets you change (aliases, tags, description, metadata, ttl) and how
`save()` writes the changes: as events, never as a new version; and its `delete()`."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable
from typing import Any

from gitartifacts.core import manifest as mf
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel import edits, lifecycle
from gitartifacts.gitmodel import versions as ver
from gitartifacts.ops import delete as ops_delete
from gitartifacts.ops import edit as ops_edit
from gitartifacts.sdk.base import ArtifactPart


class AliasList(list[str]):
    """A version's aliases, as W&B gives them: append, remove or assign, then `save()`."""

    def __init__(self, aliases: Iterable[str], owner: str) -> None:
        super().__init__(aliases)
        self._owner = owner

    def remove(self, alias: str) -> None:
        if alias not in self:
            raise UsageError(
                f"{self._owner} has no alias {alias!r}",
                f"its aliases: {', '.join(self)}" if self else f"{self._owner} has no aliases",
            )
        super().remove(alias)


class Editable(ArtifactPart):
    """The editable fields of an artifact; on a logged version `save()` writes what changed
    since it was read (or last saved) as one edit event plus alias moves."""

    _name: str
    _version: int | None
    _digest: str | None
    description: str | None
    _ttl: str | None  # the manifest's spelling (30d)
    tags: list[str]
    _metadata: dict[str, Any]
    _aliases: AliasList | None = None
    # The values as read or last saved, to tell what this object changed (None: not read).
    _base: edits.Values | None = None
    _base_aliases: list[str] | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable, at most 100 top-level keys; checked when set and when saved."""
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._metadata = mf.validate_metadata(dict(value) if isinstance(value, dict) else value)

    @property
    def ttl(self) -> dt.timedelta | None:
        """Time to live, measured from the version's creation (W&B's `ttl`); None: none.
        `save()` refuses one on a version linked in the registry, with W&B's words."""
        return None if self._ttl is None else dt.timedelta(seconds=lifecycle.ttl_seconds(self._ttl))

    @ttl.setter
    def ttl(self, value: dt.timedelta | str | None) -> None:
        if isinstance(value, dt.timedelta):
            self._ttl = lifecycle.ttl_text(int(value.total_seconds()))
        elif value is None or (isinstance(value, str) and lifecycle.ttl_seconds(value)):
            self._ttl = value  # also the manifest's spelling (30d), checked above
        else:
            raise UsageError(
                f"ttl must be a timedelta or None, not {value!r}", "e.g. timedelta(days=30)"
            )

    @property
    def aliases(self) -> list[str]:
        """The version's aliases (`latest` too when it is on it); change the list, then save."""
        if self._aliases is None:
            self._aliases = AliasList(self._read_aliases(), self._label())
        return self._aliases

    @aliases.setter
    def aliases(self, value: Iterable[str]) -> None:
        if isinstance(value, str):
            raise UsageError(f"aliases must be a list, not {value!r}", f"use [{value!r}]")
        if self._aliases is None:
            self._read_aliases()  # what the version has, for save() to compare with
        self._aliases = AliasList(value, self._label())

    def _remember(self, tags: Iterable[str]) -> None:
        """Called with a version as read: its tags; what it holds now is what save() compares."""
        self.tags = list(tags)
        self._base = self._values()

    def _read_aliases(self) -> list[str]:
        found: list[str] = []
        if self._version is not None:
            h = ver.histories(self.project).get(self._name)
            found = h.aliases_of(self._version) if h else []
        self._base_aliases = list(found)
        return found

    def _values(self) -> edits.Values:
        return edits.Values(
            self.description, copy.deepcopy(self._metadata), list(self.tags), self._ttl
        )

    def _save_edits(self, aliases: Iterable[str]) -> None:
        """Write what changed on this logged version; nothing when nothing did."""
        if aliases:
            self.aliases.extend(a for a in aliases if a not in self.aliases)
        if self._version is None or self._digest is None:
            raise UsageError(
                f"{self._name} is not a version yet, so it cannot be edited",
                f"commit {mf.manifest_path(self._name)} first, then edit the version",
            )
        for a in self._aliases or ():
            mf.validate_alias(a)
        if self._base is None:  # saved as a draft by this object: compare with the version
            self._base = ops_edit.current(ops_edit.version(self.project, self.name))
        new = self._values()
        base_aliases = self._base_aliases or []
        ops_edit.save_version(
            self.project,
            self._name,
            self._version,
            self._digest,
            (self._base, base_aliases),
            (new, list(self._aliases) if self._aliases is not None else base_aliases),
        )
        self._base = new
        if self._aliases is not None:
            self._base_aliases = list(dict.fromkeys(self._aliases))

    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version, as W&B's `delete()`: refused when it has aliases, unless
        `delete_aliases`, which removes them with it. The version's number is never used
        again; `git artifacts push` publishes the deletion."""
        if self._version is None:
            raise UsageError(
                f"{self._name} is not a version yet, so it cannot be deleted",
                "only logged versions can be deleted",
            )
        ops_delete.delete(self.project, [self._label()], delete_aliases)
        self._aliases = None

    def _label(self) -> str:
        return f"{self._name}:v{self._version}" if self._version is not None else self._name
