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
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gen_datasets
from common import (
    DEFAULT_WORK_DIR,
    DVC_VENV,
    DVC_VERSION,
    CommandFailed,
    Settler,
    Trash,
    add_settle_args,
    command_output,
    compare_trees,
    count_symlinks,
    display,
    ensure_dvc,
    markdown_table,
    resolve_ours,
    run_checked,
    say,
    time_command,
    tool_env,
    tree_digest,
    tree_listing,
    verdict,
)

TOOLS = ("ours", "dvc")
OPERATIONS = ("add", "status", "checkout")
FLAT_RSS_TOLERANCE_MIB = 16.0
TINY_RSS_LIMIT_MIB = 150.0
TINY_STATUS_LIMIT_S = 0.6


@dataclass
class Measurement:
    """One timed command."""

    dataset: str
    tool: str
    op: str
    rep: int
    ok: bool
    wall_s: float | None  # GNU time %e
    rss_mib: float | None  # GNU time %M, largest single process
    precise_s: float  # perf_counter around /usr/bin/time, for finer reading
    exit_code: int | None
    error: str | None = None


@dataclass
class Repo:
    """One fresh repository holding one tool's copy of one dataset."""

    dataset: str
    tool: str
    rep: int
    path: Path
    failed: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    """Everything the phases share."""

    work: Path
    data_dir: Path
    runs: Path
    commands: dict[str, dict[str, list[str]]]
    envs: dict[str, dict[str, str]]
    settler: Settler
    ours_config: list[str]
    trash: Trash
    repeat: int
    status_runs: int
    min_files: int
    timeout: float
    measurements: list[Measurement] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    verifications: list[dict[str, object]] = field(default_factory=list)
    log_counter: int = 0


