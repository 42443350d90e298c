"""Manifest schema 1: the records, the canonical digest, names, paths and metadata checked,
and the canonical YAML text (read back by `manifest_parse`; large ones move entries into
`listing` objects).

Everything here is pure: no git, no file system.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

from gitartifacts.core import names
from gitartifacts.errors import UsageError

SCHEMA = 1
KEY_ORDER = (
    "gitartifacts",
    "name",
    "type",
    "description",
    "metadata",
    "path",
    "digest",
    "size",
    "files",
    "ttl",
    "entries",
    "listing",
)
REQUIRED_KEYS = ("gitartifacts", "name", "type", "digest", "size", "files")
ENTRY_KEY_ORDER = ("ref", "digest", "version_id", "size")
# Above this many entries the listing moves out of the YAML into content objects.
INLINE_LIMIT = 1000
MAX_METADATA_KEYS = 100
# Bounds on what untrusted metadata may cost: the nesting of its values.
MAX_METADATA_DEPTH = 32
MANIFEST_DIR = ".artifacts"

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")
SHA256_RE = re.compile(r"^sha256:[0-9a-f]{64}\Z")
REF_DIGEST_RE = re.compile(
    r"^(sha256:[0-9a-f]{64}|md5:[0-9a-f]{32}|git:[0-9a-f]{40}|etag:.+|uri:.+)\Z"
)
GIT_REF_RE = re.compile(r"^git:[0-9a-f]{40}\Z")  # a file pinned in a commit (code artifacts)
TTL_RE = re.compile(r"^[1-9][0-9]*[smhdw]\Z")
VERSION_RE = re.compile(r"^v(0|[1-9][0-9]*)\Z")
VERSION_LIKE_RE = re.compile(r"^v[0-9]+\Z")  # refused as aliases, leading zeros too
# Empty, '.', '..' or '.git' segments (so also a leading '/'), backslashes, control characters.
_BAD_PATH_RE = re.compile(r"(?:^|/)(?:|\.|\.\.|\.[gG][iI][tT])(?:/|$)|[\\\x00-\x1f\x7f]")
DIGEST_HEADER = b"gitartifacts-manifest-v1\n"


class Entry(NamedTuple):
    """One file (stored bytes) or reference (external URI) of an artifact."""

    digest: str
    size: int
    ref: str | None = None
    version_id: str | None = None


@dataclass
class Manifest:
    """One version of an artifact as written in `.artifacts/<name>.yaml`."""

    name: str
    type: str
    digest: str
    size: int
    files: int
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    ttl: str | None = None
    # Exactly one of the two is set in a file; a loaded listing fills `entries` too.
    entries: dict[str, Entry] | None = None
    listing: str | None = None


def canonical_digest(entries: Iterable[tuple[str, str]]) -> str:
    """The artifact digest over (path, entry digest) pairs, sorted by UTF-8 bytes of the path."""
    pairs = sorted(entries, key=lambda pd: pd[0].encode())
    h = hashlib.sha256(DIGEST_HEADER)
    # Hashed in slices: a million entries never become one big byte string.
    for i in range(0, len(pairs), 4096):
        h.update("".join(f"{p}\t{d}\n" for p, d in pairs[i : i + 4096]).encode())
    return "sha256:" + h.hexdigest()


def entries_digest(entries: Mapping[str, Entry]) -> str:
    return canonical_digest((path, e.digest) for path, e in entries.items())


def build(
    name: str,
    type: str,
    entries: Mapping[str, Entry],
    *,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    path: str | None = None,
    ttl: str | None = None,
) -> Manifest:
    """A manifest for these entries, with digest, size and file count computed."""
    meta = _checked_fields(name, type, metadata, path, ttl)
    ordered = {p: entries[p] for p in sorted(entries, key=str.encode)}
    for p in ordered:
        validate_entry_path(p)
    check_no_file_dir_clash(ordered)
    return Manifest(
        name=name,
        type=type,
        digest=entries_digest(ordered),
        size=sum(e.size for e in ordered.values()),
        files=len(ordered),
        description=description,
        metadata=meta,
        path=path,
        ttl=ttl,
        entries=ordered,
    )


def build_listed(
    name: str,
    type: str,
    listing: str,
    *,
    digest: str,
    size: int,
    files: int,
    description: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    path: str | None = None,
    ttl: str | None = None,
) -> Manifest:
    """A manifest whose entries are in the listing `listing`, already stored, with the
    digest and totals they came to (see `core/listing_build.py`)."""
    meta = _checked_fields(name, type, metadata, path, ttl)
    return Manifest(
        name=name,
        type=type,
        digest=digest,
        size=size,
        files=files,
        description=description,
        metadata=meta,
        path=path,
        ttl=ttl,
        listing=listing,
    )


def _checked_fields(
    name: str,
    type: str,
    metadata: Mapping[str, Any] | None,
    path: str | None,
    ttl: str | None,
) -> dict[str, Any]:
    """The fields besides the entries, checked; the metadata as a plain dict."""
    names.validate_artifact_name(name)
    names.validate_artifact_type(type)
    meta = dict(metadata or {})
    validate_metadata(meta)
    if path is not None:
        validate_workspace_path(path)
    if ttl is not None and not TTL_RE.match(ttl):
        raise UsageError(
            f"invalid ttl {ttl!r}", "use a number and a unit s, m, h, d or w, e.g. 30d"
        )
    return meta


# ---------------------------------------------------------------- names, paths, metadata


def validate_name(value: object, what: str = "name") -> str:
    """Aliases, tags, collections, remote names, run ids: a git ref component of at most 128
    characters that needs no escaping (artifact names and types: `names`)."""
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise UsageError(
            f"invalid artifact {what} {value!r}",
            "use 1-128 letters, digits, '-', '_' or '.', starting with a letter or digit",
        )
    if ".." in value or value.endswith(".lock") or value.endswith("."):
        raise UsageError(
            f"invalid artifact {what} {value!r}",
            "a name may not contain '..' nor end with '.lock' or '.'",
        )
    return value


def validate_alias(alias: object) -> str:
    if isinstance(alias, str) and any(c in alias for c in "/:"):
        raise UsageError(
            f"invalid alias {alias!r}: Aliases must not contain any of the following "
            "characters: '/', ':'",
            "choose an alias of letters, digits, '-', '_' or '.'",
        )
    validate_name(alias, "alias")
    assert isinstance(alias, str)
    if VERSION_LIKE_RE.match(alias):
        raise UsageError(
            f"alias {alias!r} looks like a version number",
            "versions are numbered by the tool; choose another alias, e.g. 'best'",
        )
    return alias


def validate_entry_path(path: object, what: str = "entry path") -> str:
    """A relative POSIX path that cannot escape the folder it is written under."""
    if not isinstance(path, str) or not path or _BAD_PATH_RE.search(path):
        raise UsageError(
            f"invalid {what} {path!r}",
            "use a relative POSIX path without '..', '.git', backslashes or empty segments",
        )
    return path


def validate_entry_names(folder: str, names: list[str], what: str = "entry path") -> None:
    """`validate_entry_path` of `folder/name` for each name of one folder (names from a
    folder listing: one segment each), with one search of the whole folder's names joined
    as one path, where a search per path took half of the check of 100,000 files; only a
    folder with a bad path is searched name by name, to name the first."""
    if names and _BAD_PATH_RE.search("/".join([folder, *names] if folder else names)):
        for name in names:
            validate_entry_path(f"{folder}/{name}" if folder else name, what)


def validate_workspace_path(path: object) -> str:
    """An artifact's `path`: '.' (the repository root) or a safe relative path."""
    return "." if path == "." else validate_entry_path(path, what="path")


