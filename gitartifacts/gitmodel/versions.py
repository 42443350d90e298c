"""Versions and aliases as lightweight git tags, and resolving `name:spec`.

Tag grammar (the only place it is spelled out):
  refs/tags/artifacts/<name>/v<N>      version N: the commit that first held a digest
  refs/tags/artifacts/<name>/<alias>   alias: moved on re-alias; `latest` kept by the tool
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core import manifest_parse as mparse
from gitartifacts.errors import GitError, ManifestError, NotFoundError, UsageError
from gitartifacts.gitmodel.repo import ZERO, LockedError
from gitartifacts.project import Project, in_ref_snapshot

TAG_PREFIX = "refs/tags/artifacts/"
LATEST = "latest"
_DIGEST_PREFIX_RE = re.compile(r"^(sha256:)?[0-9a-f]{8,64}\Z")


def version_ref(name: str, n: int) -> str:
    return f"{TAG_PREFIX}{name}/v{n}"


def alias_ref(name: str, alias: str) -> str:
    return f"{TAG_PREFIX}{name}/{alias}"


def parse_ref(ref: str) -> tuple[str, str] | None:
    """(name, 'vN' or alias) of an artifact tag, or None."""
    if not ref.startswith(TAG_PREFIX):
        return None
    name, _, label = ref[len(TAG_PREFIX) :].rpartition("/")
    return (name, label) if name and label else None


class Summary(NamedTuple):
    """What the log needs of one manifest, without its entries."""

    name: str
    type: str
    digest: str
    size: int
    files: int


@dataclass
class History:
    """Versions and aliases of one artifact, from its tags."""

    name: str
    versions: dict[int, str] = field(default_factory=dict)  # N -> commit
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> commit

    def version_of_commit(self, commit: str) -> int | None:
        for n, c in self.versions.items():
            if c == commit:
                return n
        return None

    def aliases_of(self, n: int) -> list[str]:
        commit = self.versions[n]
        return sorted(a for a, c in self.aliases.items() if c == commit)

    @property
    def next_number(self) -> int:
        return max(self.versions, default=-1) + 1


class Resolved(NamedTuple):
    manifest: mf.Manifest
    version: int | None  # None: not (yet) a version, e.g. an uncommitted manifest
    commit: str | None  # None: the work tree
    source: str  # what was asked for, for messages


# ---------------------------------------------------------------- reading tags


def histories(project: Project, refs: dict[str, str] | None = None) -> dict[str, History]:
    if refs is None:
        refs = project.repo.refs(TAG_PREFIX.rstrip("/"))
    out: dict[str, History] = {}
    for ref, sha in refs.items():
        parsed = parse_ref(ref)
        if parsed is None:
            continue
        name, label = parsed
        h = out.setdefault(name, History(name))
        if mf.VERSION_RE.match(label):
            h.versions[int(label[1:])] = sha
        else:
            h.aliases[label] = sha
    return out


def summaries(project: Project, name: str, commits: list[str]) -> dict[str, Summary | None]:
    """Summary of `name`'s manifest at each commit; cached, so each blob is parsed once."""
    cached = project.state.summaries_of(name).get_many(commits)
    out: dict[str, Summary | None] = {}
    missing = []
    for c in commits:
        if c in cached:
            raw = json.loads(cached[c])
            out[c] = Summary(*raw) if raw else None
        else:
            missing.append(c)
    if missing:
        path = mf.manifest_path(name)
        blobs = project.repo.cat_blobs(f"{c}:{path}" for c in missing)
        new = []
        for c in missing:
            data = blobs[f"{c}:{path}"]
            s = None
            if data is not None:
                try:
                    m = mparse.loads(data.decode("utf-8"), source=f"{c[:8]}:{path}")
                    s = Summary(m.name, m.type, m.digest, m.size, m.files)
                except ManifestError:
                    s = None
            out[c] = s
            new.append((c, json.dumps(list(s) if s else None)))
        project.state.summaries_of(name).put_many(new)
    return out


def digest_versions(project: Project, h: History) -> dict[str, int]:
    """digest -> version number for one artifact."""
    sums = summaries(project, h.name, list(h.versions.values()))
    out: dict[str, int] = {}
    for n in sorted(h.versions):
        s = sums[h.versions[n]]
        if s is not None:
            out.setdefault(s.digest, n)
    return out


# ---------------------------------------------------------------- creating version tags


