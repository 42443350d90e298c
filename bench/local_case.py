"""The records of run_bench.py (one repository per tool and dataset) and its timed commands."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from common import Settler, Trash, display, run_checked, say, time_command


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
