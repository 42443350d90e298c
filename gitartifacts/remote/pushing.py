"""A push's sending half: the objects of manifests sent batch after batch, each batch
recorded as on the remote once all of it is there (walk.py gives the batches)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.core.hashing import hex_of
from gitartifacts.core.progress import Bar, Progress, phase
from gitartifacts.core.redaction import redact
from gitartifacts.core.state import State
from gitartifacts.errors import CacheError
from gitartifacts.gitmodel.project import Project
from gitartifacts.remote import walk

if TYPE_CHECKING:
    from gitartifacts.remote.store import RemoteStore


def send(
    project: Project,
    store: RemoteStore,
    rid: str,
    todo: Sequence[mf.Manifest],
    runs: Sequence[str],
    identity: str,
    check_remote: bool,
    jobs: int,
    progress: Progress | None,
) -> tuple[int, int]:
    """Upload what `todo` and the run records (`runs`, their objects) need and the remote
    lacks, batch after batch (walk.py), each batch's listings after its content and each
    batch recorded as pushed once it is all there; then the manifests. (uploaded, already)"""
    state = project.state
    known = None if check_remote else lambda hexes: _known(state, rid, hexes)
    sent = Sent(0, 0, True)
    files, size = walk.totals(todo)
    with phase(progress, "Uploading", files=files + len(runs), bytes=size) as bar:
        extra = ((d, 0) for d in runs)
        for batch in walk.batches(project, todo, walk.batch_size(), known, extra):
            bar.advance(*batch.skipped)
            sent = _send_batch(project, store, rid, batch, check_remote, jobs, bar, sent)
            check_same_remote(store, identity)
            # Only now, with every object of the batch written or seen on the same remote,
            # is any of it recorded: a push interrupted later resumes after it.
            state.remote_identity.put(rid, identity)
            state.mark_on_remote(rid, [d for d, _ in batch.data])
            state.mark_on_remote(rid, batch.listings)
    state.pushed(rid).put_many((m.digest, "1") for m in todo)
    return sent.uploaded, sent.already


class Sent(NamedTuple):
    uploaded: int
    already: int
    first: bool  # no batch was checked yet: the remote's packs are listed afresh


def _send_batch(
    project: Project,
    store: RemoteStore,
    rid: str,
    batch: walk.Batch,
    check_remote: bool,
    jobs: int,
    bar: Bar,
    sent: Sent,
) -> Sent:
    """Send one batch's content the remote lacks, then its listing objects."""
    sizes = dict(batch.data)
    named = [*sizes, *batch.listings]
    # With `check_remote` the state was emptied for this remote when the push began: what
    # it knows, this push found or sent.
    known = project.state.known_on_remote(rid, named)
    unknown = [d for d in sizes if d not in known]
    # Packs this push sent are in the state already, so their indexes are not read back;
    # the pack list read at the first batch stays good, unless the state is not trusted
    # (then it is read again for each batch, for packs other clones send meanwhile).
    fresh = sent.first or check_remote
    missing = set(store.missing(unknown, fresh_packs=fresh, skip_sent=True)) if unknown else set()
    absent = project.cache.missing(sorted(missing))
    if absent:
        raise CacheError(
            f"{len(absent)} object(s) to push are not in the local cache (first: {absent[0]})",
            "fetch them from a clone that has them, or re-add the data",
        )
    there = [d for d in sizes if d not in missing]
    bar.advance(len(there), sum(sizes[d] for d in there))
    if missing:
        store.upload(project.cache, sorted(missing), jobs=jobs, progress=bar.advance)
    new_listings = [h for h in batch.listings if h not in known]
    if new_listings:
        # Small, and uploads are create-only: sending them beats asking about each one.
        store.upload(project.cache, new_listings, jobs=jobs)
    uploaded = sent.uploaded + len(missing) + len(new_listings)
    return Sent(uploaded, sent.already + len(there), False)


def _known(state: State, rid: str, hexes: list[str]) -> set[str]:
    """Of these listing objects (hex), those recorded on the remote: all below them is too."""
    return {hex_of(d) for d in state.known_on_remote(rid, ["sha256:" + h for h in hexes])}


def check_same_remote(store: RemoteStore, identity: str | None) -> str:
    """Fail when the remote lost its identity during the push (deleted, emptied, replaced):
    what this push wrote may be gone, so none of it may count as pushed."""
    from gitartifacts.remote.identity import IDENTITY

    if identity is None or store.identity() != identity:
        raise CacheError(
            f"remote {redact(store.url)} changed during the push (its {IDENTITY} is gone or "
            "different), so nothing was recorded as pushed",
            "run git artifacts push again",
        )
    return identity
