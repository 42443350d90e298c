"""Work shared between this process and forked copies of it.

Writing many small files from Python is a few system calls per file, each of which hands
the interpreter lock to another thread when threads share the work: a checkout of 100,000
small files on two writer threads spent its time in 1.3 million `futex` calls and used one
core. Processes have a lock each, so the kernel's share of the work (creating, renaming,
stat'ing files) runs on every core: on this two-core machine the writes of a checkout take
about half as long.

A child is a fork of the caller: it shares the caller's open files and state (the object
cache's packs are read through the same descriptors) and sends back only its results. It
never touches what the parent must own alone (the local state's SQLite connection, the
progress bar) and ends with `os._exit`, so no finalizer, buffer flush or `atexit` hook of
the parent's runs twice.

Only the command line forks (it sets `ALLOWED`): in a user's own Python process (the API,
`import gitartifacts as wandb`), with its threads, GPU context and gigabytes of memory,
a fork is not ours to make, and the work stays in that process.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import pickle
import select
import signal
import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, TypeVar

from gitartifacts.core import spool
from gitartifacts.errors import GitArtifactsError

T = TypeVar("T")
R = TypeVar("R")

# Whether this process may be forked: set by the command line, which owns its process.
ALLOWED = False
# Whether a fork pays here: it needs a second core (past two processes, creating files in
# the same folders contends in the kernel rather than running in parallel).
CAN_FORK = hasattr(os, "fork") and (os.cpu_count() or 1) >= 2
# Below this many batches, a fork (a few milliseconds) costs more than it saves.
MIN_BATCHES = 8

_DONE = struct.Struct("!I")
_INDEX = struct.Struct("=q")


def shared_map(
    fn: Callable[[T], list[R]],
    batches: Sequence[T],
    *,
    done: Callable[[T], None],
    fork: bool | None = None,
) -> Iterator[list[R]]:
    """`fn` of each batch, shared between this process and a fork of it: each takes the next
    batch no one has taken whenever it is free (`_Queue`); each batch's results (marshal-able
    values: the fork sends them back) come as a list, in no set order. `done` is called here
    for each batch as either process finishes it, so a progress bar moves with both.

    The fork's failure is raised here as soon as it has ended (its exception carried back
    whole when it pickles); a failure or Ctrl-C here first stops the fork. Without `fork`,
    a fork is made where that is `ALLOWED` and pays (`CAN_FORK`); where none can be made (a
    process limit, no memory), every batch runs here.
    """
    if fork is None:
        fork = ALLOWED and CAN_FORK
    child = None
    if fork and len(batches) >= MIN_BATCHES:
        with contextlib.suppress(OSError):
            child = _Child.start(fn, batches)
    if child is None:
        for batch in batches:
            out = fn(batch)
            done(batch)
            yield out
        return
    try:
        while (i := child.queue.take()) is not None:
            out = fn(batches[i])
            done(batches[i])
            yield out
            if child.pid and child.poll(done, wait=False):  # ended: a failure shows now
                yield from child.results()
        if child.pid:
            child.poll(done, wait=True)
            yield from child.results()
    finally:
        child.stop()


class _Queue:
    """The batches not yet taken, shared by this process and its fork: the index of the next
    one in a page of memory both see, taken under a record lock on a file both hold open.
    Each process takes the next batch whenever it is free, so neither waits while the
    other has work left: the parent also records, reads back and reports, and a fixed half
    each left the fork idle for a tenth of a checkout of 1,000,000 files."""

    def __init__(self, count: int, lock_fd: int) -> None:
        self.count, self.lock_fd = count, lock_fd
        self.next = mmap.mmap(-1, _INDEX.size)  # anonymous and shared: the fork sees it

    def take(self) -> int | None:
        """The index of a batch now this process's; None when every batch is taken."""
        # A record lock belongs to its process (an flock would be shared with the fork
        # through the descriptor it inherits); the kernel drops it if its holder dies.
        fcntl.lockf(self.lock_fd, fcntl.LOCK_EX)
        try:
            (i,) = _INDEX.unpack_from(self.next)
            if i >= self.count:
                return None
            _INDEX.pack_into(self.next, 0, i + 1)
            return int(i)
        finally:
            fcntl.lockf(self.lock_fd, fcntl.LOCK_UN)


