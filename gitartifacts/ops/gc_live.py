"""What keeps an object alive for gc: the versions kept, the manifests the refs name, and the
content, patch and listing objects those manifests need.

Refs come as a map (ref -> object id): this clone's for a local gc, the git remote's (from
`git ls-remote`) for a remote one, so one set of rules serves both.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.objects import CorruptObjectError
from gitartifacts.errors import CacheError, GitError, ManifestError
from gitartifacts.gitmodel import refs as grefs
from gitartifacts.gitmodel import registry
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.remote import plan

# Refs whose commit's `.artifacts/*.yaml` keep content alive, besides version tags and aliases.
TIP_PREFIXES = ("refs/heads/", "refs/tags/", grefs.PIN_PREFIX)
ListingFetch = Callable[[str], None]


class Live(NamedTuple):
    """Objects gc keeps, and the listing objects among every object it knows of (removed
    last, after the content they name)."""

    keep: set[str]
    listings: set[str]


def kept_versions(
    refs: Mapping[str, str], gone: Collection[tuple[str, int]] = ()
) -> dict[tuple[str, int], str]:
    """(name, N) -> commit of every version tag in `refs`, less the `gone` ones (deleted or
    expired): the versions whose content gc keeps."""
    out: dict[tuple[str, int], str] = {}
    for ref, sha in refs.items():
        parsed = grefs.parse_ref(ref)
        if parsed is None:
            continue  # refs come from a git remote too: a name that is none is skipped
        n = grefs.version_number(parsed[1])
        if n is not None and (parsed[0], n) not in gone:
            out[(parsed[0], n)] = sha
    return out


def manifest_specs(
    project: Project, refs: Mapping[str, str], gone: Collection[tuple[str, int]] = ()
) -> list[str]:
    """`commit:.artifacts/NAME.yaml` or blob ids of every manifest `refs` keep alive: kept
    versions, aliases on them, registry links, and the tips of branches, tags and pins."""
    kept = kept_versions(refs, gone)
    kept_commits = {(name, c) for (name, _), c in kept.items()}
    gone_commits = {(k[0], c) for k, c in kept_versions(refs).items() if k not in kept}
    specs = [f"{c}:{mf.manifest_path(name)}" for (name, _), c in kept.items()]
    links: dict[str, str] = {}
    for ref, sha in refs.items():
        parsed = grefs.parse_ref(ref)
        if parsed is not None:
            name, label = parsed
            alias_of_gone = (name, sha) in gone_commits and (name, sha) not in kept_commits
            if grefs.version_number(label) is None and not alias_of_gone:
                specs.append(f"{sha}:{mf.manifest_path(name)}")
        elif ref.startswith(grefs.REGISTRY_PREFIX):
            links[ref] = sha
        elif ref == "HEAD" or ref.startswith(TIP_PREFIXES):
            specs += _tip_manifests(project, sha)
    return specs + _linked_versions(project, refs, links)


def live_objects(
    project: Project,
    manifests: list[mf.Manifest],
    fetch_listing: ListingFetch | None = None,
) -> Live:
    """The objects these manifests need. A listing the local cache lacks is fetched with
    `fetch_listing` when given (a remote gc: the remote must keep what it names), else
    skipped: the content of a listing-form manifest reaches a cache only after its listing.
    A corrupt listing is an error (what it names is unknown)."""
    keep: set[str] = set()
    listings: set[str] = set()
    for m in manifests:
        patch = m.metadata.get("patch") if m.type == "code" else None
        if isinstance(patch, str) and mf.SHA256_RE.match(patch):
            keep.add(patch)
        if m.listing is not None:
            if fetch_listing is not None and not project.cache.has(m.listing):
                fetch_listing(m.listing)
            try:
                names = {"sha256:" + h for h in plan.listing_objects(project, m.listing)}
                entries = project.load_entries(m, keep=False)
            except CorruptObjectError:
                raise
            except (CacheError, ManifestError):
                if fetch_listing is not None:
                    raise
                continue
            keep |= names
            listings |= names
        else:
            entries = project.load_entries(m, keep=False)
        keep.update(e.digest for e in entries.values() if e.ref is None)
    return Live(keep, listings)


def known_listings(project: Project, manifests: list[mf.Manifest]) -> set[str]:
    """The listing objects of these manifests that can be told from the local cache (at
    least each root): gc removes them after the content objects."""
    out: set[str] = set()
    for m in manifests:
        if m.listing is None:
            continue
        out.add(m.listing)
        try:
            out.update("sha256:" + h for h in plan.listing_objects(project, m.listing))
        except (CacheError, ManifestError):
            continue
    return out


def _tip_manifests(project: Project, sha: str) -> list[str]:
    """The manifest blobs in the tree of a tip; none for a tag on a blob. Any other failure
    stops the gc: what the tip needs is unknown."""
    try:
        return list(project.repo.ls_tree(sha, mf.MANIFEST_DIR).values())
    except GitError:
        if project.repo.run("cat-file", "-t", sha).strip() != "blob":
            raise
        return []


def _linked_versions(
    project: Project, refs: Mapping[str, str], links: Mapping[str, str]
) -> list[str]:
    """The manifests of the versions registry links name (`commit:path`), found by digest
    among the version tags of the link's source (gone ones too: a link keeps its content),
    in `refs` and here. A link whose content no version shows is an error: what it needs
    is unknown."""
    blobs = project.repo.cat_blobs(links.values())
    here = project.repo.refs(grefs.TAG_PREFIX.rstrip("/"))
    every = {(name, c) for r in (here, refs) for (name, _), c in kept_versions(r).items()}
    out: list[str] = []
    for ref, sha in sorted(links.items()):
        data = blobs.get(sha)
        if data is None:
            raise _unknown_link(ref)
        link = registry.parse_link(ref, data)
        if link is None:
            continue  # an unlinked link keeps nothing alive
        commits = sorted(c for n, c in every if n == link.source)
        sums = ver.summaries(project, link.source, commits)
        found = [c for c, s in sums.items() if s is not None and s.digest == link.digest]
        if not found:
            raise _unknown_link(ref)
        out.append(f"{found[0]}:{mf.manifest_path(link.source)}")
    return out


def _unknown_link(ref: str) -> CacheError:
    return CacheError(
        f"registry link {ref[len(grefs.REGISTRY_PREFIX) :]} names content no version here "
        "shows, so gc cannot tell what it needs; nothing was removed",
        "run git artifacts fetch, then gc again",
    )
