"""gc's view of a sharded folder never follows a symlink: what it lists it may remove."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gitartifacts.core import sweep

HEX = "ab" + "c" * 62


def test_a_symlinked_shard_is_neither_listed_nor_removed_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / HEX[2:]
    victim.write_bytes(b"not ours")
    (outside / ".tmp-old").write_bytes(b"not ours either")
    old = time.time() - 86400
    os.utime(outside / ".tmp-old", (old, old))
    root = tmp_path / "cache"
    (root / "sha256").mkdir(parents=True)
    (root / "sha256" / "ab").symlink_to(outside)
    assert list(sweep.objects(str(root))) == []
    assert sweep.old_temporaries(str(root), time.time()) == []
    sweep.remove(str(root), "sha256:" + HEX)
    assert victim.read_bytes() == b"not ours"


def test_a_symlinked_objects_folder_is_not_walked(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "ab").mkdir(parents=True)
    (outside / "ab" / HEX[2:]).write_bytes(b"x")
    root = tmp_path / "cache"
    root.mkdir()
    (root / "sha256").symlink_to(outside)
    assert list(sweep.objects(str(root))) == []
    sweep.remove(str(root), "sha256:" + HEX)
    assert (outside / "ab" / HEX[2:]).exists()


def test_a_real_object_is_listed_and_removed(tmp_path: Path) -> None:
    shard = tmp_path / "sha256" / "ab"
    shard.mkdir(parents=True)
    (shard / HEX[2:]).write_bytes(b"data")
    (found,) = sweep.objects(str(tmp_path))
    assert (found.digest, found.size) == ("sha256:" + HEX, 4)
    sweep.remove(str(tmp_path), found.digest)
    assert not (shard / HEX[2:]).exists()


def test_a_half_written_pack_is_swept_once_old_and_never_through_a_link(tmp_path: Path) -> None:
    root = tmp_path / "remote"
    packs = root / "packs"
    packs.mkdir(parents=True)
    old = time.time() - 86400
    for name in (".tmp-old", "a" * 64 + ".pack"):
        (packs / name).write_bytes(b"x")
        os.utime(packs / name, (old, old))
    (packs / ".tmp-young").write_bytes(b"being written")
    assert sweep.old_temporaries(str(root), time.time() - 3600) == [str(packs / ".tmp-old")]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ".tmp-old").write_bytes(b"not ours")
    os.utime(outside / ".tmp-old", (old, old))
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "packs").symlink_to(outside)
    assert sweep.old_temporaries(str(linked), time.time()) == []
