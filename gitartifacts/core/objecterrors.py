"""The errors of the local cache: an object it lacks, an object that is corrupt."""

from __future__ import annotations

from gitartifacts.errors import CacheError


class CorruptObjectError(CacheError):
    """A cache object whose bytes do not hash to its name; it was moved aside."""


class NotCachedError(CacheError):
    """Objects the local cache lacks (a fetch may bring them)."""


def not_cached(digest: str, why: str = "") -> NotCachedError:
    """The error for an object the local cache lacks; `why` says what needed it."""
    return NotCachedError(
        f"object {digest} is not in the local cache{why}",
        "run git artifacts fetch, or git artifacts add the data again",
    )
