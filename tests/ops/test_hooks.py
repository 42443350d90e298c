"""Native git hooks from `git artifacts install-hooks`: chained with hooks already there, in
`core.hooksPath` folders, driven by real `git push`, `checkout`, `merge` and `commit`."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import GitRepo, cache_objects, lines
from servers import free_port

from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import hooks

HOOKS = ("pre-push", "post-checkout", "post-merge", "post-commit")


def git_proc(
    repo: GitRepo, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env} if env else None,
    )


def foreign_hook(path: Path, name: str, exit_code: int = 0) -> bytes:
    """A hook of another tool: records its arguments and standard input, exits `exit_code`."""
    log = path.parent / f"{name}.log"
    text = f'#!/bin/sh\necho "args: $*" >> "{log}"\ncat >> "{log}"\nexit {exit_code}\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return text.encode()


def with_origin(repo: GitRepo, tmp_path: Path) -> Path:
    """A bare `origin` for `repo`: its own cache is the zero-setup remote cache."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    repo.git("remote", "add", "origin", str(origin))
    return origin


def remote_refs(origin: Path) -> str:
    return subprocess.run(
        ["git", "for-each-ref"], cwd=origin, capture_output=True, text=True, check=True
    ).stdout


def manifest_digests(repo: GitRepo, name: str = "bikes") -> set[str]:
    return {e["digest"][7:] for e in repo.manifest(name)["entries"].values()}


def new_version(repo: GitRepo, files: dict[str, str], message: str) -> None:
    repo.write(files)
    repo.ga("add", "data/bikes", "--name", "bikes")
    repo.commit(message)


# ---------------------------------------------------------------- install, chain, uninstall


@pytest.mark.slow
def test_install_chains_foreign_hooks_and_uninstall_puts_them_back(bikes: GitRepo) -> None:
    hooks_dir = bikes.root / ".git/hooks"
    original = foreign_hook(hooks_dir / "post-commit", "post-commit")
    out = bikes.ga("install-hooks").stdout
    assert "post-commit: kept the existing hook as post-commit.pre-gitartifacts" in out
    assert (hooks_dir / "post-commit.pre-gitartifacts").read_bytes() == original
    for name in HOOKS:
        script = hooks_dir / name
        assert hooks.MARKER in script.read_text()
        assert script.stat().st_mode & stat.S_IXUSR
    # A second install replaces only our own scripts: the chain stays one deep.
    bikes.ga("install-hooks")
    assert (hooks_dir / "post-commit.pre-gitartifacts").read_bytes() == original
    assert not (hooks_dir / "post-commit.pre-gitartifacts.pre-gitartifacts").exists()
    # Both run on a commit: ours tags the version, theirs gets git's arguments.
    new_version(bikes, {"data/bikes/img9.txt": "bike 9\n"}, "bikes v1")
    assert "artifacts/bikes/v1" in bikes.tags()  # no git artifacts command ran since
    assert (hooks_dir / "post-commit.log").read_text() == "args: \n"
    bikes.ga("uninstall-hooks")
    assert (hooks_dir / "post-commit").read_bytes() == original
    assert (hooks_dir / "post-commit").stat().st_mode & stat.S_IXUSR
    assert not (hooks_dir / "post-commit.pre-gitartifacts").exists()
    assert not any((hooks_dir / n).exists() for n in HOOKS if n != "post-commit")


def test_install_refuses_to_guess_when_a_foreign_hook_and_a_chained_one_both_exist(
    bikes: GitRepo,
) -> None:
    hooks_dir = bikes.root / ".git/hooks"
    foreign_hook(hooks_dir / "pre-push", "a")
    foreign_hook(hooks_dir / "pre-push.pre-gitartifacts", "b")
    proc = bikes.ga("install-hooks", rc=2)
    assert "both exist and neither was written by gitartifacts" in proc.stderr
    assert not (hooks_dir / "post-commit").exists()  # nothing half-installed


@pytest.mark.slow
def test_hooks_go_into_the_core_hooks_path_folder(bikes: GitRepo) -> None:
    shared = bikes.root / ".githooks"
    original = foreign_hook(shared / "post-commit", "shared-post-commit")
    bikes.git("config", "core.hooksPath", ".githooks")
    bikes.ga("install-hooks")
    assert not any((bikes.root / ".git/hooks" / n).exists() for n in HOOKS)
    for name in HOOKS:
        text = (shared / name).read_text()
        assert hooks.MARKER in text
        # A folder in the work tree may be committed: no path of this machine in it.
        assert str(Path.home()) not in text and "/bin/git-artifacts" not in text
    new_version(bikes, {"data/bikes/img9.txt": "bike 9\n"}, "bikes v1")
    assert "artifacts/bikes/v1" in bikes.tags()
    assert (shared / "shared-post-commit.log").read_text() == "args: \n"
    bikes.ga("uninstall-hooks")
    assert (shared / "post-commit").read_bytes() == original


