"""Progress of long steps: one bar per phase (hashing, uploading, downloading, checking out)
with files done/total, bytes, a rate and an ETA; drawn on stderr only when it is a terminal.

    with progress.phase("Uploading", files=len(todo), bytes=total) as bar:
        bar.advance(files=1, bytes=size)  # from any thread

A bar appears only once its phase has run for GITARTIFACTS_PROGRESS_DELAY seconds (default
1), so a quick command prints nothing; a phase that completes leaves one final line, like
git's "Writing objects: 100% (12/12), done."; one that fails or is interrupted is cleared,
so the error line stands alone. Nothing is drawn when stderr is not a terminal, with `-q`,
or with GITARTIFACTS_QUIET=1.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from gitartifacts.errors import UsageError

DELAY_ENV = "GITARTIFACTS_PROGRESS_DELAY"
QUIET_ENV = "GITARTIFACTS_QUIET"
DEFAULT_DELAY = 1.0
# The bar counts work in millionths of the phase (see `work_done`).
_SCALE = 1_000_000
_TICK_S = 1.0  # how often a bar is redrawn when nothing completes
_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {files}, {size} [{elapsed}<{remaining}, {speed}]"


class Progress:
    """How one command reports progress: bars on a terminal, nothing otherwise."""

    def __init__(self, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty() and os.environ.get(QUIET_ENV) != "1"
        self.enabled = enabled
        self.delay = _delay() if enabled else DEFAULT_DELAY

    @contextlib.contextmanager
    def phase(self, name: str, *, files: int, bytes: int) -> Iterator[Bar]:
        """A bar for `files` files of `bytes` bytes in all, closed when the block ends."""
        bar = Bar(name, files, bytes)
        try:
            if self.enabled and files > 0:
                bar.show(self.delay)
            yield bar
        except BaseException:
            bar.close(keep=False)
            raise
        bar.close(keep=True)


def phase(
    progress: Progress | None, name: str, *, files: int, bytes: int
) -> contextlib.AbstractContextManager[Bar]:
    """`progress.phase(...)`, or a bar that draws nothing when there is no `progress`."""
    return (progress or _SILENT).phase(name, files=files, bytes=bytes)


class Bar:
    """Files and bytes done in one phase; `advance` may be called from many threads."""

    def __init__(self, name: str, files: int, bytes: int) -> None:
        self.name = name
        self.total_files = files
        self.total_bytes = bytes
        self.files = 0
        self.bytes = 0
        self._lock = threading.Lock()
        self._meter: Any = None
        self._stop = threading.Event()

    def show(self, delay: float) -> None:
        """Draw the bar on stderr once `delay` seconds have passed."""
        self._meter = _meter(self, delay)
        # tqdm draws only when told of progress: one object of 10 GB would show nothing
        # until it is done. This shows the bar after the delay and keeps its clock going.
        threading.Thread(target=self._tick, args=(delay,), daemon=True).start()

    def advance(self, files: int = 0, bytes: int = 0) -> None:
        with self._lock:
            self.files += files
            self.bytes += bytes
            meter = self._meter
            if meter is not None:
                done = round(_SCALE * self.fraction())
                if done > meter.n:
                    meter.update(done - meter.n)

    def grow(self, files: int = 0, bytes: int = 0) -> None:
        """Count more work in the phase (a walk that finds files as it hashes them)."""
        with self._lock:
            self.total_files += files
            self.total_bytes += bytes

    def fraction(self) -> float:
        """How much of the phase is done (see `work_done`)."""
        return work_done(self.files, self.bytes, self.total_files, self.total_bytes)

    def text(self) -> dict[str, str]:
        """The bar's own fields: files done/total, bytes done/total."""
        return {
            "files": f"{self.files}/{self.total_files} files",
            "size": f"{_size(self.bytes)}/{_size(self.total_bytes)}",
        }

    def close(self, keep: bool) -> None:
        self._stop.set()
        with self._lock:
            meter, self._meter = self._meter, None
        if meter is not None:
            meter.leave = keep
            meter.close()

    def _tick(self, delay: float) -> None:
        wait = delay
        while not self._stop.wait(wait):
            with self._lock:
                if self._meter is not None:
                    meter = self._meter
                    meter.refresh()
                    # Drawn: tqdm's close must now clear it or leave its last line. (Only
                    # before any update is drawn: later, tqdm's rate is measured from it.)
                    meter.last_print_t = max(meter.last_print_t, meter.start_t + delay)
            wait = _TICK_S


def work_done(files: int, bytes: int, total_files: int, total_bytes: int) -> float:
    """The fraction of a phase done: the mean of the fraction of its files and that of its
    bytes, which tqdm turns into a rate and an ETA (smoothed over recent updates).

    Why a blend: a phase costs some time per file (a request, a file created) and some per
    byte, in proportions nobody knows ahead (a folder remote or S3, a fast or slow link).
    Counted by bytes alone, 20,000 small files sent first look 1% done after 90% of the
    time (an ETA of hours for a one-minute push); counted by files alone, a few big files
    sent first look like no progress at all. The mean is never below half of either
    fraction, so its ETA is never more than about twice the better of the two.
    """
    parts = []
    if total_files > 0:
        parts.append(min(1.0, files / total_files))
    if total_bytes > 0:
        parts.append(min(1.0, bytes / total_bytes))
    return sum(parts) / len(parts) if parts else 1.0


def _meter(bar: Bar, delay: float) -> Any:
    from tqdm import tqdm

    class Meter(tqdm):  # type: ignore[misc]  # tqdm ships no type hints
        """tqdm counting the work done, showing files and bytes beside it."""

        @property
        def format_dict(self) -> dict[str, Any]:
            fields = super().format_dict
            elapsed = fields["elapsed"]
            rate = bar.bytes / elapsed if elapsed > 0 else 0
            speed = f"{_size(rate)}/s" if rate else "?B/s"
            return {**fields, **bar.text(), "speed": speed}

    columns, rows = _screen()
    return Meter(
        total=_SCALE,
        desc=bar.name,
        bar_format=_FORMAT,
        delay=delay,
        file=sys.stderr,
        ncols=columns,
        nrows=rows,
        leave=True,
    )


def _size(n: float) -> str:
    from tqdm import tqdm

    return f"{tqdm.format_sizeof(n, 'B')}" if n else "0B"


def _screen() -> tuple[int, int]:
    """The terminal's columns and rows; 80x24 where it reports none (a new pseudo-terminal
    says 0x0, and tqdm then draws nothing)."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        return 80, 24
    return size.columns or 80, size.lines or 24


def _delay() -> float:
    raw = os.environ.get(DELAY_ENV)
    if raw is None or raw == "":
        return DEFAULT_DELAY
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1e6:
        raise UsageError(
            f"{DELAY_ENV}={raw!r} is not a number of seconds",
            f"set it to e.g. 0.5, or unset it for {DEFAULT_DELAY:g}",
        )
    return value


_SILENT = Progress(enabled=False)
