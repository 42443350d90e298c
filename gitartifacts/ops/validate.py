"""Checks for pre-commit and pre-push: `git artifacts validate` and its two options.

- `manifests`: schema 1, names, a type that never changes, well-formed digests, safe entry
  paths, listing totals when the listing objects are in the local cache. No network.
- `data_not_committed`: staged files inside an artifact's workspace folders, or too large.
- `pushed`: every object named by the manifests of the commits being pushed is on the remote
  cache (the one check here that talks to a remote).

Findings are records, one per problem; the CLI prints them as `file:line: message`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import yaml

from gitartifacts.core import listing, safeyaml
from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.core.diff import human_size
from gitartifacts.core.workspace import scan as wscan
from gitartifacts.errors import CacheError, GitArtifactsError, ManifestError, UsageError
from gitartifacts.gitmodel import versions as ver
from gitartifacts.project import CONFIG_FILE, Project

DEFAULT_MAX_SIZE = 5_000_000
_LISTING_FIX = (
    "the file was edited by hand; restore it with git checkout or re-run git artifacts add"
)


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


class CheckFailed(GitArtifactsError):
    """A check found problems (exit 1, as linters do); usage errors keep exit 2."""

    exit_code = 1


# ---------------------------------------------------------------- manifests


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


def check_text(text: str, source: str) -> tuple[list[Finding], mf.Manifest | None]:
    """Schema problems of one manifest's text, each with its line; the manifest if none."""
    findings, m, _ = _parse(text, source)
    return findings, m


def _parse(text: str, source: str) -> tuple[list[Finding], mf.Manifest | None, _KeyLines]:
    try:
        safeyaml.check_yaml(text, source)
    except ManifestError as exc:
        return [Finding(source, 1, exc.message)], None, _KeyLines(None)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark else 1
        return [Finding(source, line, f"not valid YAML ({what})")], None, _KeyLines(None)
    lines = _KeyLines(node)
    findings = [Finding(source, line, msg) for line, msg in lines.duplicates]
    # Every bad entry is reported, so one run shows all of them.
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if isinstance(entries, dict):
        for p, value in entries.items():
            try:
                mf.validate_entry_path(p)
                mparse.entry_from_dict(value)
            except UsageError as exc:
                findings.append(Finding(source, lines.entry(p), f"entry {p!r}: {_message(exc)}"))
    if findings and isinstance(doc, dict):
        # The rest of the file still gets checked; totals cannot agree without those entries.
        doc = {**doc, "entries": {}} if "entries" in doc else doc
    try:
        m = mparse.from_dict(doc)
    except UsageError as exc:
        key = getattr(exc, "key", None)
        if not findings or key not in ("digest", "size", "files"):
            findings.append(Finding(source, lines.top(key), _message(exc)))
        return findings, None, lines
    return findings, None if findings else m, lines


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
    findings, m, lines = _parse(text, shown)
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


def _check_code(project: Project, m: mf.Manifest, shown: str, lines: _KeyLines) -> list[Finding]:
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
        return [Finding(shown, lines.top("metadata"), _message(exc))]
    return []


def _check_listing(project: Project, m: mf.Manifest, shown: str, lines: _KeyLines) -> list[Finding]:
    """Totals against the listing objects, when they are all in the local cache."""
    assert m.listing is not None
    try:
        entries = listing.read_listing(m.listing, project.read_listing_object, m.files)
    except CacheError:
        return []  # not here: checking it would need the network
    except (GitArtifactsError, ValueError) as exc:
        return [Finding(shown, lines.top("listing"), f"key 'listing': {_message(exc)}")]
    try:
        mparse.check_totals(m, entries)
    except UsageError as exc:
        key = getattr(exc, "key", None) or "listing"
        return [Finding(shown, lines.top(key), f"{exc.message} of the listing ({_LISTING_FIX})")]
    return []


def _types_in_history(project: Project) -> dict[str, dict[str, list[str]]]:
    """name -> type -> where it was seen: version tags (own and published) and HEAD."""
    repo = project.repo
    refs = dict(repo.refs(ver.TAG_PREFIX.rstrip("/")))
    for ref, sha in repo.refs(ver.TRACKING.rstrip("/")).items():
        _, _, rest = ref[len(ver.TRACKING) :].partition("/tags/")
        refs.setdefault(ver.TAG_PREFIX + rest, sha)
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


class _KeyLines:
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


def _message(exc: Exception) -> str:
    if isinstance(exc, GitArtifactsError):
        return f"{exc.message} ({exc.fix})" if exc.fix else exc.message
    return str(exc)


# ---------------------------------------------------------------- data not committed


def data_not_committed(
    project: Project, files: Sequence[str] = (), max_size: int = DEFAULT_MAX_SIZE
) -> list[Finding]:
    """Staged files that belong in the artifact cache: under an artifact's owned paths
    (`<path>/<first segment of each entry>`), or larger than `max_size` bytes."""
    repo = project.repo
    if files:
        paths = [project.relpath(f) for f in files]
    else:
        out = repo.run("diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR")
        paths = [p for p in out.split("\0") if p]
    if not paths:
        return []
    owners = _owned_paths(project)
    sizes = _staged_sizes(project, paths)
    findings = []
    for p in paths:
        owner = _owner(owners, p)
        if owner is not None:
            name, folder = owner
            findings.append(
                Finding(
                    p,
                    None,
                    f"belongs to artifact {name!r} ({folder}): its bytes go in the artifact "
                    f"cache, not in git (git rm --cached {_quote(p)}, then git artifacts add "
                    f"--name {name})",
                )
            )
            continue
        size = sizes.get(p)
        if size is not None and size > max_size:
            findings.append(
                Finding(
                    p,
                    None,
                    f"{human_size(size)} is over the {human_size(max_size)} limit for files in git "
                    f"(git rm --cached {_quote(p)}, then git artifacts add {_quote(p)} "
                    "--name NAME --type TYPE)",
                )
            )
    return findings


