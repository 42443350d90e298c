"""Benchmark `git artifacts push`/`pull` against `dvc push`/`pull` on identical data.

For each dataset and remote, each tool gets its own bare git repository `origin.git` and a working
repository that holds its own copy of the data, added and committed (untimed):
  ours  git init; git artifacts init; [remote add]; git artifacts add data --name ds --type dataset
  dvc   git init; dvc init; dvc remote add -d ...; dvc add data
then `git commit` and `git push origin HEAD`. Then, all timed with GNU time after a `sync`:
  push        `git artifacts push` / `dvc push` to the empty remote
  no-op push  the same with nothing to do (--noop-runs times, median)
  clone       `git clone origin.git clone` (plain git, the same for both tools)
  pull        `git artifacts pull` / `dvc pull` in that fresh clone
All of it, set-up included, is done --rounds times in fresh folders (and buckets), the tool that
goes first alternating from round to round; the table shows each tool's median over the rounds,
the ratio of the medians, and each round's own ratio, so one noisy command cannot decide a row.
The pulled tree is compared with the source (sha256 over the tree, untimed). For the local
remote the table also shows the copy floor, timed the same way: `cp -r` of the dataset,
once (what a push writes) and twice in a row (what a pull writes: cache and work tree).

Remotes:
  local  a folder on the same disk. Ours: the zero-setup cache `origin.git/artifacts/objects`
         beside the bare repository (or, with --ours-local folder, an explicit
         `git artifacts remote add local FOLDER --default`); DVC: `dvc remote add -d local FOLDER`.
  s3     a loopback S3 server (SeaweedFS `weed mini` by default, or moto), one fresh bucket per
         tool and dataset; credentials only in the environment.

Sections run one remote at a time over every dataset: all local sections first, then the S3
server starts for the S3 sections, so no server process shares the machine with a local section.

Nothing is deleted while timing; emptying the trash between sections is followed by
--settle-deletion seconds, and on datasets with many files every timed push to the empty remote
and every clone + pull waits --settle seconds after the previous many-file command (creating many
files soon after deleting many is up to 20x slower on the reference VM; see bench/README.md).

Results: a markdown table on stdout and JSON in <work-dir>/remote_results.json. Exit status 1 if
any command failed or a pull was not byte-identical; missed targets are reported, not an error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

import gen_datasets
import loopback_s3
from common import (
    DEFAULT_WORK_DIR,
    DVC_VERSION,
    Settler,
    Trash,
    add_settle_args,
    add_tool_args,
    command_output,
    ensure_dvc,
    print_report,
    resolve_ours,
    say,
)
from remote_case import Case, Context, bench_env, live, start_server, timed_step
from remote_setup import clone_and_pull_all, push_all, setup_case
from remote_summary import (
    Aggregate,
    aggregate,
    round_ratios,
    speedup,
    table_row,
    verification_error,
)
from tables import markdown_table, verdict

TOOLS = ("ours", "dvc")
REMOTES = ("local", "s3")
DEFAULT_DATASETS = ("small", "tiny")
RSS_LIMIT_MIB = 150.0
TARGET_RATIOS = {
    # (remote, op) -> minimum dvc/ours wall-time ratio
    ("local", "push"): 3.0,
    ("local", "pull"): 3.0,
    ("local", "noop-push"): 20.0,
    ("s3", "push"): 2.0,
    ("s3", "pull"): 2.0,
    ("s3", "noop-push"): 20.0,
}
# Variables that could point our tool or the AWS clients somewhere other than the test remote.


def main(argv: Sequence[str] | None = None) -> int:  # noqa: C901 - the run, step by step
    args = parse_args(argv)
    work = args.work_dir.resolve()
    datasets = gen_datasets.parse_names(args.datasets)
    if "big64" in datasets:
        raise SystemExit("error: big64 is only a companion of big in run_bench.py")
    remotes = parse_remotes(args.remotes)
    tools = ["ours"] if args.skip_dvc else list(TOOLS)
    data_dir = (args.data_dir or default_data_dir(work, args.scale)).resolve()
    runs = work / "remote-runs"
    work.mkdir(parents=True, exist_ok=True)

    ours = resolve_ours(args.ours)
    if not ours.exists():
        raise SystemExit(f"error: {ours} not found (pass --ours PATH)")
    exes = {"ours": ours}
    envs = {"ours": bench_env(work, runs, ours.parent)}
    if "dvc" in tools:
        exes["dvc"] = args.dvc.resolve() if args.dvc else ensure_dvc(s3="s3" in remotes)
        envs["dvc"] = bench_env(work, runs, None)
    envs["floor"] = bench_env(work, runs, None)  # `cp -r`, the copy floor of local sections

    settler = Settler(args.settle, work / ".settle-until", args.settle_deletion)
    ctx = Context(
        work=work,
        sources={name: data_dir / name for name in datasets},
        files={},
        runs=runs,
        exes=exes,
        envs=envs,
        settler=settler,
        trash=Trash(work / "remote-trash", settler, args.settle_min_files),
        noop_runs=args.noop_runs,
        rounds=args.rounds,
        min_files=args.settle_min_files,
        timeout=args.timeout,
        ours_local=args.ours_local,
    )

    # Generate everything before anything is deleted (see the settling note in the docstring).
    infos: dict[str, dict[str, object]] = {}
    for name in datasets:
        say(f"[{name}] data: generating or reusing {data_dir / name}")
        infos[name] = gen_datasets.ensure_dataset(data_dir, name, args.scale, args.seed)
        ctx.files[name] = int(str(infos[name]["files"]))

    if ctx.runs.exists():
        ctx.trash.put(ctx.runs)
    ctx.trash.empty()
    ctx.runs.mkdir(parents=True)

    meta = environment_info(ctx, tools, remotes, args, infos)
    # One remote at a time, over every dataset: the local sections run before the S3 server
    # starts, so no server process shares the machine with them.
    for index, remote in enumerate(remotes):
        with ExitStack() as stack:
            if remote == "s3":
                start_server(ctx, stack, args.s3_server, tools, meta)
            for dataset in datasets:
                if not args.keep:
                    ctx.trash.empty()
                for round_ in range(ctx.rounds):
                    bench_dataset(ctx, dataset, tools, remote, index + round_, round_)
                if not args.keep:
                    ctx.trash.put(ctx.runs / dataset / remote)
    if not args.keep:
        ctx.trash.put(ctx.runs)
        ctx.trash.empty(settle=False)

    rows = summarize(ctx, datasets, remotes, "dvc" in tools)
    table = markdown_table(rows, ["dataset", "remote", "operation"], per_round=ctx.rounds > 1)
    results = {
        "meta": meta,
        "summary": rows,
        "measurements": [asdict(m) for m in ctx.measurements],
        "verifications": ctx.verifications,
        "remote_objects": ctx.remote_objects,
        "failures": ctx.failures,
    }
    out = work / "remote_results.json"
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")

    print_report(table, ctx.failures, args.scale, out)
    return 1 if ctx.failures else 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DEFAULT_DATASETS))
    parser.add_argument("--remotes", default=",".join(REMOTES), help="local, s3 or both")
    parser.add_argument("--scale", type=float, default=1.0, help="passed to the generator")
    parser.add_argument("--seed", type=int, default=gen_datasets.DEFAULT_SEED)
    parser.add_argument("--noop-runs", type=int, default=3, help="no-op pushes per repository")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="times the whole comparison is run in fresh folders; the table shows medians",
    )
    parser.add_argument("--skip-dvc", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep repositories, remotes and logs")
    add_tool_args(parser)
    parser.add_argument(
        "--ours-local",
        choices=("origin", "folder"),
        default="origin",
        help="local remote for ours: the zero-setup cache beside origin.git (default) or an "
        "explicit `git artifacts remote add local FOLDER --default`",
    )
    parser.add_argument(
        "--s3-server",
        choices=loopback_s3.SERVERS,
        default="seaweedfs",
        help="loopback S3 server (default: seaweedfs)",
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="scratch folder")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="generated datasets (default: WORK/data at scale 1, WORK/data-scale-F otherwise)",
    )
    add_settle_args(parser, "pushes and pulls")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per command, seconds")
    args = parser.parse_args(argv)
    if args.noop_runs < 1:
        parser.error("--noop-runs must be at least 1")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def parse_remotes(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in REMOTES]
    if unknown or not names:
        raise SystemExit(f"error: --remotes takes a comma-separated subset of {','.join(REMOTES)}")
    return [r for r in REMOTES if r in names]


def default_data_dir(work: Path, scale: float) -> Path:
    """Scaled trial data lives apart, so a trial never regenerates the full-size datasets."""
    return work / "data" if scale == 1.0 else work / f"data-scale-{scale:g}"


# --- one dataset ------------------------------------------------------------------------------


def bench_dataset(
    ctx: Context, dataset: str, tools: list[str], remote: str, index: int, round_: int
) -> None:
    """One round of one dataset on one remote: set-up, then every timed step for each tool."""
    # Alternate who goes first, so neither tool always runs right after a set-up.
    order = tools if index % 2 == 0 else tools[::-1]
    cases = [setup_case(ctx, dataset, remote, tool, round_) for tool in order]
    if ctx.many(dataset):
        ctx.settler.mark()  # the adds may have deleted temporary files

    push_all(ctx, cases)
    ours = next((c for c in live(cases) if c.tool == "ours"), None)
    if remote == "local" and ours is not None:
        copy_floor(ctx, ours, ctx.many(dataset))

    for run in range(ctx.noop_runs):
        for case in live(cases):
            cmd = [str(ctx.exes[case.tool]), "push"]
            timed_step(ctx, case, "noop-push", cmd, case.repo, run)
    clone_and_pull_all(ctx, cases)


def copy_floor(ctx: Context, ours: Case, many: bool) -> None:
    """Plain `cp -r` of the dataset, timed like the tools: once (what a push to a local folder
    must write) and twice in a row (a pull writes each file into the cache and the work tree).
    The dataset, not the objects ours pushed: those are a few packs. Shown, not judged."""
    floor = Case(ours.dataset, ours.remote, "floor", ours.base, ours.round)
    src = str(ctx.sources[ours.dataset])
    steps = {
        "floor-push": ["cp", "-r", src, str(ours.base / "floor-once")],
        "floor-pull": [
            "sh",
            "-c",
            'cp -r "$1" "$2" && cp -r "$2" "$3"',
            "floor",
            src,
            str(ours.base / "floor-twice-1"),
            str(ours.base / "floor-twice-2"),
        ],
    }
    for op, cmd in steps.items():
        with ctx.settler.around(many):
            timed_step(ctx, floor, op, cmd, ours.base)


def environment_info(
    ctx: Context,
    tools: list[str],
    remotes: list[str],
    args: argparse.Namespace,
    infos: dict[str, dict[str, object]],
) -> dict[str, object]:
    versions = {"git": command_output(["git", "--version"])}
    versions["ours"] = command_output([str(ctx.exes["ours"]), "--version"])
    if "dvc" in tools:
        versions["dvc"] = command_output([str(ctx.exes["dvc"]), "--version"])
        if versions["dvc"] != DVC_VERSION:
            say(f"warning: dvc is {versions['dvc']}, the reference figures use {DVC_VERSION}")
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
        "remotes": remotes,
        "ours_local": args.ours_local,
        "s3_server": args.s3_server if "s3" in remotes else None,
        "s3_endpoint": None,  # set when the server starts
        "scale": args.scale,
        "seed": args.seed,
        "noop_runs": args.noop_runs,
        "settle_s": args.settle,
        "settle_deletion_s": args.settle_deletion,
        "settle_min_files": args.settle_min_files,
        "datasets": {name: {"files": i["files"], "bytes": i["bytes"]} for name, i in infos.items()},
    }


# --- summary ----------------------------------------------------------------------------------


def summarize(
    ctx: Context, datasets: list[str], remotes: list[str], with_dvc: bool
) -> list[dict[str, object]]:
    rows = []
    for dataset in datasets:
        for remote in remotes:
            for op in ("push", "noop-push", "pull", "clone+pull"):
                rows.append(op_row(ctx, dataset, remote, op, with_dvc))
            if remote == "local":
                rows += [floor_row(ctx, dataset, op) for op in ("floor-push", "floor-pull")]
    return rows


def floor_row(ctx: Context, dataset: str, op: str) -> dict[str, object]:
    name = {
        "floor-push": "copy floor of a push: `cp -r` of the dataset once",
        "floor-pull": "copy floor of a pull: `cp -r` twice in a row",
    }[op]
    floor = aggregate(ctx, dataset, "local", "floor", op)
    return table_row(dataset, "local", name, op, floor, Aggregate(), None, "-", "-")


def op_row(ctx: Context, dataset: str, remote: str, op: str, with_dvc: bool) -> dict[str, object]:
    ours = aggregate(ctx, dataset, remote, "ours", op)
    dvc = aggregate(ctx, dataset, remote, "dvc", op) if with_dvc else Aggregate()
    if op in ("pull", "clone+pull"):
        ours.error = ours.error or verification_error(ctx, dataset, remote, "ours")
        if with_dvc:
            dvc.error = dvc.error or verification_error(ctx, dataset, remote, "dvc")
    ratio = speedup(ours, dvc)

    checks: list[tuple[str, bool | None]] = []
    minimum = TARGET_RATIOS.get((remote, op))
    if minimum is not None:
        checks.append((f"ratio >= {minimum:g}", None if ratio is None else ratio >= minimum))
        rss = ours.rss_mib
        checks.append(
            (f"ours RSS <= {RSS_LIMIT_MIB:.0f} MiB", None if rss is None else rss <= RSS_LIMIT_MIB)
        )
    each_round = " a round" if ctx.rounds > 1 else ""
    names = {
        "push": "push (empty remote)",
        "noop-push": f"push (no-op, median of {ctx.noop_runs}{each_round})",
        "pull": "pull (fresh clone)",
        "clone+pull": "git clone + pull",
    }
    target = "; ".join(text for text, _ in checks) or "-"
    met = verdict([ok for _, ok in checks], ours.error)
    row = table_row(dataset, remote, names[op], op, ours, dvc, ratio, target, met)
    if with_dvc:
        row["round_ratios"] = round_ratios(ctx, dataset, remote, op)
    return row


if __name__ == "__main__":
    sys.exit(main())
