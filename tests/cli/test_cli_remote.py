"""push, fetch, pull and published version numbers, end to end: real bare repositories,
real clones, the real `git artifacts` command, a local-folder remote and a loopback S3."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from helpers import (
    GitRepo,
    assert_cache_sound,
    cache_objects,
    clone,
    file_digests,
    kill_group_after,
    sha256_hex,
    stderr_error_line,
    stored_objects,
)
from servers import Bucket

from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import checkout as ops_checkout
from gitartifacts.remote import packs, transfer
from gitartifacts.remote.store import RemoteStore

# ---------------------------------------------------------------- helpers


@pytest.fixture
def alice(origin: Path, tmp_path: Path) -> GitRepo:
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    repo.ga("init")
    repo.write({f"data/ds/f{i}.bin": os.urandom(300 + i) for i in range(20)})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v0")
    repo.git("push", "-q", "origin", "main")
    return repo


def remote_cache(origin: Path) -> Path:
    return origin / "artifacts" / "objects"


def corrupt(origin: Path, content: bytes) -> str:
    """Overwrite the remote object holding `content`, loose or in a pack; its hex name."""
    hexname = sha256_hex(content)
    victim = cache_objects(remote_cache(origin)).get(hexname)
    if victim is None:
        _overwrite_packed(origin, hexname, lambda n: b"g" * n)
        return hexname
    os.chmod(victim, 0o644)
    victim.write_bytes(b"garbage")
    return hexname


def restore(origin: Path, content: bytes) -> None:
    """Put the bytes of an object `corrupt` spoiled back (from a backup, say)."""
    hexname = sha256_hex(content)
    victim = cache_objects(remote_cache(origin)).get(hexname)
    if victim is None:
        _overwrite_packed(origin, hexname, lambda _: content)
    else:
        victim.write_bytes(content)


def _overwrite_packed(origin: Path, hexname: str, data: Callable[[int], bytes]) -> None:
    store = RemoteStore(str(remote_cache(origin)))
    where = store.packs.view().find("sha256:" + hexname)
    assert where is not None, f"{hexname} is neither loose nor packed on the remote"
    pack = remote_cache(origin) / packs.pack_key(where.pack)
    os.chmod(pack, 0o644)
    with open(pack, "r+b") as f:
        f.seek(where.offset)
        f.write(data(where.length))


def publish_version(repo: GitRepo, message: str) -> None:
    """data/ds as a new version of ds: added, committed, and pushed (commit, then content)."""
    repo.ga("add", "data/ds", "--name", "ds")
    repo.commit(message)
    repo.git("push", "-q", "origin", "main")
    repo.ga("push")


def versions(repo: GitRepo, name: str = "ds") -> list[tuple[str, str, list[str]]]:
    return [(v["version"], v["digest"], v["aliases"]) for v in repo.ga_json("log", name)]


# ---------------------------------------------------------------- push and pull


@pytest.mark.slow
def test_push_then_pull_in_a_fresh_clone_gives_identical_bytes(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    out = alice.ga("push").stdout
    assert "20 objects uploaded" in out
    assert assert_cache_sound(remote_cache(origin)) == 20
    bob = clone(origin, tmp_path / "bob")
    assert not (bob.root / "data").exists()
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")
    assert versions(bob) == versions(alice)
    bob.ga("verify", "ds:latest")
    status = bob.ga_json("status")
    assert status[0]["clean"], status


@pytest.mark.slow
def test_second_push_has_nothing_to_do(alice: GitRepo) -> None:
    alice.ga("push")
    out = alice.ga("push").stdout
    assert "0 objects uploaded" in out


def ls_remote(repo: GitRepo, where: str | Path, *patterns: str) -> dict[str, str]:
    out = repo.git("ls-remote", str(where), *patterns)
    return {ref: sha for sha, _, ref in (line.partition("\t") for line in out.splitlines())}


@pytest.mark.slow
def test_a_push_with_nothing_new_does_not_talk_to_the_git_remote(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    alice.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    alice.ga("alias", "ds:v0", "best")
    alice.ga("push")
    away = origin.rename(tmp_path / "away.git")  # a push that asked the remote would fail
    assert "0 objects uploaded" in alice.ga("push").stdout
    away.rename(origin)
    alice.ga("alias", "ds:v0", "production")  # something new: a tag and a run record
    alice.ga("push")
    published = ls_remote(alice, origin, "refs/tags/artifacts/*", "refs/notes/artifacts")
    local = alice.git("rev-parse", "artifacts/ds/production", "refs/notes/artifacts")
    tag, notes = local.split()
    assert published["refs/tags/artifacts/ds/production"] == tag
    assert published["refs/notes/artifacts"] == notes


# ---------------------------------------------------------------- the repeated push


def push_lines(repo: GitRepo, *args: str, env: dict[str, str] | None = None) -> list[str]:
    """The stdout lines of `git artifacts push ARGS`, with extra environment."""
    proc = subprocess.run(
        ["git", "artifacts", "push", *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


@pytest.mark.slow
def test_a_repeated_push_uploads_nothing(alice: GitRepo) -> None:
    assert push_lines(alice) == [
        "pushed to origin: 20 objects uploaded, 0 already there (1 manifest)",
    ]
    assert push_lines(alice) == [
        "pushed to origin: 0 objects uploaded, 0 already there (1 manifest)",
    ]
    assert push_lines(alice, "--jobs", "4") == push_lines(alice)  # --jobs changes nothing


@pytest.mark.parametrize("change", ["commit", "alias", "remote", "git-remote-url", "env"])
@pytest.mark.slow
def test_a_repeated_push_sees_anything_a_push_reads_changed(
    alice: GitRepo, origin: Path, tmp_path: Path, change: str
) -> None:
    push_lines(alice)
    push_lines(alice)
    env: dict[str, str] = {}
    if change == "commit":
        alice.write({"data/ds/new.bin": b"new"})
        alice.ga("add", "data/ds", "--name", "ds")
        alice.commit("ds v1")
        expect = "pushed to origin: 1 object uploaded, 20 already there (1 manifest)"
    elif change == "alias":
        alice.ga("alias", "ds:v0", "best")
        expect = "pushed to origin: 0 objects uploaded, 0 already there (1 manifest)"
    elif change == "remote":
        alice.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
        expect = "pushed to store: 20 objects uploaded, 0 already there (1 manifest)"
    elif change == "git-remote-url":
        moved = tmp_path / "moved.git"
        subprocess.run(["git", "init", "-q", "--bare", str(moved)], check=True)
        alice.git("remote", "set-url", "origin", str(moved))
        alice.git("push", "-q", "origin", "main")
        origin = moved
        expect = "pushed to origin: 20 objects uploaded, 0 already there (1 manifest)"
    else:
        env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
        expect = "pushed to origin: 0 objects uploaded, 0 already there (1 manifest)"
    assert push_lines(alice, env=env) == [expect]
    published = ls_remote(alice, origin, "refs/tags/artifacts/*")
    local = {t: alice.git("rev-parse", t).strip() for t in alice.tags()}
    assert {t: published.get(f"refs/tags/{t}") for t in local} == local
    assert_cache_sound(remote_cache(origin))


@pytest.mark.slow
def test_an_alias_another_clone_moves_after_our_push_is_taken_on_fetch(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    alice.write({"data/ds/f0.bin": b"changed"})
    alice.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    alice.commit("ds v1")
    alice.git("push", "-q", "origin", "main")
    alice.ga("alias", "ds:v1", "production")
    alice.ga("push")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("fetch")
    bob.ga("alias", "ds:v0", "production")  # bob rolls production back
    bob.ga("push")
    alice.ga("fetch")
    aliases = {v: a for v, _, a in versions(alice)}
    assert "production" in aliases["v0"] and "production" not in aliases["v1"]
    assert versions(alice) == versions(bob)


@pytest.mark.slow
def test_push_publishes_everything_to_a_git_remote_that_now_points_elsewhere(
    alice: GitRepo, tmp_path: Path
) -> None:
    alice.ga("push")
    fresh = tmp_path / "fresh.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(fresh)], check=True)
    alice.git("remote", "set-url", "origin", str(fresh))
    alice.git("push", "-q", "origin", "main")
    alice.ga("push")
    published = ls_remote(alice, fresh, "refs/tags/artifacts/*")
    assert "refs/tags/artifacts/ds/v0" in published
    assert "refs/tags/artifacts/ds/latest" in published
    assert assert_cache_sound(remote_cache(fresh)) == 20


@pytest.mark.slow
def test_get_works_in_a_fresh_clone_with_an_empty_cache(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    alice.ga("push")
    bob = clone(origin, tmp_path / "bob")
    assert not bob.cache.exists() or not cache_objects(bob.cache)
    target = tmp_path / "out"
    bob.ga("get", "ds:v0", "-o", str(target))
    assert file_digests(target) == file_digests(alice.root / "data/ds")


@pytest.mark.slow
def test_get_stopped_by_a_corrupt_object_leaves_no_folder_and_then_completes(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    alice.ga("push")
    last = max(file_digests(alice.root / "data"))
    content = (alice.root / "data" / last).read_bytes()
    corrupt(origin, content)
    bob = clone(origin, tmp_path / "bob")
    target = tmp_path / "downloads" / "ds"
    line = stderr_error_line(bob.ga("get", "ds:v0", "-o", str(target), rc=5))
    assert last in line  # the file is named (`ds/...`), not its object
    assert not (tmp_path / "downloads").exists()
    restore(origin, content)
    bob.ga("get", "ds:v0", "-o", str(target))
    assert file_digests(target) == file_digests(alice.root / "data/ds")


def test_one_entry_downloaded_from_a_fresh_clone_fetches_its_object_only(
    alice: GitRepo, origin: Path, tmp_path: Path, s3_bucket: Bucket
) -> None:
    """W&B's `entry.download()`: the version's listing and that file's object, not the
    other files of the version (a byte range of their pack)."""
    url = f"{s3_bucket.url}/cache"
    alice.ga("remote", "add", "s3", url, "--default", "--endpoint-url", s3_bucket.endpoint)
    alice.commit("remote", ".gitartifacts.yaml")
    alice.git("push", "-q", "origin", "main")
    alice.ga("push")
    bob = clone(origin, tmp_path / "bob")
    wanted = (alice.root / "data/ds/f7.bin").read_bytes()
    project = Project.open(bob.root)
    try:
        target, written = ops_checkout.get(
            project, "ds:v0", str(tmp_path / "out"), paths={"f7.bin"}
        )
    finally:
        project.close()
    assert written == 1 and (Path(target) / "f7.bin").read_bytes() == wanted
    assert sorted(p.name for p in Path(target).iterdir()) == ["f7.bin"]
    contents = {sha256_hex((alice.root / "data/ds" / f"f{i}.bin").read_bytes()) for i in range(20)}
    assert set(stored_objects(bob.cache)) & contents == {sha256_hex(wanted)}


@pytest.mark.slow
def test_push_after_git_push_still_uploads_every_version(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    """Versions whose commits git already sent must not become pointers without data."""
    (alice.root / "data/ds/f0.bin").write_bytes(b"changed")
    publish_version(alice, "ds v1")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("get", "ds:v0", "-o", str(tmp_path / "v0"))
    bob.ga("get", "ds:v1", "-o", str(tmp_path / "v1"))
    assert (tmp_path / "v1/f0.bin").read_bytes() == b"changed"
    assert (tmp_path / "v0/f0.bin").read_bytes() != b"changed"


@pytest.mark.slow
def test_fetch_downloads_into_cache_without_touching_the_workspace(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    alice.ga("push")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("fetch")
    assert len(stored_objects(bob.cache)) == 20
    assert not (bob.root / "data").exists()
    assert bob.ga_json("status")[0]["not_in_cache"] == 0


def pushed_listing_form(origin: Path, tmp_path: Path) -> GitRepo:
    """A clone that pushed `big`, an artifact large enough to keep its entries in listings."""
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    repo.write({f"data/big/d{i % 12}/f{i}.txt": f"row {i}\n" for i in range(1300)})
    repo.ga("add", "data/big", "--name", "big", "--type", "dataset")
    assert "listing" in repo.manifest("big")
    repo.commit("big v0")
    repo.git("push", "-q", "origin", "main")
    repo.ga("push")
    return repo


@pytest.mark.slow
def test_listing_form_artifact_round_trips_through_the_remote(origin: Path, tmp_path: Path) -> None:
    repo = pushed_listing_form(origin, tmp_path)
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(repo.root / "data")


@pytest.mark.slow
def test_fetch_does_not_keep_a_large_listing_expanded(origin: Path, tmp_path: Path) -> None:
    """A pull holds the fetched manifests while its checkout reads its own copies: the fetch
    must not leave a second copy of every entry on them (tens of MiB for 100,000 files)."""
    pushed_listing_form(origin, tmp_path)
    bob = clone(origin, tmp_path / "bob")
    project = Project.open(bob.root)
    plan = transfer.plan_fetch(project)
    assert [m.name for m in plan.manifests] == ["big"]
    fetched = transfer.fetch_manifests(project, plan.remote, plan.manifests)
    assert fetched > 1300  # the objects and the listing's own
    assert plan.manifests[0].entries is None
    assert len(project.load_entries(plan.manifests[0])) == 1300
    assert bob.ga_json("status")[0]["not_in_cache"] == 0


# ---------------------------------------------------------------- published version numbers


@pytest.mark.parametrize("first", ["alice", "bob"])
@pytest.mark.slow
def test_two_clones_publishing_the_same_number_end_with_the_same_log(
    alice: GitRepo, origin: Path, tmp_path: Path, first: str
) -> None:
    alice.ga("push")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    for who, repo in (("alice", alice), ("bob", bob)):
        (repo.root / "data/ds/f1.bin").write_bytes(f"{who} was here".encode())
        repo.ga("add", "data/ds", "--name", "ds")
        repo.commit(f"{who}'s v1")
        assert [v for v, _, _ in versions(repo)] == ["v1", "v0"]
    one, two = (alice, bob) if first == "alice" else (bob, alice)
    one.ga("push")
    published_v1 = one.tag_commit("artifacts/ds/v1")
    renumbered = two.ga("push")
    assert "is now v2" in renumbered.stderr
    one.ga("fetch")
    assert versions(one) == versions(two)
    assert [v for v, _, _ in versions(one)] == ["v2", "v1", "v0"]
    remote_v1 = subprocess.run(
        ["git", "ls-remote", str(origin), "refs/tags/artifacts/ds/v1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    assert remote_v1 == published_v1, "a published version tag moved"
    assert two.tag_commit("artifacts/ds/v2") == two.head()


@pytest.mark.slow
def test_the_same_content_published_twice_keeps_one_number(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    alice.ga("push")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    for repo in (alice, bob):
        (repo.root / "data/ds/f1.bin").write_bytes(b"same change")
        repo.ga("add", "data/ds", "--name", "ds")
        repo.commit("same v1")
    alice.ga("push")
    bob.ga("push")
    assert [v for v, _, _ in versions(bob)] == ["v1", "v0"]
    assert versions(alice) == versions(bob) or versions(alice)[0][:2] == versions(bob)[0][:2]


# ---------------------------------------------------------------- remote configuration


@pytest.mark.slow
def test_remote_add_writes_only_non_secret_settings(alice: GitRepo, tmp_path: Path) -> None:
    alice.ga("remote", "add", "store", str(tmp_path / "store"), "--default")
    doc = yaml.safe_load((alice.root / ".gitartifacts.yaml").read_text())
    assert doc["remotes"]["store"]["url"] == str(tmp_path / "store")
    assert doc["default_remote"] == "store"
    listed = alice.ga_json("remote", "list")
    assert [(r["name"], r["default"]) for r in listed] == [("store", True)]
    alice.ga("push")
    assert assert_cache_sound(tmp_path / "store") == 20
    alice.ga("remote", "remove", "store")
    assert "store" not in (
        yaml.safe_load((alice.root / ".gitartifacts.yaml").read_text()).get("remotes") or {}
    )


@pytest.mark.parametrize(
    "args",
    [
        ["s3://AKIAEXAMPLE:sekrit@bucket/prefix"],
        ["https://user:sekrit@example.com/cache"],
    ],
)
@pytest.mark.slow
def test_remote_add_refuses_credentials(alice: GitRepo, args: list[str]) -> None:
    before = (alice.root / ".gitartifacts.yaml").read_bytes()
    proc = alice.ga("remote", "add", "bad", *args, rc=2)
    line = stderr_error_line(proc)
    assert "sekrit" not in line and "credential" in line
    assert (alice.root / ".gitartifacts.yaml").read_bytes() == before


@pytest.mark.slow
def test_local_remote_lives_in_git_config_not_in_the_committed_file(
    alice: GitRepo, tmp_path: Path
) -> None:
    before = (alice.root / ".gitartifacts.yaml").read_bytes()
    alice.ga("remote", "add", "mine", str(tmp_path / "mine"), "--local", "--default")
    assert (alice.root / ".gitartifacts.yaml").read_bytes() == before
    assert alice.git("config", "artifacts.remote.mine.url").strip() == str(tmp_path / "mine")
    alice.ga("push")
    assert assert_cache_sound(tmp_path / "mine") == 20


@pytest.mark.slow
def test_without_any_remote_push_says_how_to_add_one(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "solo")
    repo.root.mkdir()
    repo.git("init", "-q", "-b", "main")
    repo.commit("initial")
    repo.write({"data/x/a.txt": "a"})
    repo.ga("add", "data/x", "--name", "x", "--type", "dataset")
    line = stderr_error_line(repo.ga("push", rc=2))
    assert "git artifacts remote add" in line


# ---------------------------------------------------------------- integrity and faults


@pytest.mark.slow
def test_corrupt_remote_object_is_reported_and_never_reaches_the_workspace(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    alice.ga("push")
    victim_hex = corrupt(origin, (alice.root / "data/ds/f0.bin").read_bytes())
    bob = clone(origin, tmp_path / "bob")
    line = stderr_error_line(bob.ga("pull", rc=5))
    assert "ds/f0.bin" in line  # the file is named (its object is in a pack)
    assert not (bob.root / "data").exists()
    assert assert_cache_sound(bob.cache) >= 0
    assert victim_hex not in cache_objects(bob.cache)


@pytest.mark.slow
def test_a_fresh_pull_stopped_by_a_corrupt_object_takes_back_a_folder_left_empty(
    origin: Path, tmp_path: Path
) -> None:
    """The corrupt object is the only file of its folder: the folder is made, its file
    never written, and the folder must go too."""
    alice = clone(origin, tmp_path / "alice")
    alice.commit("initial")
    alice.ga("init")
    alice.write({"data/ds/a.bin": b"first", "data/ds/lone/b.bin": b"only one here"})
    alice.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    alice.commit("ds v0")
    alice.git("push", "-q", "origin", "main")
    alice.ga("push")
    victim = corrupt(origin, b"only one here")
    bob = clone(origin, tmp_path / "bob")
    line = stderr_error_line(bob.ga("pull", rc=5))
    assert victim in line
    assert not (bob.root / "data").exists()


@pytest.mark.slow
def test_a_fresh_pull_stopped_by_a_corrupt_object_writes_no_file_and_completes_once_restored(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    """A pull fetches everything before it writes a file: the last object being corrupt,
    the work tree is left as it was and the good objects are kept."""
    alice.ga("push")
    last = max(file_digests(alice.root / "data"))
    corrupt(origin, (alice.root / "data" / last).read_bytes())
    bob = clone(origin, tmp_path / "bob")
    line = stderr_error_line(bob.ga("pull", rc=5))
    assert last in line and "corrupt" in line  # `ds/<file>`: the artifact is named ds
    assert not (bob.root / "data").exists()
    assert assert_cache_sound(bob.cache) == 19  # the good objects are kept: a fetch's half
    # Restored on the remote (from a backup, say), the object comes; the pull completes.
    restore(origin, (alice.root / "data" / last).read_bytes())
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")
    assert bob.ga_json("status")[0]["clean"]


@pytest.mark.slow
def test_an_object_lost_on_the_remote_comes_back_with_push_check_remote(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    alice.ga("push")
    # The 20 small objects travel in one pack: losing it (pack and index) loses them all.
    for key in (remote_cache(origin) / "packs").iterdir():
        key.unlink()
    bob = clone(origin, tmp_path / "bob")
    line = stderr_error_line(bob.ga("pull", rc=5))
    assert "missing" in line and "push --check-remote" in line
    # This clone's index says the remote has it: a plain push asks nothing and sends nothing.
    assert "0 objects uploaded" in alice.ga("push").stdout
    out = alice.ga("push", "--check-remote").stdout
    assert "20 objects uploaded, 0 already there" in out
    assert assert_cache_sound(remote_cache(origin)) == 20
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")


@pytest.mark.slow
def test_an_update_pull_stopped_by_a_corrupt_object_changes_no_file(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    """A pull that replaces files fetches everything first: a failed fetch changes nothing."""
    alice.ga("push")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    before = file_digests(bob.root / "data")
    (alice.root / "data/ds/f3.bin").write_bytes(b"new f3")
    (alice.root / "data/ds/f7.bin").unlink()
    (alice.root / "data/ds/g.bin").write_bytes(b"new g")
    publish_version(alice, "ds v1")
    victim = corrupt(origin, b"new g")
    bob.git("pull", "-q", "--ff-only")
    line = stderr_error_line(bob.ga("pull", rc=5))
    assert victim in line
    assert file_digests(bob.root / "data") == before
    assert victim not in cache_objects(bob.cache)


@pytest.mark.slow
def test_a_pull_stopped_by_local_changes_still_fetches_and_keeps_them(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    alice.ga("push")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    (bob.root / "data/ds/f2.bin").write_bytes(b"bob's own edit")
    (alice.root / "data/ds/f2.bin").write_bytes(b"alice's v1")
    publish_version(alice, "ds v1")
    bob.git("pull", "-q", "--ff-only")
    line = stderr_error_line(bob.ga("pull", rc=4))
    assert "local changes" in line and "data/ds/f2.bin" in line
    assert (bob.root / "data/ds/f2.bin").read_bytes() == b"bob's own edit"
    assert sha256_hex(b"alice's v1") in cache_objects(bob.cache)  # the fetch half is done
    bob.ga("pull", "--force")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")


@pytest.mark.parametrize("link", ["copy", "hardlink", "symlink"])
@pytest.mark.slow
def test_a_fresh_pull_writes_duplicates_and_links_from_a_folder_remote(
    origin: Path, tmp_path: Path, link: str
) -> None:
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    files = {f"data/dup/d{i % 3}/f{i}.txt": f"row {i % 4}\n" for i in range(40)}
    files["data/dup/big.bin"] = os.urandom(3 << 20)  # larger than what is read whole
    files["data/dup/empty"] = ""
    repo.write(files)
    repo.ga("add", "data/dup", "--name", "dup", "--type", "dataset")
    repo.commit("dup v0")
    repo.git("push", "-q", "origin", "main")
    repo.ga("push")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull", "--link", link)
    assert file_digests(bob.root / "data") == file_digests(repo.root / "data")
    assert assert_cache_sound(bob.cache) == 6
    big = bob.root / "data/dup/big.bin"
    assert big.is_symlink() == (link == "symlink")
    assert (os.stat(big).st_nlink > 1) == (link == "hardlink")
    assert bob.ga_json("status")[0]["clean"]


@pytest.mark.parametrize("delay", [0.15, 0.4, 0.8])
@pytest.mark.slow
def test_push_and_pull_killed_with_sigkill_then_rerun_complete(
    origin: Path, tmp_path: Path, delay: float
) -> None:
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    repo.write({f"data/big/f{i}.bin": os.urandom(1 << 20) for i in range(40)})
    repo.ga("add", "data/big", "--name", "big", "--type", "model")
    repo.commit("big v0")
    repo.git("push", "-q", "origin", "main")
    kill_group_after(["git", "artifacts", "push"], repo.root, delay)
    repo.ga("push")
    assert assert_cache_sound(remote_cache(origin)) == 40
    bob = clone(origin, tmp_path / "bob")
    kill_group_after(["git", "artifacts", "pull"], bob.root, delay)
    bob.ga("pull")
    assert assert_cache_sound(bob.cache) == 40
    assert file_digests(bob.root / "data") == file_digests(repo.root / "data")


# ---------------------------------------------------------------- a real S3 API on loopback


@pytest.mark.slow
def test_push_and_pull_through_s3(
    alice: GitRepo, origin: Path, tmp_path: Path, s3_bucket: Bucket
) -> None:
    url = f"{s3_bucket.url}/cache"
    alice.ga("remote", "add", "s3", url, "--default", "--endpoint-url", s3_bucket.endpoint)
    alice.commit("remote", ".gitartifacts.yaml")
    alice.git("push", "-q", "origin", "main")
    assert "20 objects uploaded" in alice.ga("push").stdout
    # The 20 small objects travel in one pack: a pack and its index, nothing loose.
    assert len(s3_bucket.fs.find(f"{s3_bucket.name}/cache/packs")) == 2
    assert s3_bucket.fs.find(f"{s3_bucket.name}/cache/sha256") == []
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert file_digests(bob.root / "data") == file_digests(alice.root / "data")


@pytest.mark.slow
def test_a_no_op_push_to_s3_asks_the_server_nothing_until_check_remote(
    alice: GitRepo, s3_bucket: Bucket
) -> None:
    alice.ga("remote", "add", "s3", f"{s3_bucket.url}/cache", "--default")
    alice.git("config", "artifacts.remote.s3.endpointUrl", s3_bucket.endpoint)
    assert "20 objects uploaded" in alice.ga("push").stdout
    s3_bucket.fs.rm(f"{s3_bucket.name}/cache", recursive=True)
    # Everything is on record as pushed: the push decides locally and writes nothing there.
    assert "0 objects uploaded, 0 already there" in alice.ga("push").stdout
    s3_bucket.fs.invalidate_cache()
    assert s3_bucket.fs.find(f"{s3_bucket.name}/cache") == []
    assert "20 objects uploaded" in alice.ga("push", "--check-remote").stdout
