"""The one worker-pool policy: how many threads for local file work and for requests to a
remote, and how work is batched (processes of their own: `forked`)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

# Threads for local file work (hashing, writing files): the kernel does most of it, so a
# few more than the cores, and never so many that they only contend.
JOBS = max(2, min(8, (os.cpu_count() or 2) * 2))
_BATCH_BYTES = 4 << 20
_BATCH_FILES = 256
T = TypeVar("T")
R = TypeVar("R")


def batches(paths: list[str], size_of: Callable[[str], int]) -> list[list[str]]:
    """Group small files so a thread task is worth its overhead; big files go alone."""
    out: list[list[str]] = []
    cur: list[str] = []
    size = 0
    for rel in paths:
        cur.append(rel)
        size += size_of(rel) + 4096
        if size >= _BATCH_BYTES or len(cur) >= _BATCH_FILES:
            out.append(cur)
            cur, size = [], 0
    if cur:
        out.append(cur)
    return out


def parallel(fn: Callable[[T], list[R]], work: Sequence[T], jobs: int = JOBS) -> list[R]:
    """`fn` of each batch on `jobs` threads (in this thread for one batch), results in order."""
    if len(work) <= 1:
        return [r for b in work for r in fn(b)]
    with _pool(jobs) as pool:
        return [r for rs in pool.map(fn, work) for r in rs]


def ordered_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    jobs: int = JOBS,
    ahead: int = 0,
    threaded: Callable[[T], bool] | None = None,
) -> Iterator[R]:
    """`fn` of each item on `jobs` threads, the results in order as they come. `items` is
    read lazily and at most `ahead` (default twice `jobs`) items are in flight or done and
    not yet taken: a stream of a million items holds only those, never a future per item.

    An item for which `threaded` says no runs in the caller's thread, after the ones before
    it: work made of many tiny system calls (a thousand small files) goes faster on one
    thread than on several handing the interpreter lock to each other at every call."""
    from collections import deque

    limit = ahead or 2 * jobs
    with _pool(jobs) as pool:
        todo: deque[Future[R]] = deque()
        for item in items:
            if threaded is not None and not threaded(item):
                while todo:
                    yield todo.popleft().result()
                yield fn(item)
                continue
            todo.append(pool.submit(fn, item))
            if len(todo) >= limit:
                yield todo.popleft().result()
        while todo:
            yield todo.popleft().result()


# Requests in flight to a remote: each waits on the network, not on this machine's disks.
REMOTE_JOBS = 32


def parallel_map(fn: Callable[[T], R], items: Sequence[T], jobs: int = REMOTE_JOBS) -> list[R]:
    """fn over items in up to `jobs` threads; the first failure cancels what has not started.

    Items travel in small batches and only a few batches are in flight at once, so 100,000
    objects cost neither 100,000 futures nor their memory.
    """
    if len(items) <= 1 or jobs <= 1:
        return [fn(item) for item in items]
    from concurrent.futures import FIRST_EXCEPTION, wait

    size = max(1, min(64, len(items) // (jobs * 4)))
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    results: list[list[R]] = [[] for _ in batches]
    stop = threading.Event()  # set on a failure or Ctrl-C: batches running end early

    def run(i: int) -> None:
        out = []
        for item in batches[i]:
            if stop.is_set():
                return
            out.append(fn(item))
        results[i] = out

    with _pool(min(jobs, len(batches)), stop) as pool:
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


@contextlib.contextmanager
def _pool(workers: int, stop: threading.Event | None = None) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, should the caller fail or be interrupted (Ctrl-C), drops the
    tasks not yet started (and sets `stop`) rather than running them all first: a Ctrl-C
    ends a push of 100,000 objects within a moment, not once every queued one is sent."""
    from concurrent.futures import ThreadPoolExecutor  # not on the path of a no-op command

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        yield pool
    except BaseException:
        if stop is not None:
            stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
