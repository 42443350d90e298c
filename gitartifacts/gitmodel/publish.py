"""Recording new versions (`sync`) and publishing them: fetch, reconcile, renumber, push.

A version number is authoritative once its tag is on the shared git remote. Remote tags are
fetched into refs/artifacts/remotes/<remote>/tags/<name>/<label> (never over local tags);
reconciling then adopts every published version and renumbers a local, unpublished version
whose number was taken by another clone. Aliases point at commits, so they follow.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from gitartifacts.errors import GitError
from gitartifacts.gitmodel import notes as run_notes
from gitartifacts.gitmodel.events import alias_events
from gitartifacts.gitmodel.project import Project, in_ref_snapshot
from gitartifacts.gitmodel.refs import (
    LATEST,
    NOTES_REF,
    TAG_PREFIX,
    TRACKING_PREFIX,
    alias_ref,
    fetch_refspec,
    mirror_patterns,
    mirror_refspecs,
    mirror_spaces,
    notes_tracking_ref,
    parse_ref,
    parse_tracking,
    tracked_tag,
    tracking_prefix,
    tracking_ref,
    version_number,
    version_ref,
)
from gitartifacts.gitmodel.repo import ZERO
from gitartifacts.gitmodel.runner import LockedError
from gitartifacts.gitmodel.versions import (
    History,
    digest_versions,
    histories,
    manifest_changes,
    summaries,
)

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
    tracking = repo.refs(TRACKING_PREFIX.rstrip("/"))
    marker = _marker(head, {**refs, **tracking})
    if project.state.sync_marker.get() == marker:
        return []
    if tracking:
        # A plain `git fetch` brought remote tags: adopt what was published first.
        for remote in sorted({p[0] for p in map(parse_tracking, tracking) if p is not None}):
            reconcile(project, remote)
        refs = repo.refs(TAG_PREFIX.rstrip("/"))
    before = histories(project, refs)
    plan = _number_new(project, histories(project, refs), head)
    if plan.versions:
        _write_versions(project, plan, before)
    project.state.synced_head.put(head)
    project.state.sync_marker.put(_marker(head, {**repo.refs(TAG_PREFIX.rstrip("/")), **tracking}))
    return plan.created


class _Plan(NamedTuple):
    """New version tags and the alias moves that come with them."""

    hist: dict[str, History]  # histories with the new versions in them
    created: list[tuple[str, int]]  # (name, N)
    versions: list[tuple[str, str, str | None]]  # ref updates of the new version tags
    moves: dict[str, dict[str, str]]  # name -> alias -> commit; the last move wins
    applied: list[tuple[str, str]]  # pending (name, alias) that the moves carry out


def _number_new(project: Project, hist: dict[str, History], head: str) -> _Plan:
    """Number every digest that commits since the last sync brought and no version holds."""
    known: dict[str, dict[str, int]] = {}
    plan = _Plan(hist, [], [], {}, [])
    for commit, name, s in manifest_changes(project, project.state.synced_head.get(), head):
        h = hist.setdefault(name, History(name))
        if name not in known:
            known[name] = digest_versions(project, h)
        if s.digest in known[name]:
            continue
        n = h.next_number
        h.versions[n] = commit
        known[name][s.digest] = n
        plan.versions.append((version_ref(name, n), commit, ZERO))
        for digest, alias in project.state.pending_aliases(name):
            if digest == s.digest:
                plan.moves.setdefault(name, {})[alias] = commit
                plan.applied.append((name, alias))
        plan.created.append((name, n))
    for name, n in plan.created:
        # `latest` is the tool's: the newest version, whatever a pending alias said.
        by_alias = plan.moves.setdefault(name, {})
        by_alias.pop(LATEST, None)
        by_alias[LATEST] = hist[name].versions[n]
    return plan


def _write_versions(project: Project, plan: _Plan, before: dict[str, History]) -> None:
    """The new tags and alias moves with their events, in one transaction."""
    events: dict[str, list[dict[str, object]]] = {}
    alias_updates: list[tuple[str, str, str | None]] = []
    for name, by_alias in plan.moves.items():
        old = before.get(name, History(name))
        for alias, commit in by_alias.items():
            alias_updates.append((alias_ref(name, alias), commit, None))
        for target, evs in alias_events(
            name, [(a, old.aliases.get(a), c) for a, c in by_alias.items()], plan.hist[name]
        ).items():
            events.setdefault(target, []).extend(evs)
    try:
        run_notes.write(project.repo, events, [*plan.versions, *alias_updates])
    except LockedError:
        raise
    except GitError:
        raise _Raced() from None
    for name, alias in plan.applied:
        project.state.clear_pending_alias(name, alias)


def _marker(head: str, refs: dict[str, str]) -> str:
    """Identifies HEAD plus the state of every artifact tag."""
    h = hashlib.sha1(head.encode())
    for ref in sorted(refs):
        h.update(f"{ref} {refs[ref]}\n".encode())
    return h.hexdigest()


def fetch_tags(project: Project, remote: str) -> list[str]:
    """Fetch the remote's artifact tags into the tracking namespace and reconcile; registry
    links come as they are (the remote's win)."""
    prefix = tracking_prefix(remote).rstrip("/")
    # What the remote had when last seen, if this is the remote seen then.
    before = project.repo.refs(prefix) if tracking_current(project, remote) else {}
    project.repo.run(
        "fetch",
        "--quiet",
        "--prune",
        "--no-tags",
        remote,
        fetch_refspec(remote),
        *mirror_refspecs(),
    )
    # The tracking refs now mirror this URL: a remote re-pointed elsewhere is not trusted.
    project.state.tracking_url.put(remote, _remote_url(project, remote))
    # The remote's alias events first: when both sides moved an alias, they say which is later.
    run_notes.fetch(project.repo, remote)
    return reconcile(project, remote, {tracked_tag(remote, r) for r in before})


def _remote_url(project: Project, remote: str) -> str:
    return project.repo.config_get(f"remote.{remote}.url") or remote


def reconcile(project: Project, remote: str, had: set[str] | None = None) -> list[str]:
    """Make local tags agree with the published ones. Returns messages about renumbering.
    `had`: our tag refs the remote had before a fetch that pruned the tracking refs; an alias
    among them that the remote no longer has is removed here too, unless moved here since."""
    repo = project.repo
    prefix = tracking_prefix(remote)
    tracked = {tracked_tag(remote, r): sha for r, sha in repo.refs(prefix.rstrip("/")).items()}
    local = repo.refs(TAG_PREFIX.rstrip("/"))
    gone = {r for r in had or () if r not in tracked and _is_alias(r)}
    seen = project.state.seen_tags(remote).get_many(set(tracked) | set(local) | gone)
    remote_h, local_h = histories(project, tracked), histories(project, local)
    updates: list[tuple[str, str, str | None]] = []
    messages: list[str] = []
    moves: dict[tuple[str, str, str], tuple[int, str]] | None = None
    for name, rh in remote_h.items():
        lh = local_h.get(name, History(name))
        u, m = _reconcile_one(project, rh, lh)
        updates += u
        messages += m
        for alias, commit in rh.aliases.items():
            ref = alias_ref(name, alias)
            mine = local.get(ref)
            if mine == commit:
                continue
            if mine is None and seen.get(ref) == commit:
                continue  # removed here since last seen there: `publish` removes it there
            # Take the remote's alias unless this clone moved it since it last saw the
            # remote; when both moved it, the later move (by its event) wins everywhere.
            if mine is not None and mine != seen.get(ref):
                moves = _latest_moves(project, remote) if moves is None else moves
                if _move_key(moves, name, alias, mine) > _move_key(moves, name, alias, commit):
                    continue
            updates.append((ref, commit, None))
    # Removed there: gone here too where it is as last seen there (not moved here since).
    updates += [(r, ZERO, local[r]) for r in gone if r in local and local[r] == seen.get(r)]
    if updates:
        repo.update_refs(updates)
    # "": seen absent, so an alias made again there is taken again here.
    project.state.seen_tags(remote).put_many([*tracked.items(), *((r, "") for r in gone)])
    return messages


def _latest_moves(project: Project, remote: str) -> dict[tuple[str, str, str], tuple[int, str]]:
    """(name, alias, commit) -> (time, who) of the latest event moving the alias to that
    commit, from our notes and the remote's as last fetched."""
    out: dict[tuple[str, str, str], tuple[int, str]] = {}
    for ref in (NOTES_REF, notes_tracking_ref(remote)):
        for obj, rec in run_notes.read_all(project.repo, ref):
            name, alias, t, who = (rec.get(k) for k in ("name", "alias", "t", "who"))
            if rec.get("ev") != "alias" or rec.get("to") is None:
                continue
            if not (isinstance(name, str) and isinstance(alias, str) and isinstance(t, int)):
                continue  # untrusted text from another clone: a damaged line counts for nothing
            key = (name, alias, obj)
            out[key] = max(out.get(key, (-1, "")), (t, who if isinstance(who, str) else ""))
    return out


def _move_key(
    moves: dict[tuple[str, str, str], tuple[int, str]], name: str, alias: str, commit: str
) -> tuple[int, str, str]:
    """Orders two targets of one alias: the later move, then who, then the commit (so every
    clone picks the same one)."""
    t, who = moves.get((name, alias, commit), (-1, ""))
    return (t, who, commit)


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
        refs = project.repo.refs(TAG_PREFIX.rstrip("/"), prefix.rstrip("/"))
        tags = _unpublished_tags(refs, remote)
        removed = _removed_here(project, refs, remote)
        specs = [f"+{sha}:{ref}" for ref, sha in _unpublished_extras(project, remote).items()]
        specs += [f":{ref}" for ref in removed]
        for ref, sha in tags.items():
            parsed = parse_ref(ref)
            force = "" if parsed is not None and version_number(parsed[1]) is not None else "+"
            specs.append(f"{force}{sha}:{ref}")
        if not specs:
            return messages
        if project.repo.ok("push", "--quiet", "--atomic", "--no-verify", remote, *specs):
            # The remote now holds exactly what we sent: track it (and remember it as seen,
            # as `reconcile` would) without asking the remote again.
            project.repo.update_refs(
                [(tracking_ref(remote, ref), sha, None) for ref, sha in tags.items()]
                + [(tracking_ref(remote, ref), ZERO, None) for ref in removed]
            )
            # "": seen absent, so the alias made again there is taken again here.
            project.state.seen_tags(remote).put_many([*tags.items(), *((r, "") for r in removed)])
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
        *mirror_spaces(),
    )
    if any(r.startswith(tuple(s + "/" for s in mirror_spaces())) for r in refs):
        return True  # not tracked: only the remote can say
    return bool(_unpublished_tags(refs, remote)) or bool(_removed_here(project, refs, remote))


