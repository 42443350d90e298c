"""Native git hooks and `git diff` integration.

`install` writes four small shell scripts into the hooks folder git uses (`core.hooksPath`
respected), each marked so that a re-install or `uninstall` touches only what this tool wrote:
- pre-push: uploads what the pushed commits' manifests need; the push stops if that fails.
- post-checkout, post-merge: bring the workspace data to the manifests that changed.
- post-commit: creates version tags for the new commit.
A hook that was there before is kept as `<hook>.pre-gitartifacts` and runs after ours with
the same arguments and standard input; the push stops if it fails, and its exit code is the
hook's. Post-* hooks cannot undo what git did, so ours only warn.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from gitartifacts import manifest as mf
from gitartifacts.errors import CacheError, ConflictError, GitArtifactsError, UsageError
from gitartifacts.project import Project, write_atomic

HOOKS = ("pre-push", "post-checkout", "post-merge", "post-commit")
MARKER = "# gitartifacts-hook: written by git artifacts install-hooks"
CHAINED = ".pre-gitartifacts"  # suffix of a hook that was there before ours
PRE_COMMIT_LEGACY = ".legacy"  # where the pre-commit framework keeps a hook it replaced
DIFF_DRIVER = "gitartifacts"
ATTRIBUTES_LINE = f"{mf.MANIFEST_DIR}/*.yaml diff={DIFF_DRIVER}"


# ---------------------------------------------------------------- install and uninstall


def hooks_dir(project: Project) -> Path:
    """The folder git runs hooks from (`core.hooksPath` if set)."""
    rel = project.repo.run("rev-parse", "--git-path", "hooks").strip()
    return (project.root / rel).resolve()


def install(project: Project) -> list[str]:
    """Install our hooks, chaining any hook already there. Idempotent. Returns what was done."""
    folder = hooks_dir(project)
    plan = [_plan(folder, hook) for hook in HOOKS]  # refuse before writing anything
    folder.mkdir(parents=True, exist_ok=True)
    embed = not _in_worktree(project, folder)
    done = []
    for hook, target, keep in plan:
        if keep:
            os.replace(target, target.with_name(hook + CHAINED))
            done.append(f"{hook}: kept the existing hook as {hook}{CHAINED}; it runs after ours")
        write_atomic(target, _script(hook, embed_path=embed).encode())
        target.chmod(0o755)
        where = _shown(project, target)
        done.append(f"{hook}: installed as {where}")
    return done


def _plan(folder: Path, hook: str) -> tuple[str, Path, bool]:
    """(hook, the file to write, whether a foreign hook there must be kept aside first)."""
    path, chained = folder / hook, folder / (hook + CHAINED)
    legacy = folder / (hook + PRE_COMMIT_LEGACY)
    if _is_ours(legacy) and not _is_ours(path):
        return hook, legacy, False  # the pre-commit framework wraps ours: update it there
    foreign = (path.exists() or path.is_symlink()) and not _is_ours(path)
    if foreign and (chained.exists() or chained.is_symlink()):
        raise UsageError(
            f"{path} and {chained.name} both exist and neither was written by gitartifacts",
            f"merge them into {hook} by hand, then run git artifacts install-hooks",
        )
    return hook, path, foreign


def uninstall(project: Project) -> list[str]:
    """Remove our hooks and put back the hooks they chained. Returns what was done."""
    folder = hooks_dir(project)
    done = []
    for hook in HOOKS:
        chained = folder / (hook + CHAINED)
        for path in (folder / hook, folder / (hook + PRE_COMMIT_LEGACY)):
            if not _is_ours(path):
                continue
            path.unlink()
            if chained.exists() or chained.is_symlink():
                os.replace(chained, path)
                done.append(f"{hook}: removed; restored the hook it chained")
            else:
                done.append(f"{hook}: removed")
    return done


def setup_textconv(project: Project) -> list[str]:
    """Make `git diff` and `git log -p` show manifests as file lists: a committed
    `.gitattributes` line and a local diff driver running `git-artifacts textconv`."""
    done = []
    attributes = project.root / ".gitattributes"
    try:
        text = attributes.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if ATTRIBUTES_LINE not in text.splitlines():
        sep = "\n" if text and not text.endswith("\n") else ""
        write_atomic(attributes, (text + sep + ATTRIBUTES_LINE + "\n").encode())
        project.repo.stage([".gitattributes"])
        done.append(f".gitattributes: manifests use the {DIFF_DRIVER} diff driver (commit it)")
    command = f"{_executable_for_shell()} textconv"
    key = f"diff.{DIFF_DRIVER}.textconv"
    if project.repo.config_get(key) != command:
        project.repo.config_set(key, command)
        done.append("git diff now shows manifests as file lists")
    return done


def _script(hook: str, embed_path: bool) -> str:
    """A POSIX shell hook. It embeds the path of this installation's `git-artifacts` (as
    pre-commit does with its interpreter) unless the hooks folder is in the work tree."""
    exe = _executable() if embed_path else None
    fast = ""
    if hook == "post-checkout":
        # Most checkouts change no manifest: answer those without starting Python.
        fast = (
            f'if [ ! -e "$here/{hook}{CHAINED}" ] && {{ [ "$3" != 1 ] || '
            f'git diff --quiet "$1" "$2" -- {mf.MANIFEST_DIR}/ 2>/dev/null; }}; then\n'
            "    exit 0\nfi\n"
        )
    missing_exit = 1 if hook == "pre-push" else 0
    return f"""#!/bin/sh
{MARKER}
# `git artifacts uninstall-hooks` removes it and restores {hook}{CHAINED} if there is one.
hook={hook}
here=$(dirname "$0")
ga={shlex.quote(exe) if exe else "git-artifacts"}
[ -x "$ga" ] || ga=git-artifacts
{fast}if command -v "$ga" >/dev/null 2>&1; then
    exec "$ga" hook "$hook" "$here" "$@"
