"""The real pre-commit framework running this project's `.pre-commit-hooks.yaml` from a clone
of the working tree (`repo: <path>`, `language: python`), offline, beside our own git hooks.

pre-commit pip-installs the hook repository into its own virtualenv. To stay offline that
install gets a wheel folder (this environment's dependencies, repacked) and no index. One
PRE_COMMIT_HOME is shared by every test and xdist worker, so the install happens once.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from filelock import FileLock
from helpers import GitRepo, lines
from packaging.requirements import Requirement
from servers import Bucket

from gitartifacts.ops import hooks

PROJECT = Path(__file__).resolve().parents[2]
BIKES = ".artifacts/bikes.yaml"
HOOK_EXTRAS = ("s3", "gcs", "http")  # .pre-commit-hooks.yaml: check-artifacts-pushed


class HookRepo(NamedTuple):
    path: Path
    rev: str
    env: dict[str, str]


# ---------------------------------------------------------------- session set-up


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[HookRepo]:
    """A committed copy of the working tree (uncommitted files too), a wheel folder, and the
    environment that makes pre-commit's pip install use only them."""
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        root = root.parent  # shared by the xdist workers of this run
    with FileLock(str(root / "precommit.lock")):
        repo, wheels = root / "hook-repo", root / "wheels"
        if not (repo / ".git").is_dir():
            _copy_working_tree(PROJECT, repo)
            _wheelhouse(wheels)
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
    env = {
        "PRE_COMMIT_HOME": str(root / "pre-commit-home"),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_NO_BUILD_ISOLATION": "0",  # pip reads this one inverted: 0 turns isolation off
        "VIRTUALENV_NO_PERIODIC_UPDATE": "1",
    }
    yield HookRepo(repo, rev, env)