def _unpublished_tags(refs: dict[str, str], remote: str) -> dict[str, str]:
    """Our version and alias tags (ref -> sha) among `refs` that the remote's tracking refs,
    also among `refs`, do not show with the same target."""
    prefix = tracking_prefix(remote)
    tracked = {tracked_tag(remote, r): sha for r, sha in refs.items() if r.startswith(prefix)}
    return {
        ref: sha
        for ref, sha in sorted(refs.items())
        if ref.startswith(TAG_PREFIX) and parse_ref(ref) is not None and tracked.get(ref) != sha
    }


def _removed_here(project: Project, refs: dict[str, str], remote: str) -> dict[str, str]:
    """Aliases (ref -> commit on the remote) removed here since they were last seen on the
    remote, where they still are as seen: `publish` removes them there."""
    prefix = tracking_prefix(remote)
    tracked = {tracked_tag(remote, r): sha for r, sha in refs.items() if r.startswith(prefix)}
    gone = {r: sha for r, sha in tracked.items() if r not in refs and _is_alias(r)}
    seen = project.state.seen_tags(remote).get_many(gone) if gone else {}
    return {r: sha for r, sha in gone.items() if seen.get(r) == sha}


def _is_alias(ref: str) -> bool:
    parsed = parse_ref(ref)
    return parsed is not None and version_number(parsed[1]) is None


def _unpublished_extras(project: Project, remote: str) -> dict[str, str]:
    """Registry links and pinned commits that the remote lacks or has elsewhere."""
    local = {k: v for s in mirror_spaces() for k, v in project.repo.refs(s).items()}
    if not local:
        return {}
    out = project.repo.run("ls-remote", remote, *mirror_patterns())
    theirs = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        theirs[ref] = sha
    return {ref: sha for ref, sha in local.items() if theirs.get(ref) != sha}