# Rounds of `sync` lost to other processes tagging at the same moment before it gives up.
_SYNC_ATTEMPTS = 10


class _Raced(Exception):
    """Another process changed our tags or notes while a sync was writing them."""


@in_ref_snapshot
def sync(project: Project) -> list[tuple[str, int]]:
    """Tag every digest that commits up to HEAD introduced and that has no version yet.

    Runs at the start of every command (and from the post-commit hook), so versions appear
    after a plain `git commit`, several commits, a merge or a pull alike. Only commits not
    seen before are read. Returns the (name, N) created.
    """
    for _ in range(_SYNC_ATTEMPTS):
        try:
            return _sync_once(project)
        except _Raced:
            # Another process tagged at the same moment: start over from its tags.
            project.state.sync_marker.put("")
            project.repo.refs_moved()
    raise GitError(
        f"could not record new versions: other processes changed the artifact tags "
        f"{_SYNC_ATTEMPTS} times meanwhile",
        "run the command again",
    )


def _sync_once(project: Project) -> list[tuple[str, int]]:
    repo = project.repo
    head = repo.head()
    if head is None:
        return []
    refs = repo.refs(TAG_PREFIX.rstrip("/"))
    tracking = repo.refs(TRACKING.rstrip("/"))
    marker = _marker(head, {**refs, **tracking})
    if project.state.sync_marker.get() == marker:
        return []
    if tracking:
        # A plain `git fetch` brought remote tags: adopt what was published first.
        for remote in sorted({ref[len(TRACKING) :].split("/", 1)[0] for ref in tracking}):
            reconcile(project, remote)
        refs = repo.refs(TAG_PREFIX.rstrip("/"))
    hist = histories(project, refs)
    before = histories(project, refs)
    known: dict[str, dict[str, int]] = {}
    created: list[tuple[str, int]] = []
    versions: list[tuple[str, str, str | None]] = []
    moves: dict[str, dict[str, str]] = {}  # name -> alias -> commit; the last move wins
    applied: list[tuple[str, str]] = []
    for commit, name, s in _manifest_changes(project, project.state.synced_head.get(), head):
        h = hist.setdefault(name, History(name))
        if name not in known:
            known[name] = digest_versions(project, h)
        if s.digest in known[name]:
            continue
        n = h.next_number
        h.versions[n] = commit
        known[name][s.digest] = n
        versions.append((version_ref(name, n), commit, ZERO))
        for digest, alias in project.state.pending_aliases(name):
            if digest == s.digest:
                moves.setdefault(name, {})[alias] = commit
                applied.append((name, alias))
        created.append((name, n))
    for name, n in created:
        # `latest` is the tool's: the newest version, whatever a pending alias said.
        by_alias = moves.setdefault(name, {})
        by_alias.pop(LATEST, None)
        by_alias[LATEST] = hist[name].versions[n]
    if versions:
        events: dict[str, list[dict[str, object]]] = {}
        alias_updates: list[tuple[str, str, str | None]] = []
        for name, by_alias in moves.items():
            old = before.get(name, History(name))
            for alias, commit in by_alias.items():
                alias_updates.append((alias_ref(name, alias), commit, None))
            for target, evs in alias_events(
                name, [(a, old.aliases.get(a), c) for a, c in by_alias.items()], hist[name]
            ).items():
                events.setdefault(target, []).extend(evs)
        from gitartifacts.gitmodel import notes as run_notes

        try:
            run_notes.write(repo, events, [*versions, *alias_updates])
        except LockedError:
            raise
        except GitError:
            raise _Raced() from None
        for name, alias in applied:
            project.state.clear_pending_alias(name, alias)
    project.state.synced_head.put(head)
    project.state.sync_marker.put(_marker(head, {**repo.refs(TAG_PREFIX.rstrip("/")), **tracking}))
    return created


def _manifest_changes(
    project: Project, since: str | None, head: str
) -> list[tuple[str, str, Summary]]:
    """(commit, name, summary) for every manifest change in commits reachable from HEAD and
    not from `since`, oldest first."""
    repo = project.repo
    rng = [head, "--not", since] if since and repo.rev_parse(since + "^{commit}") else [head]
    out = repo.run(
        "log",
        "--reverse",
        "--format=%x00%H",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "--diff-merges=first-parent",
        *rng,
        "--",
        mf.MANIFEST_DIR + "/",
    )
    changes: list[tuple[str, str, str]] = []
    commit = ""
    for line in out.splitlines():
        if line.startswith("\0"):
            commit = line[1:]
        elif line.startswith(":") and commit:
            meta, _, path = line.partition("\t")
            blob = meta.split()[3]
            name = path[len(mf.MANIFEST_DIR) + 1 : -len(".yaml")]
            if (
                blob != ZERO
                and path.endswith(".yaml")
                and "/" not in name
                and mf.NAME_RE.match(name)
            ):
                changes.append((commit, name, blob))
    sums = blob_summaries(project, [blob for _, _, blob in changes])
    return [(c, n, sums[b]) for c, n, b in changes if sums.get(b) is not None]  # type: ignore[misc]


