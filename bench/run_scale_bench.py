"""Issue 23's benchmark: many tiny files against DVC, and a million files for us alone.

Sections (the tiny-shaped dataset of gen_datasets: 100-1,000 bytes a file, 100 files a folder):
  tiny      100,000 files, ours and DVC. `add` in a fresh repository, push to an empty folder
            remote and fresh-clone pull from it, then the same push and pull on a loopback S3
            server (SeaweedFS). Targets: DVC/ours >= 15 for add, >= 20 for S3 push and pull.
  million   (--million) 1,000,000 files (gen_datasets scale 10), ours alone (DVC too with
            --with-dvc, each DVC command capped at 30 minutes): add, no-op status, push and
            fresh-clone pull on the folder remote, checkout into an emptied work tree, push and
            fresh-clone pull on S3. Targets: every command < 60 s and peak RSS <= 150 MiB.

A round sets up fresh repositories for each tool (git init, init, remote, copy of the data,
add, commit, git push to a bare origin.git; the add is timed in the folder section only) and
times each step under GNU time after a `sync`; the tool that goes first alternates from round to
round. Each figure is the median over --rounds rounds (3 for tiny, 1 for the million), and each
round's DVC/ours ratio is shown too. The set-up, rounds, settling pauses and trash are those of
run_remote_bench.py, whose functions this script calls.

Physical floors, timed the same way in every round and shown in columns beside ours: a scandir +
stat walk of the dataset, reading every file, `cp -r` of the dataset once and twice (a pull writes
a cache and a work tree), one PUT and one GET of an object of the dataset's total size to the same
S3 server (floors.py). Nothing is deleted while timing (see bench/README.md).

Results: a markdown table on stdout and JSON in <work-dir>/scale_results-<section>.json. Exit
status 1 if a command of ours failed or a restored tree was not byte-identical.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

import gen_datasets
import loopback_s3
import scale_table
from common import (
    DEFAULT_WORK_DIR,
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
from remote_case import Case, Context, bench_env, fail, live, start_server, timed_step
from remote_setup import clone_and_pull_all, push_all, setup_case, verify_pull
from run_remote_bench import default_data_dir

REMOTES = ("local", "s3")
MILLION_SCALE = 10.0  # tiny at scale 10: 1,000,000 files in 10,000 folders
STATUS_RUNS = 3
BLOB_CHUNK = 8 * 1024 * 1024
BLOCK = 4096  # a tiny file takes one block on disk


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    section = "million" if args.million else "tiny"
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    scale = args.scale * (MILLION_SCALE if args.million else 1.0)
    data_dir = (args.data_dir or default_data_dir(work, scale)).resolve()
    with_dvc = args.with_dvc if args.million else not args.skip_dvc
    tools = ["ours", "dvc"] if with_dvc else ["ours"]
    ctx = make_context(args, work, section, data_dir, tools)

    # Generate before anything is deleted (see the settling note in bench/README.md).
    say(f"[{section}] data: generating or reusing {data_dir / 'tiny'}")
    info = gen_datasets.ensure_dataset(data_dir, "tiny", scale, args.seed)
    ctx.files[section] = int(str(info["files"]))
    warn_if_short_of_space(ctx, section, "dvc" in tools)
    if ctx.runs.exists():
        ctx.trash.put(ctx.runs)
    ctx.trash.empty()
    ctx.runs.mkdir(parents=True)

    meta = environment_info(ctx, args, section, tools, info)
    for index, remote in enumerate(REMOTES):
        with ExitStack() as stack:
            if remote == "s3":
                start_server(ctx, stack, args.s3_server, [*tools, "floor"], meta)
            if not args.keep:
                ctx.trash.empty()
            for round_ in range(ctx.rounds):
                bench_round(ctx, section, tools, remote, index + round_, round_)
                time_floors(ctx, section, remote, round_, int(str(info["bytes"])))
            if not args.keep:
                ctx.trash.put(ctx.runs / section / remote)
    if not args.keep:
        ctx.trash.put(ctx.runs)
        ctx.trash.empty(settle=False)
    return report(ctx, args, section, with_dvc, meta)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--million", action="store_true", help="the million-file section (ours alone)"
    )
    parser.add_argument(
        "--with-dvc",
        action="store_true",
        help="with --million: DVC too, each command capped at --dvc-cap",
    )
    parser.add_argument(
        "--dvc-cap",
        type=float,
        default=1800.0,
        help="with --with-dvc: seconds a DVC command may take (default: 30 minutes)",
    )
    parser.add_argument("--skip-dvc", action="store_true", help="tiny: ours alone")
    parser.add_argument("--scale", type=float, default=1.0, help="shrinks the file count")
    parser.add_argument("--seed", type=int, default=gen_datasets.DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, help="rounds (default: 3, with --million 1)")
    parser.add_argument("--keep", action="store_true", help="keep repositories, remotes and logs")
    add_tool_args(parser)
    parser.add_argument(
        "--s3-server", choices=loopback_s3.SERVERS, default="seaweedfs", help="loopback S3 server"
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="scratch folder")
    parser.add_argument(
        "--data-dir", type=Path, help="datasets (default: WORK/data, WORK/data-scale-F scaled)"
    )
    add_settle_args(parser, "adds, pushes, pulls and checkouts")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per command, seconds")
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.with_dvc and not args.million:
        parser.error("--with-dvc goes with --million (tiny always runs DVC unless --skip-dvc)")
    return args


def make_context(
    args: argparse.Namespace, work: Path, section: str, data_dir: Path, tools: list[str]
) -> Context:
    runs = work / "scale-runs"
    ours = resolve_ours(args.ours)
    if not ours.exists():
        raise SystemExit(f"error: {ours} not found (pass --ours PATH)")
    exes = {"ours": ours}
    envs = {"ours": bench_env(work, runs, ours.parent), "floor": bench_env(work, runs, None)}
    if "dvc" in tools:
        exes["dvc"] = args.dvc.resolve() if args.dvc else ensure_dvc(s3=True)
        envs["dvc"] = bench_env(work, runs, None)
    settler = Settler(args.settle, work / ".settle-until", args.settle_deletion)
    ctx = Context(
        work=work,
        sources={section: data_dir / "tiny"},
        files={},
        runs=runs,
        exes=exes,
        envs=envs,
        settler=settler,
        trash=Trash(work / "scale-trash", settler, args.settle_min_files),
        noop_runs=0,
        rounds=args.rounds or (1 if args.million else 3),
        min_files=args.settle_min_files,
        timeout=args.timeout,
        ours_local="folder",  # a folder remote for both tools, as the issue asks
    )
    if args.million:
        ctx.timeouts["dvc"] = args.dvc_cap
    return ctx


# --- one round -----------------------------------------------------------------------------------


def bench_round(
    ctx: Context, section: str, tools: list[str], remote: str, index: int, round_: int
) -> None:
    """Fresh repositories for each tool, then the timed steps of `section` on `remote`."""
    order = tools if index % 2 == 0 else tools[::-1]
    local = remote == "local"
    cases = [setup_case(ctx, section, remote, tool, round_, timed_add=local) for tool in order]
    if ctx.many(section):
        ctx.settler.mark()  # the adds may have deleted temporary files
    if local and section == "million":
        for run in range(STATUS_RUNS):
            for case in live(cases):
                cmd = [str(ctx.exes[case.tool]), "status"]
                timed_step(ctx, case, "status", cmd, case.repo, run)
    push_all(ctx, cases)
    clone_and_pull_all(ctx, cases)
    if local and section == "million":
        checkout_all(ctx, cases)


def checkout_all(ctx: Context, cases: list[Case]) -> None:
    """Move each work tree's data away (to the trash), time the tool's checkout, compare."""
    for case in live(cases):
        ctx.trash.put(case.repo / "data")
        with ctx.settler.around(ctx.many(case.dataset)):
            timed_step(ctx, case, "checkout", [str(ctx.exes[case.tool]), "checkout"], case.repo)
        if case.failed is None:
            data = case.repo / "data"
            verify_pull(ctx, case, ctx.expected_tree(case.dataset), data, "checkout")


def time_floors(ctx: Context, section: str, remote: str, round_: int, size: int) -> None:
    """The physical floors of this remote's steps, timed like the tools (shown, not judged)."""
    base = ctx.runs / section / remote / f"round{round_ + 1}" / "floor"
    base.mkdir(parents=True, exist_ok=True)
    floor = Case(section, remote, "floor", base, round_)
    source = str(ctx.sources[section])
    helper = [sys.executable, str(Path(__file__).with_name("floors.py"))]
    if remote == "local":
        steps = {
            "walk": [*helper, "walk", source],
            "read": [*helper, "read", source],
            "cp1": ["cp", "-r", source, str(base / "copy1")],
            "cp-again": ["cp", "-r", str(base / "copy1"), str(base / "copy2")],
        }
    else:
        server = ctx.server
        assert server is not None
        bucket = f"bench-floor-{section}-r{round_ + 1}"
        try:
            server.create_bucket(bucket)
        except Exception as exc:  # botocore's errors: the floor is missing, the run goes on
            fail(ctx, floor, f"creating bucket {bucket}: {exc!r}")
            return
        blob = base / "blob"
        write_blob(blob, size)
        endpoint = server.endpoint
        steps = {
            "put": [*helper, "s3-put", endpoint, bucket, "blob", str(blob)],
            "get": [*helper, "s3-get", endpoint, bucket, "blob"],
        }
    for op, cmd in steps.items():
        if op.startswith("cp") and ctx.many(section):
            ctx.settler.wait()  # a copy creates many files: not within a tool's deletions
        timed_step(ctx, floor, op, cmd, base)


