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
remote the table also shows the copy floor, timed the same way: `cp -r` of the objects ours
pushed, once (what a push writes) and twice in a row (what a pull writes: cache and work tree).

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
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gen_datasets
import loopback_s3
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
    count_files,
    display,
    ensure_dvc,
    fmt,
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
SCRUBBED_ENV = (
    "GITARTIFACTS_CACHE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
)


@dataclass
class Measurement:
    """One timed command."""

    dataset: str
    remote: str
    tool: str
    op: str
    run: int  # the no-op push's repeat within a round; 0 for the others
    ok: bool
    wall_s: float | None  # GNU time %e
    rss_mib: float | None  # GNU time %M, largest single process
    precise_s: float  # perf_counter around /usr/bin/time, for finer reading
    exit_code: int | None
    error: str | None = None
    round: int = 0


@dataclass
class Case:
    """One tool's repositories for one dataset and one remote."""

    dataset: str
    remote: str
    tool: str
    base: Path
    round: int = 0
    remote_url: str = ""
    bucket: str | None = None
    failed: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def bare(self) -> Path:
        return self.base / "origin.git"

    @property
    def repo(self) -> Path:
        return self.base / "work"

    @property
    def clone(self) -> Path:
        return self.base / "clone"

    @property
    def label(self) -> str:
        return f"[{self.dataset}/{self.remote} round {self.round + 1}] {self.tool}"


@dataclass
class Context:
    """Everything the phases share."""

    work: Path
    data_dir: Path
    runs: Path
    exes: dict[str, Path]
    envs: dict[str, dict[str, str]]
    settler: Settler
    trash: Trash
    noop_runs: int
    rounds: int
    min_files: int
    timeout: float
    ours_local: str
    server: loopback_s3.S3Server | None = None
    measurements: list[Measurement] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    verifications: list[dict[str, object]] = field(default_factory=list)
    remote_objects: list[dict[str, object]] = field(default_factory=list)
    log_counter: int = 0
    expected: dict[str, dict[str, str]] = field(default_factory=dict)  # dataset -> tree listing


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
        data_dir=data_dir,
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
                    bench_dataset(
                        ctx, dataset, tools, remote, index + round_, infos[dataset], round_
                    )
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

    print()
    if args.scale != 1.0:
        print(f"Scaled run (--scale {args.scale}): the targets are meant for scale 1.\n")
    print(table)
    if ctx.failures:
        print("\nFailures:")
        for failure in ctx.failures:
            print(f"- {failure}")
    print(f"\nJSON: {out}")
    return 1 if ctx.failures else 0


def start_server(
    ctx: Context, stack: ExitStack, kind: str, tools: list[str], meta: dict[str, object]
) -> None:
    """Start the loopback S3 server for the S3 sections (stopped when `stack` closes)."""
    say(f"starting the loopback S3 server ({kind})")
    try:
        ctx.server = stack.enter_context(loopback_s3.serve(kind, ctx.runs / "s3-server"))
    except (RuntimeError, OSError) as exc:
        raise SystemExit(f"error: could not start the S3 server: {exc}") from exc
    stack.callback(setattr, ctx, "server", None)
    for tool in tools:
        ctx.envs[tool].update(ctx.server.client_env())
    say(f"S3 server {ctx.server.version} at {ctx.server.endpoint}")
    versions = meta["versions"]
    assert isinstance(versions, dict)
    versions["s3_server"] = ctx.server.version
    meta["s3_endpoint"] = ctx.server.endpoint


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
    parser.add_argument(
        "--ours",
        type=Path,
        default=Path(sys.executable).parent / "git-artifacts",
        help="git-artifacts executable (default: next to the running python)",
    )
    parser.add_argument(
        "--dvc",
        type=Path,
        help=f"dvc executable (default: {DVC_VENV.name}/bin/dvc, created with dvc-s3 if missing)",
    )
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


def bench_env(work: Path, runs: Path, bin_dir: Path | None) -> dict[str, str]:
    env = tool_env(work, bin_dir)
    for name in SCRUBBED_ENV:
        env.pop(name, None)
    env["DVC_SITE_CACHE_DIR"] = str(runs / "dvc-site-cache")
    return env


# --- one dataset ------------------------------------------------------------------------------


