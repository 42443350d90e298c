"""Packs under faults: a corrupt pack byte is caught and named; SIGKILL during a pack upload
or download leaves no index naming a half-written pack, no object lost, and a rerun completes.

The long loops are marked `sigkill` (trials from GITARTIFACTS_TRIALS, default 50); a short
variant of each runs with the slow tests."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import assert_cache_sound
from servers import Bucket

from gitartifacts.core.objects import ObjectStore
from gitartifacts.errors import CacheError
from gitartifacts.remote import packindex, packs
from gitartifacts.remote.store import RemoteStore

pytest_plugins = ["servers"]

TRIALS = int(os.environ.get("GITARTIFACTS_TRIALS", "50"))


def _objects(cache: ObjectStore, count: int, size: int = 3000, tag: str = "") -> list[str]:
    return [cache.add_bytes(f"{tag}{i}:".encode().ljust(size, b"x")) for i in range(count)]


@pytest.mark.parametrize("backend", ["folder", pytest.param("moto", marks=pytest.mark.slow)])
def test_a_corrupt_pack_byte_names_the_object_and_the_others_land(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    cache, other = ObjectStore(tmp_path / "c1"), ObjectStore(tmp_path / "c2")
    digests = _objects(cache, 40)
    if backend == "folder":
        store = RemoteStore(str(tmp_path / "store"))
    else:
        bucket: Bucket = request.getfixturevalue("s3_bucket")
        store = RemoteStore(f"{bucket.url}/cache", bucket.options)
    store.upload(cache, digests)
    view = store.packs.view()
    (index,) = view.indexes
    victim = digests[17]
    where = index.find(victim)
    assert where is not None
    key = packs.pack_key(index.pack)
    data = bytearray(store._get_key(key))
    data[where.offset + 5] ^= 0xFF
    store._delete_keys([key])
    store._put_key(key, bytes(data))  # same size: the index still names it
    fresh = RemoteStore(store.url, store.options)  # what another clone sees
    with pytest.raises(CacheError) as err:
        fresh.download(other, digests)  # all of it: whole pack on S3, ranges on a folder
    assert victim in str(err.value) and index.pack[:16] in str(err.value)
    assert "1 object(s)" in str(err.value)
    assert other.missing(digests) == [victim]
    assert assert_cache_sound(other.root) == len(digests) - 1


# ---------------------------------------------------------------- SIGKILL

_UPLOAD = """
import sys
from pathlib import Path
from gitartifacts.core.objects import ObjectStore
from gitartifacts.remote.store import RemoteStore
cache = ObjectStore(Path(sys.argv[1]))
digests = sorted('sha256:' + p.parent.name + p.name for p in (cache.objects).glob('*/*'))
RemoteStore(sys.argv[2]).upload(cache, digests, jobs=4)
"""

_DOWNLOAD = """
import sys
from pathlib import Path
from gitartifacts.core.objects import ObjectStore
from gitartifacts.remote.store import RemoteStore
digests = Path(sys.argv[3]).read_text().split()
RemoteStore(sys.argv[2]).download(ObjectStore(Path(sys.argv[1])), digests, jobs=4)
"""


def _run(script: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", script, *args], stderr=subprocess.PIPE)


def _timed(script: str, *args: str) -> float:
    start = time.monotonic()
    proc = _run(script, *args)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    return time.monotonic() - start


def _kill_after(script: str, delay: float, *args: str) -> None:
    proc = _run(script, *args)
    time.sleep(delay)  # the kill point: drawn at random over a whole run's time
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)


def _check_remote(store: RemoteStore) -> None:
    """Every index names a complete pack whose objects all verify."""
    listing = packs.list_packs(store)
    for name in listing.indexes:
        assert name in listing.packs, f"index {name} names no pack"
        index = packindex.decode(name, store._get_key(packs.index_key(name)), "test")
        assert index.pack_size == listing.packs[name].size, f"pack {name} is half-written"
        data = store._get_key(packs.pack_key(name))
        for digest, offset, length in index:
            assert "sha256:" + hashlib.sha256(data[offset : offset + length]).hexdigest() == digest


def _sigkill_upload(tmp_path: Path, trials: int) -> None:
    cache = ObjectStore(tmp_path / "cache")
    digests = _objects(cache, 1000, size=2500)
    full = _timed(_UPLOAD, str(cache.root), str(tmp_path / "probe"))
    rng = random.Random(23)
    for t in range(trials):
        remote = tmp_path / f"store{t}"
        _kill_after(_UPLOAD, rng.uniform(0.0, full), str(cache.root), str(remote))
        if remote.is_dir():
            _check_remote(RemoteStore(str(remote)))
        _timed(_UPLOAD, str(cache.root), str(remote))  # the rerun completes
        store = RemoteStore(str(remote))
        _check_remote(store)
        assert store.missing(digests) == []


def _sigkill_download(tmp_path: Path, trials: int) -> None:
    cache = ObjectStore(tmp_path / "cache")
    digests = _objects(cache, 1000, size=2500)
    remote = str(tmp_path / "store")
    RemoteStore(remote).upload(cache, digests)
    wanted = tmp_path / "wanted"
    wanted.write_text("\n".join(digests))
    full = _timed(_DOWNLOAD, str(tmp_path / "probe"), remote, str(wanted))
    rng = random.Random(5)
    for t in range(trials):
        dest = tmp_path / f"clone{t}"
        _kill_after(_DOWNLOAD, rng.uniform(0.0, full), str(dest), remote, str(wanted))
        if dest.is_dir():  # no object entered the cache unverified
            assert_cache_sound(dest, claims_ok=True)  # the rerun sweeps a claimed download
        _timed(_DOWNLOAD, str(dest), remote, str(wanted))
        assert ObjectStore(dest).missing(digests) == []
        assert assert_cache_sound(dest) == len(digests)


@pytest.mark.slow
def test_sigkill_during_pack_upload_short(tmp_path: Path) -> None:
    _sigkill_upload(tmp_path, 3)


@pytest.mark.slow
def test_sigkill_during_pack_download_short(tmp_path: Path) -> None:
    _sigkill_download(tmp_path, 3)


@pytest.mark.sigkill
def test_sigkill_during_pack_upload(tmp_path: Path) -> None:
    _sigkill_upload(tmp_path, TRIALS)


@pytest.mark.sigkill
def test_sigkill_during_pack_download(tmp_path: Path) -> None:
    _sigkill_download(tmp_path, TRIALS)
