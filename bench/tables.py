"""The result tables of the benchmarks: number cells, verdicts, the markdown table."""

from __future__ import annotations


def fmt(value: object, digits: int) -> str:
    if isinstance(value, list):
        return " -> ".join(fmt(v, digits) for v in value)
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return "-"


def verdict(checks: list[bool | None], ours_error: str | None) -> str:
    """ "yes" when every target check passed, "no" when one failed, "FAIL" when ours failed."""
    if ours_error is not None:
        return "FAIL"
    if not checks:
        return "-"
    if any(ok is False for ok in checks):
        return "no"
    if any(ok is None for ok in checks):
        return "n/a"
    return "yes"


def time_cell(seconds: object, error: object) -> str:
    if error is not None and seconds is None:
        return "FAIL"
    return fmt(seconds, 2)


def markdown_table(rows: list[dict[str, object]], keys: list[str], per_round: bool = False) -> str:
    """The table both benchmarks print: `keys` first (dataset, remote, operation...), then
    the timings, ratio, peak memory, target and verdict columns; with `per_round`, last, the
    ratio of each round on its own (a row's `round_ratios`)."""
    header = [
        *keys,
        "ours s",
        "dvc s",
        "ratio (dvc/ours)",
        "ours peak RSS MiB",
        "dvc peak RSS MiB",
        "target",
        "met?",
    ]
    align = "---:|---:|---:|---:|---:|---|---|"
    if per_round:
        header.append("ratio per round")
        align += "---|"
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(keys) + align,
    ]
    for row in rows:
        cells = [str(row[k]) for k in keys] + [
            time_cell(row["ours_s"], row["ours_error"]),
            time_cell(row["dvc_s"], row["dvc_error"]),
            fmt(row["ratio"], 1),
            fmt(row["ours_rss_mib"], 0),
            fmt(row["dvc_rss_mib"], 0),
            str(row["target"]),
            str(row["met"]),
        ]
        if per_round:
            ratios = row.get("round_ratios") or []
            assert isinstance(ratios, list)
            cells.append(", ".join(fmt(r, 1) for r in ratios) or "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
