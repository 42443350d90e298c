"""Remotes under attack: credentials in URLs and options, bad locations, a remote that lost
everything or vanished mid-push, a server that never answers, a running event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import GitRepo, clone, lines, stderr_error_line
from servers import Bucket

from gitartifacts.core.progress import Bar, Progress
from gitartifacts.errors import CacheError
from gitartifacts.gitmodel.project import Project
from gitartifacts.remote import transfer

SECRET = "s3cr3tT0kenValue9"


@pytest.fixture
def alice(origin: Path, tmp_path: Path) -> GitRepo:
    repo = clone(origin, tmp_path / "alice")
    repo.commit("initial")
    repo.ga("init")
    repo.write({f"data/ds/f{i}.bin": os.urandom(200 + i) for i in range(40)})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v0")
    repo.git("push", "-q", "origin", "main")
    return repo


def config_state(repo: GitRepo) -> tuple[str, str]:
    yaml_file = repo.root / ".gitartifacts.yaml"
    text = yaml_file.read_text() if yaml_file.exists() else ""
    return text, repo.git("config", "--local", "--list")


# ---------------------------------------------------------------- credentials (point 6)

CREDENTIAL_ADDS = [
    ["https://" + SECRET + "@host.example/cache"],
    ["https://user:" + SECRET + "@host.example/cache"],
    ["https://host.example/cache?token=" + SECRET],
    ["https://host.example/cache?X-Amz-Signature=" + SECRET],
    ["s3://AKIAIOSFODNN7EXAMPLE:" + SECRET + "@bucket/p"],
    ["gs://" + SECRET + "@bucket/p"],
    ["s3://bucket/p", "--endpoint-url", "http://admin:" + SECRET + "@127.0.0.1:9000"],
    ["s3://bucket/p", "--endpoint-url", "http://127.0.0.1:9000/?token=" + SECRET],
    ["s3://bucket/p", "--profile", "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + SECRET[:10]],
    ["s3://bucket/p", "--region", "password=" + SECRET],
    ["s3://bucket/p", "--local", "--endpoint-url", "http://u:" + SECRET + "@127.0.0.1:1"],
]


@pytest.mark.parametrize("args", CREDENTIAL_ADDS)
def test_remote_add_refuses_credentials_and_never_prints_them(
    repo: GitRepo, args: list[str]
) -> None:
    before = config_state(repo)
    proc = repo.ga("remote", "add", "r", *args, rc=None)
    line = stderr_error_line(proc)
    assert "credential" in line
    assert SECRET not in proc.stderr + proc.stdout
    assert config_state(repo) == before  # nothing half-written


@pytest.mark.slow
def test_hand_written_credentials_are_masked_everywhere(repo: GitRepo) -> None:
    """A token someone committed by hand: list masks it, push refuses without printing
    it, and neither the error line nor the --debug traceback shows it."""
    (repo.root / ".gitartifacts.yaml").write_text(
        "remotes:\n"
        f"  r:\n    url: https://{SECRET}@host.example/cache\n"
        f"  e:\n    url: s3://bucket/p\n    endpoint_url: http://me:{SECRET}@127.0.0.1:1\n"
        "default_remote: r\n"
    )
    shown = repo.ga("remote", "list")
    assert SECRET not in shown.stdout + shown.stderr
    assert "host.example/cache" in shown.stdout
    assert SECRET not in repo.ga("remote", "list", "--json").stdout
    for extra in ([], ["--debug"]):
        for name in ("r", "e"):
            proc = repo.ga(*extra, "push", "-r", name, rc=None)
            assert proc.returncode != 0
            assert SECRET not in proc.stdout + proc.stderr, proc.stderr
            assert "credential" in lines(proc.stderr)[-1]
    debug = repo.ga("--debug", "push", "-r", "e", rc=None)
    assert "Traceback" in debug.stderr


def test_redact_masks_every_secret_shape() -> None:
    from gitartifacts.core.redaction import redact

    text = (
        f"https://u:{SECRET}@h/x?token={SECRET}&a=1 secret={SECRET} "
        f"Authorization: Bearer {SECRET} AKIAIOSFODNN7EXAMPLE "
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    out = redact(text)
    assert SECRET not in out
    assert "AKIAIOSFODNN7EXAMPLE" not in out and "bPxRfiCY" not in out
    # Git names and digests are not secrets.
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert redact(f"commit {sha}") == f"commit {sha}"


# ---------------------------------------------------------------- small breakages (16, 11)

BAD_LOCATIONS = [
    (["relative/path"], "relative path"),
    (["ftp://x/y"], "unsupported"),
    (["s3://"], "no bucket"),
    (["s3:///x"], "no bucket"),
    (["gs:///x"], "no bucket"),
    (["/nonexistent/mount/cache"], "does not exist"),
    (["file:///nonexistent/mount/cache"], "does not exist"),
    (["s3://bucket/p?versionId=3"], "query"),
    (["s3://bucket/p", "--endpoint-url", "ftp://127.0.0.1:9000"], "endpoint"),
    (["s3://bucket/p", "--endpoint-url", "127.0.0.1:9000"], "endpoint"),
]


@pytest.mark.parametrize(("args", "why"), BAD_LOCATIONS)
def test_remote_add_refuses_bad_locations(repo: GitRepo, args: list[str], why: str) -> None:
    before = config_state(repo)
    line = stderr_error_line(repo.ga("remote", "add", "r", *args, rc=None))
    assert why in line
    assert config_state(repo) == before
    assert not Path("/nonexistent").exists()


def test_remote_add_create_makes_the_folder(repo: GitRepo, tmp_path: Path) -> None:
    target = tmp_path / "new" / "mount" / "cache"
    repo.ga("remote", "add", "r", str(target), "--create")
    assert target.is_dir()


def test_remote_add_local_with_endpoint(repo: GitRepo) -> None:
    repo.ga("remote", "add", "r", "s3://bucket/p", "--local", "--endpoint-url", "http://h:9000")
    [row] = repo.ga_json("remote", "list")
    assert row["options"] == {"endpoint_url": "http://h:9000"}
    assert row["source"] == "local"


@pytest.mark.parametrize("local", [False, True])
@pytest.mark.slow
def test_remote_add_existing_name_needs_force(repo: GitRepo, tmp_path: Path, local: bool) -> None:
    flag = ["--local"] if local else []
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    repo.ga("remote", "add", "r", str(tmp_path / "a"), *flag)
    before = config_state(repo)
    line = stderr_error_line(repo.ga("remote", "add", "r", str(tmp_path / "b"), *flag, rc=None))
    assert "'r' already exists" in line and "--force" in line
    assert config_state(repo) == before
    repo.ga("remote", "add", "r", str(tmp_path / "b"), *flag, "--force")
    [row] = repo.ga_json("remote", "list")
    assert row["url"] == str(tmp_path / "b")


# ---------------------------------------------------------------- identity (point 10)


def folder_remote(repo: GitRepo, remote: Path) -> Path:
    """A new folder remote, the default, committed and on origin."""
    remote.mkdir()
    repo.ga("remote", "add", "store", str(remote), "--default")
    repo.commit("remote", ".gitartifacts.yaml")
    repo.git("push", "-q", "origin", "main")
    return remote


@pytest.mark.slow
def test_remote_emptied_and_recreated_gets_everything_again(
    alice: GitRepo, origin: Path, tmp_path: Path
) -> None:
    remote = folder_remote(alice, tmp_path / "remote")
    alice.ga("push")
    assert (remote / "gitartifacts-remote.json").is_file()
    shutil.rmtree(remote)
    remote.mkdir()
    out = alice.ga("push").stdout
    assert "store: 40 objects uploaded" in out, out
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert (bob.root / "data" / "ds" / "f0.bin").read_bytes() == (
        alice.root / "data" / "ds" / "f0.bin"
    ).read_bytes()


class _Vanish(Progress):
    """Deletes the remote folder (and maybe re-creates it empty) at the first object done."""

    def __init__(self, remote: Path, recreate: bool) -> None:
        super().__init__(enabled=False)
        self.remote = remote
        self.recreate = recreate
        self.done = False
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def phase(self, name: str, *, files: int, bytes: int) -> Iterator[Bar]:
        yield _VanishBar(self, name, files, bytes)

    def vanish(self) -> None:
        with self.lock:
            if not self.done:
                self.done = True
                gone = self.remote.with_name("gone")
                self.remote.rename(gone)  # at once, whatever the writers are doing
                shutil.rmtree(gone)
                if self.recreate:
                    self.remote.mkdir()


class _VanishBar(Bar):
    def __init__(self, owner: _Vanish, name: str, files: int, bytes: int) -> None:
        super().__init__(name, files, bytes)
        self.owner = owner

    def advance(self, files: int = 0, bytes: int = 0) -> None:
        self.owner.vanish()
        super().advance(files, bytes)


@pytest.mark.parametrize("recreate", [False, True])
@pytest.mark.slow
def test_remote_vanishing_mid_push_fails_and_marks_nothing(
    alice: GitRepo, origin: Path, tmp_path: Path, recreate: bool
) -> None:
    remote = folder_remote(alice, tmp_path / "remote")
    project = Project.open(alice.root)
    try:
        with pytest.raises(CacheError):
            transfer.push(project, jobs=2, progress=_Vanish(remote, recreate))
        rows = project.state.db.execute("SELECT COUNT(*) FROM on_remote").fetchone()[0]
        assert rows == 0
    finally:
        project.close()
    if not recreate:
        remote.mkdir()
    alice.ga("push")
    bob = clone(origin, tmp_path / "bob")
    bob.ga("pull")
    assert len(list((bob.root / "data" / "ds").iterdir())) == 40


# ---------------------------------------------------------------- deadlines (point 13)


@pytest.mark.slow
def test_push_to_a_server_that_never_answers_gives_up(
    alice: GitRepo, silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"http://127.0.0.1:{silent_server}"
    alice.ga("remote", "add", "s", "s3://bucket/p", "--endpoint-url", endpoint, "--default")
    monkeypatch.setenv("GITARTIFACTS_NETWORK_TIMEOUT", "6")
    started = time.monotonic()
    proc = subprocess.run(
        ["git", "artifacts", "push"],
        cwd=alice.root,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    took = time.monotonic() - started
    assert proc.returncode != 0
    got = lines(proc.stderr)
    assert len(got) == 2, proc.stderr
    assert got[0].startswith(f"waiting for s3://bucket/p (127.0.0.1:{silent_server}): "), got[0]
    assert got[1].startswith("error: no answer from s3://bucket/p"), got[1]
    assert took < 30


@pytest.mark.slow
def test_network_timeout_setting_is_checked(alice: GitRepo, tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    alice.ga("remote", "add", "r", str(tmp_path / "r"))
    alice.git("config", "artifacts.networkTimeout", "soon")
    line = stderr_error_line(alice.ga("push", rc=None))
    assert "artifacts.networkTimeout" in line


# ---------------------------------------------------------------- event loops (point 14)


@pytest.mark.slow
def test_push_inside_a_running_event_loop(alice: GitRepo, s3_bucket: Bucket) -> None:
    alice.ga("remote", "add", "s", s3_bucket.url, "--endpoint-url", s3_bucket.endpoint)
    project = Project.open(alice.root)

    async def main() -> transfer.PushResult:
        return transfer.push(project, remote_name="s", tags=False)

    try:
        result = asyncio.run(main())
    finally:
        project.close()
    assert result.uploaded >= 40
    # The small objects travel in a pack: its index on the bucket says the upload completed.
    keys = s3_bucket.fs.find(f"{s3_bucket.name}/packs")
    assert any(k.endswith(".idx") for k in keys), keys


@pytest.mark.parametrize(
    "uri",
    [
        f"https://{SECRET}@host.example/data.csv",
        f"https://host.example/data.csv?X-Amz-Signature={SECRET}&X-Amz-Credential=AKIAX",
        f"https://host.example/data.csv?access_token={SECRET}",
        f"s3://AKIAIOSFODNN7EXAMPLE:{SECRET}@bucket/key",
    ],
)
def test_reference_with_credentials_is_refused(repo: GitRepo, uri: str) -> None:
    before = repo.snapshot()
    proc = repo.ga("add", "--ref", uri, "--name", "r", "--type", "dataset", rc=None)
    assert "credential" in stderr_error_line(proc)
    assert SECRET not in proc.stdout + proc.stderr
    assert repo.snapshot() == before