def warn_if_short_of_space(ctx: Context, section: str, with_dvc: bool) -> None:
    """Nothing is deleted within a section, so its copies of the data pile up: say so early."""
    # Floors 2, ours 3 (the work tree, the one a checkout writes, the clone's), DVC's caches
    # too; a quarter more for folders, caches and remotes. A million files on tmpfs took
    # more than 24 GB, where counting ours as 2 copies said 16 GB.
    copies = ctx.rounds * (2 + 3 + (5 if with_dvc else 0))
    need = ctx.files[section] * BLOCK * copies * 5 // 4
    free = shutil.disk_usage(ctx.work).free
    if need > free:
        say(
            f"warning: this run may need about {need / 1e9:.0f} GB in {ctx.work}, "
            f"{free / 1e9:.0f} GB are free (--work-dir on a larger disk, or fewer --rounds)"
        )


def write_blob(path: Path, size: int) -> None:
    """Random bytes, the dataset's total size, as one file (the object of the S3 floors)."""
    with path.open("wb") as out:
        left = size
        while left > 0:
            n = min(BLOB_CHUNK, left)
            out.write(os.urandom(n))
            left -= n


# --- report --------------------------------------------------------------------------------------


def report(
    ctx: Context, args: argparse.Namespace, section: str, with_dvc: bool, meta: dict[str, object]
) -> int:
    """Print the table, write the JSON; 1 when a command failed (but DVC's cap) or a tree
    differed."""
    rows = scale_table.summarize(ctx, section, with_dvc)
    out = ctx.work / f"scale_results-{section}.json"
    results = {
        "meta": meta,
        "summary": rows,
        "measurements": [asdict(m) for m in ctx.measurements],
        "verifications": ctx.verifications,
        "remote_objects": ctx.remote_objects,
        "failures": ctx.failures,
    }
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    table = scale_table.markdown(rows, ctx.rounds > 1 and with_dvc, ctx.timeout_of("dvc"))
    print_report(table, ctx.failures, args.scale, out)
    # DVC past its cap on the million is a result ("> 30 min"), not a failure of the run.
    capped = [f for f in ctx.failures if " / dvc: " in f and "timed out after" in f]
    return 1 if len(ctx.failures) > len(capped) else 0


def environment_info(
    ctx: Context,
    args: argparse.Namespace,
    section: str,
    tools: list[str],
    info: dict[str, object],
) -> dict[str, object]:
    versions = {"git": command_output(["git", "--version"])}
    for tool in tools:
        versions[tool] = command_output([str(ctx.exes[tool]), "--version"])
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "versions": versions,
        "section": section,
        "scale": args.scale,
        "seed": args.seed,
        "rounds": ctx.rounds,
        "s3_server": args.s3_server,
        "dvc_cap_s": ctx.timeouts.get("dvc"),
        "settle_s": args.settle,
        "settle_deletion_s": args.settle_deletion,
        "settle_min_files": args.settle_min_files,
        "dataset": {"files": info["files"], "bytes": info["bytes"]},
    }


if __name__ == "__main__":
    sys.exit(main())
