"""`git artifacts push` with nothing to push, answered in about the time Python takes to start.

Before a push sends anything it reads only refs, configuration and the environment: the
commits and versions to upload and the tags and run records to publish come from the refs;
the remote, its URL and options from git config, the committed `.gitartifacts.yaml` and the
environment; what was already sent from our own state, which only a push changes. So a push
that completes leaves a fingerprint of all of those, and the next push with the same command
line and an equal fingerprint says so at once: no click, no YAML, no cache, no network.

The fingerprint is recorded only when the refs a push reads did not change while it ran (a
commit made meanwhile must not count as pushed). Anything unusual (an unborn HEAD, an option
this module does not know, a git error) takes the ordinary path. Stdlib only, on purpose.
"""

from __future__ import annotations

import os
import sys

try:  # the built-in module: `hashlib` loads OpenSSL first, 3 ms of a 15 ms no-op push
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter without it
    from hashlib import blake2b

from gitartifacts import __version__

# No subprocess either: importing it took about 9 ms, as long as Python's own start.

_RECORD = "last-push"
# Refs a push moves itself (what it last saw of the remote); every other ref is its input.
_TRACKING = ("refs/artifacts/remotes/", "refs/notes/remotes/", "refs/remotes/")
# The environment that can change where a push goes or what git sees (not GIT_EXEC_PATH,
# which `git artifacts` gets from git and `git-artifacts` does not).
_ENV = ("GIT_", "AWS_", "GOOGLE_", "GCS", "STORAGE_EMULATOR_HOST", "GITARTIFACTS_", "HOME")


class _Snapshot:
    def __init__(self, root: str, git_dir: str, refs: list[str]) -> None:
        self.root = root
        self.git_dir = git_dir
        self.refs = refs  # "<sha> <name>", HEAD first, then sorted

    def inputs(self) -> list[str]:
        return [r for r in self.refs if not r.split(" ", 1)[1].startswith(_TRACKING)]


def _git(*args: str) -> bytes | None:
    """Standard output of `git ARGS`, or None if it fails or cannot be started."""
    r, w = os.pipe()
    try:
        pid = os.posix_spawnp(
            "git",
            ["git", *args],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, w, 1),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ],
        )
    except OSError:
        os.close(r)
        os.close(w)
        return None
    os.close(w)
    chunks = []
    with open(r, "rb", buffering=0) as out:
        while chunk := out.read(65536):
            chunks.append(chunk)
    status = os.waitpid(pid, 0)[1]
    return b"".join(chunks) if os.waitstatus_to_exitcode(status) == 0 else None


def _snapshot() -> _Snapshot | None:
    """The work tree, the git dir and every ref with its value, from one git process."""
    out = _git(
        "rev-parse",
        "--show-toplevel",
        "--git-common-dir",
        "HEAD",
        "--all",
        "--symbolic-full-name",
        "--all",
    )
    if out is None:
        return None
    lines = out.decode("utf-8", "surrogateescape").split("\n")[:-1]
    if len(lines) < 3 or (len(lines) - 3) % 2:
        return None
    root, git_dir, head = lines[:3]
    n = (len(lines) - 3) // 2
    refs = sorted(
        f"{sha} {name}" for sha, name in zip(lines[3 : 3 + n], lines[3 + n :], strict=True)
    )
    return _Snapshot(root, os.path.abspath(git_dir), [f"{head} HEAD", *refs])


def _fingerprint(snap: _Snapshot, key: str, witness: str = "") -> str | None:
    config = _git("config", "--list", "-z")
    if config is None:
        return None
    h = blake2b()
    if witness:  # a folder remote's identity file: gone or replaced, the remote must be asked
        try:
            st = os.stat(witness)
        except OSError:
            return None
        h.update(f"{witness} {st.st_dev} {st.st_ino} {st.st_mtime_ns}\0".encode())
    for part in (__version__, key, snap.root, "\n".join(snap.refs)):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    h.update(config + b"\0")
    try:
        with open(os.path.join(snap.root, ".gitartifacts.yaml"), "rb") as f:
            h.update(f.read())
    except OSError:
        h.update(b"(none)")
    h.update(b"\0")
    env = sorted(
        (k, v) for k, v in os.environ.items() if k.startswith(_ENV) and k != "GIT_EXEC_PATH"
    )
    h.update(repr(env).encode("utf-8", "surrogateescape"))
    aws = os.environ.get("AWS_CONFIG_FILE") or os.path.expanduser("~/.aws/config")
    try:
        st = os.stat(aws)
        h.update(f"{st.st_mtime_ns} {st.st_size}".encode())
    except OSError:
        pass
    return h.hexdigest()


