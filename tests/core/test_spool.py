"""Values spooled to a temporary file (`spool`): read back whole and in order, and a record
cut short by a killed writer ends them rather than failing."""

from __future__ import annotations

import tempfile

from gitartifacts.core import spool


def test_values_come_back_in_order_and_a_cut_record_ends_them() -> None:
    values = [("rows", [("a/b", (1, 2, 3, 4), "sha256:00")]), ("x", "é" * 70_000), ()]
    with tempfile.TemporaryFile() as f:
        for value in values:
            spool.dump(f, value)
        assert list(spool.load(f)) == values
        assert list(spool.load(f)) == values  # again from the start
        whole = f.tell()
        spool.dump(f, ("last", list(range(1000))))
        f.truncate(f.tell() - 10)
        assert list(spool.load(f)) == values
        f.truncate(whole + 2)  # not even the length of the last one
        assert list(spool.load(f)) == values
