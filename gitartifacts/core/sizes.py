"""Sizes in bytes as people write and read them: `500M`, `1.5G` in, `1.2 GiB` out (binary units)."""

from __future__ import annotations

import re

from gitartifacts.errors import UsageError

# Binary units, as `du -h` and W&B's `cache cleanup 10GB` read them: K = 1024, M = 1024², ...
# A trailing `B` or `iB` is allowed (`50G`, `50GB`, `50GiB` are one size).
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE_RE = re.compile(r"^([0-9]{1,15})(?:\.([0-9]{1,9}))?\s*([KMGT]?)(?:I?B)?\Z")
_LIMIT = 1 << 60
_FIX = "write a positive size such as 500M, 50G, 1.5G, 1T or bytes; units are powers of 1024"


def parse_size(text: str, what: str) -> int:
    """Bytes of a size written `500M`, `50G`, `1.5G`, `1T` or `1048576`; `what` names where it
    came from in the error (`--to`, `git config artifacts.cacheSize`). Zero, negative and
    fractional bytes are refused."""
    m = _SIZE_RE.match(text.strip().upper())
    if m is None and text.strip().startswith("-"):
        raise UsageError(f"{what} is {text!r}, not a positive size", _FIX)
    if m is None:
        raise UsageError(f"{what} is {text!r}, not a size", _FIX)
    whole, frac, unit = str(m.group(1)), str(m.group(2) or ""), str(m.group(3))
    if frac and not unit:
        raise UsageError(f"{what} is {text!r}, a fraction of a byte", _FIX)
    scale = _UNITS[unit]
    size = int(whole + frac) * scale // int("1" + "0" * len(frac))
    if not 0 < size <= _LIMIT:
        raise UsageError(f"{what} is {text!r}, not a positive size", _FIX)
    return size


def human_bytes(n: int) -> str:
    """Bytes in binary units with one decimal: `930 B`, `1.5 KiB`, `1.2 GiB`."""
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            break
    return f"{size:.1f} {unit}"
