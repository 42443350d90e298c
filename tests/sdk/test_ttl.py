"""`Artifact.ttl` as in W&B: a timedelta or None, on drafts and logged versions alike."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import GitRepo

import gitartifacts as ga


def test_ttl_is_a_timedelta_kept_in_the_manifest_and_in_edits(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo.root)
    art = ga.Artifact("model", type="model")
    with art.new_file("w.txt", mode="w") as f:
        f.write("weights")
    art.ttl = dt.timedelta(days=30)
    art.save()
    got = ga.Api(repo.root).artifact("model:v0")
    assert got.ttl == dt.timedelta(days=30)
    assert "ttl: 30d" in repo.git("show", f"{got.commit_hash}:.artifacts/model.yaml")
    got.ttl = dt.timedelta(hours=36)
    got.save()
    assert ga.Api(repo.root).artifact("model:v0").ttl == dt.timedelta(hours=36)
    got.ttl = None
    got.save()
    assert ga.Api(repo.root).artifact("model:v0").ttl is None
    with pytest.raises(ValueError, match="has to be positive"):
        got.ttl = dt.timedelta(0)
    with pytest.raises(ValueError, match="timedelta or None"):
        got.ttl = 30  # type: ignore[assignment]
