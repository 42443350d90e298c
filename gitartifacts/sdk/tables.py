"""`Table` and `PartitionedTable` after W&B: rows of plain values (and `Image`s) that an
artifact stores as one content object (`sdk.tableformat`) and a run logs by reference."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from gitartifacts.errors import UsageError
from gitartifacts.sdk.media import Image

DEFAULT_COLUMNS = ["Input", "Output", "Expected"]  # W&B's, for a table made without columns
PANDAS_FIX = "pip install 'gitartifacts[tables]'"
_CELL_FIX = "use numbers, strings, bools, None, lists of those, or an Image"


class Table:
    """Columns and rows, as W&B's `Table(columns=, data=)` or `Table(dataframe=df)`. A cell
    holds a number, string, bool, None, a (nested) list of those, or an `Image`; numpy values
    and arrays become the Python numbers and lists they hold."""

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Any = None,
        rows: Any = None,
        dataframe: Any = None,
    ) -> None:
        if dataframe is None and hasattr(data, "itertuples"):  # W&B takes a DataFrame as data
            dataframe = data
        if dataframe is not None:
            columns = [str(c) for c in dataframe.columns]
            data = dataframe.itertuples(index=False, name=None)
        data = rows if data is None else data
        if hasattr(data, "tolist"):  # a 2-D numpy array
            data = data.tolist()
        self.columns: list[str] = _column_names(columns if columns is not None else DEFAULT_COLUMNS)
        self.data: list[list[Any]] = []
        for row in data or []:
            self.add_data(*row)

    def add_data(self, *data: Any) -> None:
        """Append one row: one value per column."""
        if len(data) != len(self.columns):
            raise UsageError(
                f"This table expects {len(self.columns)} columns: {self.columns}, "
                f"found {len(data)}",
                "pass one value per column",
            )
        self.data.append([_cell(v) for v in data])

    def add_column(self, name: str, data: Sequence[Any], optional: bool = False) -> None:
        """Append a column: one value per row (the first column of a table makes its rows)."""
        if not isinstance(name, str) or name in self.columns:
            raise UsageError(f"Column name {name!r} is already in use", "pick a new name")
        values = [_cell(v) for v in (data.tolist() if hasattr(data, "tolist") else data)]
        if self.columns and len(values) != len(self.data):
            raise UsageError(
                f"Expected length {len(self.data)}, found {len(values)}", "one value per row"
            )
        if not self.columns:  # the first column makes the rows
            self.data = [[] for _ in values]
        self.columns.append(name)
        for row, v in zip(self.data, values, strict=True):
            row.append(v)

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """The values of column `name`; `convert_to="numpy"` gives a numpy array."""
        if name not in self.columns:
            raise UsageError(f"Column {name!r} not found in table", f"columns: {self.columns}")
        i = self.columns.index(name)
        values = [row[i] for row in self.data]
        if convert_to == "numpy":
            return importlib.import_module("numpy").array(values)
        return values

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """`(index, row)` for each row, as W&B's `Table.iterrows`."""
        return iter(enumerate(self.data))

    def get_dataframe(self) -> Any:
        """The rows as a pandas DataFrame (needs pandas)."""
        return _dataframe(self.columns, self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return self.columns == other.columns and self.data == other.data

    __hash__ = None  # type: ignore[assignment]  # mutable, as a list

    def __repr__(self) -> str:
        return f"<Table {len(self.data)} rows x {len(self.columns)} columns {self.columns}>"


class PartitionedTable:
    """W&B's `PartitionedTable(parts_path)`: the tables an artifact holds under `parts_path`,
    read as one. Add it to an artifact (after the parts, or in a distributed artifact whose
    writers add the parts); `artifact.get(name)` gives it back with its parts in path order
    (numbers in the names compared as numbers: `table_2` before `table_10`)."""

    def __init__(self, parts_path: str) -> None:
        if not isinstance(parts_path, str) or not parts_path.strip("/"):
            raise UsageError(f"parts_path {parts_path!r} is no folder", "e.g. 'parts'")
        self.parts_path = parts_path.strip("/")
        self._parts: list[tuple[str, Callable[[], Table]]] = []
        self._loaded: dict[str, Table] = {}

    @classmethod
    def of_parts(
        cls, parts_path: str, parts: Mapping[str, Callable[[], Table]]
    ) -> PartitionedTable:
        """The table read from an artifact: its parts by path, each loaded on first use."""
        table = cls(parts_path)
        table._parts = [(p, parts[p]) for p in sorted(parts, key=_natural)]
        return table

    @property
    def part_paths(self) -> list[str]:
        return [p for p, _ in self._parts]

    @property
    def columns(self) -> list[str]:
        return self._part(0).columns if self._parts else []

    def parts(self) -> Iterator[Table]:
        """Each part as a `Table`, in order; all must have the same columns."""
        for i in range(len(self._parts)):
            yield self._part(i)

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """`(index, row)` over every part's rows, indexes counting on across parts."""
        n = 0
        for part in self.parts():
            for row in part.data:
                yield n, row
                n += 1

    def get_dataframe(self) -> Any:
        """Every part's rows as one pandas DataFrame (needs pandas)."""
        return _dataframe(self.columns, [row for _, row in self.iterrows()])

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts())

    def __repr__(self) -> str:
        return f"<PartitionedTable {self.parts_path!r} parts={len(self._parts)}>"

    def _part(self, i: int) -> Table:
        path, load = self._parts[i]
        if path not in self._loaded:
            table = load()
            if i and table.columns != self._part(0).columns:
                raise UsageError(
                    f"part {path!r} has columns {table.columns}, not {self._part(0).columns}",
                    "give every part of a partitioned table the same columns",
                )
            self._loaded[path] = table
        return self._loaded[path]


def plain_rows(table: Table, place: Callable[[Image], str]) -> list[list[Any]]:
    """The rows with each `Image` stored by `place` (which gives its path) and replaced by
    its reference."""
    return [
        [v.reference(place(v)) if isinstance(v, Image) else v for v in row] for row in table.data
    ]


# ---------------------------------------------------------------- helpers


def _column_names(columns: Sequence[str]) -> list[str]:
    names = list(columns)
    if not all(isinstance(c, str) for c in names) or len(set(names)) != len(names):
        raise UsageError(f"columns {names!r} are not distinct strings", "name each column once")
    return names


def _cell(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str, Image)):
        return v
    if isinstance(v, (list, tuple)):
        return [_nested(x) for x in v]
    item, tolist = getattr(v, "item", None), getattr(v, "tolist", None)
    if callable(item) and getattr(v, "shape", None) == ():  # a numpy scalar
        return _cell(item())
    if callable(tolist):
        return _cell(tolist())
    raise UsageError(f"a table cell cannot hold a {type(v).__name__}", _CELL_FIX)


def _nested(v: Any) -> Any:
    if isinstance(v, Image):
        raise UsageError("an Image in a list is not supported in a table cell", _CELL_FIX)
    return _cell(v)


def _natural(path: str) -> list[Any]:
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", path)]


def _dataframe(columns: list[str], rows: list[list[Any]]) -> Any:
    try:
        pd = importlib.import_module("pandas")
    except ImportError as e:
        raise UsageError("get_dataframe needs pandas", PANDAS_FIX) from e
    return pd.DataFrame(rows, columns=columns)
