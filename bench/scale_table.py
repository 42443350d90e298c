"""The table of run_scale_bench.py: ours, the physical floors beside it, DVC, ratio, targets."""

from __future__ import annotations

from typing import NamedTuple

from remote_case import Context
from remote_summary import Aggregate, aggregate, round_ratios, speedup, verification_error
from tables import fmt, time_cell, verdict

RSS_LIMIT_MIB = 150.0
MILLION_LIMIT_S = 60.0


class Row(NamedTuple):
    """One operation of a section: where it runs and which floors bound it."""

    name: str
    remote: str
    op: str
    floors: tuple[str, ...]


# A floor op -> its column and the section it is timed in (cp1+cp-again: the two copies of a
# round added up, what a pull writes: the cache, then the work tree).
FLOORS = {
    "walk": ("stat walk s", "local"),
    "read": ("read all s", "local"),
    "cp1": ("cp -r s", "local"),
    "cp1+cp-again": ("cp -r x2 s", "local"),
    "put": ("PUT s", "s3"),
    "get": ("GET s", "s3"),
}
ROWS = {
    "tiny": [
        Row("add (fresh repository)", "local", "add", ("read", "cp1")),
        Row("push to a folder (empty)", "local", "push", ("read", "cp1")),
        Row("pull from a folder (fresh clone)", "local", "pull", ("cp1+cp-again",)),
        Row("push to S3 (empty bucket)", "s3", "push", ("read", "put")),
        Row("pull from S3 (fresh clone)", "s3", "pull", ("get", "cp1+cp-again")),
    ],
}
ROWS["million"] = [
    ROWS["tiny"][0],
    Row("status (no-op, median of 3)", "local", "status", ("walk",)),
    *ROWS["tiny"][1:3],
    Row("checkout (emptied work tree)", "local", "checkout", ("cp1",)),
    *ROWS["tiny"][3:],
]
# (remote, op) -> the least DVC/ours ratio on tiny
TINY_RATIOS = {("local", "add"): 15.0, ("s3", "push"): 20.0, ("s3", "pull"): 20.0}


def summarize(ctx: Context, section: str, with_dvc: bool) -> list[dict[str, object]]:
    """One row per operation of `section`, every figure a median over the rounds."""
    return [row_figures(ctx, section, row, with_dvc) for row in ROWS[section]]


def markdown(rows: list[dict[str, object]], per_round: bool, dvc_cap_s: float) -> str:
    """The rows as one markdown table, the floor columns right after ours; a DVC command that
    reached its cap shows as `> CAP`."""
    header = [
        "operation",
        "ours s",
        *(column for column, _ in FLOORS.values()),
        "ours peak RSS MiB",
        "dvc s",
        "dvc peak RSS MiB",
        "ratio (dvc/ours)",
        *(["ratio per round"] if per_round else []),
        "target",
        "met?",
    ]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 3) + "---|---|"]
    for row in rows:
        floors = row["floors"]
        assert isinstance(floors, dict)
        ratios = row["round_ratios"]
        assert isinstance(ratios, list)
        cells = [
            str(row["operation"]),
            time_cell(row["ours_s"], row["ours_error"]),
            *(fmt(floors.get(op), 2) if op in floors else "" for op in FLOORS),
            fmt(row["ours_rss_mib"], 0),
            dvc_cell(row, dvc_cap_s),
            fmt(row["dvc_rss_mib"], 0),
            fmt(row["ratio"], 1),
            *([", ".join(fmt(r, 1) for r in ratios) or "-"] if per_round else []),
            str(row["target"]),
            str(row["met"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def row_figures(ctx: Context, section: str, row: Row, with_dvc: bool) -> dict[str, object]:
    ours = aggregate(ctx, section, row.remote, "ours", row.op)
    dvc = aggregate(ctx, section, row.remote, "dvc", row.op) if with_dvc else Aggregate()
    if row.op in ("pull", "checkout"):
        ours.error = ours.error or verification_error(ctx, section, row.remote, "ours", row.op)
        if with_dvc:
            dvc.error = dvc.error or verification_error(ctx, section, row.remote, "dvc", row.op)
    ratio = speedup(ours, dvc)
    checks = targets(section, row, ours, ratio)
    floors = {op: aggregate(ctx, section, FLOORS[op][1], "floor", op).wall_s for op in row.floors}
    return {
        "section": section,
        "operation": row.name,
        "remote": row.remote,
        "op": row.op,
        "ours_s": ours.wall_s,
        "ours_rss_mib": ours.rss_mib,
        "floors": floors,
        "dvc_s": dvc.wall_s,
        "dvc_rss_mib": dvc.rss_mib,
        "dvc_timed_out": dvc_timed_out(ctx, section, row),
        "ratio": ratio,
        "round_ratios": round_ratios(ctx, section, row.remote, row.op) if with_dvc else [],
        "target": "; ".join(text for text, _ in checks) or "-",
        "met": verdict([ok for _, ok in checks], ours.error),
        "ours_error": ours.error,
        "dvc_error": dvc.error,
    }


def targets(
    section: str, row: Row, ours: Aggregate, ratio: float | None
) -> list[tuple[str, bool | None]]:
    """The issue's targets for this row, each with whether it was met (None: no figure)."""
    if section == "million":
        seconds, rss = ours.wall_s, ours.rss_mib
        return [
            (f"< {MILLION_LIMIT_S:.0f} s", None if seconds is None else seconds < MILLION_LIMIT_S),
            (f"RSS <= {RSS_LIMIT_MIB:.0f} MiB", None if rss is None else rss <= RSS_LIMIT_MIB),
        ]
    least = TINY_RATIOS.get((row.remote, row.op))
    if least is None:
        return []
    return [(f"ratio >= {least:g}", None if ratio is None else ratio >= least)]


def dvc_timed_out(ctx: Context, section: str, row: Row) -> bool:
    key = (section, row.remote, "dvc", row.op)
    return any((m.dataset, m.remote, m.tool, m.op) == key and m.timed_out for m in ctx.measurements)


def dvc_cell(row: dict[str, object], cap_s: float) -> str:
    if row["dvc_timed_out"]:
        return f"> {cap_s / 60:g} min" if cap_s >= 60 else f"> {cap_s:g} s"
    error = row["dvc_error"]
    if row["dvc_s"] is None and (error is None or str(error).startswith("not run")):
        return "-"  # not asked for, or after a step that failed or reached the cap
    return time_cell(row["dvc_s"], error)
