"""Checks for pre-commit and pre-push: `git artifacts validate` and its `--pushed` option.

- `manifests`: schema 1 (see gitartifacts.review.checks), names, a type that never changes,
  listing totals when the listing objects are in the local cache. No network.
- `pushed`: every object named by the manifests of the commits being pushed is on the remote
  cache (the one check here that talks to a remote).
- `remote_warnings`: the remote caches a commit or its branch moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from gitartifacts.core import foldertree, listing, merge3
from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.core.textsafe import count
from gitartifacts.errors import CacheError, GitArtifactsError, UsageError
from gitartifacts.gitmodel import refs as gitrefs
from gitartifacts.gitmodel import versions as ver
from gitartifacts.gitmodel.project import Project
from gitartifacts.review import checks
from gitartifacts.review.checks import Finding
from gitartifacts.settings import CONFIG_FILE

_LISTING_FIX = (
    "the file was edited by hand; restore it with git checkout or re-run git artifacts add"
)


class CheckFailed(GitArtifactsError):
    """A check found problems (exit 1, as linters do); usage errors keep exit 2."""

    exit_code = 1


def manifests(project: Project, files: Sequence[str] = ()) -> list[Finding]:
    """Problems in manifest files (default: every `.artifacts/*.yaml` of the work tree)."""
    if files:
        targets = [(f, project.relpath(f)) for f in files]
    else:
        targets = [(mf.manifest_path(n), mf.manifest_path(n)) for n in project.names()]
    history = _types_in_history(project)
    findings: list[Finding] = []
    names: dict[str, tuple[str, int]] = {}
    for shown, rel in targets:
        found, m, name_line = _check_file(project, shown, rel, history)
        findings += found
        if m is not None:
            names[m.name] = (shown, name_line)
    findings += _case_clashes(project, names)
    return findings


class PushedReport(NamedTuple):
    remote: str
    manifests: int
    objects: int
    findings: list[Finding]


def pushed(
    project: Project,
    revs: Sequence[str] = ("HEAD",),
    git_remote: str | None = None,
    remote_name: str | None = None,
) -> PushedReport:
    """Which objects, named by the manifests of the commits being pushed, the remote cache
    lacks. A listing whose objects are not in the local cache is checked by its root alone:
    a listing reaches the remote only after everything it names."""
    from gitartifacts.remote import plan, transfer
    from gitartifacts.remote.remotes import resolve as resolve_remote

    manifests_ = plan.manifests_in_commits(project, revs, git_remote, False)
    if not manifests_:
        return PushedReport("", 0, 0, [])
    remote = resolve_remote(project, remote_name)
    needed: dict[str, list[str]] = {}  # digest -> paths naming it, per manifest
    per_manifest: list[tuple[mf.Manifest, dict[str, str]]] = []
    for m in manifests_:
        wanted = _objects_of(project, m)
        per_manifest.append((m, wanted))
        for digest, path in wanted.items():
            needed.setdefault(digest, []).append(path)
    missing = set(transfer.open_store(remote, project).missing(sorted(needed))) if needed else set()
    findings = []
    hist = ver.histories(project)
    for m, wanted in per_manifest:
        lost = sorted(p for d, p in wanted.items() if d in missing)
        if lost:
            shown = ", ".join(lost[:5]) + (f" and {len(lost) - 5} more" if len(lost) > 5 else "")
            findings.append(
                Finding(
                    mf.manifest_path(m.name),
                    None,
                    f"{_version_name(project, hist.get(m.name), m)} {m.digest[:19]}: "
                    f"{len(lost)} of {count(len(wanted), 'object')} are not on "
                    f"remote cache {remote.name}: {shown}",
                )
            )
    return PushedReport(remote.name, len(manifests_), len(needed), findings)


def _version_name(project: Project, h: ver.History | None, m: mf.Manifest) -> str:
    """`name:vN` of the version a manifest is, else its name alone."""
    n = ver.digest_versions(project, h).get(m.digest) if h else None
    return f"{m.name}:{gitrefs.version_label(n)}" if n is not None else m.name


def remote_warnings(project: Project) -> list[str]:
    """Warnings for pre-commit: the remote caches the staged `.gitartifacts.yaml` changes
    against HEAD (this commit), and HEAD's against the branch's upstream (commits not yet
    upstream, e.g. a merged pull request). A push after them uploads to the new places."""
    repo = project.repo
    staged = repo.show_file("", CONFIG_FILE)
    pairs: list[tuple[str, bytes | None, bytes | None]] = []
    head = repo.head()
    if head is not None:
        pairs.append(("HEAD", repo.show_file(head, CONFIG_FILE), staged))
        upstream = repo.rev_parse("@{upstream}")
        if upstream is not None and upstream != head:
            pairs.append(
                (
                    "the upstream branch",
                    repo.show_file(upstream, CONFIG_FILE),
                    repo.show_file(head, CONFIG_FILE),
                )
            )
    out = []
    for where, old, new in pairs:
        for change in checks.remote_changes(old, new):
            out.append(
                f"warning: {CONFIG_FILE} changes where artifact content goes, against {where}: "
                f"{change} (check that it is yours: git artifacts push uploads there)"
            )
    return out


def _check_file(
    project: Project, shown: str, rel: str, history: dict[str, dict[str, list[str]]]
) -> tuple[list[Finding], mf.Manifest | None, int]:
    folder, _, filename = rel.rpartition("/")
    if folder != mf.MANIFEST_DIR or not filename.endswith(".yaml"):
        where = f"manifests live directly in {mf.MANIFEST_DIR}/ as <name>.yaml; move or rename it"
        return [Finding(shown, None, f"not a manifest location ({where})")], None, 0
    try:
        text = (project.root / rel).read_text(encoding="utf-8")
    except FileNotFoundError:
        return [Finding(shown, None, "no such file")], None, 0
    except UnicodeDecodeError:
        return [Finding(shown, 1, "not UTF-8 text (restore it with git checkout)")], None, 0
    marker = merge3.conflict_marker_line(text)
    if marker is not None:
        why = "holds merge conflict markers (settle the merge first: git artifacts status says how)"
        return [Finding(shown, marker, why)], None, 0
    findings, m, lines = checks.parse_text(text, shown)
    if m is None:
        return findings, None, 0
    stem = filename[: -len(".yaml")]
    if m.name != stem:
        findings.append(
            Finding(
                shown,
                lines.top("name"),
                f"key 'name' is {m.name!r}, but the file is named {stem!r} "
                f"(rename the file to {mf.manifest_path(m.name)} or fix the name)",
            )
        )
    known = history.get(m.name, {})
    other = {t: seen for t, seen in known.items() if t != m.type}
    if other:
        t, seen = next(iter(sorted(other.items())))
        findings.append(
            Finding(
                shown,
                lines.top("type"),
                f"artifact {m.name!r} is of type {t!r} ({', '.join(seen)}), not {m.type!r} "
                "(a name never changes type; choose another name for the new artifact)",
            )
        )
    if m.listing is not None:
        findings += _check_listing(project, m, shown, lines)
    if m.type == "code":
        findings += _check_code(project, m, shown, lines)
    return findings, m, lines.top("name")


def _check_code(
    project: Project, m: mf.Manifest, shown: str, lines: checks.KeyLines
) -> list[Finding]:
    """A code artifact's commit, root and patch fields; its patch, when in the local cache,
    may touch only the artifact's own files (what `get` would otherwise refuse)."""
    from gitartifacts.tracking import code

    if "commit" not in m.metadata:
        return []  # a plain artifact of type code: nothing is pinned or patched
    try:
        _, root, patch = code.check_fields(m)
        if patch is None or m.entries is None:
            return []
        try:
            data = project.cache.read(patch)
        except CacheError:
            return []  # not here: checking it would need the network
        code.check_patch(m, data, code.patch_strip(root))
    except GitArtifactsError as exc:
        return [Finding(shown, lines.top("metadata"), checks.error_text(exc))]
    return []


