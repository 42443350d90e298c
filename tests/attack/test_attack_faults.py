"""Faults of the machine: a stat cache fooled by a restored mtime, no space, a file size
limit, read-only or unreadable places, a damaged state.db. Each is one line naming the path
and the fix (a traceback only with --debug), and nothing is lost."""

from __future__ import annotations

import os
import resource
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import GitRepo, sha, stderr_error_line, write_files

# ---------------------------------------------------------------- the stat cache


def _edit_in_place_keeping_stat(path: Path, data: bytes) -> None:
    """What `rsync --inplace -t` does: same size, new bytes, the old mtime put back."""
    st = path.stat()
    assert len(data) == st.st_size
    with open(path, "r+b") as f:
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
    )


@pytest.mark.slow
def test_status_sees_a_same_size_edit_whose_mtime_was_put_back(bikes: GitRepo) -> None:
    bikes.ga("status")  # the stat cache and the snapshot now know every file
    bikes.ga("status")
    time.sleep(0.1)  # past the racy window, so the edit's ctime differs from the cached one
    f = bikes.root / "data/bikes/img0.txt"
    _edit_in_place_keeping_stat(f, b"BIKE 0\n")
    row = bikes.ga_json("status")[0]
    assert row["modified"] == ["bikes/img0.txt"], row


@pytest.mark.slow
def test_checkout_does_not_overwrite_a_same_size_edit_whose_mtime_was_put_back(
    bikes: GitRepo,
) -> None:
    bikes.ga("status")
    time.sleep(0.1)
    f = bikes.root / "data/bikes/img0.txt"
    _edit_in_place_keeping_stat(f, b"BIKE 0\n")
    err = stderr_error_line(bikes.ga("checkout", "bikes:v0", rc=None))
    assert "local changes" in err and "img0.txt" in err
    assert f.read_bytes() == b"BIKE 0\n"


# ---------------------------------------------------------------- resources

MiB = 1 << 20


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Callable[[str, str], Path]]:
    """`small_fs(name, options)`: a tmpfs mounted at tmp_path/name (skips without mount)."""
    mounted: list[Path] = []

    def mount(name: str, options: str = "size=1m") -> Path:
        where = tmp_path / name
        where.mkdir(parents=True, exist_ok=True)
        _mount(["-t", "tmpfs", "-o", options, "tmpfs", str(where)], "a small tmpfs")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=False)


def _mount(args: list[str], what: str) -> None:
    """Run `mount ARGS`; a machine that cannot (no privilege) skips the test, saying so."""
    proc = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount {what} here: {proc.stderr.strip()}")


def _read_only_bind(where: Path, undo: list[Path]) -> None:
    _mount(["--bind", "-o", "ro", str(where), str(where)], "a read-only bind")
    undo.append(where)


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], None]]:
    """`read_only(folder)`: bind-mount the folder read-only over itself until teardown."""
    undo: list[Path] = []
    yield lambda where: _read_only_bind(where, undo)
    for where in reversed(undo):
        subprocess.run(["umount", "-l", str(where)], check=False)


