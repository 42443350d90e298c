"""`git artifacts runs show ID`: a run's config, summary, saved files and a compact history
(a sparkline per numeric metric on a terminal, plain numbers when piped)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import click

from gitartifacts.cli.context import Ctx, command, print_json
from gitartifacts.core import textsafe
from gitartifacts.core.textsafe import echo
from gitartifacts.sdk.api import Api
from gitartifacts.sdk.history import select

BARS = "▁▂▃▄▅▆▇█"
WIDTH = 40  # history points shown per metric


@click.command(name="show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Config, summary, files and every row.")
@command
def show(ctx: Ctx, run_id: str, as_json: bool) -> None:
    """A run's config, summary, saved files and history."""
    run = Api(ctx.project().root).run(run_id)
    rows = list(run.scan_history())
    if as_json:
        print_json(
            {
                "id": run.id,
                "state": run.state,
                "config": run.config.as_dict(),
                "summary": run.summary.as_dict(),
                "files": run.files,
                "history": rows,
            }
        )
        return
    # Everything below comes through git: each line is made safe for a terminal.
    echo(
        textsafe.line(f"run {run.id}  {run.job_type or '-'}  {run.state}  commit {run.commit[:10]}")
    )
    _section("config", run.config.as_dict())
    _section("summary", run.summary.as_dict())
    if run.files:
        echo("files")
        for f in run.files:
            echo(textsafe.line(f"  {f.get('path')}  {f.get('size')} bytes"))
    if rows:
        steps = [r.get("_step") for r in rows]
        echo(f"history  {len(rows)} steps, {steps[0]}..{steps[-1]}")
        for line in compact_history(rows, sys.stdout.isatty()):
            echo(textsafe.line(line))


def compact_history(rows: list[dict[str, Any]], terminal: bool) -> list[str]:
    """One line per numeric metric: a sparkline (`terminal`) or a few plain numbers, then
    the first and last values."""
    keys = [k for k in dict.fromkeys(k for r in rows for k in r) if not k.startswith("_")]
    width = max((len(k) for k in keys), default=0)
    out = []
    for key in keys:
        values = [r[key] for r in select(rows, [key], WIDTH) if _number(r[key])]
        if not values:
            continue
        shown = sparkline(values) if terminal else " ".join(_short(v) for v in values)
        out.append(f"  {key:<{width}}  {shown}  ({_short(values[0])} .. {_short(values[-1])})")
    return out


def sparkline(values: list[float]) -> str:
    """One bar per value, scaled between the smallest and the largest."""
    low, high = min(values), max(values)
    span = high - low
    if span == 0 or not math.isfinite(span):
        return BARS[0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, int((v - low) / span * len(BARS)))] for v in values)


def _section(title: str, data: dict[str, Any]) -> None:
    if not data:
        return
    echo(title)
    for key, value in data.items():
        echo(textsafe.line(f"  {key}: {json.dumps(value, default=str, sort_keys=True)}"))


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _short(v: float) -> str:
    return f"{v:.4g}"