def bench_dataset(
    ctx: Context,
    dataset: str,
    tools: list[str],
    remote: str,
    index: int,
    info: dict[str, object],
    round_: int,
) -> None:
    """One round of one dataset on one remote: set-up, then every timed step for each tool."""
    source = ctx.data_dir / dataset
    many = int(str(info["files"])) >= ctx.min_files
    if dataset not in ctx.expected:
        say(f"[{dataset}] hashing the source tree for verification")
        ctx.expected[dataset] = tree_listing(source)
    expected = ctx.expected[dataset]

    # Alternate who goes first, so neither tool always runs right after a set-up.
    order = tools if index % 2 == 0 else tools[::-1]
    cases = [setup_case(ctx, dataset, remote, tool, source, round_) for tool in order]
    if many:
        ctx.settler.mark()  # the adds may have deleted temporary files

    for case in live(cases):
        with ctx.settler.around(many):
            timed_step(ctx, case, "push", [str(ctx.exes[case.tool]), "push"], case.repo)
        if case.failed is None:
            check_remote_filled(ctx, case)

    ours = next((c for c in live(cases) if c.tool == "ours"), None)
    if remote == "local" and ours is not None:
        copy_floor(ctx, ours, many)

    for run in range(ctx.noop_runs):
        for case in live(cases):
            cmd = [str(ctx.exes[case.tool]), "push"]
            timed_step(ctx, case, "noop-push", cmd, case.repo, run)

    for case in live(cases):
        with ctx.settler.around(many):
            clone = ["git", "clone", "-q", str(case.bare), case.clone.name]
            timed_step(ctx, case, "clone", clone, case.base)
            if case.failed is None:
                timed_step(ctx, case, "pull", [str(ctx.exes[case.tool]), "pull"], case.clone)
        if case.failed is None:
            verify_pull(ctx, case, expected)


def copy_floor(ctx: Context, ours: Case, many: bool) -> None:
    """Plain `cp -r` of the objects ours pushed, timed like the tools: once (what a push to a
    local folder must write) and twice in a row (a pull writes each object into the cache and
    the work tree). No tool can go below these on this disk; they are shown, not judged."""
    floor = Case(ours.dataset, ours.remote, "floor", ours.base, ours.round)
    src = ours.remote_url
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


def setup_case(
    ctx: Context, dataset: str, remote: str, tool: str, source: Path, round_: int
) -> Case:
    """Repositories with the data added, committed and pushed to origin.git (all untimed)."""
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
        run_untimed(ctx, case, ["cp", "-a", str(source), str(case.repo / "data")])
        if tool == "ours":
            run_untimed(ctx, case, [exe, "add", "data", "--name", "ds", "--type", "dataset"])
        else:
            run_untimed(ctx, case, [exe, "add", "data"])
        commit_all(ctx, case)
        run_untimed(ctx, case, ["git", "remote", "add", "origin", str(case.bare)])
        run_untimed(ctx, case, ["git", "push", "-q", "--no-verify", "origin", "HEAD"])
        check_remote_empty(ctx, case)
    except CommandFailed as exc:
        fail(ctx, case, f"set-up: {exc}")
    return case


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


def verify_pull(ctx: Context, case: Case, expected: dict[str, str]) -> None:
    data = case.clone / "data"
    actual = tree_listing(data) if data.is_dir() else {}
    diff = compare_trees(expected, actual)
    ok = not any(diff.values())
    ctx.verifications.append(
        {
            "dataset": case.dataset,
            "remote": case.remote,
            "tool": case.tool,
            "round": case.round,
            "ok": ok,
            "files": len(actual),
            "tree_sha256": tree_digest(actual),
            "expected_sha256": tree_digest(expected),
            **{name: len(paths) for name, paths in diff.items()},
        }
    )
    if ok:
        say(f"{case.label}: pull verified ({len(actual)} files, byte-identical)")
        return
    examples = ", ".join(path for paths in diff.values() for path in paths[:3])
    fail(
        ctx,
        case,
        f"pulled data is not byte-identical to the source: {len(diff['missing'])} missing, "
        f"{len(diff['extra'])} extra, {len(diff['changed'])} changed (e.g. {examples})",
    )


def live(cases: Iterable[Case]) -> list[Case]:
    return [c for c in cases if c.failed is None]


def fail(ctx: Context, case: Case, message: str) -> None:
    case.failed = message
    text = f"{case.dataset} / {case.remote} / {case.tool}: {message}"
    ctx.failures.append(text)
    say(f"FAILED {text}")


def note(case: Case, message: str) -> None:
    case.notes.append(message)
    say(f"{case.label}: note: {message}")


# --- running commands ---------------------------------------------------------------------------


def timed_step(ctx: Context, case: Case, op: str, cmd: list[str], cwd: Path, run: int = 0) -> None:
    out, err = log_paths(ctx, case, op)
    timing = time_command(cmd, cwd, ctx.envs[case.tool], out, err, ctx.timeout)
    ctx.measurements.append(
        Measurement(
            dataset=case.dataset,
            remote=case.remote,
            tool=case.tool,
            op=op,
            run=run,
            ok=timing.ok,
            wall_s=timing.wall_s,
            rss_mib=timing.rss_mib,
            precise_s=timing.precise_s,
            exit_code=timing.exit_code,
            error=timing.error,
            round=case.round,
        )
    )
    if timing.ok:
        say(f"{case.label} {op}: {timing.wall_s:.2f} s, {fmt(timing.rss_mib, 0)} MiB")
    else:
        fail(ctx, case, f"`{display(cmd)}` ({op}, in {cwd.name}) {timing.error}")


def run_untimed(ctx: Context, case: Case, cmd: list[str]) -> None:
    label = Path(cmd[0]).name + "-" + (cmd[1] if len(cmd) > 1 else "")
    out, err = log_paths(ctx, case, label)
    run_checked(cmd, case.repo, ctx.envs[case.tool], out, err, ctx.timeout)


