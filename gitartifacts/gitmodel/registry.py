"""Registry collections (W&B's `link_artifact`): a collection numbers the versions linked into
it `v0, v1, …` on its own and has its own aliases.

A link is a lightweight tag `refs/tags/registry/<collection>/v<N>` pointing at a small blob that
names the source artifact version and digest; aliases are tags beside it, `latest` moved to the
newest link. Spec: `registry/<collection>:v2` or `registry/<collection>:production`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import yaml

from gitartifacts.core import manifest as mf
from gitartifacts.core import safeyaml
from gitartifacts.errors import NotFoundError, UsageError
from gitartifacts.gitmodel.repo import ZERO
from gitartifacts.project import Project

if TYPE_CHECKING:
    from gitartifacts.sdk.artifact import Artifact

PREFIX = "refs/tags/registry/"
SPEC_PREFIX = "registry/"


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


def link(project: Project, artifact: Artifact, target_path: str, aliases: list[str]) -> int:
    """Link a logged version; linking the same content again reuses its number."""
    coll = collection_name(target_path)
    for a in aliases:
        mf.validate_alias(a)
    links = collection(project, coll)
    same = [lk for lk in links.values() if lk.digest == artifact.digest]
    repo = project.repo
    updates: list[tuple[str, str, str | None]] = []
    if same:
        n = same[0].version
        blob = repo.rev_parse(f"{PREFIX}{coll}/v{n}")
        assert blob is not None
    else:
        n = max(links, default=-1) + 1
        body = {
            "gitartifacts-link": 1,
            "collection": coll,
            "source": artifact.collection_name,
            "version": artifact.version,
            "digest": artifact.digest,
            "type": artifact.type,
        }
        blob = repo.run(
            "hash-object", "-w", "--stdin", input=yaml.safe_dump(body, sort_keys=False)
        ).strip()
        updates.append((f"{PREFIX}{coll}/v{n}", blob, ZERO))
    for a in ["latest", *aliases]:
        updates.append((f"{PREFIX}{coll}/{a}", blob, None))
    repo.update_refs(updates)
    return n


def collection(project: Project, coll: str) -> dict[int, Link]:
    refs = project.repo.refs(f"{PREFIX}{coll}")
    versions = {
        ref.rsplit("/", 1)[1]: sha
        for ref, sha in refs.items()
        if mf.VERSION_RE.match(ref.rsplit("/", 1)[1])
    }
    blobs = project.repo.cat_blobs(versions.values())
    out: dict[int, Link] = {}
    for label, sha in versions.items():
        data = blobs.get(sha)
        if data is None:
            continue
        out[int(label[1:])] = _parse(coll, int(label[1:]), data)
    return out


def aliases(project: Project, coll: str) -> dict[str, str]:
    """alias -> link blob id."""
    refs = project.repo.refs(f"{PREFIX}{coll}")
    return {
        ref.rsplit("/", 1)[1]: sha
        for ref, sha in refs.items()
        if not mf.VERSION_RE.match(ref.rsplit("/", 1)[1])
    }


def resolve(project: Project, spec: str) -> Link:
    """`registry/<collection>:<vN or alias>` -> the link."""
    body = spec[len(SPEC_PREFIX) :]
    coll, _, sel = body.partition(":")
    sel = sel or "latest"
    mf.validate_name(coll, "collection")
    sha = project.repo.rev_parse(f"{PREFIX}{coll}/{sel}")
    if sha is None:
        raise NotFoundError(
            f"registry collection {coll!r} has no {sel!r}", "see git artifacts link --list"
        )
    data = project.repo.cat_blobs([sha])[sha]
    if data is None:
        raise NotFoundError(f"link {spec!r} is missing", "git fetch the registry tags")
    links = {lk.digest: n for n, lk in collection(project, coll).items()}
    parsed = _parse(coll, -1, data)
    return parsed._replace(version=links.get(parsed.digest, -1))


def _parse(coll: str, n: int, data: bytes) -> Link:
    try:
        safeyaml.check_yaml(data, f"registry link {coll}:v{n}", 1 << 20)
        doc: Any = yaml.safe_load(data)
        return Link(
            coll,
            n,
            str(doc["source"]),
            doc.get("version"),
            str(doc["digest"]),
            str(doc.get("type", "")),
        )
    except (yaml.YAMLError, KeyError, TypeError):
        raise UsageError(f"registry link {coll}:v{n} is malformed", "relink the version") from None
