"""`du`: per version and artifact, the logical, unique, shared, local and remote bytes agree
with sums computed here; deleted versions do not count; a large listing-form version counts
as a small one does."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import GitRepo, sha

from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import du as ops_du

A, B, C, D = (bytes([i]) * n for i, n in zip(b"ABCD", (1000, 2000, 4000, 8000), strict=True))
SAME = b"in three versions"
BIG = {f"data/big/f{i:04}.txt": f"file {i}\n".encode() for i in range(1001)}


def add(repo: GitRepo, name: str, files: dict[str, bytes], type_: str = "dataset") -> None:
    folder = next(iter(files)).split("/")[1]
    repo.write(files)
    repo.ga("add", f"data/{folder}", "--name", name, "--type", type_)
    repo.commit(f"{name}", ".")


def build(repo: GitRepo, store: Path) -> None:
    """ds v0 {A, SAME} pushed; ds v1 {B, SAME} deleted; ds v2 {C, SAME, A again}; m v0
    {D, SAME}; big v0: 1001 files, a listing-form manifest. Only ds v0 is pushed."""
    repo.ga("remote", "add", "store", str(store), "--default")
    add(repo, "ds", {"data/ds/a.bin": A, "data/ds/s.bin": SAME})
    repo.ga("push")
    add(repo, "ds", {"data/ds/a.bin": B, "data/ds/s.bin": SAME})
    add(repo, "ds", {"data/ds/a.bin": C, "data/ds/s.bin": SAME, "data/ds/old.bin": A})
    add(repo, "m", {"data/m/w.bin": D, "data/m/s.bin": SAME}, "model")
    add(repo, "big", BIG)
    repo.ga("delete", "ds:v1")


@pytest.mark.slow
def test_du_figures_match_sums(repo: GitRepo, tmp_path: Path) -> None:
    build(repo, tmp_path / "store")
    (repo.cache / "sha256" / sha(C)[7:9] / sha(C)[9:]).unlink()  # C: not in the local cache
    project = Project.open(repo.root)
    done = ops_du.du(project, remote_name="store")
    rows = {(u.name, u.version): u for u in done.versions}
    assert sorted(rows) == [("big", 0), ("ds", 0), ("ds", 2), ("m", 0)]  # ds v1: deleted
    a, c, d, s = len(A), len(C), len(D), len(SAME)
    v0, v2, m = rows[("ds", 0)], rows[("ds", 2)], rows[("m", 0)]
    assert (v0.logical, v0.stored, v0.unique, v0.shared) == (a + s, a + s, 0, a + s)
    assert (v0.local, v0.remote) == (a + s, a + s)
    assert (v2.logical, v2.unique, v2.shared, v2.local, v2.remote) == (
        c + s + a,
        c,
        s + a,
        s + a,
        s + a,
    )
    assert (m.logical, m.unique, m.shared, m.remote) == (d + s, d, s, s)
    big_bytes = sum(len(v) for v in BIG.values())
    big = rows[("big", 0)]
    assert (big.logical, big.unique, big.shared, big.local, big.remote) == (
        big_bytes,
        big_bytes,
        0,
        big_bytes,
        0,
    )
    arts = {u.name: u for u in done.artifacts}
    assert (arts["ds"].logical, arts["ds"].stored) == (2 * (a + s) + c, a + c + s)
    assert (arts["ds"].unique, arts["ds"].shared) == (a + c, s)  # SAME: m names it too
    assert done.total.stored == a + c + d + s + big_bytes
    assert done.total.logical == 2 * (a + s) + c + d + s + big_bytes
    assert (done.total.local, done.total.remote) == (a + d + s + big_bytes, a + s)
    # One version: the figures of the whole, unique still counted over every version.
    one = ops_du.du(project, "ds:v0")
    assert [(u.name, u.version, u.unique, u.remote) for u in one.versions] == [("ds", 0, 0, None)]
    # A listing this cache lacks: that version's objects are unknown, not zero.
    listing = project.read_manifest("big", entries=False)
    assert listing is not None and listing.listing is not None
    hex_ = listing.listing[7:]
    (repo.cache / "sha256" / hex_[:2] / hex_[2:]).unlink()
    project.close()
    project = Project.open(repo.root)
    gone = ops_du.du(project, "big")
    assert (gone.versions[0].logical, gone.versions[0].stored) == (big_bytes, None)
    project.close()