def main(argv: Sequence[str] | None = None) -> int:  # noqa: C901 - the run, step by step
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

    print()
    if args.scale != 1.0:
        print(f"Scaled run (--scale {args.scale}): the targets are meant for scale 1.\n")
    print(table)
    if ctx.failures:
        print("\nFailures:")
        for failure in ctx.failures:
            print(f"- {failure}")
    print(f"\nJSON: {work / 'results.json'}")
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
    parser.add_argument(
        "--ours",
        type=Path,
        default=Path(sys.executable).parent / "git-artifacts",
        help="git-artifacts executable (default: next to the running python)",
    )
    parser.add_argument(
        "--ours-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="git config for our repositories, e.g. artifacts.directWrites=true; repeatable",
    )
    parser.add_argument(
        "--dvc", type=Path, help=f"dvc executable (default: {DVC_VENV.name}/bin/dvc, created)"
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


def live(repos: Iterable[Repo]) -> list[Repo]:
    return [r for r in repos if r.failed is None]


def fail(ctx: Context, repo: Repo, message: str) -> None:
    repo.failed = message
    text = f"{repo.dataset} / {repo.tool} r{repo.rep}: {message}"
    ctx.failures.append(text)
    say(f"FAILED {text}")


def note(repo: Repo, message: str) -> None:
    repo.notes.append(message)
    say(f"[{repo.dataset}] {repo.tool} r{repo.rep}: note: {message}")


# --- running commands ---------------------------------------------------------------------------


def timed_step(ctx: Context, repo: Repo, op: str) -> None:
    cmd = ctx.commands[repo.tool][op]
    measurement = run_timed(ctx, repo, op, cmd)
    ctx.measurements.append(measurement)
    if measurement.ok:
        say(
            f"[{repo.dataset}] {repo.tool} r{repo.rep} {op}: {measurement.wall_s:.2f} s, "
            f"{measurement.rss_mib:.0f} MiB"
        )
    else:
        fail(ctx, repo, f"`{display(cmd)}` ({op}) {measurement.error}")


def run_timed(ctx: Context, repo: Repo, op: str, cmd: list[str]) -> Measurement:
    """Run `cmd` under GNU time after a sync; report wall seconds and peak RSS."""
    out, err = log_paths(ctx, repo, op)
    timing = time_command(cmd, repo.path, ctx.envs[repo.tool], out, err, ctx.timeout)
    return Measurement(
        dataset=repo.dataset,
        tool=repo.tool,
        op=op,
        rep=repo.rep,
        ok=timing.ok,
        wall_s=timing.wall_s,
        rss_mib=timing.rss_mib,
        precise_s=timing.precise_s,
        exit_code=timing.exit_code,
        error=timing.error,
    )


def run_untimed(ctx: Context, repo: Repo, cmd: list[str]) -> None:
    out, err = log_paths(ctx, repo, Path(cmd[0]).name + "-" + (cmd[1] if len(cmd) > 1 else ""))
    run_checked(cmd, repo.path, ctx.envs[repo.tool], out, err, ctx.timeout)


def log_paths(ctx: Context, repo: Repo, label: str) -> tuple[Path, Path]:
    logs = repo.path.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ctx.log_counter += 1
    stem = f"{ctx.log_counter:04d}-{repo.tool}-r{repo.rep}-{label}"
    return logs / f"{stem}.out", logs / f"{stem}.err"


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


# --- summary ----------------------------------------------------------------------------------


def summarize(ctx: Context, datasets: list[str], tools: list[str]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for dataset in datasets:
        for op in OPERATIONS:
            rows.append(op_row(ctx, dataset, op, "dvc" in tools))
        if dataset == "big":
            rows.append(op_row(ctx, "big64", "add", "dvc" in tools))
            rows.append(flatness_row(ctx))
    return rows


def op_row(ctx: Context, dataset: str, op: str, with_dvc: bool) -> dict[str, object]:
    ours_s, ours_rss, ours_err = aggregate(ctx, dataset, "ours", op)
    dvc_s, dvc_rss, dvc_err = aggregate(ctx, dataset, "dvc", op) if with_dvc else (None,) * 3
    ratio = dvc_s / ours_s if dvc_s is not None and ours_s else None
    if ratio is None and ours_s == 0 and dvc_s is not None:
        # Below GNU time's 10 ms resolution: fall back to the finer perf_counter figures.
        ratio = median_precise(ctx, dataset, "dvc", op) / median_precise(ctx, dataset, "ours", op)
    checks: list[tuple[str, bool | None]] = []
    if dataset != "big64":
        if op == "add" or (dataset == "tiny" and op == "checkout"):
            checks.append(("ratio >= 3", None if ratio is None else ratio >= 3))
        if dataset == "tiny" and op == "status":
            checks.append(("ratio >= 8", None if ratio is None else ratio >= 8))
            limit = f"ours < {TINY_STATUS_LIMIT_S} s"
            checks.append((limit, None if ours_s is None else ours_s < TINY_STATUS_LIMIT_S))
        if dataset == "tiny":
            limit = f"ours RSS <= {TINY_RSS_LIMIT_MIB:.0f} MiB"
            checks.append((limit, None if ours_rss is None else ours_rss <= TINY_RSS_LIMIT_MIB))
    if op == "checkout":
        ours_err = ours_err or verification_error(ctx, dataset, "ours")
        if with_dvc:
            dvc_err = dvc_err or verification_error(ctx, dataset, "dvc")
    return {
        "dataset": dataset,
        "operation": op if op != "status" else "status (no-op)",
        "ours_s": ours_s,
        "dvc_s": dvc_s,
        "ratio": ratio,
        "ours_rss_mib": ours_rss,
        "dvc_rss_mib": dvc_rss,
        "target": "; ".join(text for text, _ in checks) or "-",
        "met": verdict([ok for _, ok in checks], ours_err),
        "ours_error": ours_err,
        "dvc_error": dvc_err,
    }


def flatness_row(ctx: Context) -> dict[str, object]:
    _, small_rss, _ = aggregate(ctx, "big64", "ours", "add")
    _, big_rss, err = aggregate(ctx, "big", "ours", "add")
    _, dvc_small, _ = aggregate(ctx, "big64", "dvc", "add")
    _, dvc_big, _ = aggregate(ctx, "big", "dvc", "add")
    ok = (
        None
        if small_rss is None or big_rss is None
        else (big_rss - small_rss <= FLAT_RSS_TOLERANCE_MIB)
    )
    return {
        "dataset": "big",
        "operation": "add peak RSS, big64 -> big",
        "ours_s": None,
        "dvc_s": None,
        "ratio": None,
        "ours_rss_mib": [small_rss, big_rss],
        "dvc_rss_mib": [dvc_small, dvc_big],
        "target": f"ours flat (+<= {FLAT_RSS_TOLERANCE_MIB:.0f} MiB)",
        "met": verdict([ok], err),
        "ours_error": err,
        "dvc_error": None,
    }


def aggregate(
    ctx: Context, dataset: str, tool: str, op: str
) -> tuple[float | None, float | None, str | None]:
    """Median wall seconds and max peak RSS of the successful runs, or the first error."""
    runs = [m for m in ctx.measurements if (m.dataset, m.tool, m.op) == (dataset, tool, op)]
    good = [m for m in runs if m.ok and m.wall_s is not None]
    errors = [m.error for m in runs if not m.ok]
    if errors or not good:
        return None, None, errors[0] if errors else "not run (an earlier step failed)"
    wall = statistics.median(m.wall_s for m in good if m.wall_s is not None)
    rss = max(m.rss_mib for m in good if m.rss_mib is not None)
    return wall, rss, None


def median_precise(ctx: Context, dataset: str, tool: str, op: str) -> float:
    runs = [m for m in ctx.measurements if (m.dataset, m.tool, m.op) == (dataset, tool, op)]
    return statistics.median(m.precise_s for m in runs if m.ok)


def verification_error(ctx: Context, dataset: str, tool: str) -> str | None:
    for record in ctx.verifications:
        if (record["dataset"], record["tool"]) == (dataset, tool) and not record["ok"]:
            return "checkout not byte-identical"
    return None


if __name__ == "__main__":
    sys.exit(main())
