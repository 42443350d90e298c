"""Helpers shared by the benchmark scripts: timed processes, tool set-up, settling and trash.

Every timed command runs under GNU time (`/usr/bin/time -f '%e %M'`) after a `sync`: wall seconds
and the peak RSS of the largest single process. Output goes to log files, so a failure can be
reported with the tail of its stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_WORK_DIR = BENCH_DIR / ".work"
DVC_VENV = BENCH_DIR / ".venv-dvc"
DVC_VERSION = "3.67.1"
DVC_S3_VERSION = "3.3.0"
GNU_TIME = "/usr/bin/time"
TAIL_LINES = 25


class CommandFailed(Exception):
    """An untimed set-up command failed; the message carries its stderr."""


@dataclass
class Timing:
    """One command run under GNU time."""

    wall_s: float | None  # GNU time %e
    rss_mib: float | None  # GNU time %M, largest single process
    precise_s: float  # perf_counter around /usr/bin/time, for finer reading
    exit_code: int | None
    timed_out: bool
    error: str | None  # None when the command succeeded

    @property
    def ok(self) -> bool:
        return self.error is None


# --- running commands ---------------------------------------------------------------------------


def time_command(
    cmd: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    out: Path,
    err: Path,
    timeout: float,
) -> Timing:
    """Run `cmd` under GNU time after a sync; report wall seconds and peak RSS."""
    with tempfile.NamedTemporaryFile("r", prefix="time-", suffix=".txt") as time_file:
        subprocess.run(["sync"], check=True)
        started = time.perf_counter()
        try:
            code, timed_out = run_process(
                [GNU_TIME, "-f", "%e %M", "-o", time_file.name, *cmd], cwd, env, out, err, timeout
            )
        except OSError as exc:
            precise = time.perf_counter() - started
            return Timing(None, None, round(precise, 4), None, False, f"could not start: {exc}")
        precise = time.perf_counter() - started
        wall, rss_kib = parse_gnu_time(Path(time_file.name).read_text())
    error = None
    if timed_out:
        error = f"timed out after {timeout:.0f} s{output_tail(out, err)}"
    elif code != 0:
        error = f"exited with status {code}{output_tail(out, err)}"
    return Timing(
        wall_s=wall,
        rss_mib=None if rss_kib is None else rss_kib / 1024,
        precise_s=round(precise, 4),
        exit_code=code,
        timed_out=timed_out,
        error=error,
    )


def run_checked(
    cmd: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    out: Path,
    err: Path,
    timeout: float,
) -> None:
    """Run an untimed command; raise CommandFailed with its output tail if it fails."""
    try:
        code, timed_out = run_process(cmd, cwd, env, out, err, timeout)
    except OSError as exc:
        raise CommandFailed(f"`{display(cmd)}` could not start: {exc}") from exc
    if timed_out:
        raise CommandFailed(f"`{display(cmd)}` timed out{output_tail(out, err)}")
    if code != 0:
        raise CommandFailed(f"`{display(cmd)}` exited with status {code}{output_tail(out, err)}")


def run_process(
    cmd: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    out: Path,
    err: Path,
    timeout: float,
) -> tuple[int, bool]:
    """Run with output to log files, in its own process group so a timeout kills it all."""
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env),
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


def output_tail(out: Path, err: Path) -> str:
    """Last lines of stderr (or of stdout when stderr is empty), indented for the report."""
    for path in (err, out):
        lines = path.read_text(errors="replace").strip().splitlines()
        if lines:
            tail = "\n".join(f"    {line}" for line in lines[-TAIL_LINES:])
            return f"; {path.suffix[1:]}:\n{tail}"
    return " (no output)"


def display(cmd: Sequence[str]) -> str:
    return " ".join([Path(cmd[0]).name, *cmd[1:]])


def command_output(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    text = (proc.stdout or proc.stderr).strip()
    if proc.returncode != 0:
        return f"unavailable (exit {proc.returncode}: {text.splitlines()[-1] if text else ''})"
    return text


# --- tools -------------------------------------------------------------------------------------


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


def ensure_dvc(*, s3: bool = False) -> Path:
    """bench/.venv-dvc/bin/dvc, creating the venv with the pinned DVC if it is missing.

    With `s3`, the pinned dvc-s3 plugin is installed into it too when it is not there yet.
    """
    dvc = DVC_VENV / "bin" / "dvc"
    python = DVC_VENV / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q"]
    if not dvc.exists():
        say(f"creating {DVC_VENV} with dvc=={DVC_VERSION}")
        subprocess.run([sys.executable, "-m", "venv", str(DVC_VENV)], check=True)
        subprocess.run([*pip, f"dvc=={DVC_VERSION}"], check=True)
    if s3:
        probe = subprocess.run([str(python), "-c", "import dvc_s3"], capture_output=True)
        if probe.returncode != 0:
            say(f"installing dvc-s3=={DVC_S3_VERSION} into {DVC_VENV}")
            subprocess.run([*pip, f"dvc-s3=={DVC_S3_VERSION}"], check=True)
    return dvc


# --- settling and trash ------------------------------------------------------------------------


class Settler:
    """Waits out the VM's slow inode allocation after many files were deleted or rewritten.

    Its root file system is ext4 without a journal, where a new inode skips every inode
    deleted in the last 60 s, or in the last 360 s once that inode's table block is dirty
    again (and each new file in the block dirties it): after a mass deletion, creating files
    costs up to 20x more for six minutes. `seconds` after a many-file step (a tool may delete
    temporary files of its own), `deletion_seconds` after emptying the trash.
    """

    def __init__(self, seconds: float, stamp: Path, deletion_seconds: float | None = None) -> None:
        self.seconds = seconds
        self.deletion_seconds = seconds if deletion_seconds is None else deletion_seconds
        self.stamp = stamp  # holds the time until which to wait

    def mark(self, *, deletion: bool = False) -> None:
        until = time.time() + (self.deletion_seconds if deletion else self.seconds)
        self.stamp.write_text(f"{max(until, self._until())}\n")

    def _until(self) -> float:
        try:
            return float(self.stamp.read_text())
        except (OSError, ValueError):
            return 0.0

    def wait(self) -> None:
        remaining = self._until() - time.time()
        if remaining > 0:
            say(f"settling {remaining:.0f} s (files were deleted or rewritten recently)")
            time.sleep(remaining)

    @contextlib.contextmanager
    def around(self, many: bool) -> Iterator[None]:
        """A many-file step: wait before it, mark after it (nothing when `many` is false)."""
        if many:
            self.wait()
        try:
            yield
        finally:
            if many:
                self.mark()


def add_tool_args(parser: argparse.ArgumentParser) -> None:
    """--ours and --dvc, as every comparison takes them."""
    parser.add_argument(
        "--ours",
        type=Path,
        default=Path(sys.executable).parent / "git-artifacts",
        help="git-artifacts executable (default: next to the running python)",
    )
    parser.add_argument(
        "--dvc",
        type=Path,
        help=f"dvc executable (default: {DVC_VENV.name}/bin/dvc, created if missing)",
    )


def print_report(table: str, failures: Sequence[str], scale: float, out: Path) -> None:
    """The results table on stdout, with a note on a scaled run, the failures and the JSON."""
    print()
    if scale != 1.0:
        print(f"Scaled run (--scale {scale}): the targets are meant for scale 1.\n")
    print(table)
    if failures:
        print("\nFailures:")
        for failure in failures:
            print(f"- {failure}")
    print(f"\nJSON: {out}")


def add_settle_args(parser: argparse.ArgumentParser, many: str) -> None:
    """The settling options both benchmarks share; `many` names what counts as many files."""
    parser.add_argument(
        "--settle", type=float, default=65.0, help="seconds to wait after a many-file step"
    )
    parser.add_argument(
        "--settle-deletion",
        type=float,
        default=370.0,
        help="seconds to wait after emptying the trash (ext4 without a journal: 60 s + 300 s)",
    )
    parser.add_argument(
        "--settle-min-files",
        type=int,
        default=5000,
        help=f"file count from which deletions and {many} count as 'many files'",
    )


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
            self.settler.mark(deletion=True)
            if settle:
                self.settler.wait()


# --- output ------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
