"""Small helpers shared by the tests: real git repositories and the real `git artifacts` command."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

VENV_BIN = Path(sys.executable).parent
MANIFEST_HEADER = b"gitartifacts-manifest-v1\n"


def process_running(pid: int) -> bool:
    """Whether `pid` runs (an orphan that ended may wait as a zombie for a reaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha(data: bytes) -> str:
    """`sha256:<hex>` of some bytes, computed here, independently of the package."""
    return "sha256:" + sha256_hex(data)


def expected_digest(entries: Mapping[str, str]) -> str:
    """The artifact digest rule of DESIGN.md section 2, spelled out independently."""
    pairs = sorted(entries.items(), key=lambda pd: pd[0].encode("utf-8"))
    body = b"".join(f"{path}\t{digest}\n".encode() for path, digest in pairs)
    return "sha256:" + sha256_hex(MANIFEST_HEADER + body)


def write_files(root: Path, files: Mapping[str, bytes | str]) -> None:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        p.write_bytes(data)


def age_files(root: Path, seconds: float = 3600.0) -> None:
    """Move every file's mtime into the past, so the stat cache may trust it (not "racy")."""
    when = time.time() - seconds
    for dirpath, _, names in os.walk(root):
        for n in names:
            os.utime(os.path.join(dirpath, n), (when, when), follow_symlinks=False)
    time.sleep(0.1)  # the ctime the utime set is now past the racy window too


def file_digests(root: Path, prefix: str = "") -> dict[str, str]:
    """entry path (relative to `root`, with `prefix`) -> sha256 digest of every file under root."""
    out: dict[str, str] = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            full = Path(dirpath) / n
            rel = full.relative_to(root).as_posix()
            out[prefix + rel] = sha(full.read_bytes())
    return out


def tree_state(root: Path) -> dict[str, str]:
    """Every file, link and folder under root: digest, link target or "dir" (links not followed)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, names in os.walk(root):
        for n in [*dirnames, *names]:
            full = Path(dirpath) / n
            rel = full.relative_to(root).as_posix()
            if full.is_symlink():
                out[rel] = "link:" + os.readlink(full)
            elif full.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = sha(full.read_bytes())
    return out


def cache_files(cache_root: Path) -> list[str]:
    """Every file under a cache folder, relative, sorted (objects and anything else)."""
    if not cache_root.exists():
        return []
    return sorted(
        p.relative_to(cache_root).as_posix() for p in cache_root.rglob("*") if p.is_file()
    )


def stored_objects(cache_root: Path) -> dict[str, Path]:
    """`cache_objects`, and every packed object in `<cache_root>/packs/` (its pack's path)."""
    out: dict[str, Path] = {}
    for idx in (cache_root / "packs").glob("*.idx"):
        out.update(dict.fromkeys(_packed_sound(idx), idx.with_suffix(".pack")))
    return out | cache_objects(cache_root)


def cache_objects(cache_root: Path) -> dict[str, Path]:
    """hex name -> path of every content object in `<cache_root>/sha256/<2>/<62>`."""
    objects = cache_root / "sha256"
    out: dict[str, Path] = {}
    if not objects.exists():
        return out
    for shard in objects.iterdir():
        if not shard.is_dir():
            continue
        for obj in shard.iterdir():
            if obj.is_file() and not obj.name.startswith("."):
                out[shard.name + obj.name] = obj
    return out


def assert_cache_sound(cache_root: Path, claims_ok: bool = False) -> int:
    """Every object's bytes hash to its name, names have the 2/62 layout, no temp files remain
    (`claims_ok`: but a killed fetch's claimed downloads, which the next fetch sweeps).

    Returns the number of objects.
    """
    objects = cache_root / "sha256"
    found: set[str] = set()
    for p in sorted(cache_root.rglob("*")):
        if p.is_dir() or p == cache_root / "gitartifacts-remote.json":  # a remote's identity
            continue
        rel = p.relative_to(cache_root).as_posix()
        if claims_ok and re.fullmatch(r"tmp/pack-[0-9a-z]+-[0-9]+-[0-9]+(\.part)?", rel):
            continue
        assert not p.name.startswith(".") and "tmp" not in rel, f"temporary file left: {rel}"
        if p.parent == cache_root / "packs":  # a remote's packs: each object in one verified
            found.update(_packed_sound(p) if p.suffix == ".idx" else ())
            continue
        assert p.parent.parent == objects, f"unexpected file in the cache: {rel}"
        assert len(p.parent.name) == 2 and len(p.name) == 62, f"bad object name: {rel}"
        assert sha256_hex(p.read_bytes()) == p.parent.name + p.name, f"corrupt object: {rel}"
        found.add(p.parent.name + p.name)
    return len(found)


def packed_objects(root: Path) -> set[str]:
    """The hex names of the objects a folder remote holds in packs (each one verified)."""
    return {h for idx in (root / "packs").glob("*.idx") for h in _packed_sound(idx)}


def _packed_sound(idx: Path) -> list[str]:
    """The objects a remote's pack index names, each checked against its pack's bytes."""
    from gitartifacts.remote import packindex

    index = packindex.decode(idx.stem, idx.read_bytes(), str(idx))
    data = idx.with_suffix(".pack").read_bytes()
    assert len(data) == index.pack_size, f"half-written pack: {idx.stem}"
    out = []
    for digest, offset, length in index:
        assert sha256_hex(data[offset : offset + length]) == digest[7:], f"corrupt: {digest}"
        out.append(digest[7:])
    return out


@dataclass
class GitRepo:
    """A real git work tree in a temporary folder, driven through subprocesses."""

    root: Path

    @property
    def cache(self) -> Path:
        return self.root / ".git" / "artifacts" / "objects"

    def git(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def ga(
        self, *args: str, rc: int | None = 0, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `git artifacts ARGS`; check the exit code unless `rc` is None."""
        proc = subprocess.run(
            ["git", "artifacts", *args],
            cwd=cwd or self.root,
            capture_output=True,
            text=True,
            check=False,
        )
        if rc is not None and proc.returncode != rc:
            raise AssertionError(
                f"git artifacts {' '.join(args)}: exit {proc.returncode}, expected {rc}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    def ga_json(self, *args: str, rc: int = 0) -> Any:
        return json.loads(self.ga(*args, "--json", rc=rc).stdout)

    def write(self, files: Mapping[str, bytes | str], age: bool = True) -> None:
        write_files(self.root, files)
        if age:
            for rel in files:
                when = time.time() - 3600
                os.utime(self.root / rel, (when, when))

    def commit(self, message: str = "commit", *paths: str) -> str:
        if paths:
            self.git("add", "--", *paths)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def tags(self) -> list[str]:
        return sorted(self.git("tag", "-l").split())

    def tag_commit(self, tag: str) -> str:
        return self.git("rev-parse", f"refs/tags/{tag}^{{commit}}").strip()

    def manifest(self, name: str) -> dict[str, Any]:
        text = (self.root / ".artifacts" / f"{name}.yaml").read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
        assert isinstance(doc, dict)
        return doc

    def manifest_text(self, name: str) -> str:
        return (self.root / ".artifacts" / f"{name}.yaml").read_text(encoding="utf-8")

    def staged(self) -> list[str]:
        return sorted(self.git("diff", "--cached", "--name-only").split())

    def snapshot(self) -> dict[str, Any]:
        """Everything a failed command must leave as it was."""
        art = self.root / ".artifacts"
        gitignore = self.root / ".gitignore"
        worktree = {k: v for k, v in tree_state(self.root).items() if not k.startswith(".git/")}
        return {
            "status": self.git("status", "--porcelain", "--untracked-files=all"),
            "refs": self.git("for-each-ref"),
            "index": self.git("ls-files", "-s"),
            "artifacts": {p.name: p.read_bytes() for p in sorted(art.iterdir()) if p.is_file()}
            if art.is_dir()
            else None,
            "gitignore": gitignore.read_bytes() if gitignore.exists() else None,
            "worktree": worktree,
            "cache": cache_files(self.cache),
        }


def assert_unchanged(before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    """Compare two `GitRepo.snapshot()`s part by part, naming the part that changed."""
    for part in before:
        assert after[part] == before[part], f"{part} changed"


def make_repo(root: Path, init_artifacts: bool = True) -> GitRepo:
    """`git init` with one commit; `git artifacts init` committed too when asked."""
    root.mkdir(parents=True, exist_ok=True)
    repo = GitRepo(root)
    repo.git("init", "-q", "-b", "main")
    repo.commit("initial")
    if init_artifacts:
        repo.ga("init")
        repo.commit("init artifacts")
    return repo


Builder = Callable[[Path], GitRepo]
Template = Callable[[str, Builder], Path]  # the `template` fixture: (key, builder) -> folder


def build_repo(root: Path) -> GitRepo:
    return make_repo(root)


def build_bikes(root: Path) -> GitRepo:
    """A repository with artifact `bikes` (path `data`, entries `bikes/...`) committed as v0:
    the layout `add data/bikes` gave before one folder became the artifact itself, which
    `--prefix bikes` (the folder's own name) still gives."""
    repo = make_repo(root)
    repo.write(bikes_files())
    age_files(repo.root / "data")
    repo.ga("add", "data/bikes", "--name", "bikes", "--type", "dataset", "--prefix", "bikes")
    repo.commit("bikes v0")
    repo.ga("status")  # any command tags the committed version
    return repo


def copy_repo(src: Path, dst: Path) -> GitRepo:
    """A full copy (modes, mtimes, links kept); `cp -a` is ten times faster than copytree."""
    if shutil.which("cp"):
        subprocess.run(["cp", "-a", str(src), str(dst)], check=True)
    else:
        shutil.copytree(src, dst, symlinks=True)
    return GitRepo(dst)


def bikes_files(n: int = 3) -> dict[str, str]:
    files = {f"data/bikes/img{i}.txt": f"bike {i}\n" for i in range(n)}
    files["data/bikes/labels/train.csv"] = "id,label\n1,cat\n"
    return files


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def stderr_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed command (asserts there is exactly one, no traceback)."""
    assert proc.returncode != 0, f"expected failure, got exit 0: {proc.stdout}"
    got = lines(proc.stderr)
    assert len(got) == 1, f"expected one line on stderr, got:\n{proc.stderr}"
    assert got[0].startswith("error: "), got[0]
    return got[0]


def clone(origin: Path, dest: Path) -> GitRepo:
    """A `git clone` of a local repository."""
    subprocess.run(["git", "clone", "-q", str(origin), str(dest)], check=True, capture_output=True)
    return GitRepo(dest)


def ga_run(
    repo: GitRepo, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`git artifacts ARGS` that must answer in time (a hang fails the test, it is not waited
    out), with extra environment; the exit code is the caller's to check."""
    return subprocess.run(
        ["git", "artifacts", *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def run_py(root: Path, code: str, prefix: str = "") -> str:
    """Run a script in `root` as a user would (a fresh interpreter), assert it succeeded, and
    return its stripped stdout; `prefix` goes before the dedented code (an import line)."""
    proc = subprocess.run(
        [sys.executable, "-c", prefix + textwrap.dedent(code)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.strip()


def kill_group_after(cmd: list[str], cwd: Path, delay: float) -> bool:
    """Run `cmd` in a process group of its own and SIGKILL the whole group after `delay`
    seconds (`git artifacts` is git running `git-artifacts` as a child: killing git alone
    would leave the verb running); whether it was still running. Returns once every process
    of the group is gone."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    time.sleep(delay)
    killed = proc.poll() is None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    end = time.monotonic() + 30
    while group_alive(proc.pid):
        assert time.monotonic() < end, "the killed processes did not end"
        time.sleep(0.01)
    return killed


def group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` still runs (a zombie does not: it only waits to be
    reaped, which in a container may never come)."""
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat, encoding="ascii", errors="replace") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False
