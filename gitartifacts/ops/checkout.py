"""Versions into folders: `checkout`, `pull`, `get`, `checkout_root` (W&B `download`/`checkout`)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Sequence
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.foldertree import iter_tree
from gitartifacts.core.fsio import WORK_TMP
from gitartifacts.core.objecterrors import NotCachedError
from gitartifacts.core.progress import Progress
from gitartifacts.core.workspace import checkout as wcheckout
from gitartifacts.core.workspace import plan as wplan
from gitartifacts.errors import ManifestError, UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.gitmodel.resolve import Resolved, resolve
from gitartifacts.ops import projects
from gitartifacts.ops.exclude import exclude
from gitartifacts.ops.paths import ensure_ignored, join_path
from gitartifacts.ops.references import ref_fetcher
from gitartifacts.ops.status import remember_workspace
from gitartifacts.remote import transfer


class CheckoutResult(NamedTuple):
    name: str
    version: int | None
    written: int
    deleted: int
    path: str


def checkout(
    project: Project,
    specs: Sequence[str] = (),
    *,
    link: str | None = None,
    force: bool = False,
    allow_changed_references: bool = False,
    progress: Progress | None = None,
    previous: mf.Manifest | None = None,
) -> list[CheckoutResult]:
    """Make the work tree hold these versions (default: what its manifests name); objects
    the cache lacks are fetched from the default remote. `previous`: what the work tree held
    before its manifest was rewritten (an import's update), so that its files the new
    version lacks are removed."""
    link = link or project.settings.link or "copy"
    _check_link(link)
    targets: list[tuple[Resolved, mf.Manifest | None]] = []
    for spec in specs or project.names():
        r = resolve(project, spec, entries=False)
        if r.origin is not None:
            raise UsageError(
                f"{spec} is another project's version", f"import it: git artifacts import {spec}"
            )
        current = previous or project.read_manifest(r.manifest.name, entries=False)
        if r.manifest.path is None and not specs:
            continue  # nothing of it lives in the workspace
        if r.manifest.path is None:
            raise UsageError(
                f"{r.manifest.name} has no workspace path",
                f"download it with git artifacts get {spec} -o DIR",
            )
        targets.append((r, current))
    # A listing the cache lacks (evicted by the cap): from the remote.
    unlisted = [m for m in (r.manifest for r, _ in targets) if _lacks_listing(project, m)]
    transfer.fetch_for(project, unlisted, progress=progress)
    out = []
    for r, current in targets:
        m = r.manifest
        assert m.path is not None
        manage = tree_tops(project, current) if current and current.path == m.path else []
        job = _tree_job(project, m, manage, link, force)
        plan, fingerprint = _materialize(project, m, job, allow_changed_references, progress)
        if current is None or current.digest != m.digest:
            rel = project.write_manifest(m)
            project.repo.stage([rel])
        owned = tree_tops(project, m)
        if ensure_ignored(project, [join_path(m.path, t) for t in owned]):
            project.repo.stage([".gitignore"])
        remember_workspace(project, m, fingerprint, tops=owned)
        where = join_path(m.path, owned[0]) if len(owned) == 1 else m.path
        out.append(CheckoutResult(m.name, r.version, plan.written, plan.deleted, where))
    return out


def _materialize(
    project: Project,
    m: mf.Manifest,
    job: wplan.Checkout,
    allow_changed: bool,
    progress: Progress | None,
) -> tuple[wplan.Plan, str]:
    """`job` done; objects the cache lacks (evicted by the cap, or never fetched) are
    fetched from the remote, then it is tried once more. Asked only then, so that a
    checkout from a whole cache does not walk every object twice; with no remote, the
    second try says what is missing. A fetch comes whole before any file is written: one
    that fails changes nothing."""
    refs = ref_fetcher(project, allow_changed)

    def run() -> tuple[wplan.Plan, str]:
        return wcheckout.materialize(
            project.state, project.cache, job, progress=progress, fetch_ref=refs
        )

    try:
        return run()
    except NotCachedError:
        transfer.fetch_for(project, [m], progress=progress)
    return run()


def _tree_job(
    project: Project, m: mf.Manifest, manage: list[str], link: str, force: bool
) -> wplan.Checkout:
    """Checking `m` out into its place in the work tree."""
    assert m.path is not None
    return wplan.Checkout(
        tree(project, m),
        base=str(project.root / m.path),
        path=m.path,
        root=str(project.root),
        manage=manage,
        link=link,
        force=force,
        what=m.path,
        ignore=project.ignore_for(m.path),
    )


def _lacks_listing(project: Project, m: mf.Manifest) -> bool:
    return m.listing is not None and m.entries is None and not project.cache.has(m.listing)


def tree(project: Project, m: mf.Manifest) -> wplan.Tree:
    """A version's entries as a listing tree: its listing objects read from the cache one
    at a time, or its inline entries."""
    if m.listing is not None:  # even when its entries are loaded: no second copy of them
        return wplan.Tree(m.listing, project.read_listing_object, m.files)
    if m.entries is None:
        raise ManifestError(f"manifest {m.name} has neither entries nor listing")
    return wplan.entries_tree(m.entries)


def tree_tops(project: Project, m: mf.Manifest) -> list[str]:
    """The first path segments of a version's entries: what it owns under its path."""
    t = tree(project, m)
    root = next(iter_tree(t.root, t.fetch, t.files))
    return sorted(name for _, name, _ in root.lines)


def pull(
    project: Project,
    specs: Sequence[str] = (),
    *,
    remote_name: str | None = None,
    jobs: int = transfer.JOBS,
    link: str | None = None,
    force: bool = False,
    allow_changed_references: bool = False,
    progress: Progress | None = None,
) -> tuple[transfer.FetchResult, list[CheckoutResult]]:
    """fetch, then checkout: the objects come first, batched (whole packs become packs of
    the local cache as they are), then the work tree is written from the cache.

    A checkout that fetched each object as it came to it would read every byte once
    instead of twice; measured at 100,000 small files from a folder remote, that was
    slower, one object at a time, than a batched fetch and a checkout from a local pack.
    """
    plan = transfer.plan_fetch(project, specs, remote_name=remote_name)
    imported = projects.fetch_imported(project, plan.manifests)
    n = transfer.fetch_manifests(project, plan.remote, plan.manifests, jobs, progress)
    rows = checkout(
        project,
        specs,
        link=link,
        force=force,
        allow_changed_references=allow_changed_references,
        progress=progress,
    )
    downloaded = n + imported
    return transfer.FetchResult(
        plan.remote.name, len(plan.manifests), downloaded, plan.messages
    ), rows


def default_download_dir(project: Project, r: Resolved) -> str:
    """`<root>/artifacts/<name>-vN`, as W&B's `./artifacts/<name>:vN` but with no `:` in it."""
    label = f"v{r.version}" if r.version is not None else r.manifest.digest[7:15]
    return downloads_folder(project, f"{r.manifest.name}-{label}")


def downloads_folder(project: Project, name: str) -> str:
    """`<root>/artifacts/<name>` (GITARTIFACTS_DIR replaces `<root>/artifacts`). Inside the
    work tree the downloads folder is ignored through `.git/info/exclude`, so what is
    downloaded there never shows in `git status`."""
    base = os.path.normpath(os.path.join(project.root, project.settings.artifacts_dir))
    root = os.path.normpath(str(project.root))
    if base.startswith(root + os.sep):
        exclude(project, [os.path.relpath(base, root).replace(os.sep, "/") + "/"])
    return os.path.join(base, name)


def get(
    project: Project,
    spec: str,
    out: str | None = None,
    *,
    link: str = "copy",
    force: bool = False,
    allow_changed_references: bool = False,
    progress: Progress | None = None,
    paths: Collection[str] | None = None,
) -> tuple[str, int]:
    """Download a version into a folder: never deletes, skips files that already match,
    replaces a changed file only when its bytes are in the cache (else only with `force`).
    `paths`: only these entries (W&B's `entry.download()`)."""
    _check_link(link)
    r = _resolve_fetched(project, spec, progress)
    if paths is not None:
        kept = {p: e for p, e in project.load_entries(r.manifest).items() if p in paths}
        r = r._replace(manifest=dataclasses.replace(r.manifest, entries=kept))
    target = os.path.abspath(out or default_download_dir(project, r))
    written = _into_folder(
        project,
        r,
        target,
        exact=False,
        link=link,
        force=force,
        allow_changed=allow_changed_references,
        progress=progress,
    )
    return target, written


def checkout_root(
    project: Project,
    spec: str,
    root: str,
    allow_changed_references: bool = False,
    progress: Progress | None = None,
) -> str:
    """Make `root` hold exactly the version: files not in it are removed (W&B's checkout)."""
    r = _resolve_fetched(project, spec, progress)
    target = os.path.abspath(root)
    _into_folder(
        project,
        r,
        target,
        exact=True,
        force=True,  # W&B's checkout: `root` becomes the version, whatever was there
        allow_changed=allow_changed_references,
        progress=progress,
    )
    return target


def _resolve_fetched(project: Project, spec: str, progress: Progress | None) -> Resolved:
    """A version whose listing (or, for code, whose content) the local cache holds,
    fetched if need be (as W&B's download); its other objects are fetched by the checkout
    that follows when the cache lacks them."""
    from gitartifacts.tracking import code

    r = resolve(project, spec, entries=False)
    if r.origin is not None:  # another repository's version: from the remote it names
        projects.fetch_content(project, r)
        return r
    projects.fetch_imported(project, [r.manifest])
    if code.is_code(r.manifest):
        transfer.fetch_for(project, [r.manifest], progress=progress)
        project.load_entries(r.manifest)
    elif _lacks_listing(project, r.manifest):
        transfer.fetch_for(project, [r.manifest], progress=progress)
    return r


def _into_folder(
    project: Project,
    r: Resolved,
    target: str,
    *,
    exact: bool,
    link: str = "copy",
    force: bool = False,
    allow_changed: bool = False,
    progress: Progress | None = None,
) -> int:
    """Files of a version into any folder; `exact` also removes what is not in it."""
    from gitartifacts.tracking import code

    if code.is_code(r.manifest):
        os.makedirs(target, exist_ok=True)
        return code.materialize(project, r.manifest, target)
    job = wplan.Checkout(
        tree(project, r.manifest),
        base=target,
        path=target,
        manage=_names_in(target) if exact else (),
        delete_extra=exact,
        link=link,
        force=force,
        what=target,
        conflict_fix="choose another folder with -o, or pass --force to replace them",
    )
    plan, _ = _materialize(project, r.manifest, job, allow_changed, progress)
    os.makedirs(target, exist_ok=True)  # even for a version with no files
    return plan.written


def _names_in(folder: str) -> list[str]:
    """What a folder holds, but for temporary files a checkout may be writing there."""
    if not os.path.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder) if not n.startswith(WORK_TMP))


def _check_link(link: str) -> None:
    if link not in ("copy", "reflink", "hardlink", "symlink"):
        raise UsageError(f"unknown link type {link!r}", "use copy, reflink, hardlink or symlink")


# ---------------------------------------------------------------- verify
