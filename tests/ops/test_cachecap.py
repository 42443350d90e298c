"""The cache size cap: least recently used objects the remote holds are evicted, never the
only copy nor what the work tree, index, pins or staged parts name; an evicted version comes
back byte-exact."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers import GitRepo, clone, sha, stderr_error_line
from servers import Bucket

from gitartifacts.core.sizes import human_bytes, parse_size
from gitartifacts.errors import UsageError
from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import cachecap

K = 1024
A, B, C, D, E = (bytes([i]) * (100 * K) for i in b"ABCDE")
SAME = b"shared by every version"


def _versions(repo: GitRepo, store: Path) -> None:
    """`ds` v0 (a.bin = A) and v1 (B) pushed to folder remote `store`; v2 (C) committed and
    not pushed; v3 (D) in the work tree. b.bin is the same in all four."""
    repo.ga("remote", "add", "store", str(store), "--default")
    for i, data in enumerate((A, B, C, D)):
        repo.write({"data/ds/a.bin": data, "data/ds/b.bin": SAME})
        repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
        repo.commit(f"ds v{i}", ".")
        if i < 2:
            repo.ga("push")
    repo.ga("status")


def _in_cache(repo: GitRepo) -> set[str]:
    return {p.parent.name + p.name for p in (repo.cache / "sha256").glob("*/*")}


def _age_cache(repo: GitRepo, seconds: float) -> None:
    """Move every loose object's time `seconds` back, keeping their order (an object's
    mtime is its use when it was stored)."""
    for p in (repo.cache / "sha256").glob("*/*"):
        when = p.stat().st_mtime - seconds
        os.utime(p, (when, when))


@pytest.mark.slow
def test_lru_objects_the_remote_holds_go_first(repo: GitRepo, tmp_path: Path) -> None:
    _versions(repo, tmp_path / "store")
    _age_cache(repo, 3600)
    project = Project.open(repo.root)
    now = time.time()
    project.state.record_use([sha(C)], when=now - 900)  # oldest use, but on no remote
    project.state.record_use([sha(A)], when=now - 600)
    project.state.record_use([sha(B)], when=now - 300)
    total = 4 * 100 * K + len(SAME)
    dry = cachecap.evict_to(project, 350 * K, dry_run=True)
    assert (dry.before, dry.evicted, dry.evicted_bytes, dry.remote) == (total, 1, 100 * K, "store")
    assert len(_in_cache(repo)) == 5
    done = cachecap.evict_to(project, 350 * K)
    assert (done.evicted, done.after, done.not_on_remote) == (1, total - 100 * K, 1)
    assert sha(A)[7:] not in _in_cache(repo)  # least recently used of those on the remote
    assert {sha(x)[7:] for x in (B, C, D, SAME)} <= _in_cache(repo)
    # Down to 1 byte: B goes too; C (only copy), D and SAME (the work tree's) stay.
    done = cachecap.evict_to(project, 1)
    assert (done.evicted, done.not_on_remote) == (1, 1) and done.after > done.limit
    assert _in_cache(repo) == {sha(x)[7:] for x in (C, D, SAME)}
    assert "not on remote store (1 object)" in cachecap.describe(done, "--to")
    project.close()
    # Evicted versions come back byte-exact through checkout and get.
    repo.ga("checkout", "ds:v0")
    assert (repo.root / "data/ds/a.bin").read_bytes() == A
    out = tmp_path / "v1"
    repo.ga("get", "ds:v1", "-o", str(out))
    assert (out / "a.bin").read_bytes() == B and (out / "b.bin").read_bytes() == SAME


@pytest.mark.slow
def test_pins_the_index_and_this_command_keep_their_objects(repo: GitRepo, tmp_path: Path) -> None:
    _versions(repo, tmp_path / "store")
    _age_cache(repo, 3600)
    repo.git("update-ref", "refs/artifacts/pins/keep", repo.tag_commit("artifacts/ds/v1"))
    project = Project.open(repo.root)
    done = cachecap.evict_to(project, 1)
    assert done.evicted == 1 and sha(A)[7:] not in _in_cache(repo)  # B: pinned
    project.close()
    repo.ga("get", "ds:v0", "-o", str(tmp_path / "v0"))
    project = Project.open(repo.root)
    assert cachecap.evict_to(project, 1, since=time.time() - 60).evicted == 0  # just used
    assert cachecap.evict_to(project, 1).evicted == 1
    project.close()
    # A version staged in the index but replaced in the work tree keeps its objects.
    repo.git("update-ref", "-d", "refs/artifacts/pins/keep")
    repo.ga("checkout", "ds:v1")  # staged: .artifacts/ds.yaml is v1's
    (repo.root / ".artifacts/ds.yaml").write_text("broken: [", encoding="utf-8")
    _age_cache(repo, 3600)
    project = Project.open(repo.root)
    cachecap.evict_to(project, 1)
    project.close()
    assert sha(B)[7:] in _in_cache(repo)


@pytest.mark.slow
def test_the_configured_cap_applies_at_the_end_of_checkout_get_and_pull(
    origin: Path, tmp_path: Path
) -> None:
    alice = clone(origin, tmp_path / "alice")
    alice.commit("initial")
    alice.ga("init")
    _versions(alice, tmp_path / "store")
    alice.ga("push")  # all of it now
    alice.git("push", "-q", "origin", "main")
    alice.git("config", "artifacts.cacheSize", "250K")
    _age_cache(alice, 3600)
    proc = alice.ga("checkout", "ds:v2")  # the work tree now holds C
    line = "evicted 2 objects (200.0 KiB) from the local cache, now 200.0 KiB"
    assert line in proc.stderr, proc.stderr
    assert _in_cache(alice) == {sha(x)[7:] for x in (C, D, SAME)}  # D: used after B
    assert alice.ga("status").stderr == ""  # no growth, no line
    alice.write({"data/ds/a.bin": E})  # new bytes, on no remote: D (used before C) goes
    proc = alice.ga("add", "data/ds", "--name", "ds")
    assert "evicted 1 object (100.0 KiB)" in proc.stderr, proc.stderr
    assert _in_cache(alice) == {sha(x)[7:] for x in (C, E, SAME)}
    bob = clone(origin, tmp_path / "bob")
    bob.git("config", "artifacts.cacheSize", "150K")
    bob.ga("pull")
    assert _in_cache(bob) == {sha(x)[7:] for x in (D, SAME)}
    got = bob.ga("get", "ds:v0", "-o", str(tmp_path / "v0"))
    assert "over" in got.stderr and sha(A)[7:] in _in_cache(bob)  # what get used stays
    proc = bob.ga("pull")
    assert "evicted 1 object (100.0 KiB)" in proc.stderr
    assert _in_cache(bob) == {sha(x)[7:] for x in (D, SAME)}
    assert (tmp_path / "v0/a.bin").read_bytes() == A
    bob.ga("checkout", "ds:v0")
    assert (bob.root / "data/ds/a.bin").read_bytes() == A


@pytest.mark.slow
def test_a_bad_size_is_one_line_and_evicts_nothing(repo: GitRepo, tmp_path: Path) -> None:
    _versions(repo, tmp_path / "store")
    _age_cache(repo, 3600)
    before = _in_cache(repo)
    for bad in ("-5G", "banana", "0"):
        proc = repo.ga("gc", "--cache-only", "--to", bad, rc=2)
        assert stderr_error_line(proc).startswith(f"error: --to is '{bad}', not a ")
        repo.git("config", "artifacts.cacheSize", bad)
        proc = repo.ga("checkout", "ds:v0", rc=2)
        assert "git config artifacts.cacheSize is" in stderr_error_line(proc)
        repo.ga("gc", "--cache-only", rc=2)
    assert _in_cache(repo) == before
    assert (repo.root / "data/ds/a.bin").read_bytes() == D  # the checkout did not start
    repo.git("config", "--unset", "artifacts.cacheSize")
    proc = repo.ga("gc", "--cache-only", rc=2)
    assert "needs a size" in stderr_error_line(proc)
    proc = repo.ga("gc", "--to", "1G", rc=2)
    assert "add --cache-only" in stderr_error_line(proc)
    data = repo.ga_json("gc", "--cache-only", "--to", "1G")
    assert (data["evicted"], data["remote"], data["before"]) == (0, None, 4 * 100 * K + len(SAME))
    assert "under 1.0 GiB" in repo.ga("gc", "--cache-only", "--to", "1G").stdout


@pytest.mark.slow
def test_no_remote_means_nothing_is_evicted(repo: GitRepo) -> None:
    repo.write({"data/ds/a.bin": A})
    repo.git("config", "artifacts.cacheSize", "1K")
    proc = repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    assert proc.stderr.startswith("warning: artifacts.cacheSize: nothing evicted: no remote")
    assert sha(A)[7:] in _in_cache(repo)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("500M", 500 << 20),
        ("50G", 50 << 30),
        ("1T", 1 << 40),
        ("1.5G", 3 << 29),
        ("10GB", 10 << 30),
        ("2KiB", 2048),
        ("123", 123),
        ("1k", 1024),
    ],
)
def test_sizes_are_binary(text: str, size: int) -> None:
    assert parse_size(text, "--to") == size


@pytest.mark.parametrize("text", ["-5G", "banana", "0", "0.0G", "1.5", "", "5 X", "1e3"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="--to is"):
        parse_size(text, "--to")


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (930, 1536, 1288490189, 1 << 50)] == [
        "930 B",
        "1.5 KiB",
        "1.2 GiB",
        "1024.0 TiB",
    ]


@pytest.mark.slow
def test_cap_against_s3_checks_the_bucket(repo: GitRepo, s3_bucket: Bucket) -> None:
    url = f"{s3_bucket.url}/cache"
    repo.ga("remote", "add", "s3", url, "--default", "--endpoint-url", s3_bucket.endpoint)
    for i, data in enumerate((A, B)):
        repo.write({"data/ds/a.bin": data})
        repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
        repo.commit(f"ds v{i}", ".")
        repo.ga("push")
    repo.write({"data/ds/a.bin": C})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v2", ".")  # not pushed
    repo.write({"data/ds/a.bin": D})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    _age_cache(repo, 3600)
    done = repo.ga_json("gc", "--cache-only", "--to", "1")
    assert (done["evicted"], done["not_on_remote"], done["remote"]) == (2, 1, "s3")
    assert _in_cache(repo) == {sha(C)[7:], sha(D)[7:]}
    repo.ga("checkout", "ds:v0")
    assert (repo.root / "data/ds/a.bin").read_bytes() == A
