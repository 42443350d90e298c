"""Benchmark `git artifacts` against DVC on identical copies of the generated datasets.

For each dataset, every tool gets its own fresh `git init` repository with its own copy of the
data, and then (all timed with GNU time, `sync` before each command):
  add       `git artifacts add data --name ds --type dataset` / `dvc add data`
  status    no-op status on the unchanged workspace (3 runs per repository)
  checkout  after the workspace copy was moved away, restore it from the local cache
The checked-out tree is then compared with the source (sha256 over the tree, untimed).

Environment caveat of the reference VM: creating many files within about 60 s of deleting many
files is up to 20x slower. So nothing is deleted while timing: old trees are moved to a trash
folder, which is emptied only between datasets, and every timed add or checkout on a dataset with
many files waits until --settle seconds have passed since the last mass deletion or since the
previous many-file add or checkout (a tool may delete temporary files of its own).

Results: a markdown table on stdout and JSON in <work-dir>/results.json. Exit status 1 if any
command failed, 0 otherwise (missed targets are reported, not an error).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gen_datasets

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_WORK_DIR = BENCH_DIR / ".work"
DVC_VENV = BENCH_DIR / ".venv-dvc"
DVC_VERSION = "3.67.1"
GNU_TIME = "/usr/bin/time"
TOOLS = ("ours", "dvc")
OPERATIONS = ("add", "status", "checkout")
FLAT_RSS_TOLERANCE_MIB = 16.0
TINY_RSS_LIMIT_MIB = 150.0
TINY_STATUS_LIMIT_S = 0.6
TAIL_LINES = 25


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
    trash: Trash
    repeat: int
    status_runs: int
    min_files: int
    timeout: float
    measurements: list[Measurement] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    verifications: list[dict[str, object]] = field(default_factory=list)
    log_counter: int = 0


class CommandFailed(Exception):
    """An untimed set-up command failed; the message carries its stderr."""


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

    settler = Settler(args.settle, work / ".last-mass-delete")
    ctx = Context(
        work=work,
        data_dir=data_dir,
        runs=work / "runs",
        commands=commands,
        envs=envs,
        settler=settler,
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
    table = markdown_table(rows)
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
        "--dvc", type=Path, help=f"dvc executable (default: {DVC_VENV.name}/bin/dvc, created)"
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="scratch folder")
    parser.add_argument("--data-dir", type=Path, help="generated datasets (default: WORK/data)")
    parser.add_argument(
        "--settle", type=float, default=65.0, help="seconds to wait after mass deletions"
    )
    parser.add_argument(
        "--settle-min-files",
        type=int,
        default=5000,
        help="file count from which deletions and add/checkout count as 'many files'",
    )
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
        if many:
            ctx.settler.wait()
        timed_step(ctx, repo, "add")
        if many:
            ctx.settler.mark()
    for repo in live(repos):
        commit_all(ctx, repo)

    for _ in range(ctx.status_runs):
        for repo in live(repos):
            timed_step(ctx, repo, "status")

    for repo in live(repos):
        ctx.trash.put(repo.path / "data")
    for repo in live(repos):
        if many:
            ctx.settler.wait()
        timed_step(ctx, repo, "checkout")
        if many:
            ctx.settler.mark()
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
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(p for p in set(expected) & set(actual) if expected[p] != actual[p])
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
    with tempfile.NamedTemporaryFile("r", prefix="time-", suffix=".txt") as time_file:
        subprocess.run(["sync"], check=True)
        started = time.perf_counter()
        code, timed_out = run_process(
            [GNU_TIME, "-f", "%e %M", "-o", time_file.name, *cmd],
            repo.path,
            ctx.envs[repo.tool],
            out,
            err,
            ctx.timeout,
        )
        precise = time.perf_counter() - started
        wall, rss_kib = parse_gnu_time(Path(time_file.name).read_text())
    measurement = Measurement(
        dataset=repo.dataset,
        tool=repo.tool,
        op=op,
        rep=repo.rep,
        ok=code == 0 and not timed_out,
        wall_s=wall,
        rss_mib=None if rss_kib is None else rss_kib / 1024,
        precise_s=round(precise, 4),
        exit_code=code,
    )
    if timed_out:
        measurement.error = f"timed out after {ctx.timeout:.0f} s{output_tail(out, err)}"
    elif code != 0:
        measurement.error = f"exited with status {code}{output_tail(out, err)}"
    return measurement


def run_untimed(ctx: Context, repo: Repo, cmd: list[str]) -> None:
    out, err = log_paths(ctx, repo, Path(cmd[0]).name + "-" + (cmd[1] if len(cmd) > 1 else ""))
    try:
        code, timed_out = run_process(cmd, repo.path, ctx.envs[repo.tool], out, err, ctx.timeout)
    except OSError as exc:
        raise CommandFailed(f"`{display(cmd)}` could not start: {exc}") from exc
    if timed_out:
        raise CommandFailed(f"`{display(cmd)}` timed out{output_tail(out, err)}")
    if code != 0:
        raise CommandFailed(f"`{display(cmd)}` exited with status {code}{output_tail(out, err)}")


def run_process(
    cmd: list[str], cwd: Path, env: dict[str, str], out: Path, err: Path, timeout: float
) -> tuple[int, bool]:
    """Run with output to log files, in its own process group so a timeout kills it all."""
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout=timeout), False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait(), True


def parse_gnu_time(text: str) -> tuple[float | None, float | None]:
    """The '%e %M' line; GNU time puts 'Command exited with non-zero status' lines above it."""
    for line in reversed(text.strip().splitlines()):
        parts = line.split()
        if len(parts) == 2:
            try:
                return float(parts[0]), float(parts[1])
            except ValueError:
                continue
    return None, None


def log_paths(ctx: Context, repo: Repo, label: str) -> tuple[Path, Path]:
    logs = repo.path.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ctx.log_counter += 1
    stem = f"{ctx.log_counter:04d}-{repo.tool}-r{repo.rep}-{label}"
    return logs / f"{stem}.out", logs / f"{stem}.err"


def output_tail(out: Path, err: Path) -> str:
    """Last lines of stderr (or of stdout when stderr is empty), indented for the report."""
    for path in (err, out):
        lines = path.read_text(errors="replace").strip().splitlines()
        if lines:
            tail = "\n".join(f"    {line}" for line in lines[-TAIL_LINES:])
            return f"; {path.suffix[1:]}:\n{tail}"
    return " (no output)"


def display(cmd: list[str]) -> str:
    return " ".join([Path(cmd[0]).name, *cmd[1:]])


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


def tool_env(work: Path, bin_dir: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    identity = {"NAME": "bench", "EMAIL": "bench@example.invalid"}
    for role in ("AUTHOR", "COMMITTER"):
        for key, value in identity.items():
            env[f"GIT_{role}_{key}"] = value
    env["GIT_TERMINAL_PROMPT"] = "0"
    # Keep DVC's per-repo state, config and analytics inside the scratch folder.
    env["DVC_NO_ANALYTICS"] = "1"
    env["DVC_SITE_CACHE_DIR"] = str(work / "runs" / "dvc-site-cache")
    env["DVC_GLOBAL_CONFIG_DIR"] = str(work / "dvc-config" / "global")
    env["DVC_SYSTEM_CONFIG_DIR"] = str(work / "dvc-config" / "system")
    if bin_dir is not None:
        # Hooks installed by the tool call `git artifacts`, so it must be on PATH.
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def resolve_ours(path: Path) -> Path:
    """A bare name is looked up on PATH; a path is made absolute (commands run in the repos)."""
    if path.parent == Path("."):
        found = shutil.which(str(path))
        if found is not None:
            return Path(found)
    return path.absolute()


def ensure_dvc() -> Path:
    """bench/.venv-dvc/bin/dvc, creating the venv with the pinned DVC if it is missing."""
    dvc = DVC_VENV / "bin" / "dvc"
    if dvc.exists():
        return dvc
    say(f"creating {DVC_VENV} with dvc=={DVC_VERSION}")
    subprocess.run([sys.executable, "-m", "venv", str(DVC_VENV)], check=True)
    pip = [str(DVC_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, f"dvc=={DVC_VERSION}"], check=True)
    return dvc


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
        "settle_min_files": args.settle_min_files,
        "datasets": {name: {"files": i["files"], "bytes": i["bytes"]} for name, i in infos.items()},
    }


def command_output(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    text = (proc.stdout or proc.stderr).strip()
    if proc.returncode != 0:
        return f"unavailable (exit {proc.returncode}: {text.splitlines()[-1] if text else ''})"
    return text


# --- settling and trash ------------------------------------------------------------------------


class Settler:
    """Waits out the VM's slow inode allocation after many files were deleted."""

    def __init__(self, seconds: float, stamp: Path) -> None:
        self.seconds = seconds
        self.stamp = stamp

    def mark(self) -> None:
        self.stamp.write_text(f"{time.time()}\n")

    def wait(self) -> None:
        try:
            last = float(self.stamp.read_text())
        except (OSError, ValueError):
            return
        remaining = last + self.seconds - time.time()
        if remaining > 0:
            say(f"settling {remaining:.0f} s (files were deleted or rewritten recently)")
            time.sleep(remaining)


