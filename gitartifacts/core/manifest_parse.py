"""A manifest read from untrusted YAML text: every field checked, errors naming the file,
the line and the key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitartifacts.core import names
from gitartifacts.core.manifest import (
    ENTRY_KEY_ORDER,
    GIT_REF_RE,
    KEY_ORDER,
    REF_DIGEST_RE,
    REQUIRED_KEYS,
    SCHEMA,
    SHA256_RE,
    TTL_RE,
    Entry,
    Manifest,
    check_no_file_dir_clash,
    entries_digest,
    validate_entry_path,
    validate_metadata,
    validate_workspace_path,
)
from gitartifacts.core.merge3 import conflict_marker_line
from gitartifacts.core.safeyaml import load_yaml
from gitartifacts.errors import ManifestError, UsageError


def loads(text: str, source: str = "manifest") -> Manifest:
    """Parse and validate manifest text; errors name `source`, the key and the fix."""
    marker = conflict_marker_line(text)
    if marker is not None:  # YAML would call it malformed; say what it is
        raise ManifestError(
            f"{source}:{marker}: holds merge conflict markers",
            "settle the merge first; git artifacts status says how",
        )
    doc = load_yaml(text, source)
    try:
        return from_dict(doc)
    except UsageError as exc:
        key = getattr(exc, "key", None)
        line = _line_of(text, key) if key else None
        where = f"{source}:{line}" if line else source
        raise ManifestError(f"{where}: {exc.message}", exc.fix or "") from None


def from_dict(doc: object) -> Manifest:
    """Validate a parsed manifest document. Raises UsageError carrying the offending key."""
    if not isinstance(doc, dict):
        raise _keyed(None, "the manifest is not a YAML mapping", "restore it with git checkout")
    _check_keys(doc)
    m = Manifest(
        name=_field(doc, "name", names.validate_artifact_name),
        type=_field(doc, "type", names.validate_artifact_type),
        digest=_field(doc, "digest", _check_sha256),
        size=_field(doc, "size", _check_count),
        files=_field(doc, "files", _check_count),
        description=_field(doc, "description", _check_optional_str),
        metadata=_field(doc, "metadata", lambda v: validate_metadata({} if v is None else v)),
        path=_field(doc, "path", lambda v: None if v is None else validate_workspace_path(v)),
        ttl=_field(doc, "ttl", _check_ttl),
    )
    has_entries, has_listing = "entries" in doc, "listing" in doc
    if has_entries == has_listing:
        raise _keyed(
            None,
            "a manifest needs exactly one of 'entries' and 'listing'",
            "re-run git artifacts add",
        )
    if has_listing:
        m.listing = _field(doc, "listing", _check_sha256)
        return m
    entries = _entries(doc["entries"])
    m.entries = entries
    check_totals(m, entries)
    return m


def check_totals(m: Manifest, entries: Mapping[str, Entry]) -> None:
    """The digest, size and file count must agree with the entries."""
    fix = "the file was edited by hand; restore it with git checkout or re-run git artifacts add"
    if entries_digest(entries) != m.digest:
        raise _keyed("digest", "key 'digest' does not match the entries", fix)
    if sum(e.size for e in entries.values()) != m.size:
        raise _keyed("size", "key 'size' is not the sum of the entry sizes", fix)
    if len(entries) != m.files:
        raise _keyed("files", "key 'files' is not the number of entries", fix)


def entry_from_dict(value: object) -> Entry:
    if not isinstance(value, dict):
        raise UsageError(
            "an entry must be a mapping like {digest: sha256:..., size: N}",
            "re-run git artifacts add",
        )
    extra = [k for k in value if k not in ENTRY_KEY_ORDER]
    if extra:
        raise UsageError(
            f"unknown entry key {extra[0]!r}", f"allowed: {', '.join(ENTRY_KEY_ORDER)}"
        )
    digest, size, ref = value.get("digest"), value.get("size"), value.get("ref")
    version_id = value.get("version_id")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise UsageError(
            f"entry size {size!r} is not a whole number of bytes", "re-run git artifacts add"
        )
    if ref is None:
        if not isinstance(digest, str) or not SHA256_RE.match(digest):
            raise UsageError(
                f"malformed digest {digest!r}", "a stored file's digest is sha256:<64 hex>"
            )
    else:
        if not isinstance(ref, str) or ("://" not in ref and not GIT_REF_RE.match(ref)):
            raise UsageError(
                f"reference {ref!r} is not a URI", "use s3://, gs://, http(s):// or file://"
            )
        if not isinstance(digest, str) or not REF_DIGEST_RE.match(digest):
            raise UsageError(
                f"malformed reference digest {digest!r}", "use etag:, md5:, sha256: or uri:"
            )
    if version_id is not None and not isinstance(version_id, str):
        version_id = str(version_id)
    return Entry(digest, size, ref, version_id)


def _check_keys(doc: dict[str, Any]) -> None:
    """No unknown key, every required one, the one schema this version reads."""
    unknown = [k for k in doc if k not in KEY_ORDER]
    if unknown:
        raise _keyed(
            unknown[0],
            f"unknown key {unknown[0]!r}",
            f"remove it; allowed keys: {', '.join(KEY_ORDER)}",
        )
    for key in REQUIRED_KEYS:
        if key not in doc:
            raise _keyed(
                None, f"missing key {key!r}", "re-run git artifacts add to rewrite the manifest"
            )
    schema = doc["gitartifacts"]
    if schema != SCHEMA:
        fix = (
            "upgrade gitartifacts" if isinstance(schema, int) and schema > SCHEMA else "set it to 1"
        )
        raise _keyed("gitartifacts", f"key 'gitartifacts': unsupported schema {schema!r}", fix)


def _entries(raw: object) -> dict[str, Entry]:
    """The `entries` mapping, each path and entry checked."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _keyed(
            "entries",
            "key 'entries' must be a mapping of path to entry",
            "re-run git artifacts add",
        )
    entries: dict[str, Entry] = {}
    for p, value in raw.items():
        try:
            validate_entry_path(p)
            entries[p] = entry_from_dict(value)
        except UsageError as exc:
            raise _keyed(
                "entries", f"key 'entries', entry {p!r}: {exc.message}", exc.fix or ""
            ) from None
    try:
        check_no_file_dir_clash(entries)
    except UsageError as exc:
        raise _keyed("entries", f"key 'entries': {exc.message}", exc.fix or "") from None
    return entries


