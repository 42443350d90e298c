"""Benchmark `git artifacts` against DVC on identical copies of the generated datasets.

For each dataset, every tool gets its own fresh `git init` repository with its own copy of the
data, and then (all timed with GNU time, `sync` before each command):
  add       `git artifacts add data --name ds --type dataset` / `dvc add data`
  status    no-op status on the unchanged workspace (3 runs per repository)
  checkout  after the workspace copy was moved away, restore it from the local cache
The checked-out tree is then compared with the source (sha256 over the tree, untimed).

Environment caveat of the reference VM (ext4 without a journal): creating many files within
60 s of deleting many files, or 360 s once the new files share inode-table blocks with the
deleted ones, is up to 20x slower. So nothing is deleted while timing: old trees are moved to a
trash folder, which is emptied only between datasets, followed by --settle-deletion seconds
(370); every timed add or checkout on a dataset with many files also waits --settle seconds (65)
after the previous many-file add or checkout (a tool may delete temporary files of its own).

Results: a markdown table on stdout and JSON in <work-dir>/results.json. Exit status 1 if any
command failed, 0 otherwise (missed targets are reported, not an error).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import gen_datasets
from common import (
    DEFAULT_WORK_DIR,
    DVC_VERSION,
    CommandFailed,
    Settler,
    Trash,
    add_settle_args,
    add_tool_args,
    command_output,
    ensure_dvc,
    print_report,
    resolve_ours,
    say,
    tool_env,
)
from local_case import (
    Context,
    Repo,
    fail,
    live,
    note,
    run_untimed,
    timed_step,
)
from local_summary import summarize
from tables import markdown_table
from trees import compare_trees, count_symlinks, tree_digest, tree_listing

TOOLS = ("ours", "dvc")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work = args.work_dir.resolve()
    data_dir = (args.data_dir or work / "data").resolve()
    datasets = gen_datasets.parse_names(args.datasets)
    if "big64" in datasets:
        raise SystemExit("error: big64 runs together with big (use --datasets big)")
    tools = ["ours"] if args.skip_dvc else list(TOOLS)
    work.mkdir(parents=True, exist_ok=True)

    ours = resolve_ours(args.ours)
    commands = {"ours": tool_commands("ours", ours)}
    envs = {"ours": tool_env(work, ours.parent)}
    if "dvc" in tools:
        dvc = args.dvc.resolve() if args.dvc else ensure_dvc()
        commands["dvc"] = tool_commands("dvc", dvc)
        envs["dvc"] = tool_env(work, None)

    settler = Settler(args.settle, work / ".settle-until", args.settle_deletion)
    ctx = Context(
        work=work,
        data_dir=data_dir,
        runs=work / "runs",
        commands=commands,
        envs=envs,
        settler=settler,
        ours_config=args.ours_config,
        trash=Trash(work / "trash", settler, args.settle_min_files),
        repeat=args.repeat,
        status_runs=args.status_runs,
        min_files=args.settle_min_files,
        timeout=args.timeout,
    )

    # Generate everything before anything is deleted (see the caveat in the module docstring).
    names = [*datasets, *(["big64"] if "big" in datasets else [])]
    infos: dict[str, dict[str, object]] = {}
    for name in names:
        say(f"[{name}] data: generating or reusing {data_dir / name}")
        infos[name] = gen_datasets.ensure_dataset(data_dir, name, args.scale, args.seed)

    if ctx.runs.exists():
        ctx.trash.put(ctx.runs)
    ctx.trash.empty()
    meta = environment_info(ctx, tools, args, infos)

    for dataset in datasets:
        if not args.keep:
            ctx.trash.empty()
        bench_dataset(ctx, dataset, tools, infos)
        if dataset == "big":
            bench_add_only(ctx, "big64", tools)
        if not args.keep:
            ctx.trash.put(ctx.runs / dataset)
            if dataset == "big":
                ctx.trash.put(ctx.runs / "big64")
    if not args.keep:
        ctx.trash.put(ctx.runs)
        ctx.trash.empty(settle=False)

    rows = summarize(ctx, datasets, tools)
    table = markdown_table(rows, ["dataset", "operation"])
    results = {
        "meta": meta,
        "summary": rows,
        "measurements": [asdict(m) for m in ctx.measurements],
        "verifications": ctx.verifications,
        "failures": ctx.failures,
    }
    (work / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")

    print_report(table, ctx.failures, args.scale, work / "results.json")
    return 1 if ctx.failures else 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(gen_datasets.DEFAULT_DATASETS))
    parser.add_argument("--scale", type=float, default=1.0, help="passed to the generator")
    parser.add_argument("--seed", type=int, default=gen_datasets.DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=1, help="add/checkout runs (fresh repos)")
    parser.add_argument("--status-runs", type=int, default=3, help="no-op status runs per repo")
    parser.add_argument("--skip-dvc", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep repositories and trash")
    add_tool_args(parser)
    parser.add_argument(
        "--ours-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="git config for our repositories, e.g. artifacts.directWrites=true; repeatable",
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="scratch folder")
    parser.add_argument("--data-dir", type=Path, help="generated datasets (default: WORK/data)")
    add_settle_args(parser, "add/checkout")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per command, seconds")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.status_runs < 1:
        parser.error("--repeat and --status-runs must be at least 1")
    return args


# --- one dataset ------------------------------------------------------------------------------


def bench_dataset(
    ctx: Context, dataset: str, tools: list[str], infos: dict[str, dict[str, object]]
) -> None:
    source = ctx.data_dir / dataset
    many = int(str(infos[dataset]["files"])) >= ctx.min_files
    say(f"[{dataset}] hashing the source tree for verification")
    expected = tree_listing(source)
    if many:
        ctx.settler.wait()
    repos = prepare_repos(ctx, dataset, tools, source)

    for repo in live(repos):
        with ctx.settler.around(many):
            timed_step(ctx, repo, "add")
    for repo in live(repos):
        commit_all(ctx, repo)

    for _ in range(ctx.status_runs):
        for repo in live(repos):
            timed_step(ctx, repo, "status")

    for repo in live(repos):
        ctx.trash.put(repo.path / "data")
    for repo in live(repos):
        with ctx.settler.around(many):
            timed_step(ctx, repo, "checkout")
        if repo.failed is None:
            verify_checkout(ctx, repo, expected)


def bench_add_only(ctx: Context, dataset: str, tools: list[str]) -> None:
    """The big-file variant: only `add`, to read off whether peak RSS grows with file size."""
    repos = prepare_repos(ctx, dataset, tools, ctx.data_dir / dataset)
    for repo in live(repos):
        timed_step(ctx, repo, "add")


def prepare_repos(ctx: Context, dataset: str, tools: list[str], source: Path) -> list[Repo]:
    """Fresh repositories, in run order: tools alternate who goes first on each repeat."""
    repos = []
    for rep in range(ctx.repeat):
        order = tools if rep % 2 == 0 else tools[::-1]
        for tool in order:
            repo = Repo(dataset, tool, rep, ctx.runs / dataset / f"{tool}-r{rep}")
            say(f"[{dataset}] {tool} r{rep}: git init, {tool} init, copy data")
            try:
                repo.path.mkdir(parents=True)
                run_untimed(ctx, repo, ["git", "init", "-q", "-b", "main"])
                run_untimed(ctx, repo, ctx.commands[tool]["init"])
                if tool == "ours":
                    for item in ctx.ours_config:
                        key, _, value = item.partition("=")
                        run_untimed(ctx, repo, ["git", "config", key, value])
                run_untimed(ctx, repo, ["cp", "-a", str(source), str(repo.path / "data")])
            except CommandFailed as exc:
                fail(ctx, repo, f"set-up: {exc}")
            repos.append(repo)
    return repos


def commit_all(ctx: Context, repo: Repo) -> None:
    """Commit what `add` wrote (untimed), as a user would before running status."""
    try:
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", "data"], cwd=repo.path, env=ctx.envs[repo.tool]
        )
        if ignored.returncode != 0:
            # Keep 100k files out of the Git index; the tool was expected to ignore them.
            note(repo, "`data` was not git-ignored after add; added to .git/info/exclude")
            with (repo.path / ".git" / "info" / "exclude").open("a") as exclude:
                exclude.write("/data\n")
        run_untimed(ctx, repo, ["git", "add", "-A"])
        commit = ["git", "commit", "-q", "--allow-empty", "-m", "bench: add data"]
        try:
            run_untimed(ctx, repo, commit)
        except CommandFailed as exc:
            note(repo, f"git commit failed, retried with --no-verify: {exc}")
            run_untimed(ctx, repo, [*commit, "--no-verify"])
    except CommandFailed as exc:
        fail(ctx, repo, f"commit after add: {exc}")


def verify_checkout(ctx: Context, repo: Repo, expected: dict[str, str]) -> None:
    data = repo.path / "data"
    actual = tree_listing(data) if data.is_dir() else {}
    diff = compare_trees(expected, actual)
    missing, extra, changed = diff["missing"], diff["extra"], diff["changed"]
    ok = not (missing or extra or changed)
    record = {
        "dataset": repo.dataset,
        "tool": repo.tool,
        "rep": repo.rep,
        "ok": ok,
        "tree_sha256": tree_digest(actual),
        "expected_sha256": tree_digest(expected),
        "missing": len(missing),
        "extra": len(extra),
        "changed": len(changed),
        "symlinks": count_symlinks(data),
    }
    ctx.verifications.append(record)
    if ok:
        say(f"[{repo.dataset}] {repo.tool} r{repo.rep}: checkout verified ({len(actual)} files)")
        return
    examples = ", ".join([*missing[:3], *extra[:3], *changed[:3]])
    fail(
        ctx,
        repo,
        f"checkout is not byte-identical to the source: {len(missing)} missing, "
        f"{len(extra)} extra, {len(changed)} changed (e.g. {examples})",
    )


# --- tools -------------------------------------------------------------------------------------


def tool_commands(tool: str, exe: Path) -> dict[str, list[str]]:
    x = str(exe)
    if tool == "ours":
        return {
            "init": [x, "init"],
            "add": [x, "add", "data", "--name", "ds", "--type", "dataset"],
            "status": [x, "status"],
            "checkout": [x, "checkout"],
        }
    return {
        "init": [x, "init", "-q"],
        "add": [x, "add", "data"],
        "status": [x, "status"],
        "checkout": [x, "checkout"],
    }


def environment_info(
    ctx: Context, tools: list[str], args: argparse.Namespace, infos: dict[str, dict[str, object]]
) -> dict[str, object]:
    versions = {"git": command_output(["git", "--version"])}
    versions["ours"] = command_output([ctx.commands["ours"]["init"][0], "--version"])
    if "dvc" in tools:
        versions["dvc"] = command_output([ctx.commands["dvc"]["init"][0], "--version"])
        if versions["dvc"] != DVC_VERSION:
            say(f"warning: dvc is {versions['dvc']}, the reference figures use {DVC_VERSION}")
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
        "scale": args.scale,
        "seed": args.seed,
        "repeat": args.repeat,
        "status_runs": args.status_runs,
        "settle_s": args.settle,
        "settle_deletion_s": args.settle_deletion,
        "ours_config": args.ours_config,
        "settle_min_files": args.settle_min_files,
        "datasets": {name: {"files": i["files"], "bytes": i["bytes"]} for name, i in infos.items()},
    }


if __name__ == "__main__":
    sys.exit(main())