class Trash:
    """Old trees are moved here while timing and only deleted between datasets."""

    def __init__(self, path: Path, settler: Settler, min_files: int) -> None:
        self.path = path
        self.settler = settler
        self.min_files = min_files

    def put(self, tree: Path) -> None:
        if not tree.exists():
            return
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / f"{time.time_ns()}-{tree.name}"
        tree.rename(target)

    def empty(self, *, settle: bool = True) -> None:
        if not self.path.exists():
            return
        files = sum(len(names) for _, _, names in os.walk(self.path))
        if files == 0:
            return
        say(f"emptying trash ({files} files)")
        subprocess.run(["rm", "-rf", "--", str(self.path)], check=True)
        if files >= self.min_files:
            self.settler.mark()
            if settle:
                self.settler.wait()


# --- trees -------------------------------------------------------------------------------------


def tree_listing(root: Path) -> dict[str, str]:
    """Relative POSIX path -> sha256 of the content, for every file (symlinks followed)."""
    listing = {}
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            listing[path.relative_to(root).as_posix()] = file_sha256(path)
    return listing


def tree_digest(listing: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(listing, key=lambda p: p.encode()):
        digest.update(f"{rel}\t{listing[rel]}\n".encode())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def count_symlinks(root: Path) -> int:
    if not root.is_dir():
        return 0
    return sum(
        (Path(folder) / name).is_symlink()
        for folder, dirs, names in os.walk(root)
        for name in [*names, *dirs]
    )


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


def verdict(checks: list[bool | None], ours_error: str | None) -> str:
    if ours_error is not None:
        return "FAIL"
    if not checks:
        return "-"
    if any(ok is False for ok in checks):
        return "no"
    if any(ok is None for ok in checks):
        return "n/a"
    return "yes"


def markdown_table(rows: list[dict[str, object]]) -> str:
    header = (
        "| dataset | operation | ours s | dvc s | ratio (dvc/ours) | ours peak RSS MiB "
        "| dvc peak RSS MiB | target | met? |"
    )
    lines = [header, "|---|---|---:|---:|---:|---:|---:|---|---|"]
    for row in rows:
        cells = [
            str(row["dataset"]),
            str(row["operation"]),
            time_cell(row["ours_s"], row["ours_error"]),
            time_cell(row["dvc_s"], row["dvc_error"]),
            fmt(row["ratio"], 1),
            fmt(row["ours_rss_mib"], 0),
            fmt(row["dvc_rss_mib"], 0),
            str(row["target"]),
            str(row["met"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def time_cell(seconds: object, error: object) -> str:
    if seconds is None and error is not None:
        return "FAIL"
    return fmt(seconds, 2)


def fmt(value: object, digits: int) -> str:
    if isinstance(value, list):
        return " -> ".join(fmt(v, digits) for v in value)
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return "-"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