def blob_summaries(project: Project, blobs: list[str]) -> dict[str, Summary | None]:
    """Summary of each manifest blob; cached, so each blob is parsed once per machine."""
    keys = list(dict.fromkeys(blobs))
    cached = project.state.blob_summaries.get_many(keys)
    out: dict[str, Summary | None] = {}
    for k, v in cached.items():
        raw = json.loads(v)
        out[k] = Summary(*raw) if raw else None
    missing = [k for k in keys if k not in cached]
    if missing:
        data = project.repo.cat_blobs(missing)
        new = []
        for b in missing:
            s = None
            raw_bytes = data.get(b)
            if raw_bytes is not None:
                try:
                    m = mparse.loads(raw_bytes.decode("utf-8"), source=f"blob {b[:10]}")
                    s = Summary(m.name, m.type, m.digest, m.size, m.files)
                except (ManifestError, UnicodeDecodeError):
                    s = None
            out[b] = s
            new.append((b, json.dumps(list(s) if s else None)))
        project.state.blob_summaries.put_many(new)
    return out


def _marker(head: str, refs: dict[str, str]) -> str:
    """Identifies HEAD plus the state of every artifact tag."""
    h = hashlib.sha1(head.encode())
    for ref in sorted(refs):
        h.update(f"{ref} {refs[ref]}\n".encode())
    return h.hexdigest()


# ---------------------------------------------------------------- aliases


def set_alias(project: Project, name: str, n: int, alias: str) -> None:
    mf.validate_alias(alias)
    h = histories(project).get(name)
    if h is None or n not in h.versions:
        raise NotFoundError(f"{name}:v{n} does not exist", f"see git artifacts log {name}")
    move_aliases(project, name, [(alias, h.versions[n])], h)


def move_aliases(
    project: Project, name: str, moves: list[tuple[str, str]], h: History | None = None
) -> None:
    """Point aliases at commits (ZERO deletes) in one transaction together with the events
    that record who moved what and when in the notes (a lightweight tag carries no author or
    date): both happen or neither. An alias named twice moves once, to its last commit."""
    from gitartifacts.gitmodel import notes as run_notes

    h = h if h is not None else histories(project).get(name, History(name))
    wanted = dict(moves)
    changed = [(a, c) for a, c in wanted.items() if h.aliases.get(a) != (None if c == ZERO else c)]
    if not changed:
        return
    run_notes.write(
        project.repo,
        alias_events(name, [(a, h.aliases.get(a), c) for a, c in changed], h),
        [(alias_ref(name, a), c, None if c != ZERO else h.aliases.get(a)) for a, c in changed],
    )
    for a, c in changed:
        if c == ZERO:
            h.aliases.pop(a, None)
        else:
            h.aliases[a] = c


def alias_events(
    name: str, moves: list[tuple[str, str | None, str]], h: History
) -> dict[str, list[dict[str, object]]]:
    """Events for (alias, old commit, new commit) moves, by the commit each now points at
    (a deleted alias: the commit it pointed at)."""
    import getpass
    import time

    by_commit: dict[str, list[dict[str, object]]] = {}
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = None
    for alias, old, new in moves:
        target = old if new == ZERO else new
        if not target:
            continue
        ev = {
            "ev": "alias", "name": name, "alias": alias, "t": time.time_ns(), "who": who,
            "from": f"v{h.version_of_commit(old)}" if old and h.version_of_commit(old) is not None else old,
            "to": None if new == ZERO else (f"v{h.version_of_commit(new)}" if h.version_of_commit(new) is not None else new),
        }  # fmt: skip
        by_commit.setdefault(target, []).append(ev)
    return by_commit