def _check_listing(
    project: Project, m: mf.Manifest, shown: str, lines: checks.KeyLines
) -> list[Finding]:
    """Totals against the listing objects, when they are all in the local cache."""
    assert m.listing is not None
    try:
        entries = foldertree.read_entries(m.listing, project.read_listing_object, m.files)
    except CacheError:
        return []  # not here: checking it would need the network
    except (GitArtifactsError, ValueError) as exc:
        return [Finding(shown, lines.top("listing"), f"key 'listing': {checks.error_text(exc)}")]
    try:
        mparse.check_totals(m, entries)
    except UsageError as exc:
        key = getattr(exc, "key", None) or "listing"
        return [Finding(shown, lines.top(key), f"{exc.message} of the listing ({_LISTING_FIX})")]
    return []


def _types_in_history(project: Project) -> dict[str, dict[str, list[str]]]:
    """name -> type -> where it was seen: version tags (own and published) and HEAD."""
    repo = project.repo
    refs = dict(repo.refs(gitrefs.TAG_PREFIX.rstrip("/")))
    for ref, sha in repo.refs(gitrefs.TRACKING_PREFIX.rstrip("/")).items():
        parsed = gitrefs.parse_tracking(ref)
        if parsed is not None:
            refs.setdefault(parsed[1], sha)
    found: dict[str, dict[str, list[str]]] = {}
    for name, h in ver.histories(project, refs).items():
        commits = {c: f"v{n}" for n, c in sorted(h.versions.items())}
        for c, s in ver.summaries(project, name, list(commits)).items():
            if s is not None:
                found.setdefault(name, {}).setdefault(s.type, []).append(commits[c])
    head = repo.head()
    if head is not None:
        blobs = repo.ls_tree(head, mf.MANIFEST_DIR)
        names = {b: p[len(mf.MANIFEST_DIR) + 1 : -len(".yaml")] for p, b in blobs.items()}
        for blob, s in ver.blob_summaries(project, list(names)).items():
            if s is not None and s.name == names[blob]:
                found.setdefault(s.name, {}).setdefault(s.type, []).append("HEAD")
    return found


