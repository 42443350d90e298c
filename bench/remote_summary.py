"""Figures over the rounds of the push/pull benchmarks: medians, ratios, each round's ratio."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from remote_case import Context, Measurement


@dataclass
class Aggregate:
    """Median wall seconds and max peak RSS of one tool's runs of one operation."""

    wall_s: float | None = None
    rss_mib: float | None = None
    precise_s: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.wall_s is not None


def aggregate(ctx: Context, dataset: str, remote: str, tool: str, op: str) -> Aggregate:
    """One operation's figures over the rounds: the median of the rounds' times."""
    rounds = per_round(ctx, dataset, remote, tool, op)
    if isinstance(rounds, Aggregate):
        return rounds  # an error
    return median_of(list(rounds.values()))


def median_of(figures: Sequence[Measurement | Aggregate]) -> Aggregate:
    """The median time and the highest peak RSS of these figures."""
    rss = [f.rss_mib for f in figures if f.rss_mib is not None]
    return Aggregate(
        wall_s=statistics.median(f.wall_s for f in figures if f.wall_s is not None),
        rss_mib=max(rss) if rss else None,
        precise_s=statistics.median(f.precise_s for f in figures),
    )


def per_round(
    ctx: Context, dataset: str, remote: str, tool: str, op: str
) -> dict[int, Aggregate] | Aggregate:
    """Each round's figures for one operation (the median of its repeats), or an Aggregate
    holding the first error; `a+b` (e.g. `clone+pull`) adds a and b of the same round."""
    if "+" in op:
        first, _, second = op.partition("+")
        firsts = per_round(ctx, dataset, remote, tool, first)
        seconds = per_round(ctx, dataset, remote, tool, second)
        if isinstance(firsts, Aggregate):
            return firsts
        if isinstance(seconds, Aggregate):
            return seconds
        both = {}
        for r in sorted(firsts.keys() & seconds.keys()):
            one, two = firsts[r], seconds[r]
            assert one.wall_s is not None and two.wall_s is not None
            rss = [x for x in (one.rss_mib, two.rss_mib) if x is not None]
            both[r] = Aggregate(
                wall_s=one.wall_s + two.wall_s,
                rss_mib=max(rss) if rss else None,
                precise_s=one.precise_s + two.precise_s,
            )
        return both
    key = (dataset, remote, tool, op)
    runs = [m for m in ctx.measurements if (m.dataset, m.remote, m.tool, m.op) == key]
    good = [m for m in runs if m.ok and m.wall_s is not None]
    errors = [m.error for m in runs if not m.ok]
    if errors or not good:
        return Aggregate(error=errors[0] if errors else "not run (an earlier step failed)")
    rounds = sorted({m.round for m in good})
    return {r: median_of([m for m in good if m.round == r]) for r in rounds}


def speedup(ours: Aggregate, dvc: Aggregate) -> float | None:
    """DVC's time over ours; below GNU time's 10 ms resolution, the perf_counter figures."""
    if not (ours.ok and dvc.ok and ours.wall_s is not None and dvc.wall_s is not None):
        return None
    if ours.wall_s > 0:
        return dvc.wall_s / ours.wall_s
    if ours.precise_s:
        return dvc.precise_s / ours.precise_s
    return None


def round_ratios(ctx: Context, dataset: str, remote: str, op: str) -> list[float | None]:
    """The ratio of each round on its own, in round order."""
    ours = per_round(ctx, dataset, remote, "ours", op)
    dvc = per_round(ctx, dataset, remote, "dvc", op)
    if isinstance(ours, Aggregate) or isinstance(dvc, Aggregate):
        return []
    return [speedup(ours[r], dvc[r]) if r in dvc else None for r in sorted(ours)]


def verification_error(
    ctx: Context, dataset: str, remote: str, tool: str, op: str = "pull"
) -> str | None:
    """An error text when a tree restored by `op` (pull or checkout) was not the source's."""
    for record in ctx.verifications:
        key = (record["dataset"], record["remote"], record["tool"], record.get("op", "pull"))
        if key == (dataset, remote, tool, op) and not record["ok"]:
            return f"data after {op} not byte-identical"
    return None


def table_row(
    dataset: str,
    remote: str,
    name: str,
    op: str,
    ours: Aggregate,
    dvc: Aggregate,
    ratio: float | None,
    target: str,
    met: str,
) -> dict[str, object]:
    """One row of a result table, as printed and as written to the JSON."""
    return {
        "dataset": dataset,
        "remote": remote,
        "operation": name,
        "op": op,
        "ours_s": ours.wall_s,
        "dvc_s": dvc.wall_s,
        "ratio": ratio,
        "ours_rss_mib": ours.rss_mib,
        "dvc_rss_mib": dvc.rss_mib,
        "target": target,
        "met": met,
        "ours_error": ours.error,
        "dvc_error": dvc.error,
    }