def delete_alias(project: Project, name: str, alias: str) -> None:
    if mf.VERSION_RE.match(alias):
        raise UsageError(f"{alias} is a version, not an alias", "version tags are never deleted")
    h = histories(project).get(name)
    if h is None or alias not in h.aliases:
        raise NotFoundError(f"{name} has no alias {alias!r}", f"see git artifacts log {name}")
    move_aliases(project, name, [(alias, ZERO)], h)


# ---------------------------------------------------------------- resolving specs


def resolve(project: Project, spec: str, entries: bool = True) -> Resolved:
    """`name`, `name:vN`, `name:alias`, `name:<digest prefix>`, `<git rev>:name`, or a registry
    link `registry/<collection>:<vN or alias>`."""
    if spec.startswith("registry/"):
        from gitartifacts.gitmodel import registry

        link = registry.resolve(project, spec)
        h = histories(project).get(link.source)
        n = digest_versions(project, h).get(link.digest) if h else None
        if n is None:
            raise NotFoundError(
                f"{spec} links {link.source} {link.digest[:19]}, which has no version here",
                "git artifacts fetch",
            )
        return resolve(project, f"{link.source}:v{n}", entries)
    name, _, selector = spec.partition(":")
    if not selector:
        return _resolve_worktree(project, spec, entries)
    name_ok = bool(mf.NAME_RE.match(name))
    known = name_ok and (name in project.names() or name in histories(project))
    if known:
        try:
            return _resolve_selector(project, name, selector, spec, entries)
        except NotFoundError:
            if not mf.NAME_RE.match(selector) or project.repo.rev_parse(name + "^{commit}") is None:
                raise
    rev, _, art = spec.rpartition(":")
    if mf.NAME_RE.match(art):
        commit = project.repo.rev_parse(rev + "^{commit}")
        if commit is not None:
            return _resolve_at_commit(project, art, commit, spec, entries)
    if not name_ok:
        raise UsageError(
            f"cannot read artifact spec {spec!r}",
            "use name, name:vN, name:alias, name:<digest prefix> or <git rev>:name",
        )
    raise NotFoundError(
        f"artifact {name!r} does not exist",
        "see git artifacts ls for the artifacts of this repository",
    )


def _resolve_worktree(project: Project, name: str, entries: bool) -> Resolved:
    mf.validate_name(name)
    m = project.read_manifest(name, entries=entries)
    if m is None:
        if name in histories(project):
            return _resolve_selector(project, name, LATEST, name, entries)
        raise NotFoundError(
            f"artifact {name!r} does not exist",
            "see git artifacts ls, or create it with git artifacts add",
        )
    h = histories(project).get(name)
    version = digest_versions(project, h).get(m.digest) if h else None
    commit = h.versions[version] if h and version is not None else None
    return Resolved(m, version, commit, name)


def _resolve_selector(
    project: Project, name: str, selector: str, spec: str, entries: bool
) -> Resolved:
    h = histories(project).get(name, History(name))
    if mf.VERSION_RE.match(selector):
        n = int(selector[1:])
        if n not in h.versions:
            raise NotFoundError(
                f"{name}:{selector} does not exist",
                f"versions of {name}: {_listing(h)}"
                if h.versions
                else f"{name} has no committed version yet; commit its manifest",
            )
        return _resolve_version(project, h, n, spec, entries)
    if selector in h.aliases:
        commit = h.aliases[selector]
        at = h.version_of_commit(commit)
        if at is not None:
            return _resolve_version(project, h, at, spec, entries)
        return _resolve_at_commit(project, name, commit, spec, entries)
    if _DIGEST_PREFIX_RE.match(selector):
        prefix = selector if selector.startswith("sha256:") else "sha256:" + selector
        matches = {n for d, n in digest_versions(project, h).items() if d.startswith(prefix)}
        if len(matches) == 1:
            return _resolve_version(project, h, matches.pop(), spec, entries)
        if len(matches) > 1:
            raise UsageError(
                f"digest prefix {selector!r} matches versions {', '.join(f'v{n}' for n in sorted(matches))} of {name}",
                "give more hex digits",
            )
    if selector == LATEST and not h.versions:
        raise NotFoundError(
            f"{name} has no committed version yet",
            f"commit {mf.manifest_path(name)} with git commit, or use {name} for the work tree",
        )
    raise NotFoundError(
        f"{spec!r}: {name} has no version, alias or digest {selector!r}",
        f"see git artifacts log {name}",
    )


def _resolve_version(project: Project, h: History, n: int, spec: str, entries: bool) -> Resolved:
    commit = h.versions[n]
    r = _resolve_at_commit(project, h.name, commit, spec, entries)
    return Resolved(r.manifest, n, commit, spec)


