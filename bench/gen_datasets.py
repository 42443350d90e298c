"""Generate the benchmark datasets: seeded random bytes, so the data does not compress.

Datasets (at --scale 1):
  big    4 files of 256 MiB
  big64  4 files of 64 MiB (companion of big, to check that peak RSS is flat in file size)
  small  10,000 files of 4-64 KiB in 100 folders
  tiny   100,000 files of 100-1,000 bytes in 1,000 folders

--scale F shrinks the file and folder counts of small and tiny and the file size of big and
big64, for quick trial runs. Output is deterministic given --seed and --scale.

Each dataset is written to OUTDIR/<name>/; a marker OUTDIR/<name>.json (outside the data) is
written last, so an existing dataset whose marker matches is reused and an interrupted one is
regenerated.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

MIB = 1024 * 1024
CHUNK = MIB
DEFAULT_SEED = 20240601


class Spec(NamedTuple):
    """Shape of one dataset at a given scale."""

    name: str
    files: int
    folders: int  # 0: files directly in the dataset root
    min_size: int
    max_size: int


BASE_SPECS: dict[str, Spec] = {
    "big": Spec("big", 4, 0, 256 * MIB, 256 * MIB),
    "big64": Spec("big64", 4, 0, 64 * MIB, 64 * MIB),
    "small": Spec("small", 10_000, 100, 4 * 1024, 64 * 1024),
    "tiny": Spec("tiny", 100_000, 1_000, 100, 1_000),
}
DEFAULT_DATASETS = ("big", "small", "tiny")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="folder that receives one subfolder per dataset")
    parser.add_argument(
        "--only",
        default=",".join(DEFAULT_DATASETS),
        help=f"comma-separated subset of {','.join(BASE_SPECS)} (default: %(default)s)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="shrink factor, e.g. 0.01")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = parser.parse_args(argv)

    names = parse_names(args.only)
    for name in names:
        info = ensure_dataset(args.outdir, name, args.scale, args.seed, force=args.force)
        print(f"{name}: {info['files']} files, {info['bytes']:,} bytes in {args.outdir / name}")
    return 0


def parse_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BASE_SPECS]
    if unknown:
        raise SystemExit(
            f"error: unknown dataset(s) {', '.join(unknown)} (choose from {', '.join(BASE_SPECS)})"
        )
    return names


def scaled_spec(name: str, scale: float) -> Spec:
    """The shape of dataset `name` at `scale`: big files shrink in size, others in count."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    base = BASE_SPECS[name]
    if base.folders == 0:
        size = max(1024, round(base.max_size * scale))
        return base._replace(min_size=size, max_size=size)
    return base._replace(
        files=max(1, round(base.files * scale)),
        folders=max(1, round(base.folders * scale)),
    )


def ensure_dataset(
    outdir: Path, name: str, scale: float, seed: int, *, force: bool = False
) -> dict[str, object]:
    """Generate OUTDIR/name unless a matching marker says it is already there."""
    spec = scaled_spec(name, scale)
    marker = outdir / f"{name}.json"
    wanted = {"name": name, "seed": seed, "scale": scale, "spec": spec._asdict()}
    if not force and marker.is_file():
        info: dict[str, object] = json.loads(marker.read_text())
        if {k: info.get(k) for k in wanted} == wanted and (outdir / name).is_dir():
            return info
    target = outdir / name
    marker.unlink(missing_ok=True)
    if target.exists():
        shutil.rmtree(target)
    files, total = write_dataset(target, spec, dataset_rng(seed, name))
    info = {**wanted, "files": files, "bytes": total}
    marker.write_text(json.dumps(info, indent=2) + "\n")
    return info


def dataset_rng(seed: int, name: str) -> random.Random:
    # A string seed is hashed with sha512, so it is stable across processes and versions.
    return random.Random(f"{seed}:{name}")


def write_dataset(target: Path, spec: Spec, rng: random.Random) -> tuple[int, int]:
    """Write the files of `spec` under `target`; return (file count, byte count)."""
    target.mkdir(parents=True)
    total = 0
    made = target
    for index in range(spec.files):
        path = target / relative_path(spec, index)
        if path.parent != made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made = path.parent
        size = rng.randint(spec.min_size, spec.max_size)
        write_random_file(path, size, rng)
        total += size
    return spec.files, total


def relative_path(spec: Spec, index: int) -> Path:
    if spec.folders == 0:
        return Path(f"{spec.name}_{index:03d}.bin")
    folder = index * spec.folders // spec.files
    return Path(f"d{folder:04d}") / f"f{index:06d}.bin"


def write_random_file(path: Path, size: int, rng: random.Random) -> None:
    # 1 MiB chunks keep memory flat whatever the file size.
    with path.open("wb") as out:
        remaining = size
        while remaining > 0:
            n = min(CHUNK, remaining)
            out.write(rng.randbytes(n))
            remaining -= n


if __name__ == "__main__":
    sys.exit(main())
