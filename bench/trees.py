"""Tree listings for the benchmarks: sha256 of every file, to check a restored tree."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def tree_listing(root: Path) -> dict[str, str]:
    """Relative POSIX path -> sha256 of the content, for every file (symlinks followed)."""
    listing = {}
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            listing[path.relative_to(root).as_posix()] = file_sha256(path)
    return listing


def tree_digest(listing: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(listing, key=lambda p: p.encode()):
        digest.update(f"{rel}\t{listing[rel]}\n".encode())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def count_symlinks(root: Path) -> int:
    if not root.is_dir():
        return 0
    return sum(
        (Path(folder) / name).is_symlink()
        for folder, dirs, names in os.walk(root)
        for name in [*names, *dirs]
    )


def count_files(root: Path) -> int:
    return sum(len(names) for _, _, names in os.walk(root))


def compare_trees(expected: dict[str, str], actual: dict[str, str]) -> dict[str, list[str]]:
    """Paths missing from, extra in, or with other content in `actual`."""
    return {
        "missing": sorted(set(expected) - set(actual)),
        "extra": sorted(set(actual) - set(expected)),
        "changed": sorted(p for p in set(expected) & set(actual) if expected[p] != actual[p]),
    }
