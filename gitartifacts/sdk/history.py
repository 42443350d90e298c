"""A run's metric history: W&B's step and commit rules, the JSON-lines file each step is
appended to while the run lives, and the summary each metric keeps (`define_metric`)."""

from __future__ import annotations

import fnmatch
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any, NamedTuple

from gitartifacts.core import manifest as mf
from gitartifacts.errors import UsageError

SUMMARIES = ("min", "max", "mean", "last", "best", "copy", "none")
GOALS = ("minimize", "maximize")


class Metric(NamedTuple):
    """What `define_metric` said of a metric name (or a glob such as `train/*`)."""

    name: str
    step_metric: str | None
    summary: tuple[str, ...]  # empty: the last value, as for an undefined metric
    goal: str | None


def define(name: str, step_metric: str | None, summary: str | None, goal: str | None) -> Metric:
    """A checked metric definition; `summary` may name several, comma-separated."""
    if not isinstance(name, str) or not name:
        raise UsageError(f"metric name {name!r} is not a string", "e.g. define_metric('loss')")
    kinds = tuple(s.strip() for s in (summary or "").split(",") if s.strip())
    for s in kinds:
        if s not in SUMMARIES:
            raise UsageError(f"summary {s!r} is not supported", f"use {', '.join(SUMMARIES)}")
    if goal is not None and goal not in GOALS:
        raise UsageError(f"goal {goal!r} is not supported", "use 'minimize' or 'maximize'")
    return Metric(name, step_metric, kinds, goal)


class Tracker:
    """The steps of a live run. `log` follows W&B: without `step`, each call is a step
    unless `commit=False`; with `step`, data gathers in that step until a later step or
    `commit=True`; a step below the current one is ignored with a warning."""

    def __init__(
        self,
        path: Path,
        summary: MutableMapping[str, Any],
        start: float,
        previous: list[dict[str, Any]],
    ) -> None:
        self.path = path
        self.summary = summary
        self.start = start
        self.metrics: dict[str, Metric] = {}
        self.step = 0
        self._pending: dict[str, Any] = {}
        self._seen: dict[str, dict[str, float]] = {}  # metric -> min/max/sum/count/last/best
        self._last: dict[str, Any] = {}  # the last value of every key, for step_metric
        # Stores the images and tables of a row and gives it with references to them instead.
        self.media: Callable[[dict[str, Any], int], dict[str, Any]] | None = None
        for row in previous:  # a resumed run goes on after its last step
            self._aggregate(row, into_summary=False)
            if isinstance(row.get("_step"), int):
                self.step = row["_step"] + 1
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (open while the run is)

    def log(self, data: Any, step: int | None, commit: bool | None) -> None:
        if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
            raise UsageError("log must be passed a dictionary", "e.g. log({'loss': 0.5})")
        if step is not None:
            if not isinstance(step, int) or isinstance(step, bool) or step < 0:
                raise UsageError(f"step {step!r} is not a whole number", "e.g. step=10")
            if step < self.step:
                warnings.warn(
                    f"Tried to log to step {step} that is less than the current step "
                    f"{self.step}. Steps must be monotonically increasing, so this data "
                    "will be ignored.",
                    stacklevel=4,
                )
                return
            if step > self.step:
                self._flush(step)
        if self.media is not None:
            data = self.media(data, self.step)
        self._pending.update({k: _scalar(v) for k, v in data.items()})
        if commit or (commit is None and step is None):
            self._flush(self.step + 1)

    def finish(self) -> None:
        if self._pending:
            self._flush(self.step + 1)
        self._file.close()

    def _flush(self, next_step: int) -> None:
        """Write the gathered row as the current step (if any), then move to `next_step`."""
        if self._pending:
            row = self._with_step_metrics(self._pending)
            now = time.time()
            row = {
                "_step": self.step,
                "_runtime": round(now - self.start, 3),
                "_timestamp": now,
                **row,
            }
            self._file.write(json.dumps(row, default=_plain) + "\n")
            self._file.flush()  # a killed run keeps every step written so far
            self._aggregate(row, into_summary=True)
            self._pending = {}
        self.step = next_step

    def _with_step_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        """W&B's step_sync: a metric with a step metric carries its last value."""
        out = dict(data)
        for key in data:
            m = self.metric_of(key)
            step_metric = m.step_metric if m is not None else None
            if step_metric and step_metric not in out and step_metric in self._last:
                out[step_metric] = self._last[step_metric]
        return out

    def metric_of(self, key: str) -> Metric | None:
        if key in self.metrics:
            return self.metrics[key]
        for pattern, m in self.metrics.items():
            if "*" in pattern and fnmatch.fnmatchcase(key, pattern):
                return m
        return None

    def _aggregate(self, row: dict[str, Any], into_summary: bool) -> None:
        for key, value in row.items():
            if key.startswith("_"):
                continue
            self._last[key] = value
            m = self.metric_of(key)
            kinds = m.summary if m is not None else ()
            agg = self._seen.setdefault(key, {})
            if _is_number(value):  # kept for every metric: one may be defined later
                _update(agg, float(value), m.goal if m else None)
            if not into_summary or "none" in kinds:
                continue
            if not kinds or kinds == ("copy",) or not _is_number(value):
                self.summary[key] = value
            else:
                self.summary[key] = {k: _num(agg[k], value) for k in kinds if k in agg}