def _resolve_at_commit(
    project: Project, name: str, commit: str, spec: str, entries: bool
) -> Resolved:
    path = mf.manifest_path(name)
    data = project.repo.show_file(commit, path)
    if data is None:
        raise NotFoundError(
            f"{spec!r}: commit {commit[:10]} has no {path}", "check the revision and the name"
        )
    m = project.parse_manifest(data, f"{commit[:10]}:{path}", entries=entries)
    h = histories(project).get(name)
    version = digest_versions(project, h).get(m.digest) if h else None
    return Resolved(m, version, commit, spec)


def _listing(h: History) -> str:
    nums = sorted(h.versions)
    shown = (
        ", ".join(f"v{n}" for n in nums)
        if len(nums) <= 8
        else f"v{nums[0]} to v{nums[-1]} ({len(nums)} versions)"
    )
    aliases = sorted(h.aliases)
    more = f" and {len(aliases) - 8} more" if len(aliases) > 8 else ""
    return shown + ("; aliases: " + ", ".join(aliases[:8]) + more if aliases else "")


# ---------------------------------------------------------------- publishing to a git remote
#
# A version number is authoritative once its tag is on the shared git remote. Remote tags are
# fetched into refs/artifacts/remotes/<remote>/tags/<name>/<label> (never over local tags);
# reconciling then adopts every published version and renumbers a local, unpublished version
# whose number was taken by another clone. Aliases point at commits, so they follow.

TRACKING = "refs/artifacts/remotes/"


def tracking_prefix(remote: str) -> str:
    return f"{TRACKING}{remote}/tags/"


def fetch_refspec(remote: str) -> str:
    return f"+refs/tags/artifacts/*:{tracking_prefix(remote)}*"


def fetch_tags(project: Project, remote: str) -> list[str]:
    """Fetch the remote's artifact tags into the tracking namespace and reconcile; registry
    links come as they are (the remote's win)."""
    project.repo.run(
        "fetch",
        "--quiet",
        "--prune",
        "--no-tags",
        remote,
        fetch_refspec(remote),
        "+refs/tags/registry/*:refs/tags/registry/*",
        "+refs/artifacts/pins/*:refs/artifacts/pins/*",
    )
    # The tracking refs now mirror this URL: a remote re-pointed elsewhere is not trusted.
    project.state.tracking_url.put(remote, _remote_url(project, remote))
    return reconcile(project, remote)


def _remote_url(project: Project, remote: str) -> str:
    return project.repo.config_get(f"remote.{remote}.url") or remote


def reconcile(project: Project, remote: str) -> list[str]:
    """Make local tags agree with the published ones. Returns messages about renumbering."""
    repo = project.repo
    prefix = tracking_prefix(remote)
    tracked = {
        TAG_PREFIX + r[len(prefix) :]: sha for r, sha in repo.refs(prefix.rstrip("/")).items()
    }
    local = repo.refs(TAG_PREFIX.rstrip("/"))
    seen = project.state.seen_tags(remote).get_many(set(tracked) | set(local))
    remote_h, local_h = histories(project, tracked), histories(project, local)
    updates: list[tuple[str, str, str | None]] = []
    messages: list[str] = []
    for name, rh in remote_h.items():
        lh = local_h.get(name, History(name))
        u, m = _reconcile_one(project, rh, lh)
        updates += u
        messages += m
        for alias, commit in rh.aliases.items():
            ref = alias_ref(name, alias)
            mine = local.get(ref)
            # Take the remote's alias unless this clone moved it since it last saw the remote.
            if mine != commit and (mine is None or mine == seen.get(ref)):
                updates.append((ref, commit, None))
    if updates:
        repo.update_refs(updates)
    project.state.seen_tags(remote).put_many(tracked.items())
    return messages


