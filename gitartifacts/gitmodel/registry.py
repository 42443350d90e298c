"""Registry collections (W&B's `link_artifact`): a collection numbers the versions linked into
it `v0, v1, …` on its own and has its own aliases.

A link is a lightweight tag `refs/tags/registry/<collection>/v<N>` pointing at a small blob that
names the source artifact version and digest; aliases are tags beside it, `latest` moved to the
newest link. Spec: `registry/<collection>:v2` or `registry/<collection>:production`.

Unlinking points the tag at a blob that says when and by whom the link was removed, so the number
is never given again and the removal travels with the registry tags; its aliases are removed.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import yaml

from gitartifacts.core import manifest as mf
from gitartifacts.core import safeyaml
from gitartifacts.core.names import is_artifact_name
from gitartifacts.errors import NotFoundError, UsageError
from gitartifacts.gitmodel import events, refs
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.repo import ZERO


class VersionRef(NamedTuple):
    """A logged artifact version, as a link names its source."""

    name: str
    version: str | None  # `vN`
    digest: str
    type: str


class Link(NamedTuple):
    collection: str
    version: int
    source: str  # artifact name
    source_version: str | None
    digest: str
    type: str


def collection_name(target_path: str) -> str:
    """`bike-detector`, or W&B-style paths ending in the collection name."""
    name = target_path.rstrip("/").rsplit("/", 1)[-1]
    mf.validate_name(name, "collection")
    return name


def link(project: Project, source: VersionRef, target_path: str, aliases: list[str]) -> int:
    """Link a logged version; linking the same content again reuses its number."""
    coll = collection_name(target_path)
    for a in aliases:
        mf.validate_alias(a)
    links = collection(project, coll)
    same = [lk for lk in links.values() if lk.digest == source.digest]
    numbers = _all(project, coll)
    repo = project.repo
    updates: list[tuple[str, str, str | None]] = []
    if same:
        n = same[0].version
        blob = repo.rev_parse(refs.registry_ref(coll, f"v{n}"))
        assert blob is not None
    else:
        n = max(numbers, default=-1) + 1
        body = {
            "gitartifacts-link": 1,
            "collection": coll,
            "source": source.name,
            "version": source.version,
            "digest": source.digest,
            "type": source.type,
        }
        blob = repo.run(
            "hash-object", "-w", "--stdin", input=yaml.safe_dump(body, sort_keys=False)
        ).strip()
        updates.append((refs.registry_ref(coll, f"v{n}"), blob, ZERO))
    for a in [refs.LATEST, *aliases]:
        updates.append((refs.registry_ref(coll, a), blob, None))
    repo.update_refs(updates)
    return n


def unlink(project: Project, coll: str, n: int) -> None:
    """Remove link `n` of a collection with its aliases; `latest` moves to the newest link left."""
    links = collection(project, coll)
    if n not in links:
        raise NotFoundError(
            f"registry/{coll}:v{n} is not linked", f"see git artifacts link --list {coll}"
        )
    repo = project.repo
    old = repo.rev_parse(refs.registry_ref(coll, f"v{n}"))
    assert old is not None
    body = {
        "gitartifacts-link": 1,
        "collection": coll,
        "unlinked": {"t": time.time_ns(), "who": events.who()},
    }
    gone = repo.run("hash-object", "-w", "--stdin", input=yaml.safe_dump(body, sort_keys=False))
    updates: list[tuple[str, str, str | None]] = [
        (refs.registry_ref(coll, f"v{n}"), gone.strip(), old)
    ]
    for alias, sha in aliases(project, coll).items():
        if sha == old:
            updates.append((refs.registry_ref(coll, alias), ZERO, old))
    rest = [k for k in links if k != n]
    if rest and aliases(project, coll).get(refs.LATEST) == old:
        newest = repo.rev_parse(refs.registry_ref(coll, f"v{max(rest)}"))
        assert newest is not None
        updates.append((refs.registry_ref(coll, refs.LATEST), newest, old))
    repo.update_refs(updates)


def collection(project: Project, coll: str) -> dict[int, Link]:
    """The links of a collection by number, unlinked ones left out."""
    return {n: lk for n, lk in _all(project, coll).items() if lk is not None}


def _all(project: Project, coll: str) -> dict[int, Link | None]:
    """Every number a collection gave; None for a link since unlinked."""
    tags = project.repo.refs(refs.registry_space(coll))
    versions = {
        refs.label_of(ref): sha
        for ref, sha in tags.items()
        if refs.version_number(refs.label_of(ref)) is not None
    }
    blobs = project.repo.cat_blobs(versions.values())
    out: dict[int, Link | None] = {}
    for label, sha in versions.items():
        data = blobs.get(sha)
        if data is None:
            continue
        out[int(label[1:])] = _parse(coll, int(label[1:]), data)
    return out


def aliases(project: Project, coll: str) -> dict[str, str]:
    """alias -> link blob id."""
    tags = project.repo.refs(refs.registry_space(coll))
    return {
        refs.label_of(ref): sha
        for ref, sha in tags.items()
        if refs.version_number(refs.label_of(ref)) is None
    }


def resolve(project: Project, spec: str) -> Link:
    """`registry/<collection>:<vN or alias>` -> the link."""
    coll, sel = refs.parse_registry_spec(spec)
    mf.validate_name(coll, "collection")
    sha = project.repo.rev_parse(refs.registry_ref(coll, sel))
    if sha is None:
        raise NotFoundError(
            f"registry collection {coll!r} has no {sel!r}", "see git artifacts link --list"
        )
    data = project.repo.cat_blobs([sha])[sha]
    if data is None:
        raise NotFoundError(f"link {spec!r} is missing", "git fetch the registry tags")
    links = {lk.digest: n for n, lk in collection(project, coll).items()}
    parsed = _parse(coll, -1, data)
    # An alias left on a removed link (e.g. fetched back from a remote) names no live link.
    if parsed is None or parsed.digest not in links:
        raise NotFoundError(
            f"registry/{coll}:{sel} was unlinked", f"see git artifacts link --list {coll}"
        )
    return parsed._replace(version=links[parsed.digest])


def parse_link(ref: str, data: bytes) -> Link | None:
    """The link in a blob that the registry ref `ref` points at (ours or a remote's); None
    when it records an unlink; a malformed one is an error."""
    coll = ref[len(refs.REGISTRY_PREFIX) :].rpartition("/")[0]
    n = refs.version_number(refs.label_of(ref))
    return _parse(coll, -1 if n is None else n, data)


def _parse(coll: str, n: int, data: bytes) -> Link | None:
    """The link a blob names; None when it records an unlink."""
    try:
        safeyaml.check_yaml(data, f"registry link {coll}:v{n}", 1 << 20)
        doc: Any = yaml.safe_load(data)
        if "unlinked" in doc:
            return None
        if not is_artifact_name(doc["source"]):
            raise TypeError("the source is no artifact name")
        return Link(
            coll,
            n,
            doc["source"],
            doc.get("version"),
            str(doc["digest"]),
            str(doc.get("type", "")),
        )
    except (yaml.YAMLError, KeyError, TypeError):
        raise UsageError(f"registry link {coll}:v{n} is malformed", "relink the version") from None
