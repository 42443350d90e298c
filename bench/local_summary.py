"""The summary of run_bench.py: medians over the runs, ratios, the targets of each row."""

from __future__ import annotations

import statistics

from local_case import Context
from tables import verdict

OPERATIONS = ("add", "status", "checkout")
FLAT_RSS_TOLERANCE_MIB = 16.0
TINY_RSS_LIMIT_MIB = 150.0
TINY_STATUS_LIMIT_S = 0.6


def summarize(ctx: Context, datasets: list[str], tools: list[str]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for dataset in datasets:
        for op in OPERATIONS:
            rows.append(op_row(ctx, dataset, op, "dvc" in tools))
        if dataset == "big":
            rows.append(op_row(ctx, "big64", "add", "dvc" in tools))
            rows.append(flatness_row(ctx))
    return rows


def op_row(ctx: Context, dataset: str, op: str, with_dvc: bool) -> dict[str, object]:
    ours_s, ours_rss, ours_err = aggregate(ctx, dataset, "ours", op)
    dvc_s, dvc_rss, dvc_err = aggregate(ctx, dataset, "dvc", op) if with_dvc else (None,) * 3
    ratio = dvc_s / ours_s if dvc_s is not None and ours_s else None
    if ratio is None and ours_s == 0 and dvc_s is not None:
        # Below GNU time's 10 ms resolution: fall back to the finer perf_counter figures.
        ratio = median_precise(ctx, dataset, "dvc", op) / median_precise(ctx, dataset, "ours", op)
    checks: list[tuple[str, bool | None]] = []
    if dataset != "big64":
        if op == "add" or (dataset == "tiny" and op == "checkout"):
            checks.append(("ratio >= 3", None if ratio is None else ratio >= 3))
        if dataset == "tiny" and op == "status":
            checks.append(("ratio >= 8", None if ratio is None else ratio >= 8))
            limit = f"ours < {TINY_STATUS_LIMIT_S} s"
            checks.append((limit, None if ours_s is None else ours_s < TINY_STATUS_LIMIT_S))
        if dataset == "tiny":
            limit = f"ours RSS <= {TINY_RSS_LIMIT_MIB:.0f} MiB"
            checks.append((limit, None if ours_rss is None else ours_rss <= TINY_RSS_LIMIT_MIB))
    if op == "checkout":
        ours_err = ours_err or verification_error(ctx, dataset, "ours")
        if with_dvc:
            dvc_err = dvc_err or verification_error(ctx, dataset, "dvc")
    return {
        "dataset": dataset,
        "operation": op if op != "status" else "status (no-op)",
        "ours_s": ours_s,
        "dvc_s": dvc_s,
        "ratio": ratio,
        "ours_rss_mib": ours_rss,
        "dvc_rss_mib": dvc_rss,
        "target": "; ".join(text for text, _ in checks) or "-",
        "met": verdict([ok for _, ok in checks], ours_err),
        "ours_error": ours_err,
        "dvc_error": dvc_err,
    }


def flatness_row(ctx: Context) -> dict[str, object]:
    _, small_rss, _ = aggregate(ctx, "big64", "ours", "add")
    _, big_rss, err = aggregate(ctx, "big", "ours", "add")
    _, dvc_small, _ = aggregate(ctx, "big64", "dvc", "add")
    _, dvc_big, _ = aggregate(ctx, "big", "dvc", "add")
    ok = (
        None
        if small_rss is None or big_rss is None
        else (big_rss - small_rss <= FLAT_RSS_TOLERANCE_MIB)
    )
    return {
        "dataset": "big",
        "operation": "add peak RSS, big64 -> big",
        "ours_s": None,
        "dvc_s": None,
        "ratio": None,
        "ours_rss_mib": [small_rss, big_rss],
        "dvc_rss_mib": [dvc_small, dvc_big],
        "target": f"ours flat (+<= {FLAT_RSS_TOLERANCE_MIB:.0f} MiB)",
        "met": verdict([ok], err),
        "ours_error": err,
        "dvc_error": None,
    }


def aggregate(
    ctx: Context, dataset: str, tool: str, op: str
) -> tuple[float | None, float | None, str | None]:
    """Median wall seconds and max peak RSS of the successful runs, or the first error."""
    runs = [m for m in ctx.measurements if (m.dataset, m.tool, m.op) == (dataset, tool, op)]
    good = [m for m in runs if m.ok and m.wall_s is not None]
    errors = [m.error for m in runs if not m.ok]
    if errors or not good:
        return None, None, errors[0] if errors else "not run (an earlier step failed)"
    wall = statistics.median(m.wall_s for m in good if m.wall_s is not None)
    rss = max(m.rss_mib for m in good if m.rss_mib is not None)
    return wall, rss, None


def median_precise(ctx: Context, dataset: str, tool: str, op: str) -> float:
    runs = [m for m in ctx.measurements if (m.dataset, m.tool, m.op) == (dataset, tool, op)]
    return statistics.median(m.precise_s for m in runs if m.ok)


def verification_error(ctx: Context, dataset: str, tool: str) -> str | None:
    for record in ctx.verifications:
        if (record["dataset"], record["tool"]) == (dataset, tool) and not record["ok"]:
            return "checkout not byte-identical"
    return None
