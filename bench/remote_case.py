"""The records of the push/pull benchmarks and the steps that run their commands.

A `Case` is one tool's repositories for one dataset, remote and round; a `Context` holds what
every step shares (executables, environments, settling, the measurements taken so far).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import loopback_s3
from common import (
    Settler,
    Trash,
    display,
    run_checked,
    say,
    time_command,
    tool_env,
)
from tables import fmt
from trees import tree_listing

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
    timed_out: bool = False


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
    sources: dict[str, Path]  # dataset -> the generated tree
    files: dict[str, int]  # dataset -> its file count
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
    timeouts: dict[str, float] = field(default_factory=dict)  # tool -> its own cap, seconds

    def many(self, dataset: str) -> bool:
        """Whether the dataset counts as many files (its steps then settle; see common.Settler)."""
        return self.files.get(dataset, 0) >= self.min_files

    def timeout_of(self, tool: str) -> float:
        return self.timeouts.get(tool, self.timeout)

    def expected_tree(self, dataset: str) -> dict[str, str]:
        """The source tree's listing, hashed once per dataset (the pulls are compared with it)."""
        if dataset not in self.expected:
            say(f"[{dataset}] hashing the source tree for verification")
            self.expected[dataset] = tree_listing(self.sources[dataset])
        return self.expected[dataset]


def bench_env(work: Path, runs: Path, bin_dir: Path | None) -> dict[str, str]:
    env = tool_env(work, bin_dir)
    for name in SCRUBBED_ENV:
        env.pop(name, None)
    env["DVC_SITE_CACHE_DIR"] = str(runs / "dvc-site-cache")
    return env


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
    env, timeout = ctx.envs[case.tool], ctx.timeout_of(case.tool)
    timing = time_command(cmd, cwd, env, out, err, timeout)
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
            timed_out=timing.timed_out,
        )
    )
    if timing.ok:
        say(f"{case.label} {op}: {timing.wall_s:.2f} s, {fmt(timing.rss_mib, 0)} MiB")
    else:
        fail(ctx, case, f"`{display(cmd)}` ({op}, in {cwd.name}) {timing.error}")


def run_untimed(ctx: Context, case: Case, cmd: list[str]) -> None:
    label = Path(cmd[0]).name + "-" + (cmd[1] if len(cmd) > 1 else "")
    out, err = log_paths(ctx, case, label)
    run_checked(cmd, case.repo, ctx.envs[case.tool], out, err, ctx.timeout_of(case.tool))


def log_paths(ctx: Context, case: Case, label: str) -> tuple[Path, Path]:
    logs = case.base / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ctx.log_counter += 1
    stem = f"{ctx.log_counter:04d}-{label}"
    return logs / f"{stem}.out", logs / f"{stem}.err"
