"""`git artifacts runs show ID`: config, summary, files and a compact history."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_repo, stderr_error_line

from gitartifacts.cli.run_show import compact_history, sparkline


def test_sparkline_scales_between_the_smallest_and_largest_value() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5]) == "▁▁▁"
    assert sparkline([1.0, 0.5, 0.0]) == "█▅▁"


def test_compact_history_is_a_line_per_numeric_metric() -> None:
    rows = [{"_step": i, "loss": 1 / (i + 1), "tag": "x", "ok": True} for i in range(3)]
    (line,) = compact_history(rows, terminal=False)
    assert line.split() == ["loss", "1", "0.5", "0.3333", "(1", "..", "0.3333)"]
    (line,) = compact_history(rows, terminal=True)
    assert "█▃▁" in line


@pytest.mark.slow
def test_runs_show_prints_config_summary_and_history(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj")
    code = (
        "import gitartifacts as ga\n"
        "with ga.init(id='show1', job_type='train', config={'lr': 0.1}) as run:\n"
        "    for i in range(3):\n"
        "        ga.log({'loss': 3 - i, 'note': 'text'})\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=repo.root, check=True)
    out = repo.ga("runs", "show", "show1").stdout
    assert out.splitlines()[0].startswith("run show1  train  finished")
    assert "config\n  lr: 0.1\n" in out and "summary\n" in out and "  loss: 1\n" in out
    assert "history  3 steps, 0..2\n" in out
    assert "  loss  3 2 1  (3 .. 1)" in out  # piped: plain numbers, no bars
    assert "note" not in out.split("history")[1]  # text is not a metric line
    shown = repo.ga_json("runs", "show", "show1")
    assert [r["loss"] for r in shown["history"]] == [3, 2, 1]
    assert shown["config"] == {"lr": 0.1}
    bad = repo.ga("runs", "show", "nope", rc=3)
    assert "run 'nope' does not exist" in stderr_error_line(bad)
    assert repo.ga_json("runs")[0]["id"] == "show1"  # the plain listing still works