def _case_clashes(project: Project, names: dict[str, tuple[str, int]]) -> list[Finding]:
    """Names that differ only in case collide as tags and files on macOS and Windows."""
    by_lower: dict[str, set[str]] = {}
    for n in [*project.names(), *ver.histories(project), *names]:
        by_lower.setdefault(n.lower(), set()).add(n)
    out = []
    for name, (shown, line) in sorted(names.items()):
        others = sorted(by_lower[name.lower()] - {name})
        if others:
            out.append(
                Finding(
                    shown,
                    line,
                    f"artifact name {name!r} differs from {others[0]!r} only in case; they "
                    "clash on case-insensitive file systems (choose another name)",
                )
            )
    return out


def _objects_of(project: Project, m: mf.Manifest) -> dict[str, str]:
    """digest -> one path (or what it is) for every object a manifest needs on a remote."""
    out: dict[str, str] = {}
    if m.listing is not None:
        try:
            entries = project.load_entries(m)
        except GitArtifactsError:
            return {m.listing: "(listing)"}
        order = [m.listing.removeprefix("sha256:")]
        out[m.listing] = "(listing)"
        for hex_ in order:  # each shared subfolder object once
            for h in listing.listing_children(project.read_listing_object(hex_), hex_):
                if "sha256:" + h not in out:
                    out["sha256:" + h] = "(listing)"
                    order.append(h)
    else:
        entries = m.entries or {}
    for p, e in entries.items():
        if e.ref is None:
            out.setdefault(e.digest, p)
    patch: Any = m.metadata.get("patch") if m.type == "code" else None
    if isinstance(patch, str) and mf.SHA256_RE.match(patch):
        out.setdefault(patch, "(patch of the work tree)")
    return out