def push_key(remote: str | None, all_commits: bool, tags: bool, git_remote: str | None) -> str:
    """What of a push's command line changes its outcome (not --jobs, not --quiet)."""
    return f"push remote={remote} all={all_commits} tags={tags} git-remote={git_remote}"


def parse_push(argv: list[str]) -> tuple[str, bool] | None:
    """(key, quiet) for `[-q] push [options]`, or None for anything else."""
    quiet = False
    args = list(argv)
    if args[:1] in (["-q"], ["--quiet"]):
        quiet, args = True, args[1:]
    if args[:1] != ["push"]:
        return None
    remote = git_remote = None
    all_commits, tags = False, True
    rest = args[1:]
    while rest:
        arg = rest.pop(0)
        name, eq, value = arg.partition("=")
        if name in ("-r", "--remote", "--git-remote", "-j", "--jobs") and not eq:
            if not rest:
                return None
            value = rest.pop(0)
        if name in ("-r", "--remote"):
            remote = value
        elif name == "--git-remote":
            git_remote = value
        elif name in ("-j", "--jobs"):
            if not value.isdigit() or not 1 <= int(value) <= 256:
                return None
        elif arg == "--all":
            all_commits = True
        elif arg == "--no-tags":
            tags = False
        else:
            return None
    return push_key(remote, all_commits, tags, git_remote), quiet


def input_refs() -> list[str] | None:
    """The refs a push reads, taken when it starts."""
    snap = _snapshot()
    return snap.inputs() if snap else None


def record_push(
    before: list[str] | None, key: str, summary: str, witness: str | None = None
) -> None:
    """After a push completed: remember its fingerprint and what a repeat would say
    (and the file whose change, when given, means the remote must be asked again)."""
    import contextlib  # here, not at the top: the full push has loaded it already

    snap = _snapshot()
    if snap is None:
        return
    path = os.path.join(snap.git_dir, "artifacts", _RECORD)
    witness = witness or ""
    fp = (
        _fingerprint(snap, key, witness)
        if before is not None and snap.inputs() == before and "\n" not in witness
        else None
    )
    if fp is None:  # something moved meanwhile: forget, and let the next push look again
        with contextlib.suppress(OSError):
            os.unlink(path)
        return
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{fp}\n{summary}\n{witness}\n")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def noop_push(key: str) -> str | None:
    """What the last push said, if nothing it depends on changed since; else None."""
    snap = _snapshot()
    if snap is None:
        return None
    try:
        with open(os.path.join(snap.git_dir, "artifacts", _RECORD), encoding="utf-8") as f:
            fp, summary, witness = [*f.read().split("\n"), ""][:3]
    except (OSError, ValueError):
        return None
    return summary if fp and _fingerprint(snap, key, witness) == fp else None


def ignore_sigxfsz() -> None:
    """Past a file size limit (`ulimit -f`) the kernel kills the writer with SIGXFSZ, which
    says nothing; ignored, the write fails with EFBIG instead and is reported as an error."""
    try:  # the built-in module: `signal` imports `enum`, 7 ms
        import _signal  # type: ignore[import-not-found]

        _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)
    except (ImportError, AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        pass


def main() -> None:
    """The `git-artifacts` command: the quick answer when there is one, else the full CLI."""
    ignore_sigxfsz()
    parsed = parse_push(sys.argv[1:]) if os.environ.get("GITARTIFACTS_QUICK") != "0" else None
    if parsed is not None:
        summary = noop_push(parsed[0])
        if summary is not None:
            if not parsed[1]:
                print(summary)
            return
    from gitartifacts.cli.main import main as cli_main

    cli_main()
