"""A small pipeline for the web view's tests, run as a script in a repository: raw data in
two versions, a preprocess run, a training run with a history and an image, five
evaluation runs (W&B's lineage folds them into one group node) and a registry link.
Names, descriptions and metadata hold HTML that must render as text."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import gitartifacts as ga

HOSTILE = "<img src=x onerror=alert(1)>"


def write(path: str, text: str) -> str:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")
    return path


def main(work: str) -> None:
    for n in range(2):
        with ga.init(job_type="load-data", name=f"load-{n}") as run:
            raw = ga.Artifact(
                "raw-data",
                type="dataset",
                description=HOSTILE,
                metadata={"source": "<script>alert(2)</script>", "rows": 3 + n},
            )
            raw.add_file(write(f"{work}/a.csv", "x,y\n1,2\n" * (n + 1)), "tables/a.csv")
            raw.add_file(write(f"{work}/b.csv", "x,y\n3,4\n"), "tables/b.csv")
            raw.add_file(write(f"{work}/readme.txt", "raw data\n"), "readme.txt")
            run.log_artifact(raw)
    with ga.init(job_type="preprocess", name="preprocess") as run:
        run.use_artifact("raw-data:latest")
        clean = ga.Artifact("clean-data", type="dataset")
        clean.add_file(write(f"{work}/clean.csv", "x,y\n1,2\n3,4\n"), "clean.csv")
        run.log_artifact(clean)
    with ga.init(job_type="train", name=HOSTILE, config={"lr": 0.01, "epochs": 10}) as run:
        run.use_artifact("clean-data:latest")
        for step in range(10):
            run.log({"loss": 1.0 / (step + 1), "accuracy": step / 10})
        pixels = np.zeros((8, 8, 3), dtype=np.uint8)
        run.log({"example": ga.Image(pixels, caption="an example")})
        model = ga.Artifact("model", type="model", metadata={HOSTILE: HOSTILE})
        model.add_file(write(f"{work}/model.bin", "weights\n"), "model.bin")
        run.log_artifact(model, aliases=["best"])
        run.link_artifact(model, "model-registry/classifier", aliases=["production"])
    for n in range(5):
        with ga.init(job_type="evaluate", name=f"eval-{n}") as run:
            run.use_artifact("model:latest")
            run.log({"score": n})


if __name__ == "__main__":
    main(sys.argv[1])