def _copy_working_tree(src: Path, dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=src,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for rel in filter(None, listed.split("\0")):
        if (src / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, dest / rel)
    who = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", *args], cwd=dest, check=True, env={**os.environ, **who})


def _wheelhouse(dest: Path) -> None:
    """Wheels of gitartifacts' installed dependencies and of the extras its
    check-artifacts-pushed hook installs, rebuilt from their installed files."""
    dest.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    todo = [r for r in md.requires("gitartifacts") or [] if _wanted(r, HOOK_EXTRAS)]
    while todo:
        req = Requirement(todo.pop())
        key = re.sub(r"[-_.]+", "-", req.name).lower() + str(sorted(req.extras))
        if key in seen:
            continue
        seen.add(key)
        dist = md.distribution(req.name)
        if not any(dest.glob(f"{re.sub(r'[-_.]+', '_', dist.metadata['Name'])}-*.whl")):
            _repack(dist, dest)
        todo += [r for r in dist.requires or [] if _wanted(r, req.extras)]


def _wanted(requirement: str, extras: set[str] | tuple[str, ...]) -> bool:
    marker = Requirement(requirement).marker
    return marker is None or any(marker.evaluate({"extra": e}) for e in ("", *extras))


def _repack(dist: md.Distribution, dest: Path) -> None:
    wheel_meta = dist.read_text("WHEEL") or ""
    tags = [ln.split(":", 1)[1].strip() for ln in wheel_meta.splitlines() if ln.startswith("Tag:")]
    # A wheel for several tags (py2-none-any, py3-none-any) is named by their compressed set.
    parts = zip(*(t.split("-") for t in tags), strict=True)
    tag = "-".join(".".join(dict.fromkeys(p)) for p in parts)
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    records, info = [], ""
    with zipfile.ZipFile(dest / f"{name}-{dist.version}-{tag}.whl", "w") as whl:
        for f in dist.files or []:
            if f.parts[0] == ".." or "__pycache__" in f.parts:
                continue  # console scripts and bytecode: pip makes its own
            if f.parts[0].endswith(".dist-info"):
                info = f.parts[0]
                if f.name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                    continue
            data = Path(str(dist.locate_file(f))).read_bytes()
            whl.writestr(f.as_posix(), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append(f"{f.as_posix()},sha256={digest.decode()},{len(data)}")
        whl.writestr(f"{info}/RECORD", "\n".join([*records, f"{info}/RECORD,,"]) + "\n")


# ---------------------------------------------------------------- helpers


def config(hook_repo: HookRepo) -> str:
    return f"""\
default_install_hook_types: [pre-commit, pre-push]
repos:
  - repo: {hook_repo.path}
    rev: {hook_repo.rev}
    hooks:
      - id: validate-artifact-manifests
      - id: check-artifact-data-not-committed
        args: [--max-size, 1k]
      - id: check-artifacts-pushed
"""


def run(
    repo: GitRepo, hook_repo: HookRepo, *args: str, tool: str = "pre_commit"
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", tool, *args] if tool == "pre_commit" else [tool, *args]
    return subprocess.run(
        cmd,
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **hook_repo.env},
    )


def with_config(repo: GitRepo, hook_repo: HookRepo) -> None:
    repo.write({".pre-commit-config.yaml": config(hook_repo)}, age=False)
    repo.commit("pre-commit config", ".pre-commit-config.yaml")


# ---------------------------------------------------------------- tests


@pytest.mark.slow
def test_precommit_runs_this_projects_hooks_from_a_clone(
    bikes: GitRepo, hook_repo: HookRepo
) -> None:
    with_config(bikes, hook_repo)
    proc = run(bikes, hook_repo, "run", "--all-files")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"validate artifact manifests\.+Passed", proc.stdout), proc.stdout
    assert re.search(r"check artifact data is not committed to git\.+Passed", proc.stdout)
    good = bikes.manifest_text("bikes")
    (bikes.root / BIKES).write_text(good.replace("bikes/img1.txt:", "../../escape.txt:"))
    bikes.git("add", BIKES)
    proc = run(bikes, hook_repo, "run")
    assert proc.returncode == 1
    assert f"{BIKES}:10: entry '../../escape.txt': invalid entry path" in proc.stdout
    (bikes.root / BIKES).write_text(good)
    bikes.git("add", BIKES)
    bikes.git("add", "-f", "data/bikes/img0.txt")
    proc = run(bikes, hook_repo, "run")
    assert proc.returncode == 1
    assert "data/bikes/img0.txt: belongs to artifact 'bikes' (data/bikes)" in proc.stdout
    # Installed as the git hook, the same checks refuse the commit.
    assert run(bikes, hook_repo, "install").returncode == 0
    proc = run(bikes, hook_repo, "commit", "-qm", "data in git", tool="git")
    assert proc.returncode != 0
    assert "belongs to artifact 'bikes'" in proc.stdout + proc.stderr
    bikes.git("rm", "-q", "--cached", "data/bikes/img0.txt")
    proc = run(bikes, hook_repo, "commit", "-qm", "fine", "--allow-empty", tool="git")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_precommit_pre_push_check_and_our_hooks_work_together(
    bikes: GitRepo, hook_repo: HookRepo, tmp_path: Path
) -> None:
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    bikes.git("remote", "add", "origin", str(origin))
    with_config(bikes, hook_repo)
    assert run(bikes, hook_repo, "install").returncode == 0
    framework_hook = (bikes.root / ".git/hooks/pre-push").read_bytes()
    proc = run(bikes, hook_repo, "push", "origin", "main", tool="git")
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "check artifact content is on the remote cache" in output
    assert "4 of 4 objects are not on remote cache origin" in output
    assert "run git artifacts push, then push again" in output
    assert lines(bikes.git("ls-remote", str(origin))) == []
    # Our pre-push hook chains the framework's: it uploads first, then the check passes.
    out = bikes.ga("install-hooks").stdout
    assert "pre-push: kept the existing hook as pre-push.pre-gitartifacts" in out
    proc = run(bikes, hook_repo, "push", "origin", "main", tool="git")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "uploaded 4 objects to remote cache origin" in proc.stderr
    assert re.search(
        r"check artifact content is on the remote cache\.+Passed", proc.stdout + proc.stderr
    )
    assert bikes.head() in bikes.git("ls-remote", str(origin))
    bikes.ga("uninstall-hooks")
    assert (bikes.root / ".git/hooks/pre-push").read_bytes() == framework_hook
    # The other order: the framework keeps our hook as its pre-push.legacy and runs it first.
    bikes.ga("install-hooks")
    assert run(bikes, hook_repo, "install").returncode == 0
    assert hooks.MARKER in (bikes.root / ".git/hooks/pre-push.legacy").read_text()
    out = bikes.ga("install-hooks").stdout  # finds ours there: no second copy
    assert "pre-push: installed as .git/hooks/pre-push.legacy" in out
    assert hooks.MARKER not in (bikes.root / ".git/hooks/pre-push").read_text()
    bikes.write({"data/bikes/img9.txt": "bike 9\n"})
    bikes.ga("add", "data/bikes", "--name", "bikes")
    bikes.commit("bikes v1")
    proc = run(bikes, hook_repo, "push", "origin", "main", tool="git")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "uploaded 1 object to remote cache origin" in output
    assert re.search(r"check artifact content is on the remote cache\.+Passed", output)
    assert bikes.head() in bikes.git("ls-remote", str(origin))


@pytest.mark.slow
def test_precommit_pre_push_check_reads_an_s3_remote(
    bikes: GitRepo, hook_repo: HookRepo, s3_bucket: Bucket, tmp_path: Path
) -> None:
    """The hook's environment has the extras it needs (pre-commit installs the hook
    repository with `.[s3,gcs,http]`): it fails naming the unpushed version, then passes."""
    manifest = yaml.safe_load((hook_repo.path / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in manifest if h["id"] == "check-artifacts-pushed"]
    assert hook["additional_dependencies"] == [f".[{','.join(HOOK_EXTRAS)}]"]
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    bikes.git("remote", "add", "origin", str(origin))
    bikes.ga("remote", "add", "s3", f"{s3_bucket.url}/cache", "--default")
    bikes.ga("remote", "modify", "s3", "endpoint_url", s3_bucket.endpoint)
    bikes.commit("an s3 remote cache", ".gitartifacts.yaml")
    with_config(bikes, hook_repo)
    assert run(bikes, hook_repo, "install").returncode == 0
    proc = run(bikes, hook_repo, "push", "origin", "main", tool="git")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "bikes:v0 sha256:" in output
    assert "4 of 4 objects are not on remote cache s3" in output
    assert "s3fs" not in output  # the library is there: no missing-extra error
    assert lines(bikes.git("ls-remote", str(origin))) == []
    bikes.ga("push")
    assert len(s3_bucket.fs.find(f"{s3_bucket.name}/cache")) >= 4
    proc = run(bikes, hook_repo, "push", "origin", "main", tool="git")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert re.search(r"check artifact content is on the remote cache\.+Passed", output)
    assert bikes.head() in bikes.git("ls-remote", str(origin))


def test_the_version_pre_commit_rev_names_is_the_package_version_with_a_changelog() -> None:
    import gitartifacts

    found = re.search(r'^version = "(.+)"$', (PROJECT / "pyproject.toml").read_text(), re.M)
    assert found is not None
    version = found.group(1)
    assert gitartifacts.__version__ == version
    assert f"\n## [{version}] - " in (PROJECT / "CHANGELOG.md").read_text()
    assert f"rev: v{version}\n" in (PROJECT / "README.md").read_text()
    assert f"rev: v{version}\n" in (PROJECT / ".pre-commit-hooks.yaml").read_text()
