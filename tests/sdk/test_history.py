"""A run's history without git: W&B's step and commit rules, the file each step is appended
to, the summary `define_metric` asks for, and reading rows back (keys, samples)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitartifacts.sdk import history as hist


def tracker(path: Path, summary: dict[str, Any] | None = None) -> hist.Tracker:
    return hist.Tracker(path, {} if summary is None else summary, 0.0, [])


def metrics(path: Path) -> list[dict[str, Any]]:
    rows = hist.read_rows(path.read_text().splitlines())
    return [{k: v for k, v in r.items() if k not in ("_runtime", "_timestamp")} for r in rows]


WANTED = [
    {"_step": 0, "train-loss": 0.5, "accuracy": 0.8},
    {"_step": 1, "train-loss": 0.4, "accuracy": 0.9},
]


def test_the_three_equivalent_forms_of_the_wandb_docs_give_the_same_rows(tmp_path: Path) -> None:
    plain = tracker(tmp_path / "a.jsonl")
    plain.log({"train-loss": 0.5, "accuracy": 0.8}, None, None)
    plain.log({"train-loss": 0.4, "accuracy": 0.9}, None, None)
    plain.finish()
    gathered = tracker(tmp_path / "b.jsonl")
    gathered.log({"train-loss": 0.5}, None, False)
    gathered.log({"accuracy": 0.8}, None, None)
    gathered.log({"train-loss": 0.4}, None, False)
    gathered.log({"accuracy": 0.9}, None, None)
    gathered.finish()
    explicit = tracker(tmp_path / "c.jsonl")
    for step, (loss, acc) in enumerate([(0.5, 0.8), (0.4, 0.9)]):
        explicit.log({"train-loss": loss}, step, None)
        explicit.log({"accuracy": acc}, step, None)
    explicit.finish()
    for name in ("a", "b", "c"):
        assert metrics(tmp_path / f"{name}.jsonl") == WANTED, name


def test_a_step_below_the_current_one_is_ignored_with_a_warning(tmp_path: Path) -> None:
    t = tracker(tmp_path / "h.jsonl")
    t.log({"x": 1}, 10, True)
    assert t.step == 11
    with pytest.warns(UserWarning, match="less than the current step 11"):
        t.log({"x": 2}, 5, None)
    t.log({"x": 3}, None, None)
    t.finish()
    assert metrics(tmp_path / "h.jsonl") == [{"_step": 10, "x": 1}, {"_step": 11, "x": 3}]


def test_every_committed_step_is_in_the_file_before_the_run_ends(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "r1" / "history.jsonl"
    t = tracker(path)
    for i in range(3):
        t.log({"i": i}, None, None)
        assert metrics(path)[-1] == {"_step": i, "i": i}  # flushed at once: a kill keeps it
    t.log({"pending": 1}, None, False)
    assert len(metrics(path)) == 3
    with path.open("a") as f:
        f.write('{"_step": 3, "cut off by a ki')
    assert len(metrics(path)) == 3  # the damaged last line is skipped
    t.finish()


def test_a_resumed_history_goes_on_after_its_last_step(tmp_path: Path) -> None:
    previous = [{"_step": 0, "loss": 3.0}, {"_step": 1, "loss": 1.0}]
    t = hist.Tracker(tmp_path / "h.jsonl", {}, 0.0, previous)
    t.metrics["loss"] = hist.define("loss", None, "min,mean", None)
    t.log({"loss": 2.0}, None, None)
    t.finish()
    assert t.step == 3
    assert t.summary["loss"] == {"min": 1.0, "mean": 2.0}


def test_bad_log_and_define_metric_arguments_are_usage_errors(tmp_path: Path) -> None:
    from gitartifacts.errors import UsageError

    t = tracker(tmp_path / "h.jsonl")
    with pytest.raises(UsageError, match="dictionary"):
        t.log([1, 2], None, None)
    with pytest.raises(UsageError, match="whole number"):
        t.log({"x": 1}, -1, None)
    with pytest.raises(UsageError, match="'median' is not supported"):
        hist.define("x", None, "median", None)
    with pytest.raises(UsageError, match="goal 'up'"):
        hist.define("x", None, "best", "up")
    t.finish()


def test_select_keeps_rows_with_all_keys_and_samples_evenly() -> None:
    rows = [{"_step": i, "a": i, **({"b": i} if i % 2 else {})} for i in range(10)]
    assert hist.select(rows, ["b"], None) == [{"_step": i, "b": i} for i in (1, 3, 5, 7, 9)]
    assert [r["_step"] for r in hist.select(rows, None, 4)] == [0, 3, 6, 9]
    assert hist.select(rows, None, 500) == rows


def test_a_run_id_from_a_record_never_leaves_the_runs_folder(tmp_path: Path) -> None:
    from gitartifacts.errors import UsageError

    assert hist.history_path(tmp_path, "ab1") == tmp_path / "artifacts/runs/ab1/history.jsonl"
    for bad in ("../../etc", "a/b", "", ".hidden"):
        with pytest.raises(UsageError, match="invalid run id"):
            hist.history_path(tmp_path, bad)