def _reconcile_one(
    project: Project, rh: History, lh: History
) -> tuple[list[tuple[str, str, str | None]], list[str]]:
    name = rh.name
    commits = list(set(rh.versions.values()) | set(lh.versions.values()))
    sums = summaries(project, name, commits)

    def digest(c: str) -> str | None:
        s = sums.get(c)
        return s.digest if s else None

    published = {digest(c): n for n, c in rh.versions.items()}
    updates: list[tuple[str, str, str | None]] = []
    displaced: list[tuple[int, str]] = []
    for n, c in sorted(lh.versions.items()):
        if rh.versions.get(n) == c:
            continue
        d = digest(c)
        if d in published:
            # The same content was published under its own number: that number wins.
            if published[d] != n:
                updates.append((version_ref(name, n), ZERO, c))
            continue
        if n in rh.versions:
            updates.append((version_ref(name, n), ZERO, c))
            displaced.append((n, c))
    for n, c in rh.versions.items():
        if lh.versions.get(n) != c:
            updates.append((version_ref(name, n), c, None))
    kept = set(rh.versions) | {
        n for n, c in lh.versions.items() if n not in rh.versions and digest(c) not in published
    }
    free = max(kept, default=-1) + 1
    messages = []
    for n, c in displaced:
        updates.append((version_ref(name, free), c, None))
        messages.append(
            f"{name}: v{n} was published by another clone; your unpublished v{n} is now v{free}"
        )
        free += 1
    # A ref deleted and re-created here is folded into one update by `update_refs`.
    return updates, messages


def publish(project: Project, remote: str, attempts: int = 5) -> list[str]:
    """Push unpublished version tags (never forced) and changed aliases (forced).

    A rejected version tag means another clone published that number meanwhile: fetch,
    renumber, try again.
    """
    messages: list[str] = []
    prefix = tracking_prefix(remote)
    for _ in range(attempts):
        messages += fetch_tags(project, remote)
        sync(project)
        tags = _unpublished_tags(
            project.repo.refs(TAG_PREFIX.rstrip("/"), prefix.rstrip("/")), remote
        )
        specs = [f"+{sha}:{ref}" for ref, sha in _unpublished_extras(project, remote).items()]
        for ref, sha in tags.items():
            parsed = parse_ref(ref)
            force = "" if parsed is not None and mf.VERSION_RE.match(parsed[1]) else "+"
            specs.append(f"{force}{sha}:{ref}")
        if not specs:
            return messages
        if project.repo.ok("push", "--quiet", "--atomic", "--no-verify", remote, *specs):
            # The remote now holds exactly what we sent: track it (and remember it as seen,
            # as `reconcile` would) without asking the remote again.
            project.repo.update_refs(
                [(prefix + ref[len(TAG_PREFIX) :], sha, None) for ref, sha in tags.items()]
            )
            project.state.seen_tags(remote).put_many(tags.items())
            return messages
    raise GitError(
        f"could not publish version tags to {remote} after {attempts} attempts",
        "another clone keeps publishing; run git artifacts push again",
    )


def tracking_current(project: Project, remote: str) -> bool:
    """Whether the tracking refs were last fetched from the URL `remote` has now."""
    return project.state.tracking_url.get(remote) == _remote_url(project, remote)


def has_unpublished(project: Project, remote: str) -> bool:
    """Whether `publish` has anything to push, judged from what was last seen of the remote
    (its tracking refs, see `tracking_current`), so a push with nothing new needs no network
    round trip."""
    refs = project.repo.refs(
        TAG_PREFIX.rstrip("/"),
        tracking_prefix(remote).rstrip("/"),
        "refs/tags/registry",
        "refs/artifacts/pins",
    )
    if any(r.startswith(("refs/tags/registry/", "refs/artifacts/pins/")) for r in refs):
        return True  # not tracked: only the remote can say
    return bool(_unpublished_tags(refs, remote))


def _unpublished_tags(refs: dict[str, str], remote: str) -> dict[str, str]:
    """Our version and alias tags (ref -> sha) among `refs` that the remote's tracking refs,
    also among `refs`, do not show with the same target."""
    prefix = tracking_prefix(remote)
    tracked = {
        TAG_PREFIX + r[len(prefix) :]: sha for r, sha in refs.items() if r.startswith(prefix)
    }
    return {
        ref: sha
        for ref, sha in sorted(refs.items())
        if ref.startswith(TAG_PREFIX) and parse_ref(ref) is not None and tracked.get(ref) != sha
    }


def _unpublished_extras(project: Project, remote: str) -> dict[str, str]:
    """Registry links and pinned commits that the remote lacks or has elsewhere."""
    local = {**project.repo.refs("refs/tags/registry"), **project.repo.refs("refs/artifacts/pins")}
    if not local:
        return {}
    out = project.repo.run("ls-remote", remote, "refs/tags/registry/*", "refs/artifacts/pins/*")
    theirs = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        theirs[ref] = sha
    return {ref: sha for ref, sha in local.items() if theirs.get(ref) != sha}