def parse_size(text: str) -> int:
    """`5MB`, `500k`, `1MiB`, `123` -> bytes (k, M, G are powers of 1000; Ki, Mi, Gi of 1024)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgG]?)(i?)[bB]?\s*", text)
    if not m:
        raise UsageError(f"invalid size {text!r}", "write bytes or a unit, e.g. 5MB, 500k, 1MiB")
    number, unit, binary = m.groups()
    power = " kmg".index(unit.lower() or " ")
    return int(float(number) * (1024 if binary else 1000) ** power)


def _owned_paths(project: Project) -> dict[str, str]:
    """Repository path -> artifact name, for every folder or file an artifact owns."""
    owned: dict[str, str] = {}
    for name in project.names():
        try:
            m = project.read_manifest(name, entries=False)
        except GitArtifactsError:
            continue  # the manifest check reports it
        if m is None or m.path is None:
            continue
        for top in _tops(project, m):
            owned[top if m.path == "." else f"{m.path}/{top}"] = name
    return owned


def _tops(project: Project, m: mf.Manifest) -> list[str]:
    if m.entries is not None:
        # Code artifacts pin files that git tracks (`git:` references): those stay in git.
        return wscan.tops(p for p, e in m.entries.items() if not (e.ref or "").startswith("git:"))
    assert m.listing is not None
    try:
        return sorted(
            name for _, name, _ in listing.parse_listing_object(project.cache.read(m.listing))
        )
    except CacheError:
        known = project.state.tops.get(m.digest)
        return known.split("\n") if known else []


def _owner(owners: dict[str, str], path: str) -> tuple[str, str] | None:
    cut = len(path)
    while cut > 0:
        prefix = path[:cut]
        if prefix in owners:
            return owners[prefix], prefix
        cut = prefix.rfind("/")
    return None


def _staged_sizes(project: Project, paths: Sequence[str]) -> dict[str, int]:
    """Size of each path's staged blob (the index), else of the file in the work tree."""
    out = project.repo.run("ls-files", "-s", "-z", "--", *paths)
    blobs: dict[str, str] = {}
    for rec in out.split("\0"):
        meta, _, p = rec.partition("\t")
        if p and meta.split()[0] != "160000":  # submodules are not files
            blobs[p] = meta.split()[1]
    sizes = _blob_sizes(project, blobs.values())
    out_sizes = {p: sizes[b] for p, b in blobs.items() if b in sizes}
    for p in paths:
        if p not in out_sizes:
            with contextlib.suppress(OSError):
                out_sizes[p] = os.stat(project.root / p).st_size
    return out_sizes


def _blob_sizes(project: Project, blobs: Iterable[str]) -> dict[str, int]:
    wanted = list(dict.fromkeys(blobs))
    if not wanted:
        return {}
    out = project.repo.run(
        "cat-file", "--batch-check=%(objectname) %(objectsize)", input="\n".join(wanted) + "\n"
    )
    sizes = {}
    for line in out.splitlines():
        sha, _, size = line.partition(" ")
        if size.isdigit():
            sizes[sha] = int(size)
    return sizes


# ---------------------------------------------------------------- pushed


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
    from gitartifacts.remote import config, transfer

    manifests_ = transfer.manifests_in_commits(project, revs, git_remote, False)
    if not manifests_:
        return PushedReport("", 0, 0, [])
    remote = config.resolve(project, remote_name)
    needed: dict[str, list[str]] = {}  # digest -> paths naming it, per manifest
    per_manifest: list[tuple[mf.Manifest, dict[str, str]]] = []
    for m in manifests_:
        wanted = _objects_of(project, m)
        per_manifest.append((m, wanted))
        for digest, path in wanted.items():
            needed.setdefault(digest, []).append(path)
    missing = set(transfer.open_store(remote).missing(sorted(needed))) if needed else set()
    findings = []
    for m, wanted in per_manifest:
        lost = sorted(p for d, p in wanted.items() if d in missing)
        if lost:
            shown = ", ".join(lost[:5]) + (f" and {len(lost) - 5} more" if len(lost) > 5 else "")
            findings.append(
                Finding(
                    mf.manifest_path(m.name),
                    None,
                    f"{m.name} {m.digest[:19]}: {len(lost)} of {len(wanted)} objects are not on "
                    f"remote cache {remote.name}: {shown}",
                )
            )
    return PushedReport(remote.name, len(manifests_), len(needed), findings)


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


# ---------------------------------------------------------------- remotes changed


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
        return f"remote {self.remote!r} {self.what} changed: {self.old or '(none)'} -> {self.new or '(none)'}"


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
        for change in remote_changes(old, new):
            out.append(
                f"warning: {CONFIG_FILE} changes where artifact content goes, against {where}: "
                f"{change} (check that it is yours: git artifacts push uploads there)"
            )
    return out


# ---------------------------------------------------------------- helpers


def _quote(path: str) -> str:
    return f"'{path}'" if re.search(r"[^A-Za-z0-9_./@%+=:,-]", path) else path