class _KeyedError(UsageError):
    key: str | None


def _keyed(key: str | None, message: str, fix: str) -> UsageError:
    err = _KeyedError(message, fix)
    err.key = key
    return err


def _field(doc: dict[str, Any], key: str, check: Callable[[Any], Any]) -> Any:
    try:
        return check(doc.get(key))
    except _KeyedError:
        raise
    except UsageError as exc:
        raise _keyed(key, f"key {key!r}: {exc.message}", exc.fix or "") from None


def _check_sha256(v: object) -> str:
    if not isinstance(v, str) or not SHA256_RE.match(v):
        raise UsageError(
            f"malformed digest {v!r}", "it must be sha256: followed by 64 lowercase hex digits"
        )
    return v


def _check_count(v: object) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise UsageError(f"{v!r} is not a whole number", "re-run git artifacts add")
    return v


def _check_optional_str(v: object) -> str | None:
    if v is not None and not isinstance(v, str):
        raise UsageError(f"{v!r} is not text", "quote it")
    return v


def _check_ttl(v: object) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or not TTL_RE.match(v):
        raise UsageError(f"invalid ttl {v!r}", "use a number and a unit s, m, h, d or w, e.g. 30d")
    return v


def _line_of(text: str, key: str | None) -> int | None:
    """1-based line of a top-level key, for error messages."""
    if key is None:
        return None
    prefix = key + ":"
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith(prefix):
            return i
    return None
