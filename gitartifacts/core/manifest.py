"""Manifest schema 1: the canonical digest, YAML load and dump, validation, listing objects.

Everything here is pure: no git, no file system beyond reading the text handed in.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

from gitartifacts.core.hashing import hex_of
from gitartifacts.errors import ManifestError, UsageError

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
# Bounds on what untrusted YAML may cost (manifests arrive in pull requests): its size, the
# aliases in it and the nodes they expand to, the nesting of metadata.
MAX_MANIFEST_BYTES = 16 << 20
MAX_YAML_ALIASES = 64
MAX_YAML_NODES = 1 << 20
MAX_METADATA_DEPTH = 32
# A listing may share a subfolder's object between identical subfolders, but reading it may
# not do more than this many times the work of the objects read (a DAG of shared objects
# would otherwise expand exponentially), nor go deeper than this.
LISTING_SHARE_FACTOR = 256
MAX_LISTING_DEPTH = 1024
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
_DIGEST_HEADER = b"gitartifacts-manifest-v1\n"
_LISTING_HEADER = "gitartifacts-listing 1\n"


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
    h = hashlib.sha256(_DIGEST_HEADER)
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
    validate_name(name, "name")
    validate_name(type, "type")
    meta = dict(metadata or {})
    validate_metadata(meta)
    if path is not None:
        validate_workspace_path(path)
    if ttl is not None and not TTL_RE.match(ttl):
        raise UsageError(
            f"invalid ttl {ttl!r}", "use a number and a unit s, m, h, d or w, e.g. 30d"
        )
    ordered = {p: entries[p] for p in sorted(entries, key=str.encode)}
    for p in ordered:
        validate_entry_path(p)
    _check_no_file_dir_clash(ordered)
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


# ---------------------------------------------------------------- names, paths, metadata


def validate_name(value: object, what: str = "name") -> str:
    """Names, types and aliases: a safe git ref component of at most 128 characters."""
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


def _check_no_file_dir_clash(entries: Mapping[str, Entry]) -> None:
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
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
            p: _Flow(_entry_fields(entries[p])) for p in sorted(entries, key=str.encode)
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


def load_yaml(text: str, source: str, limit: int = MAX_MANIFEST_BYTES) -> Any:
    """Untrusted YAML (a manifest, committed configuration) parsed safely and at bounded
    cost: at most `limit` bytes, `MAX_YAML_ALIASES` aliases expanding to at most
    `MAX_YAML_NODES` nodes (a few hundred bytes of "billion laughs" would otherwise take
    all memory). Errors are ManifestErrors naming `source`."""
    fix = "restore the file with git checkout or re-run git artifacts add"
    try:
        check_yaml(text, source, limit)
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ManifestError(
            f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})", fix
        ) from None
    except RecursionError:
        raise ManifestError(f"{source}: nested too deeply", fix) from None


def check_yaml(text: str | bytes, source: str, limit: int = MAX_MANIFEST_BYTES) -> None:
    """Refuse YAML that would cost too much to build (see `load_yaml`), before a loader
    builds it; the YAML parser's own errors are left to that loader."""
    if len(text) > limit:
        raise ManifestError(
            f"{source}: larger than {limit >> 20} MiB",
            "restore the file with git checkout or re-run git artifacts add",
        )
    if (text.find("*") if isinstance(text, str) else text.find(b"*")) >= 0:  # alias needs one
        # Not valid YAML: the loader reports it with its line.
        with contextlib.suppress(yaml.YAMLError):
            _check_aliases(text, source)


def _check_aliases(text: str | bytes, source: str) -> None:
    """Count aliases and the nodes they stand for, from the parser's events, before
    anything is built."""
    sizes: dict[str, int] = {}  # anchor -> nodes under it, aliases expanded
    starts: list[tuple[str | None, int]] = []  # open collections: (anchor, nodes before)
    nodes = aliases = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            nodes += sizes.get(event.anchor or "", 1)
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            nodes += 1
            starts.append((event.anchor, nodes))
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, before = starts.pop()
            if anchor:
                sizes[anchor] = nodes - before + 1
        if aliases > MAX_YAML_ALIASES or nodes > MAX_YAML_NODES:
            raise ManifestError(
                f"{source}: YAML aliases expand too far (more than {MAX_YAML_ALIASES} aliases "
                f"or {MAX_YAML_NODES} nodes)",
                "write the values out instead of using anchors and aliases",
            )