def validate_metadata(metadata: object) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise UsageError("metadata must be a mapping", "pass a JSON object or key=value pairs")
    if len(metadata) > MAX_METADATA_KEYS:
        raise UsageError(
            f"metadata has {len(metadata)} top-level keys",
            f"keep at most {MAX_METADATA_KEYS}; nest the rest under one key",
        )
    if _depth(metadata, MAX_METADATA_DEPTH) > MAX_METADATA_DEPTH:
        raise UsageError(
            f"metadata is nested more than {MAX_METADATA_DEPTH} levels deep",
            "flatten it",
        )
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise UsageError(
            f"metadata is not JSON-serialisable: {exc}",
            "use strings, numbers, booleans, lists and mappings with string keys; no NaN or Inf",
        ) from None
    if any(not isinstance(k, str) for k in metadata):
        raise UsageError("metadata keys must be strings", "quote the keys")
    return metadata


def _depth(value: object, limit: int) -> int:
    """How deeply lists and mappings nest in `value`, counted up to just past `limit`."""
    level, todo = 0, [value]
    while todo and level <= limit:
        level += 1
        nxt: list[object] = []
        for v in todo:
            if isinstance(v, dict):
                nxt += v.values()
            elif isinstance(v, list):
                nxt += v
        todo = nxt
    return level if todo else level - 1


def check_no_file_dir_clash(entries: Mapping[str, Entry]) -> None:
    """No entry may be both a file and the folder of another entry ('a' and 'a/b')."""
    names = set(entries)
    for p in entries:
        cut = p.rfind("/")
        while cut > 0:
            parent = p[:cut]
            if parent in names:
                raise UsageError(
                    f"entry {parent!r} is a file and also the folder of {p!r}",
                    "rename one of them",
                )
            cut = parent.rfind("/")


# ---------------------------------------------------------------- YAML


class _Flow(dict[str, Any]):
    """A mapping written in flow style: `{digest: ..., size: ...}`."""


class _Dumper(yaml.CSafeDumper if hasattr(yaml, "CSafeDumper") else yaml.SafeDumper):  # type: ignore[misc]
    pass


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)


_Dumper.add_representer(_Flow, _represent_flow)


def dumps(m: Manifest) -> str:
    """The canonical YAML text: keys in schema order, entries sorted, one entry a line."""
    doc: dict[str, Any] = {"gitartifacts": SCHEMA, "name": m.name, "type": m.type}
    if m.description is not None:
        doc["description"] = m.description
    if m.metadata:
        doc["metadata"] = _Flow(_sorted_json(m.metadata))
    if m.path is not None:
        doc["path"] = m.path
    doc.update(digest=m.digest, size=m.size, files=m.files)
    if m.ttl is not None:
        doc["ttl"] = m.ttl
    if m.listing is not None:
        doc["listing"] = m.listing
    else:
        entries = m.entries or {}
        doc["entries"] = {
            p: _Flow(entry_fields(entries[p])) for p in sorted(entries, key=str.encode)
        }
    text: str = yaml.dump(
        doc,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=1 << 16,
        default_flow_style=False,
    )
    return text


def entry_fields(e: Entry) -> dict[str, Any]:
    if e.ref is None:
        return {"digest": e.digest, "size": e.size}
    out: dict[str, Any] = {"ref": e.ref, "digest": e.digest}
    if e.version_id is not None:
        out["version_id"] = e.version_id
    out["size"] = e.size
    return out


def _sorted_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_json(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_json(v) for v in value]
    return value


def manifest_path(name: str) -> str:
    return f"{MANIFEST_DIR}/{name}.yaml"