def read_rows(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Rows of a history file; a damaged or cut-off line (a killed run) is skipped."""
    rows = []
    for line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def select(
    rows: list[dict[str, Any]], keys: list[str] | None, samples: int | None
) -> list[dict[str, Any]]:
    """W&B's `history(keys=, samples=)`: with keys, the rows holding all of them (with
    `_step`); at most `samples` rows, evenly spread, first and last kept."""
    if keys:
        rows = [
            {"_step": r.get("_step"), **{k: r[k] for k in keys}}
            for r in rows
            if all(k in r for k in keys)
        ]
    if samples is not None and 0 < samples < len(rows):
        if samples == 1:
            return rows[-1:]
        last = len(rows) - 1
        rows = [rows[round(i * last / (samples - 1))] for i in range(samples)]
    return rows


def history_path(common_dir: Path, run_id: str) -> Path:
    """Where a live run appends its rows; the id may come from a record made elsewhere."""
    if not mf.NAME_RE.match(run_id):
        raise UsageError(f"invalid run id {run_id[:80]!r}", "use letters, digits, '-', '_' or '.'")
    return common_dir / "artifacts" / "runs" / run_id / "history.jsonl"


def remove(path: Path) -> None:
    """Drop a finished run's local history file (its rows are a content object now), and its
    folder when nothing else is in it (`run.dir`, W&B's run files folder, stays)."""
    try:
        os.unlink(path)
        path.parent.rmdir()
    except OSError:
        pass


# ---------------------------------------------------------------- helpers


def _update(agg: dict[str, float], v: float, goal: str | None) -> None:
    agg["min"] = min(agg.get("min", v), v)
    agg["max"] = max(agg.get("max", v), v)
    agg["sum"] = agg.get("sum", 0.0) + v
    agg["count"] = agg.get("count", 0.0) + 1
    agg["mean"] = agg["sum"] / agg["count"]
    agg["last"] = v
    agg["best"] = agg["max"] if goal == "maximize" else agg["min"]


def _num(v: float, like: Any) -> Any:
    """An int metric's min, max, last and best stay ints."""
    return int(v) if isinstance(like, int) and v.is_integer() else v


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)


def _scalar(v: Any) -> Any:
    """A numpy or torch scalar as the Python number it holds, so the summary sees a number."""
    item = getattr(v, "item", None)
    if callable(item) and getattr(v, "shape", None) == ():
        try:
            return item()
        except (TypeError, ValueError):
            return v
    return v


def _plain(obj: Any) -> Any:
    """A numpy scalar or array as its Python value; anything else as its text."""
    for method in ("item", "tolist"):
        fn = getattr(obj, method, None)
        if callable(fn):
            try:
                return fn()
            except (TypeError, ValueError):
                continue
    return str(obj)
