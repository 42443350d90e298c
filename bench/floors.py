"""The physical floors of the scale benchmark, each one process to time like the tools.

  walk DIR                       scandir + stat of every entry (the least a status can do)
  read DIR                       read every file whole (the least an add or a push can do)
  s3-put ENDPOINT BUCKET KEY FILE  one upload of FILE to a loopback S3 server
  s3-get ENDPOINT BUCKET KEY       one download of KEY, the bytes discarded

The S3 keys come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION),
as for the tools. Each prints one line: what it counted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

CHUNK = 8 * 1024 * 1024


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["walk"] and len(args) == 2:
        print(f"{walk(args[1])} entries")
    elif args[:1] == ["read"] and len(args) == 2:
        print(f"{read_all(args[1])} bytes")
    elif args[:1] == ["s3-put"] and len(args) == 5:
        print(f"{s3_put(args[1], args[2], args[3], Path(args[4]))} bytes")
    elif args[:1] == ["s3-get"] and len(args) == 4:
        print(f"{s3_get(args[1], args[2], args[3])} bytes")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


def walk(root: str) -> int:
    """Stat every entry below `root` through scandir, as a status must at least."""
    count = 0
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                entry.stat(follow_symlinks=False)
                count += 1
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return count


def read_all(root: str) -> int:
    """Read every file below `root` whole; the bytes read."""
    total = 0
    for path in files(root):
        with open(path, "rb") as handle:
            total += len(handle.read())
    return total


def files(root: str) -> Iterator[str]:
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    yield entry.path


def s3_put(endpoint: str, bucket: str, key: str, source: Path) -> int:
    import obstore

    with source.open("rb") as handle:
        obstore.put(store(endpoint, bucket), key, handle, chunk_size=CHUNK)
    return source.stat().st_size


def s3_get(endpoint: str, bucket: str, key: str) -> int:
    import obstore

    total = 0
    for chunk in obstore.get(store(endpoint, bucket), key).stream(min_chunk_size=CHUNK):
        total += len(chunk)
    return total


def store(endpoint: str, bucket: str) -> Any:
    from obstore.store import S3Store

    return S3Store(
        bucket,
        config={
            "endpoint": endpoint,
            "region": os.environ.get("AWS_REGION", "us-east-1"),
            "access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
            "secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"],
        },
        client_options={"allow_http": endpoint.startswith("http://")},
    )


if __name__ == "__main__":
    sys.exit(main())