def log_paths(ctx: Context, case: Case, label: str) -> tuple[Path, Path]:
    logs = case.base / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ctx.log_counter += 1
    stem = f"{ctx.log_counter:04d}-{label}"
    return logs / f"{stem}.out", logs / f"{stem}.err"


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
        "floor-push": "copy floor of a push: `cp -r` of the objects once",
        "floor-pull": "copy floor of a pull: `cp -r` twice in a row",
    }[op]
    floor = aggregate(ctx, dataset, "local", "floor", op)
    return table_row(dataset, "local", name, op, floor, Aggregate(), None, "-", "-")


def table_row(
    dataset: str,
    remote: str,
    name: str,
    op: str,
    ours: Aggregate,
    dvc: Aggregate,
    ratio: float | None,
    target: str,
    met: str,
) -> dict[str, object]:
    return {
        "dataset": dataset,
        "remote": remote,
        "operation": name,
        "op": op,
        "ours_s": ours.wall_s,
        "dvc_s": dvc.wall_s,
        "ratio": ratio,
        "ours_rss_mib": ours.rss_mib,
        "dvc_rss_mib": dvc.rss_mib,
        "target": target,
        "met": met,
        "ours_error": ours.error,
        "dvc_error": dvc.error,
    }


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


@dataclass
class Aggregate:
    """Median wall seconds and max peak RSS of one tool's runs of one operation."""

    wall_s: float | None = None
    rss_mib: float | None = None
    precise_s: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.wall_s is not None


def aggregate(ctx: Context, dataset: str, remote: str, tool: str, op: str) -> Aggregate:
    """One operation's figures over the rounds: the median of the rounds' times."""
    rounds = per_round(ctx, dataset, remote, tool, op)
    if isinstance(rounds, Aggregate):
        return rounds  # an error
    return median_of(list(rounds.values()))


def median_of(figures: Sequence[Measurement | Aggregate]) -> Aggregate:
    """The median time and the highest peak RSS of these figures."""
    rss = [f.rss_mib for f in figures if f.rss_mib is not None]
    return Aggregate(
        wall_s=statistics.median(f.wall_s for f in figures if f.wall_s is not None),
        rss_mib=max(rss) if rss else None,
        precise_s=statistics.median(f.precise_s for f in figures),
    )


def per_round(
    ctx: Context, dataset: str, remote: str, tool: str, op: str
) -> dict[int, Aggregate] | Aggregate:
    """Each round's figures for one operation (the median of its repeats), or an Aggregate
    holding the first error; `clone+pull` adds the clone and the pull of the same round."""
    if op == "clone+pull":
        clones = per_round(ctx, dataset, remote, tool, "clone")
        pulls = per_round(ctx, dataset, remote, tool, "pull")
        if isinstance(clones, Aggregate):
            return clones
        if isinstance(pulls, Aggregate):
            return pulls
        both = {}
        for r in sorted(clones.keys() & pulls.keys()):
            clone, pull = clones[r], pulls[r]
            assert clone.wall_s is not None and pull.wall_s is not None
            rss = [x for x in (clone.rss_mib, pull.rss_mib) if x is not None]
            both[r] = Aggregate(
                wall_s=clone.wall_s + pull.wall_s,
                rss_mib=max(rss) if rss else None,
                precise_s=clone.precise_s + pull.precise_s,
            )
        return both
    key = (dataset, remote, tool, op)
    runs = [m for m in ctx.measurements if (m.dataset, m.remote, m.tool, m.op) == key]
    good = [m for m in runs if m.ok and m.wall_s is not None]
    errors = [m.error for m in runs if not m.ok]
    if errors or not good:
        return Aggregate(error=errors[0] if errors else "not run (an earlier step failed)")
    rounds = sorted({m.round for m in good})
    return {r: median_of([m for m in good if m.round == r]) for r in rounds}


def speedup(ours: Aggregate, dvc: Aggregate) -> float | None:
    """DVC's time over ours; below GNU time's 10 ms resolution, the perf_counter figures."""
    if not (ours.ok and dvc.ok and ours.wall_s is not None and dvc.wall_s is not None):
        return None
    if ours.wall_s > 0:
        return dvc.wall_s / ours.wall_s
    if ours.precise_s:
        return dvc.precise_s / ours.precise_s
    return None


def round_ratios(ctx: Context, dataset: str, remote: str, op: str) -> list[float | None]:
    """The ratio of each round on its own, in round order."""
    ours = per_round(ctx, dataset, remote, "ours", op)
    dvc = per_round(ctx, dataset, remote, "dvc", op)
    if isinstance(ours, Aggregate) or isinstance(dvc, Aggregate):
        return []
    return [speedup(ours[r], dvc[r]) if r in dvc else None for r in sorted(ours)]


def verification_error(ctx: Context, dataset: str, remote: str, tool: str) -> str | None:
    for record in ctx.verifications:
        key = (record["dataset"], record["remote"], record["tool"])
        if key == (dataset, remote, tool) and not record["ok"]:
            return "pulled data not byte-identical"
    return None


if __name__ == "__main__":
    sys.exit(main())