def _ga(
    repo: GitRepo,
    *args: str,
    env: dict[str, str] | None = None,
    fsize: int | None = None,
    wrap: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """`git artifacts ARGS` with extra environment, a file size limit, or a wrapper command."""

    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [*wrap, "git", "artifacts", *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        preexec_fn=limit if fsize is not None else None,
    )


@pytest.fixture
def big(repo: GitRepo) -> GitRepo:
    """Artifact `ds` (path data/ds): a 3 MiB file and a small one, committed as v0."""
    write_files(repo.root, {"data/ds/big.bin": os.urandom(3 * MiB), "data/ds/small.txt": "hi\n"})
    repo.ga("add", "data/ds", "--name", "ds", "--type", "dataset")
    repo.commit("ds v0", ".artifacts/ds.yaml", ".gitignore")
    return repo


def _no_temp_files(folder: Path) -> list[str]:
    return [
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and (p.name.startswith(".") or "tmp" in p.relative_to(folder).parts)
    ]


@pytest.mark.slow
def test_no_space_in_the_cache_is_one_line_naming_it(
    repo: GitRepo, small_fs: Callable[..., Path]
) -> None:
    cache = small_fs("cache") / "objects"
    write_files(repo.root, {"data/ds/big.bin": os.urandom(3 * MiB), "data/ds/small.txt": "hi\n"})
    args = ("add", "data/ds", "--name", "ds", "--type", "dataset")
    proc = _ga(repo, *args, env={"GITARTIFACTS_CACHE": str(cache)})
    err = stderr_error_line(proc)
    assert "no space left" in err and str(cache) in err and "free some space" in err, err
    assert not (repo.root / ".artifacts/ds.yaml").exists()
    assert _no_temp_files(cache) == []
    debug = _ga(repo, "--debug", *args, env={"GITARTIFACTS_CACHE": str(cache)})
    assert "Traceback" in debug.stderr and debug.returncode != 0


@pytest.mark.slow
def test_no_space_in_the_get_target_is_one_line_naming_it(
    big: GitRepo, small_fs: Callable[..., Path]
) -> None:
    target = small_fs("target")
    err = stderr_error_line(_ga(big, "get", "ds:v0", "-o", str(target / "out")))
    assert "no space left" in err and str(target / "out") in err, err


@pytest.mark.parametrize(
    "verb",
    [
        pytest.param(("add", "data/ds2", "--name", "ds2", "--type", "dataset"), id="add-cache"),
        pytest.param(("get", "ds:v0", "-o", "out"), id="get-target"),
    ],
)
@pytest.mark.slow
def test_a_file_size_limit_is_one_line_not_a_silent_kill(big: GitRepo, verb: tuple[str]) -> None:
    write_files(big.root, {"data/ds2/big.bin": os.urandom(2 * MiB)})
    proc = _ga(big, *verb, fsize=MiB)
    assert proc.returncode > 0, (proc.returncode, proc.stderr)  # not killed by SIGXFSZ
    err = stderr_error_line(proc)
    assert "file too large" in err and "ulimit -f" in err, err


@pytest.mark.slow
def test_a_read_only_cache_is_one_line(big: GitRepo, read_only: Callable[[Path], None]) -> None:
    write_files(big.root, {"data/ds/new.txt": "new\n"})
    read_only(big.cache)
    err = stderr_error_line(_ga(big, "add", "data/ds", "--name", "ds"))
    assert "read-only file system" in err and str(big.cache) in err, err


def test_a_read_only_state_db_is_one_line(
    bikes: GitRepo, read_only: Callable[[Path], None]
) -> None:
    state = bikes.root / ".git/artifacts/state.db"
    assert state.exists()
    (bikes.root / "data/bikes/img0.txt").write_text("changed\n")
    read_only(state.parent)
    err = stderr_error_line(_ga(bikes, "status"))
    assert str(state) in err, err


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"\x00\xff" * 3000, id="binary"),
        pytest.param(b"SQLite format 3\x00" + b"\x13" * 5000, id="bad-header"),
        pytest.param(b"", id="empty"),
    ],
)
@pytest.mark.slow
def test_a_garbage_state_db_is_set_aside_and_rebuilt(bikes: GitRepo, garbage: bytes) -> None:
    state = bikes.root / ".git/artifacts/state.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    state.write_bytes(garbage)
    (bikes.root / "data/bikes/img0.txt").write_text("changed\n")
    proc = bikes.ga("status", "--json")
    assert proc.returncode == 0
    row = __import__("json").loads(proc.stdout)[0]
    assert row["modified"] == ["bikes/img0.txt"]
    if garbage:
        assert (state.parent / "state.db.damaged").read_bytes() == garbage
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("warning: "), proc.stderr
    sqlite3.connect(state).execute("SELECT count(*) FROM hashes").fetchone()
    bikes.ga("status")  # and the next run is quiet
    assert bikes.ga("status").stderr == ""


# Root reads everything; without these two capabilities its chmod 000 holds as for anyone.
_NO_DAC = (
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_an_unreadable_file_or_folder_is_one_line_naming_it(bikes: GitRepo, what: str) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed: root reads a chmod 000 file anyway")
    victim = bikes.root / ("data/bikes/img0.txt" if what == "file" else "data/bikes/labels")
    write_files(bikes.root, {"data/bikes/new.txt": "new\n"})
    os.utime(victim)  # the stat cache must not answer for it
    victim.chmod(0)
    try:
        proc = _ga(bikes, "add", "data/bikes", "--name", "bikes", wrap=_NO_DAC)
    finally:
        victim.chmod(0o755 if what == "folder" else 0o644)
    err = stderr_error_line(proc)
    assert "permission denied" in err and str(victim) in err, err
    assert sha((bikes.root / "data/bikes/img0.txt").read_bytes())  # nothing lost


def test_the_python_api_raises_our_error_for_no_space(
    repo: GitRepo, small_fs: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import gitartifacts as ga

    cache = small_fs("cache") / "objects"
    monkeypatch.setenv("GITARTIFACTS_CACHE", str(cache))
    monkeypatch.chdir(repo.root)
    write_files(repo.root, {"model.pt": os.urandom(3 * MiB)})
    art = ga.Artifact("model", type="model")
    with pytest.raises(ga.GitArtifactsError) as caught:
        art.add_file("model.pt")  # stores the bytes in the cache at once
        art.save()
    assert "no space left" in str(caught.value) and str(cache) in str(caught.value)
    assert isinstance(caught.value, OSError)  # code that caught OSError still does
    assert not (repo.root / ".artifacts/model.yaml").exists()
