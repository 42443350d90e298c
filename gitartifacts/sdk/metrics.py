"""The metrics and files of a run (`Run` inherits them): `log`, `define_metric`, `save`,
`history`. The rows go to a JSON-lines file while the run lives and become a content object
named in the finish event (`history`), next to the saved files (`files`)."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitartifacts.gitmodel.project import Project
from gitartifacts.ops import runs as run_ops
from gitartifacts.sdk import files as saved_files
from gitartifacts.sdk import history as hist
from gitartifacts.sdk import runmedia
from gitartifacts.sdk.config import Recorded

RUNNING = "running"


class RunMetrics:
    """History, summary and saved files of a run; `Run` sets these fields."""

    _project: Project
    id: str
    state: str
    start_time: float | None
    summary: Recorded
    files: list[dict[str, Any]]
    _history: str | None  # the rows' content object, once finished
    _metrics: dict[str, hist.Metric]
    _tracker: hist.Tracker | None
    _saved: list[saved_files.Pattern]

    def _ensure_live(self) -> None:
        raise NotImplementedError

    def _write(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    @property
    def step(self) -> int:
        """The current step: the one the next `log` without `step` writes to."""
        if self._tracker is None and self.state == RUNNING and self._history is not None:
            return self._open_history().step  # resumed: after the steps it had
        return self._tracker.step if self._tracker is not None else 0

    def log(
        self, data: dict[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        """Add a step to the history (W&B's step and commit rules, see `sdk.history`); the
        summary keeps each metric's last value, or what `define_metric` asks for."""
        self._ensure_live()
        self._open_history().log(data, step, commit)

    def define_metric(
        self,
        name: str,
        step_metric: str | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> hist.Metric:
        """How the summary keeps metric `name` (or a glob, `train/*`): min, max, mean, last,
        best (by `goal`, minimize by default), several comma-separated, or none."""
        self._ensure_live()
        m = hist.define(name, step_metric, summary, goal)
        old = self._metrics.get(name)
        if old is not None and not overwrite:  # W&B merges with the earlier call
            m = hist.Metric(
                name, m.step_metric or old.step_metric, m.summary or old.summary, m.goal or old.goal
            )
        self._metrics[name] = m
        self._open_history().metrics[name] = m
        return m

    def save(
        self,
        glob_str: str | os.PathLike[str],
        base_path: str | os.PathLike[str] | None = None,
        policy: str = "live",
    ) -> list[str]:
        """Keep files with the run: "now" stores them now, "end" when the run finishes,
        "live" both. Their names (relative to `base_path`) are listed in the run record."""
        self._ensure_live()
        p = saved_files.pattern(glob_str, base_path, policy)
        if p is None:
            return []
        self._saved.append(p)
        if policy in ("now", "live"):
            self._store_files(("now", "live"))
        return saved_files.matched(p)

    def history(
        self, samples: int = 500, keys: list[str] | None = None, pandas: bool = True
    ) -> Any:
        """Logged rows (`_step`, `_runtime`, `_timestamp` and the metrics): with `keys`, the
        rows holding all of them; at most `samples`, evenly spread. A pandas DataFrame when
        pandas is installed (and `pandas`), else a list of dicts."""
        rows = hist.select(self._rows(), list(keys) if keys else None, samples)
        if pandas:
            try:
                pd = importlib.import_module("pandas")
            except ImportError:
                return rows
            return pd.DataFrame(rows)
        return rows

    def file(self, name: str) -> runmedia.RunFile:
        """A file kept with the run, by its name in `files`: saved, or an image or table the
        run logged (its history reference gives the name as `path`); W&B's `run.file`."""
        return runmedia.run_file(self._project, self.files, name)

    def scan_history(self, keys: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every logged row, in step order (W&B's `scan_history`)."""
        return iter(hist.select(self._rows(), list(keys) if keys else None, None))

    def _open_history(self) -> hist.Tracker:
        if self._tracker is None:
            path = hist.history_path(self._project.repo.common_dir, self.id)
            if not path.exists() and self._history is not None:  # resumed: go on from it
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(run_ops.read_object(self._project, self._history))
            previous = hist.read_rows(_lines(path))
            start = self.start_time or time.time()
            self._tracker = hist.Tracker(path, self.summary, start, previous)
            self._tracker.metrics.update(self._metrics)
            self._tracker.media = self._store_media
        return self._tracker

    def _close_history(self) -> dict[str, Any]:
        """The finish event's history and files: the rows become a content object."""
        out: dict[str, Any] = {}
        if self._tracker is not None:
            self._tracker.finish()
            path = self._tracker.path
            if path.stat().st_size:
                self._history, _ = self._project.cache.add_file(str(path))
            hist.remove(path)
        if self._history is not None:
            out["history"] = self._history
        if self._saved:
            self._store_files(("live", "end"))
        if self.files:
            out["files"] = self.files
        if self._metrics:
            out["metrics"] = {k: m._asdict() for k, m in self._metrics.items()}
        return out

    def _store_files(self, policies: tuple[str, ...]) -> None:
        listed = saved_files.listing(self._project, self._saved, policies)
        self._add_files(listed, write="end" not in policies)  # at the end: the finish event

    def _store_media(self, data: dict[str, Any], step: int) -> dict[str, Any]:
        """A row's images and tables stored and listed, so a killed run still names them."""
        row, kept = runmedia.for_history(self._project, data, step)
        if kept:
            self._add_files(kept, write=True)
        return dict(row)

    def _add_files(self, listed: list[dict[str, Any]], write: bool) -> None:
        found = {f["path"]: f for f in self.files}
        found.update((f["path"], f) for f in listed)
        self.files = [found[k] for k in sorted(found)]
        if write:
            self._write({"ev": "update", "files": self.files})

    def _rows(self) -> list[dict[str, Any]]:
        live = self._tracker is not None and self.state == RUNNING
        if self._history is not None and not live:
            data = run_ops.read_object(self._project, self._history)
            return hist.read_rows(data.decode("utf-8", errors="replace").splitlines())
        # A live run, or one killed on this machine: the file its steps were appended to.
        return hist.read_rows(_lines(hist.history_path(self._project.repo.common_dir, self.id)))


# ---------------------------------------------------------------- helpers


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