class _Child:
    """A forked process taking batches from the `queue` it shares with the parent: it writes
    a batch's index to a pipe as it finishes it, and its results (then, on failure, the
    exception) to a temporary file the parent reads once it has ended."""

    def __init__(
        self, pid: int, pipe: int, out: IO[bytes], batches: Sequence[Any], queue: _Queue
    ) -> None:
        self.pid, self.pipe, self.out, self.batches = pid, pipe, out, batches
        self.queue = queue
        self.pending = b""

    @classmethod
    def start(cls, fn: Callable[[T], list[R]], batches: Sequence[T]) -> _Child:
        """Fork a child sharing the batches; OSError when no fork can be made."""
        out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        queue = _Queue(len(batches), out.fileno())
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (read_end, write_end):
                os.close(fd)
            out.close()
            queue.next.close()
            raise
        if pid == 0:  # the child: never returns
            os.close(read_end)
            _serve(fn, batches, queue, write_end, out)
        os.close(write_end)
        return cls(pid, read_end, out, batches, queue)

    def poll(self, done: Callable[[Any], None], wait: bool) -> bool:
        """Call `done` for the batches the child has finished; with `wait`, until it ends.
        Whether it has ended."""
        while True:
            if not wait and not select.select([self.pipe], [], [], 0)[0]:
                return False
            chunk = os.read(self.pipe, 1 << 16)
            if not chunk:
                return True
            self.pending += chunk
            whole = len(self.pending) - len(self.pending) % _DONE.size
            for (i,) in _DONE.iter_unpack(self.pending[:whole]):
                done(self.batches[i])
            self.pending = self.pending[whole:]

    def results(self) -> Iterator[list[Any]]:
        """The child's results; its failure raised after them. The child has ended."""
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        for kind, value in spool.load(self.out):
            if kind == "error":
                raise pickle.loads(value)
            yield value
        if status != 0:
            raise unfinished(status)

    def stop(self) -> None:
        """End the child if it is still running (a failure or Ctrl-C here) and let go of its
        files."""
        kill(self.pid)
        self.pid = 0
        os.close(self.pipe)
        self.out.close()
        self.queue.next.close()


def _serve(
    fn: Callable[[T], list[R]],
    batches: Sequence[T],
    queue: _Queue,
    pipe: int,
    out: IO[bytes],
) -> None:
    """The child's whole life: the batches it takes from `queue`, then `os._exit`. A parent killed
    outright (SIGKILL stops no one else) leaves the child an orphan: its report of the batch
    in hand then fails (the pipe has no reader; Python ignores SIGPIPE, so the write raises)
    and it ends, rather than write on into a folder a new command may be checking out."""
    code = 0
    try:
        while (i := queue.take()) is not None:
            spool.dump(out, ("rows", fn(batches[i])))
            os.write(pipe, _DONE.pack(i))
    except BaseException as exc:  # carried to the parent, which raises it
        code = 1
        with contextlib.suppress(BaseException):  # a failing disk: the exit status says it
            spool.dump(out, ("error", pickled(exc)))
    finally:
        try:
            out.flush()
        finally:
            os._exit(code)


def kill(pid: int) -> None:
    """End forked process `pid` (0: none) at once and reap it, so no zombie is left."""
    if pid:
        with contextlib.suppress(ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def unfinished(status: int) -> GitArtifactsError:
    """The error of a forked process that ended without saying why (wait status `status`)."""
    return GitArtifactsError(
        f"a forked process of this command ended unfinished (wait status {status})",
        "run the command again: it carries on from what is done",
    )


def pickled(exc: BaseException) -> bytes:
    """`exc` pickled, or when it will not round-trip, an OSError with its text."""
    try:
        data = pickle.dumps(exc)
        pickle.loads(data)
        return data
    except Exception:
        return pickle.dumps(OSError(f"{type(exc).__name__}: {exc}"))
