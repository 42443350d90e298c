"""The steps of the push/pull benchmarks: set-up of a case, push, fresh-clone pull, checks.

Set-up (untimed unless `timed_add`): a bare `origin.git` and a working repository with the data
copied in, added by the tool, committed with the remote configuration and pushed to origin.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from common import (
    CommandFailed,
    say,
)
from remote_case import Case, Context, fail, live, note, run_untimed, timed_step
from trees import compare_trees, count_files, tree_digest, tree_listing


def setup_case(
    ctx: Context,
    dataset: str,
    remote: str,
    tool: str,
    round_: int,
    *,
    timed_add: bool = False,
) -> Case:
    """Repositories with the data added, committed and pushed to origin.git; the add is timed
    (op `add`, after the settling pause of a many-file step) when `timed_add`."""
    base = ctx.runs / dataset / remote / f"round{round_ + 1}" / tool
    case = Case(dataset, remote, tool, base, round_)
    exe = str(ctx.exes[tool])
    say(f"{case.label}: set-up (git init, {tool} init, remote, copy, add, commit)")
    try:
        case.base.mkdir(parents=True)
        case.repo.mkdir()
        run_untimed(ctx, case, ["git", "init", "-q", "--bare", "-b", "main", str(case.bare)])
        run_untimed(ctx, case, ["git", "init", "-q", "-b", "main"])
        run_untimed(ctx, case, [exe, "init"] if tool == "ours" else [exe, "init", "-q"])
        configure_remote(ctx, case)
        run_untimed(ctx, case, ["cp", "-a", str(ctx.sources[dataset]), str(case.repo / "data")])
        add = add_command(tool, exe)
        if timed_add:
            with ctx.settler.around(ctx.many(dataset)):
                timed_step(ctx, case, "add", add, case.repo)
            if case.failed is not None:
                return case
        else:
            run_untimed(ctx, case, add)
        commit_all(ctx, case)
        run_untimed(ctx, case, ["git", "remote", "add", "origin", str(case.bare)])
        run_untimed(ctx, case, ["git", "push", "-q", "--no-verify", "origin", "HEAD"])
        check_remote_empty(ctx, case)
    except CommandFailed as exc:
        fail(ctx, case, f"set-up: {exc}")
    return case


def add_command(tool: str, exe: str) -> list[str]:
    if tool == "ours":
        return [exe, "add", "data", "--name", "ds", "--type", "dataset"]
    return [exe, "add", "data"]


def push_all(ctx: Context, cases: list[Case]) -> None:
    """Timed push of each case to its empty remote, then a count of what arrived there."""
    for case in live(cases):
        with ctx.settler.around(ctx.many(case.dataset)):
            timed_step(ctx, case, "push", [str(ctx.exes[case.tool]), "push"], case.repo)
        if case.failed is None:
            check_remote_filled(ctx, case)


def clone_and_pull_all(ctx: Context, cases: list[Case]) -> None:
    """Timed `git clone` of origin.git, then the tool's pull in the clone; the pulled tree is
    compared with the source."""
    for case in live(cases):
        with ctx.settler.around(ctx.many(case.dataset)):
            clone = ["git", "clone", "-q", str(case.bare), case.clone.name]
            timed_step(ctx, case, "clone", clone, case.base)
            if case.failed is None:
                timed_step(ctx, case, "pull", [str(ctx.exes[case.tool]), "pull"], case.clone)
        if case.failed is None:
            verify_pull(ctx, case, ctx.expected_tree(case.dataset))


def configure_remote(ctx: Context, case: Case) -> None:
    """Point the repository at its remote; the configuration is committed with the data."""
    exe = str(ctx.exes[case.tool])
    if case.remote == "local":
        if case.tool == "ours" and ctx.ours_local == "origin":
            # Zero setup: with no remote configured, origin's own cache is the remote.
            case.remote_url = str(case.bare / "artifacts" / "objects")
            return
        folder = case.base / "remote-cache"
        case.remote_url = str(folder)
        if case.tool == "ours":
            run_untimed(ctx, case, [exe, "remote", "add", "local", str(folder), "--default"])
        else:
            run_untimed(ctx, case, [exe, "remote", "add", "-d", "local", str(folder)])
        return

    server = ctx.server
    if server is None:
        raise CommandFailed("no S3 server is running")
    case.bucket = f"bench-{case.dataset}-{case.tool}-r{case.round + 1}"
    try:
        server.create_bucket(case.bucket)
    except Exception as exc:
        raise CommandFailed(f"creating bucket {case.bucket}: {exc!r}") from exc
    case.remote_url = f"s3://{case.bucket}/cache"
    if case.tool == "ours":
        cmd = [exe, "remote", "add", "s3", case.remote_url, "--endpoint-url", server.endpoint]
        run_untimed(ctx, case, [*cmd, "--default"])
    else:
        run_untimed(ctx, case, [exe, "remote", "add", "-d", "s3", case.remote_url])
        run_untimed(ctx, case, [exe, "remote", "modify", "s3", "endpointurl", server.endpoint])


def commit_all(ctx: Context, case: Case) -> None:
    """Commit what `add` wrote, with the remote configuration (the clone needs both)."""
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "data"], cwd=case.repo, env=ctx.envs[case.tool]
    )
    if ignored.returncode != 0:
        # Keep the data out of git; the tool was expected to ignore it.
        note(case, "`data` was not git-ignored after add; added to .git/info/exclude")
        with (case.repo / ".git" / "info" / "exclude").open("a") as exclude:
            exclude.write("/data\n")
    run_untimed(ctx, case, ["git", "add", "-A"])
    commit = ["git", "commit", "-q", "--allow-empty", "-m", "bench: add data"]
    try:
        run_untimed(ctx, case, commit)
    except CommandFailed as exc:
        note(case, f"git commit failed, retried with --no-verify: {exc}")
        run_untimed(ctx, case, [*commit, "--no-verify"])


def remote_object_count(ctx: Context, case: Case) -> int:
    if case.bucket is not None and ctx.server is not None:
        return ctx.server.count_objects(case.bucket, "cache/")
    return count_files(Path(case.remote_url))


def check_remote_empty(ctx: Context, case: Case) -> None:
    """The push must start from an empty remote (a hook or set-up step could have filled it)."""
    try:
        count = remote_object_count(ctx, case)
    except Exception as exc:
        raise CommandFailed(f"counting the objects in {case.remote_url} failed: {exc!r}") from exc
    if count:
        raise CommandFailed(f"the remote {case.remote_url} already holds {count} objects")


def check_remote_filled(ctx: Context, case: Case) -> None:
    """Untimed sanity check that the push really uploaded something."""
    try:
        count = remote_object_count(ctx, case)
    except Exception as exc:
        fail(ctx, case, f"counting the objects in {case.remote_url} failed: {exc!r}")
        return
    ctx.remote_objects.append(
        {
            "dataset": case.dataset,
            "remote": case.remote,
            "tool": case.tool,
            "round": case.round,
            "url": case.remote_url,
            "objects": count,
        }
    )
    say(f"{case.label}: the remote holds {count} objects after push")
    if count == 0:
        fail(ctx, case, f"push succeeded but {case.remote_url} holds no objects")


def verify_pull(
    ctx: Context, case: Case, expected: dict[str, str], data: Path | None = None, op: str = "pull"
) -> None:
    """Compare the pulled tree (or `data`, restored by `op`) with the source's listing."""
    data = case.clone / "data" if data is None else data
    actual = tree_listing(data) if data.is_dir() else {}
    diff = compare_trees(expected, actual)
    ok = not any(diff.values())
    ctx.verifications.append(
        {
            "dataset": case.dataset,
            "remote": case.remote,
            "tool": case.tool,
            "round": case.round,
            "op": op,
            "ok": ok,
            "files": len(actual),
            "tree_sha256": tree_digest(actual),
            "expected_sha256": tree_digest(expected),
            **{name: len(paths) for name, paths in diff.items()},
        }
    )
    if ok:
        say(f"{case.label}: {op} verified ({len(actual)} files, byte-identical)")
        return
    examples = ", ".join(path for paths in diff.values() for path in paths[:3])
    fail(
        ctx,
        case,
        f"data after {op} is not byte-identical to the source: {len(diff['missing'])} missing, "
        f"{len(diff['extra'])} extra, {len(diff['changed'])} changed (e.g. {examples})",
    )
