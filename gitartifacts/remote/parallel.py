"""The worker-pool policy of transfers: many small jobs on a few threads, bounded in flight."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

JOBS = 32
T = TypeVar("T")
R = TypeVar("R")


def parallel_map(fn: Callable[[T], R], items: Sequence[T], jobs: int = JOBS) -> list[R]:
    """fn over items in up to `jobs` threads; the first failure cancels what has not started.

    Items travel in small batches and only a few batches are in flight at once, so 100,000
    objects cost neither 100,000 futures nor their memory.
    """
    if len(items) <= 1 or jobs <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

    size = max(1, min(64, len(items) // (jobs * 4)))
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    results: list[list[R]] = [[] for _ in batches]

    def run(i: int) -> None:
        results[i] = [fn(item) for item in batches[i]]

    with ThreadPoolExecutor(max_workers=min(jobs, len(batches))) as pool:
        pending: set[Future[None]] = set()
        for i in range(len(batches)):
            pending.add(pool.submit(run, i))
            if len(pending) >= jobs * 2:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for f in done:
                    f.result()  # re-raises the first failure; the pool then stops
        for f in pending:
            f.result()
    return [r for rs in results for r in rs]