fi
echo "gitartifacts: git-artifacts is not installed, so the $hook hook cannot run" \\
    "(install gitartifacts, or run git artifacts uninstall-hooks)" >&2
if [ -x "$here/$hook{CHAINED}" ]; then
    "$here/$hook{CHAINED}" "$@" || exit $?
fi
exit {missing_exit}
"""


def _in_worktree(project: Project, folder: Path) -> bool:
    """Whether the folder could be committed (a shared `core.hooksPath` folder): then the
    scripts must not name this machine's paths."""
    git_dirs = (project.repo.git_dir.resolve(), project.repo.common_dir.resolve())
    inside = folder.is_relative_to(project.root.resolve())
    return inside and not any(folder.is_relative_to(d) for d in git_dirs)


def _is_ours(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return MARKER.encode() in f.read(4096)
    except OSError:
        return False


def _executable() -> str | None:
    beside = Path(sys.executable).parent / "git-artifacts"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("git-artifacts")


def _executable_for_shell() -> str:
    exe = _executable()
    return shlex.quote(exe) if exe else "git-artifacts"


def _shown(project: Project, folder: Path) -> str:
    try:
        return folder.relative_to(project.root.resolve()).as_posix()
    except ValueError:
        return str(folder)


# ---------------------------------------------------------------- running


def run(hook: str, here: str, args: Sequence[str], stdin: bytes = b"") -> int:
    """Run our part of `hook`, then the hook it chained. Returns the exit code for git."""
    code = _ours(hook, list(args), stdin)
    if code != 0:
        return code
    chained = Path(here) / (hook + CHAINED)
    if os.access(chained, os.X_OK) and chained.is_file():
        return subprocess.run([str(chained), *args], input=stdin, check=False).returncode
    return 0


def _ours(hook: str, args: list[str], stdin: bytes) -> int:
    try:
        project = Project.open()
    except GitArtifactsError as exc:
        return _failed(hook, exc)
    try:
        if hook == "pre-push":
            return pre_push(project, args[0] if args else "", stdin.decode())
        if hook == "post-checkout":
            post_checkout(project, *[*args, "", "", ""][:3])
        elif hook == "post-merge":
            post_merge(project)
        elif hook == "post-commit":
            post_commit(project)
        return 0
    except Exception as exc:  # a hook must answer git even when we have a bug
        return _failed(hook, exc)
    finally:
        project.close()


def _failed(hook: str, exc: BaseException) -> int:
    what = str(exc) if isinstance(exc, GitArtifactsError) else f"{type(exc).__name__}: {exc}"
    if hook == "pre-push":
        _say(f"error: the push was stopped: {what}")
        return 1
    _say(f"warning: {hook} hook: {what}")
    return 0


def pre_push(project: Project, remote: str, lines: str) -> int:
    """Upload what the commits being pushed need; non-zero stops the push."""
    from gitartifacts import transfer

    revs = []
    for line in lines.splitlines():
        parts = line.split()
        if len(parts) == 4 and set(parts[1]) != {"0"}:  # all zeros: a deletion
            revs.append(parts[1])
    if not revs:
        return 0
    gremote = remote if remote in project.repo.run("remote").split() else None
    if not transfer.manifests_in_commits(project, revs, gremote, False):
        return 0
    try:
        r = transfer.push(project, revs=revs, tags=False, git_remote_name=gremote)
    except GitArtifactsError as exc:
        _say(
            f"error: the push was stopped, because the artifact content it needs could not be "
            f"uploaded: {exc}"
        )
        _say("gitartifacts: nothing was pushed; fix the cause and push again")
        return 1
    if r.uploaded:
        _say(f"gitartifacts: uploaded {r.uploaded} objects to remote cache {r.remote}")
    return 0


def post_checkout(project: Project, old: str, new: str, branch_flag: str) -> list[str]:
    """After a branch checkout: update the workspace of each artifact whose manifest changed."""
    if branch_flag != "1" or old == new:
        return []
    return _sync_workspace(project, _changed_names(project, old, new))


def post_merge(project: Project) -> list[str]:
    """After a merge or pull: the manifests that differ from ORIG_HEAD (the work tree side,
    so squash merges count too)."""
    orig = project.repo.rev_parse("ORIG_HEAD^{commit}")
    names = _changed_names(project, orig, None) if orig else project.names()
    return _sync_workspace(project, names)


def post_commit(project: Project) -> list[str]:
    """Tag the versions the new commit made (skipped mid-rebase: the next command does it)."""
    from gitartifacts import versions as ver

    for state in ("rebase-merge", "rebase-apply"):
        if (project.root / project.repo.run("rev-parse", "--git-path", state).strip()).exists():
            return []
    created = [f"{name}:v{n}" for name, n in ver.sync(project)]
    if created:
        _say(f"gitartifacts: new version {', '.join(created)}")
    return created


def _changed_names(project: Project, old: str | None, new: str | None) -> list[str]:
    """Artifacts whose manifest differs between two commits (new None: the work tree)."""
    if old is None or set(old) == {"0"}:
        return project.names()
    out = project.repo.run(
        "diff",
        "--name-only",
        "-z",
        "--no-renames",
        old,
        *([new] if new else []),
        "--",
        mf.MANIFEST_DIR + "/",
    )
    names = []
    for path in filter(None, out.split("\0")):
        name = path[len(mf.MANIFEST_DIR) + 1 : -len(".yaml")]
        if path.endswith(".yaml") and mf.NAME_RE.match(name):
            names.append(name)
    return names


def _sync_workspace(project: Project, names: Sequence[str]) -> list[str]:
    """Checkout each artifact on its own, so one conflict leaves the others updated."""
    from gitartifacts import api
    from gitartifacts import versions as ver

    present = set(project.names())
    wanted = [n for n in names if n in present]
    if not wanted:
        return []
    ver.sync(project)
    done = []
    for name in wanted:
        try:
            m = project.read_manifest(name, entries=False)
            if m is None or m.path is None:
                continue
            for r in api.checkout(project, [name]):
                if r.written or r.deleted:
                    v = f"v{r.version}" if r.version is not None else "uncommitted"
                    msg = f"{r.name} ({v}) at {r.path}: {r.written} written, {r.deleted} removed"
                    _say(f"gitartifacts: {msg}")
                    done.append(msg)
        except ConflictError as exc:
            _say(f"warning: {name} was not updated: {exc}")
        except CacheError as exc:
            _say(f"warning: {name} was not updated: {exc.message} (run git artifacts pull)")
        except GitArtifactsError as exc:
            _say(f"warning: {name} was not updated: {exc}")
    return done


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
