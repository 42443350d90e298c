"""Very large files written in one hashed pass through one page-aligned buffer, each chunk of
whole blocks around the page cache (O_DIRECT) where asked and the file system allows.

Around the page cache a copy neither pushes everything else out of memory nor pays for fresh
page-cache pages, which on VMs that hand freed memory back to the host cost more than the disk
write. On the benchmark's big add (4 files of 256 MiB, 2-core VM, interleaved rounds) the page cache
took 1.3 s idle, O_DIRECT for every chunk 3.5-3.8 s and the adaptive chooser that once timed
both ways per chunk 1.9-2.1 s; on the VM loaded by other work O_DIRECT took 7.4 s, the page
cache 10.7 s, the chooser 7.6 s. A plain setting replaced the chooser: `artifacts.directWrites`
is off by default (the idle case, as the benchmark runs) and `true` for a loaded machine.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import mmap
import os

CHUNK = 2 << 20
_BLOCK = 4096


def hash_and_write(fd_in: int, fd: int, direct: bool) -> tuple[str, int, bool]:
    """Copy `fd_in` to `fd` (both at offset 0), hashing what is written; with `direct`, each
    chunk of whole blocks at a whole-block offset goes around the page cache (anything else
    goes through it). Returns (digest, size, whether O_DIRECT is still to be asked for: False
    once the file system refused it)."""
    h = hashlib.sha256()
    buf = mmap.mmap(-1, CHUNK)
    size = 0
    on = False  # the descriptor's O_DIRECT flag
    try:
        with memoryview(buf) as view:
            while n := os.readv(fd_in, [buf]):
                with view[:n] as chunk:
                    h.update(chunk)
                    want = direct and not (size % _BLOCK or n % _BLOCK)
                    if want != on:
                        on = _set_direct(fd, want)
                        direct = direct and on == want
                    on, refused = _write_chunk(fd, chunk, on)
                    direct = direct and not refused
                    size += n
    finally:
        buf.close()
    return "sha256:" + h.hexdigest(), size, direct


def _write_chunk(fd: int, chunk: memoryview, direct: bool) -> tuple[bool, bool]:
    """Write all of `chunk`; returns (the descriptor's O_DIRECT flag, whether the file system
    refused O_DIRECT). The flag is dropped where a short write leaves a part block."""
    done = 0
    refused = False
    while done < len(chunk):
        try:
            done += os.write(fd, chunk[done:])
        except OSError as exc:
            if not direct or exc.errno != errno.EINVAL:
                raise
            refused = True
            direct = _set_direct(fd, False)
            continue
        if direct and (len(chunk) - done) % _BLOCK:
            direct = _set_direct(fd, False)
    return direct, refused


def _set_direct(fd: int, on: bool) -> bool:
    """Turn O_DIRECT on or off for `fd`; whether it is on (False where it is refused)."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_DIRECT if on else flags & ~os.O_DIRECT)
    except OSError as exc:
        if not on or exc.errno != errno.EINVAL:
            raise
        return False
    return on