def test_without_the_tool_pre_push_refuses_and_post_hooks_only_warn(
    bikes: GitRepo, tmp_path: Path
) -> None:
    origin = with_origin(bikes, tmp_path)
    bikes.git("config", "core.hooksPath", ".githooks")  # scripts there name no absolute path
    bikes.ga("install-hooks")
    no_tool = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    proc = git_proc(bikes, "commit", "-q", "--allow-empty", "-m", "x", env=no_tool)
    assert proc.returncode == 0
    assert "git-artifacts is not installed, so the post-commit hook cannot run" in proc.stderr
    proc = git_proc(bikes, "push", "-q", "origin", "main", env=no_tool)
    assert proc.returncode != 0
    assert "so the pre-push hook cannot run" in proc.stderr
    assert remote_refs(origin) == ""


# ---------------------------------------------------------------- pre-push


@pytest.mark.slow
def test_pre_push_uploads_what_the_pushed_commits_need_and_chains_stdin(
    bikes: GitRepo, tmp_path: Path
) -> None:
    origin = with_origin(bikes, tmp_path)
    foreign_hook(bikes.root / ".git/hooks/pre-push", "pre-push")
    bikes.ga("install-hooks")
    # Content on a branch that is not pushed must not be uploaded.
    bikes.git("checkout", "-q", "-b", "wip")
    bikes.write({"data/other/x.bin": "unpushed\n"})
    bikes.ga("add", "data/other", "--name", "other", "--type", "dataset")
    bikes.commit("other v0")
    unpushed = manifest_digests(bikes, "other")
    bikes.git("checkout", "-q", "main")
    proc = git_proc(bikes, "push", "origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert "gitartifacts: uploaded 4 objects to remote cache origin" in proc.stderr
    remote = set(cache_objects(origin / "artifacts/objects"))
    assert remote == manifest_digests(bikes)
    assert not unpushed & remote
    head = bikes.head()
    log = (bikes.root / ".git/hooks/pre-push.log").read_text().splitlines()
    assert log == [f"args: origin {origin}", f"refs/heads/main {head} refs/heads/main {'0' * 40}"]
    # Nothing new: the next push uploads nothing and says nothing about it.
    bikes.commit("empty")
    proc = git_proc(bikes, "push", "origin", "main")
    assert proc.returncode == 0 and "uploaded" not in proc.stderr


@pytest.mark.slow
def test_a_chained_hooks_exit_code_is_the_hooks_and_a_failing_pre_push_stops_the_push(
    bikes: GitRepo, tmp_path: Path
) -> None:
    origin = with_origin(bikes, tmp_path)
    foreign_hook(bikes.root / ".git/hooks/pre-push", "pre-push", exit_code=3)
    foreign_hook(bikes.root / ".git/hooks/post-merge", "post-merge", exit_code=5)
    bikes.ga("install-hooks")
    proc = git_proc(bikes, "push", "origin", "main")
    assert proc.returncode != 0
    assert remote_refs(origin) == ""
    script = bikes.root / ".git/hooks/post-merge"
    proc = subprocess.run([str(script), "0"], cwd=bikes.root, capture_output=True, check=False)
    assert proc.returncode == 5
    assert (bikes.root / ".git/hooks/post-merge.log").read_text() == "args: 0\n"


@pytest.mark.slow
def test_push_is_refused_while_the_remote_cache_is_unreachable(
    bikes: GitRepo, tmp_path: Path
) -> None:
    origin = with_origin(bikes, tmp_path)
    bikes.ga("install-hooks")
    down = f"http://127.0.0.1:{free_port()}"
    bikes.ga("remote", "add", "store", "s3://bucket/x", "--endpoint-url", down, "--default")
    new_version(bikes, {"data/bikes/img9.txt": "bike 9\n"}, "bikes v1 and the remote")
    proc = git_proc(bikes, "push", "origin", "main")
    assert proc.returncode != 0
    assert (
        "error: the push was stopped, because the artifact content it needs could not be "
        "uploaded: cannot reach s3://bucket/x" in proc.stderr
    )
    assert remote_refs(origin) == "", "git pushed commits whose content is not on the remote"
    # With a reachable remote cache the same push goes through, and every object that a
    # commit on the remote names is in the remote cache: v0 and v1 alike.
    store = tmp_path / "store"
    bikes.ga("remote", "remove", "store")
    bikes.ga("remote", "add", "folder", str(store), "--default")
    bikes.commit("folder remote")
    proc = git_proc(bikes, "push", "origin", "main")
    assert proc.returncode == 0, proc.stderr
    named: set[str] = set()
    for commit in lines(git_in(origin, "rev-list", "main")):
        text = git_in(origin, "show", f"{commit}:.artifacts/bikes.yaml", check=False)
        named |= {ln.split("sha256:")[1][:64] for ln in lines(text) if "{digest:" in ln}
    assert len(named) == 5
    assert named <= set(cache_objects(store)), "a pushed commit names content the remote lacks"


def git_in(where: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 or not check, proc.stderr
    return proc.stdout if proc.returncode == 0 else ""


# ---------------------------------------------------------------- post-checkout, post-merge


@pytest.mark.slow
def test_checkout_brings_the_workspace_along_and_never_clobbers_local_changes(
    bikes: GitRepo,
) -> None:
    bikes.ga("install-hooks")
    bikes.git("checkout", "-q", "-b", "feature")
    new_version(bikes, {"data/bikes/img9.txt": "bike 9\n", "data/bikes/img0.txt": "new 0\n"}, "v1")
    proc = git_proc(bikes, "checkout", "-q", "main")
    assert proc.returncode == 0
    assert "bikes (v0) at data/bikes: 1 written, 1 removed" in proc.stderr
    assert not (bikes.root / "data/bikes/img9.txt").exists()
    assert (bikes.root / "data/bikes/img0.txt").read_text() == "bike 0\n"
    git_proc(bikes, "checkout", "-q", "feature")
    assert (bikes.root / "data/bikes/img0.txt").read_text() == "new 0\n"
    # A local edit that is saved nowhere survives the checkout, with a warning.
    (bikes.root / "data/bikes/img0.txt").write_text("my edit\n")
    proc = git_proc(bikes, "checkout", "-q", "main")
    assert proc.returncode == 0
    assert "warning: bikes was not updated: would overwrite or delete local changes" in proc.stderr
    assert (bikes.root / "data/bikes/img0.txt").read_text() == "my edit\n"


@pytest.mark.slow
def test_checkouts_that_change_no_manifest_do_nothing(bikes: GitRepo) -> None:
    bikes.ga("install-hooks")
    (bikes.root / "data/bikes/img0.txt").write_text("unsaved\n")
    bikes.write({"code.py": "print(1)\n"})
    bikes.commit("code", "code.py")
    proc = git_proc(bikes, "checkout", "-q", "HEAD~1")
    assert proc.returncode == 0 and proc.stderr == ""
    assert (bikes.root / "data/bikes/img0.txt").read_text() == "unsaved\n"
    project = Project.open(bikes.root)
    try:
        assert hooks.post_checkout(project, bikes.head(), "main", "1") == []
    finally:
        project.close()


@pytest.mark.slow
def test_merge_and_pull_update_the_workspace_or_warn_when_data_is_missing(
    bikes: GitRepo, tmp_path: Path
) -> None:
    origin = with_origin(bikes, tmp_path)
    bikes.git("push", "-q", "origin", "main")
    bikes.ga("push")
    bob = GitRepo(tmp_path / "bob")
    subprocess.run(["git", "clone", "-q", str(origin), str(bob.root)], check=True)
    bob.ga("pull")
    bob.ga("install-hooks")
    bikes.ga("install-hooks")
    bikes.git("checkout", "-q", "-b", "feature")
    new_version(bikes, {"data/bikes/img9.txt": "bike 9\n"}, "bikes v1")
    bikes.git("checkout", "-q", "main")
    proc = git_proc(bikes, "merge", "-q", "feature")
    assert proc.returncode == 0
    assert "bikes (v1) at data/bikes: 1 written, 0 removed" in proc.stderr
    assert (bikes.root / "data/bikes/img9.txt").read_text() == "bike 9\n"
    # Bob pulls the commit before its content is anywhere he can read: git succeeds, the
    # hook explains, and his workspace keeps v0 until `git artifacts pull`.
    bikes.git("push", "-q", "--no-verify", "origin", "main")
    proc = git_proc(bob, "pull", "-q", "origin", "main")
    assert proc.returncode == 0, proc.stderr
    assert "warning: bikes was not updated" in proc.stderr
    assert "run git artifacts pull" in proc.stderr
    assert not (bob.root / "data/bikes/img9.txt").exists()
    bikes.ga("push")
    bob.ga("pull")
    assert (bob.root / "data/bikes/img9.txt").read_text() == "bike 9\n"


def test_every_hook_script_is_plain_posix_shell(bikes: GitRepo) -> None:
    bikes.ga("install-hooks")
    for hook in HOOKS:
        script = bikes.root / ".git/hooks" / hook
        proc = subprocess.run(
            ["sh", "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
        assert script.read_text().startswith("#!/bin/sh\n")


def test_the_hooks_folder_holds_exactly_what_install_hooks_writes() -> None:
    folder = Path(__file__).resolve().parents[2] / "hooks"
    for hook in hooks.HOOKS:
        script = folder / hook
        assert script.read_text() == hooks._script(hook, embed_path=False)
        assert os.access(script, os.X_OK)
