"""Run records in git notes: merging a remote's records into ours."""

from __future__ import annotations

from pathlib import Path

from helpers import make_repo

from gitartifacts.gitmodel import notes
from gitartifacts.gitmodel.refs import NOTES_REF, notes_tracking_ref
from gitartifacts.gitmodel.repo import Repo


def test_fetched_records_merge_into_a_notes_ref_made_meanwhile(tmp_path: Path) -> None:
    """A second process (another pull, a run) may make the notes ref between our look and
    our create; the fetched records then merge into it rather than fail the pull."""
    repo = make_repo(tmp_path / "r")
    repo.commit("initial")
    r = Repo.find(repo.root)
    head = r.rev_parse("HEAD")
    assert head is not None
    notes.append(r, head, [{"kind": "theirs"}])
    theirs = r.rev_parse(NOTES_REF)
    assert theirs is not None
    r.run("update-ref", notes_tracking_ref("origin"), theirs)
    r.run("update-ref", "-d", NOTES_REF)
    notes.append(r, head, [{"kind": "ours"}])  # made "meanwhile", after a look that saw none
    real = r.rev_parse

    def stale_once(rev: str) -> str | None:
        if rev != NOTES_REF:
            return real(rev)
        r.rev_parse = real  # type: ignore[method-assign]
        return None

    r.rev_parse = stale_once  # type: ignore[method-assign]
    notes.merge_tracking(r, "origin")
    assert sorted(rec["kind"] for _, rec in notes.read_all(r)) == ["ours", "theirs"]
