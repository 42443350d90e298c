"""gc of the local cache: what keeps an object alive, the grace period, --dry-run, temporaries."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from helpers import GitRepo, age_files, cache_objects, sha256_hex, stderr_error_line

from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import gc as ops_gc


def _age(path: Path, seconds: float = 7200) -> None:
    age_files(path, seconds)


def _two_versions(repo: GitRepo) -> tuple[bytes, bytes]:
    """`ds` v0 holds a.txt = old, v1 a.txt = new; both committed on main."""
    repo.write({"data/ds/a.txt": "old", "data/ds/b.txt": "same"})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v0", ".artifacts")
    repo.write({"data/ds/a.txt": "new"})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v1", ".artifacts")
    return b"old", b"new"


def test_gc_removes_only_old_unreferenced_objects(repo: GitRepo) -> None:
    old, new = _two_versions(repo)
    repo.write({"data/ds/a.txt": "draft"})  # added, never committed, then replaced
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.git("checkout", "HEAD", "--", ".artifacts")
    _age(repo.cache)
    assert sha256_hex(b"draft") in cache_objects(repo.cache)
    dry = repo.ga_json("gc", "--dry-run")
    assert (dry["removed"], dry["bytes"], dry["dry_run"]) == (1, 5, True)
    assert sha256_hex(b"draft") in cache_objects(repo.cache)
    out = repo.ga("gc").stdout
    assert out.startswith("removed 1 object, 0.0 MiB; kept 3")
    left = cache_objects(repo.cache)
    assert sha256_hex(b"draft") not in left
    assert {sha256_hex(old), sha256_hex(new), sha256_hex(b"same")} <= set(left)


def test_objects_younger_than_the_grace_are_kept(repo: GitRepo) -> None:
    repo.write({"data/x.txt": "orphan"})
    repo.ga("add", "data/x.txt", "--name", "x", "--type", "dataset")
    repo.git("rm", "-q", "-f", ".artifacts/x.yaml")
    assert repo.ga_json("gc")["removed"] == 0
    assert repo.ga_json("gc", "--grace", "0s")["removed"] == 1
    assert sha256_hex(b"orphan") not in cache_objects(repo.cache)


def test_gone_versions_keep_nothing_unless_all_commits(repo: GitRepo) -> None:
    old, new = _two_versions(repo)
    _age(repo.cache)
    project = Project.open(repo.root)
    kept = ops_gc.collect_local(project, dry_run=True, gone={("ds", 0)}, all_commits=True)
    assert kept.removed == 0  # an old commit still names v0's content
    done = ops_gc.collect_local(project, gone={("ds", 0)})
    project.close()
    assert done.removed == 1
    left = cache_objects(repo.cache)
    assert sha256_hex(old) not in left and sha256_hex(new) in left


def test_a_branch_tip_a_staged_manifest_and_the_work_tree_keep_objects(repo: GitRepo) -> None:
    _two_versions(repo)
    repo.git("checkout", "-q", "-b", "side")
    repo.write({"data/ds/a.txt": "on side"})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("side", ".artifacts")
    repo.git("checkout", "-q", "main")
    repo.write({"data/s/f.txt": "staged"})
    repo.ga("add", "data/s", "--name", "s", "--type", "dataset")
    repo.git("add", ".artifacts/s.yaml")
    repo.write({"data/w/f.txt": "work tree"})
    repo.ga("add", "data/w", "--name", "w", "--type", "dataset")
    _age(repo.cache)
    project = Project.open(repo.root)
    # The versions are gone and not even the tags of v0/v1 count: the refs listed still do.
    done = ops_gc.collect_local(project, gone={("ds", 0), ("ds", 1), ("ds", 2)})
    project.close()
    left = cache_objects(repo.cache)
    assert {
        sha256_hex(b"on side"),
        sha256_hex(b"staged"),
        sha256_hex(b"work tree"),
        sha256_hex(b"new"),
    } <= set(left)
    assert done.removed == 1 and sha256_hex(b"old") not in left


def test_old_temporary_files_are_swept(repo: GitRepo) -> None:
    repo.write({"data/t/f.txt": "t"})
    repo.ga("add", "data/t", "--name", "t", "--type", "dataset")
    tmp = repo.cache / "tmp"
    tmp.mkdir(exist_ok=True)
    stale = [tmp / "a-1-1", repo.cache / "sha256" / ".tmp-x", repo.root / "data/t/.ga-tmp-y"]
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
        when = time.time() - 7200
        os.utime(p, (when, when))
    fresh = tmp / "b-2-2"
    fresh.write_text("x")
    shard_tmp = next((repo.cache / "sha256").iterdir()) / ".tmp-z"
    shard_tmp.write_text("x")
    os.utime(shard_tmp, (time.time() - 7200,) * 2)
    out = repo.ga_json("gc")
    assert out["temporaries"] == 3
    assert fresh.exists() and not shard_tmp.exists()
    assert not stale[0].exists() and not stale[2].exists()
    assert sha256_hex(b"t") in cache_objects(repo.cache)


def test_a_bad_grace_is_one_line_and_removes_nothing(repo: GitRepo) -> None:
    repo.write({"data/x.txt": "orphan"})
    repo.ga("add", "data/x.txt", "--name", "x", "--type", "dataset")
    repo.git("rm", "-q", "-f", ".artifacts/x.yaml")
    _age(repo.cache)
    proc = repo.ga("gc", "--grace", "banana", rc=2)
    assert stderr_error_line(proc).startswith("error: --grace 'banana' is not a duration")
    assert sha256_hex(b"orphan") in cache_objects(repo.cache)
    assert repo.ga_json("gc")["removed"] == 1


def test_a_registry_link_keeps_a_gone_version_and_a_pin_keeps_its_commit(repo: GitRepo) -> None:
    old, _ = _two_versions(repo)
    repo.ga("link", "ds:v0", "detector")
    project = Project.open(repo.root)
    done = ops_gc.collect_local(project, grace=0, gone={("ds", 0)})
    assert done.removed == 0 and sha256_hex(old) in cache_objects(repo.cache)
    repo.git("update-ref", "-d", "refs/tags/registry/detector/v0")
    repo.git("update-ref", "-d", "refs/tags/registry/detector/latest")
    repo.git("update-ref", f"refs/artifacts/pins/{repo.tag_commit('artifacts/ds/v0')}", "HEAD~1")
    assert ops_gc.collect_local(project, grace=0, gone={("ds", 0)}).removed == 0
    repo.git("update-ref", "-d", f"refs/artifacts/pins/{repo.tag_commit('artifacts/ds/v0')}")
    # With no link and no pin, only the history behind main still names v0's content.
    assert ops_gc.collect_local(project, grace=0, gone={("ds", 0)}).removed == 1
    project.close()


def test_a_pending_staged_part_keeps_its_objects(repo: GitRepo) -> None:
    script = (
        "import gitartifacts as ga\n"
        "with ga.init(job_type='shard', group='g', id='w1') as run:\n"
        "    part = ga.Artifact('shards', type='dataset')\n"
        "    with part.new_file('s.txt') as f:\n"
        "        f.write('staged shard')\n"
        "    run.upsert_artifact(part)\n"
    )
    (repo.root / "w.py").write_text(script)
    proc = subprocess.run([sys.executable, "w.py"], cwd=repo.root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert sha256_hex(b"staged shard") in cache_objects(repo.cache)
    assert repo.ga_json("gc", "--grace", "0s")["kept"] >= 1
    assert sha256_hex(b"staged shard") in cache_objects(repo.cache)
    staging = repo.root / ".git/artifacts/staging"
    for part in staging.rglob("*.json"):
        part.unlink()
    repo.ga("gc", "--grace", "0s")
    assert sha256_hex(b"staged shard") not in cache_objects(repo.cache)


def test_a_tag_on_a_blob_is_no_tip_to_read(repo: GitRepo) -> None:
    _two_versions(repo)
    blob = repo.git("hash-object", "-w", ".artifacts/ds.yaml").strip()
    repo.git("tag", "a-blob", blob)
    assert repo.ga_json("gc", "--grace", "0s")["kept"] == 3


def test_an_object_linked_into_a_work_tree_is_kept_and_never_renewed(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write({"data/x.txt": "linked"})
    repo.ga("add", "data/x.txt", "--name", "x", "--type", "dataset")
    repo.git("rm", "-q", "-f", ".artifacts/x.yaml")
    obj = cache_objects(repo.cache)[sha256_hex(b"linked")]
    outside = tmp_path / "held-elsewhere"
    os.link(obj, outside)  # what `--link hardlink` makes: the work-tree file is the object
    _age(repo.cache)
    aged = obj.stat().st_mtime
    # A writer naming the object again leaves its times alone (status keys on them)...
    repo.write({"data/y.txt": "linked"})
    repo.ga("add", "data/y.txt", "--name", "y", "--type", "dataset")
    assert obj.stat().st_mtime == aged
    repo.git("rm", "-q", "-f", ".artifacts/y.yaml")
    # ...and gc keeps it while another link holds it: removing it would free nothing.
    assert repo.ga_json("gc")["removed"] == 0
    assert obj.exists()
    outside.unlink()
    assert repo.ga_json("gc")["removed"] == 1
    assert not obj.exists()
