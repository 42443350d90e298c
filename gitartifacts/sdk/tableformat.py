"""How a `Table` is stored: Parquet when pyarrow is importable, else JSON lines; either is
read back whatever is installed now, except Parquet, which needs pyarrow to read.

JSON lines: the first line is `{"_type": "table", "format": 1, "columns": [...]}`, then one
JSON array per row. Parquet: one column per table column, of its name; the same header in the
schema metadata under `gitartifacts.table`, with `json_columns`: the columns whose values
Arrow cannot type as one (mixed types, image references), stored as JSON text per cell.
"""

from __future__ import annotations

import importlib
import io
import json
from types import ModuleType
from typing import Any, NamedTuple

from gitartifacts.errors import UsageError

FORMAT = 1
PARQUET, JSONL = ".table.parquet", ".table.jsonl"
SUFFIXES = (PARQUET, JSONL)
META_KEY = b"gitartifacts.table"
TABLES_FIX = "pip install 'gitartifacts[tables]'"
_REMAKE = "the stored table is damaged: log it again"


class Stored(NamedTuple):
    """A table as read from storage: column names and rows of plain values."""

    columns: list[str]
    rows: list[list[Any]]


def encode(columns: list[str], rows: list[list[Any]]) -> tuple[bytes, str]:
    """The stored bytes of a table of plain values, and the entry suffix of their format."""
    pa = _pyarrow()
    if pa is None:
        return _jsonl(columns, rows), JSONL
    return _parquet(pa, columns, rows), PARQUET


def decode(data: bytes, suffix: str, what: str) -> Stored:
    """A stored table, checked: it may come from any clone or remote. `what` names it."""
    if suffix == PARQUET:
        pa = _pyarrow()
        if pa is None:
            raise UsageError(
                f"table {what!r} is stored as Parquet, which needs pyarrow", TABLES_FIX
            )
        stored = _read_parquet(pa, data, what)
    else:
        stored = _read_jsonl(data, what)
    width = len(stored.columns)
    if any(not isinstance(r, list) or len(r) != width for r in stored.rows):
        raise UsageError(f"table {what!r} has a row that is not {width} values", _REMAKE)
    return stored


# ---------------------------------------------------------------- helpers


def _header(columns: list[str], json_columns: list[int] | None = None) -> dict[str, Any]:
    head: dict[str, Any] = {"_type": "table", "format": FORMAT, "columns": columns}
    if json_columns is not None:
        head["json_columns"] = json_columns
    return head


def _jsonl(columns: list[str], rows: list[list[Any]]) -> bytes:
    lines = [json.dumps(_header(columns))] + [json.dumps(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _parquet(pa: ModuleType, columns: list[str], rows: list[list[Any]]) -> bytes:
    arrays, as_json = [], []
    for i in range(len(columns)):
        values = [r[i] for r in rows]
        arr = None if any(isinstance(v, dict) for v in values) else _typed(pa, values)
        if arr is None:
            as_json.append(i)
            arr = pa.array([json.dumps(v) for v in values], pa.string())
        arrays.append(arr)
    meta = {META_KEY: json.dumps(_header(columns, as_json)).encode()}
    fields = [pa.field(c, a.type) for c, a in zip(columns, arrays, strict=True)]
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))
    buf = io.BytesIO()
    importlib.import_module("pyarrow.parquet").write_table(table, buf)
    return buf.getvalue()


def _typed(pa: ModuleType, values: list[Any]) -> Any:
    """An Arrow array of one type, or None when the values have none in common."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return None


def _read_parquet(pa: ModuleType, data: bytes, what: str) -> Stored:
    pq = importlib.import_module("pyarrow.parquet")
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as e:
        raise UsageError(f"table {what!r} is no readable Parquet file: {e}"[:300], _REMAKE) from e
    meta = (table.schema.metadata or {}).get(META_KEY)
    head = _checked_header(_json(meta, what) if meta is not None else None, what)
    columns = head["columns"] if head else [str(n) for n in table.column_names]
    if len(columns) != table.num_columns:
        raise UsageError(
            f"table {what!r} names {len(columns)} columns of {table.num_columns}", _REMAKE
        )
    as_json = set(head.get("json_columns") or []) if head else set()
    cols = []
    for i in range(table.num_columns):
        values = table.column(i).to_pylist()
        if i in as_json:
            values = [_json(v, what) if isinstance(v, str) else None for v in values]
        cols.append(values)
    return Stored(columns, [list(r) for r in zip(*cols, strict=True)] if cols else [])


def _read_jsonl(data: bytes, what: str) -> Stored:
    lines = data.decode("utf-8", errors="replace").splitlines()
    head = _checked_header(_json(lines[0], what) if lines else None, what)
    if head is None:
        raise UsageError(f"table {what!r} has no header line", _REMAKE)
    return Stored(head["columns"], [_json(ln, what) for ln in lines[1:] if ln.strip()])


def _checked_header(head: Any, what: str) -> dict[str, Any] | None:
    if head is None:
        return None
    if not isinstance(head, dict) or head.get("_type") != "table":
        raise UsageError(f"table {what!r} has no table header", _REMAKE)
    fmt, columns = head.get("format"), head.get("columns")
    if not isinstance(fmt, int) or fmt > FORMAT:
        raise UsageError(
            f"table {what!r} is in format {fmt!r}, newer than this version reads ({FORMAT})",
            "upgrade gitartifacts",
        )
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise UsageError(f"table {what!r} has no list of column names", _REMAKE)
    as_json = head.get("json_columns", [])
    if not isinstance(as_json, list) or not all(isinstance(i, int) for i in as_json):
        raise UsageError(f"table {what!r} has a bad json_columns list", _REMAKE)
    return head


def _json(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"table {what!r} holds a line that is no JSON", _REMAKE) from e


def _pyarrow() -> ModuleType | None:
    try:
        return importlib.import_module("pyarrow")
    except ImportError:
        return None
