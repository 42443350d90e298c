"""Pure checks of committed text: manifest schema by line, and remote-cache settings changes.

A manifest's problems come with the line they are on; a change of `.gitartifacts.yaml` is
described by what it does to where artifact content goes.

Findings are records, one per problem; the CLI prints them as `file:line: message`.
"""

from __future__ import annotations

from typing import NamedTuple

import yaml

from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.core import safeyaml
from gitartifacts.errors import GitArtifactsError, ManifestError, UsageError
from gitartifacts.settings import CONFIG_FILE


class Finding(NamedTuple):
    file: str
    line: int | None  # None for findings about a whole file that is not a manifest
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.message}"
            if self.line
            else f"{self.file}: {self.message}"
        )


def check_text(text: str, source: str) -> tuple[list[Finding], mf.Manifest | None]:
    """Schema problems of one manifest's text, each with its line; the manifest if none."""
    findings, m, _ = parse_text(text, source)
    return findings, m


def parse_text(text: str, source: str) -> tuple[list[Finding], mf.Manifest | None, KeyLines]:
    try:
        safeyaml.check_yaml(text, source)
    except ManifestError as exc:
        return [Finding(source, 1, exc.message)], None, KeyLines(None)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark else 1
        return [Finding(source, line, f"not valid YAML ({what})")], None, KeyLines(None)
    lines = KeyLines(node)
    findings = [Finding(source, line, msg) for line, msg in lines.duplicates]
    # Every bad entry is reported, so one run shows all of them.
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if isinstance(entries, dict):
        for p, value in entries.items():
            try:
                mf.validate_entry_path(p)
                mparse.entry_from_dict(value)
            except UsageError as exc:
                findings.append(Finding(source, lines.entry(p), f"entry {p!r}: {error_text(exc)}"))
    if findings and isinstance(doc, dict):
        # The rest of the file still gets checked; totals cannot agree without those entries.
        doc = {**doc, "entries": {}} if "entries" in doc else doc
    try:
        m = mparse.from_dict(doc)
    except UsageError as exc:
        key = getattr(exc, "key", None)
        if not findings or key not in ("digest", "size", "files"):
            findings.append(Finding(source, lines.top(key), error_text(exc)))
        return findings, None, lines
    return findings, None if findings else m, lines


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


class KeyLines:
    """1-based lines of top-level keys and of entry paths, from the YAML node tree."""

    def __init__(self, node: yaml.Node | None) -> None:
        self.keys: dict[str, int] = {}
        self.entries: dict[str, int] = {}
        self.duplicates: list[tuple[int, str]] = []
        if not isinstance(node, yaml.MappingNode):
            return
        self.keys = self._map(node, "")
        for k, v in node.value:
            if k.value == "entries" and isinstance(v, yaml.MappingNode):
                self.entries = self._map(v, "entry ")
                for _, ev in v.value:
                    if isinstance(ev, yaml.MappingNode):
                        self._map(ev, "entry field ")

    def _map(self, node: yaml.MappingNode, what: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for k, _ in node.value:
            key = str(k.value)
            line = k.start_mark.line + 1
            if key in out:
                # The YAML loader keeps the last one silently: a reviewer may read the other.
                self.duplicates.append(
                    (line, f"duplicate {what}key {key!r} (first on line {out[key]}; remove one)")
                )
            else:
                out[key] = line
        return out

    def top(self, key: str | None) -> int:
        return self.keys.get(key, 1) if key else 1

    def entry(self, path: object) -> int:
        return self.entries.get(str(path), self.keys.get("entries", 1))


def error_text(exc: Exception) -> str:
    if isinstance(exc, GitArtifactsError):
        return f"{exc.message} ({exc.fix})" if exc.fix else exc.message
    return str(exc)
