"""`git artifacts link --unlink`: a registry link and its aliases go, the version stays."""

from __future__ import annotations

import pytest
from helpers import GitRepo, stderr_error_line


@pytest.mark.slow
def test_link_unlink_removes_one_link(repo: GitRepo) -> None:
    repo.write({"model.pt": b"weights"})
    repo.ga("add", "model.pt", "--name", "model", "--type", "model")
    repo.commit("model v0")
    repo.ga("link", "model:v0", "detector", "-a", "production")
    out = repo.ga("link", "--unlink", "detector:production").stdout
    assert out == "unlinked detector:v0 (was model:v0)\n"
    assert repo.ga_json("link", "--list", "detector") == []
    assert "refs/tags/registry/detector/production" not in repo.git("for-each-ref")
    line = stderr_error_line(repo.ga("link", "--unlink", "detector:v0", rc=None))
    assert line.startswith("error: registry/detector:v0 was unlinked (")
    line = stderr_error_line(repo.ga("link", "--unlink", "detector", rc=None))
    assert line.startswith("error: link --unlink needs one COLLECTION:vN (")
    assert [v["version"] for v in repo.ga_json("log", "model")] == ["v0"]