def loads(text: str, source: str = "manifest") -> Manifest:
    """Parse and validate manifest text; errors name `source`, the key and the fix."""
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
    m = Manifest(
        name=_field(doc, "name", lambda v: validate_name(v, "name")),
        type=_field(doc, "type", lambda v: validate_name(v, "type")),
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
    raw = doc["entries"]
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
        _check_no_file_dir_clash(entries)
    except UsageError as exc:
        raise _keyed("entries", f"key 'entries': {exc.message}", exc.fix or "") from None
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


def _entry_fields(e: Entry) -> dict[str, Any]:
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


def ttl_seconds(ttl: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return int(ttl[:-1]) * units[ttl[-1]]


# ---------------------------------------------------------------- listings
#
# A large artifact's entries live in content objects: one listing object per folder,
# naming its files and the listing objects of its subfolders (a Merkle tree), so a
# one-file change rewrites one object per folder level, not the whole list.
# Line format, sorted by name bytes:
#   t<TAB>name<TAB>sha256 hex of the subfolder listing<TAB>size<TAB>files
#   f<TAB>name<TAB>digest<TAB>size
#   r<TAB>name<TAB>{"ref": ..., "digest": ..., "version_id": ..., "size": ...}


class Listing(NamedTuple):
    root: str  # "sha256:<hex>" of the root listing object
    objects: dict[str, bytes]  # hex digest -> bytes, every listing object


def build_listing(entries: Mapping[str, Entry]) -> Listing:
    tree: dict[str, Any] = {}
    for p, e in entries.items():
        parts = p.split("/")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = e
    objects: dict[str, bytes] = {}
    root_hex, _, _ = _encode_tree(tree, objects)
    return Listing("sha256:" + root_hex, objects)


def _encode_tree(node: dict[str, Any], objects: dict[str, bytes]) -> tuple[str, int, int]:
    lines = [_LISTING_HEADER]
    size = files = 0
    for name in sorted(node, key=str.encode):
        child = node[name]
        if isinstance(child, dict):
            hex_, s, n = _encode_tree(child, objects)
            lines.append(f"t\t{name}\t{hex_}\t{s}\t{n}\n")
        elif child.ref is None:
            s, n = child.size, 1
            lines.append(f"f\t{name}\t{child.digest}\t{s}\n")
        else:
            s, n = child.size, 1
            lines.append(f"r\t{name}\t{json.dumps(_entry_fields(child), sort_keys=True)}\n")
        size += s
        files += n
    data = "".join(lines).encode()
    hex_ = hashlib.sha256(data).hexdigest()
    objects[hex_] = data
    return hex_, size, files


def read_listing(
    root: str, fetch: Callable[[str], bytes], files: int | None = None
) -> dict[str, Entry]:
    """All entries of a listing; `fetch(hex)` returns one listing object's bytes.

    Listing objects come from a cache or a remote and are untrusted: each is checked
    against its name, the entries may not outnumber the manifest's `files` (when given),
    and a subfolder object shared by identical subfolders may be read again only while
    the whole costs at most `LISTING_SHARE_FACTOR` times the objects read (a graph of
    shared objects could otherwise stand for 2^40 entries)."""
    entries: dict[str, Entry] = {}
    seen: set[str] = set()
    base = work = 0  # lines of the distinct objects read; lines and objects gone through
    stack = [("", hex_of(root), 0)]
    while stack:
        prefix, hex_, depth = stack.pop()
        if depth > MAX_LISTING_DEPTH:
            raise corrupt_listing(hex_, f"folders nest more than {MAX_LISTING_DEPTH} deep")
        data = fetch(hex_)
        if hashlib.sha256(data).hexdigest() != hex_:
            raise corrupt_listing(hex_, "its bytes do not match its digest")
        lines = parse_listing_object(data, hex_)
        work += 1 + len(lines)
        if hex_ not in seen:
            seen.add(hex_)
            base += 1 + len(lines)
        if work > LISTING_SHARE_FACTOR * base:
            raise corrupt_listing(root, "its shared subfolders expand too far")
        for kind, name, rest in lines:
            p = prefix + name
            if kind == "t":
                stack.append((p + "/", rest[0], depth + 1))
                continue
            entries[p] = Entry(rest[0], int(rest[1])) if kind == "f" else _ref_entry(rest[0])
            if files is not None and len(entries) > files:
                raise corrupt_listing(root, f"it holds more than the {files} files declared")
    return entries  # in tree order; dumps() and the digest sort for themselves


def corrupt_listing(hex_or_digest: str, why: str) -> ManifestError:
    digest = hex_or_digest if hex_or_digest.startswith("sha256:") else "sha256:" + hex_or_digest
    return ManifestError(
        f"corrupt listing {digest[:80]}: {why}",
        "run git artifacts fetch to download it again, or restore the manifest that names it",
    )


def _ref_entry(text: str) -> Entry:
    try:
        return entry_from_dict(json.loads(text))
    except (ValueError, RecursionError) as exc:  # UsageError is a ValueError too
        raise ManifestError(
            f"corrupt listing: a reference entry is malformed ({str(exc)[:120]})",
            "run git artifacts fetch to download it again, or re-run git artifacts add",
        ) from None


def listing_children(data: bytes, hex_: str = "") -> list[str]:
    """Hex digests of the subfolder listings named by one listing object."""
    return [rest[0] for kind, _, rest in parse_listing_object(data, hex_) if kind == "t"]


_LISTING_FIELDS = {"t": 3, "f": 2, "r": 1}
_HEX_RE = re.compile(r"[0-9a-f]{64}")
_COUNT_RE = re.compile(r"[0-9]{1,19}")


def parse_listing_object(data: bytes, hex_: str = "") -> list[tuple[str, str, list[str]]]:
    """The lines of one listing object, each checked: a single path segment as name,
    names in strictly increasing byte order (no duplicates), well-formed digests and counts.
    Lines end at '\n' only: a name may hold U+2028 or U+0085."""
    where = hex_ or "(unnamed)"
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise corrupt_listing(where, "it is not UTF-8 text") from None
    if not text.startswith(_LISTING_HEADER):
        raise corrupt_listing(where, "it has an unknown format")
    body = text[len(_LISTING_HEADER) :]
    if body and not body.endswith("\n"):
        raise corrupt_listing(where, "its last line is cut short")
    out = []
    last = b""
    for line in body.split("\n")[:-1]:
        kind, _, line_rest = line.partition("\t")
        fields = _LISTING_FIELDS.get(kind)
        name, *rest = line_rest.split("\t", fields or 0)
        if fields is None or len(rest) != fields or not _fields_ok(kind, rest):
            raise corrupt_listing(where, "it has a malformed line")
        try:
            validate_entry_path(name, "listing name")
        except UsageError as exc:
            raise corrupt_listing(where, exc.message) from None
        key = name.encode()
        if "/" in name or key <= last:
            raise corrupt_listing(where, f"name {name!r} is out of order or not one segment")
        last = key
        out.append((kind, name, rest))
    return out


def _fields_ok(kind: str, rest: list[str]) -> bool:
    if kind == "t":
        return bool(
            _HEX_RE.fullmatch(rest[0])
            and _COUNT_RE.fullmatch(rest[1])
            and _COUNT_RE.fullmatch(rest[2])
        )
    if kind == "f":
        return bool(SHA256_RE.match(rest[0]) and _COUNT_RE.fullmatch(rest[1]))
    return "\t" not in rest[0]


def with_listing(m: Manifest, limit: int = INLINE_LIMIT) -> tuple[Manifest, dict[str, bytes]]:
    """Move entries into listing objects when there are more than `limit` of them."""
    entries = m.entries or {}
    if len(entries) <= limit:
        return m, {}
    listing = build_listing(entries)
    out = Manifest(**{**m.__dict__, "listing": listing.root})
    return out, listing.objects


def manifest_path(name: str) -> str:
    return f"{MANIFEST_DIR}/{name}.yaml"
